"""`shoal plan`, `shoal prompt`, `shoal schema`, `shoal init` end to end."""

from __future__ import annotations

import json
import shutil

import pytest

from shoal.cli.reference import render as render_cli_reference

from .conftest import EXAMPLES, ROOT


def test_plan_json_has_waves_critical_path_and_predictions(shoal):
    result = shoal("plan", EXAMPLES / "canonical", "--format", "json", "--max-parallel", "2")
    assert result.code == 0, result.err
    data = result.json()
    assert data["max_parallel"] == 2
    waves = data["waves"]
    assert [w["wave_id"] for w in waves] == list(range(1, len(waves) + 1))
    assert all(len(w["tasks"]) <= 2 and w["rationale"] for w in waves)
    every = [t for w in waves for t in w["tasks"]]
    assert sorted(every) == sorted(set(every)) and len(every) == data["plan"]["tasks"]
    assert data["critical_path"]["tasks"] and data["critical_path"]["length_s"] > 0
    for strategy in ("dynamic", "waves"):
        p = data["predictions"][strategy]
        assert p["makespan_s"] >= p["lower_bound_s"] - 1e-9
        assert p["speedup"] == pytest.approx(p["sequential_s"] / p["makespan_s"])


def test_plan_text_shows_waves_and_both_strategies(shoal):
    result = shoal("plan", EXAMPLES / "plan-folder")
    assert result.code == 0, result.err
    assert "wave 1" in result.out and "Critical path" in result.out
    assert "dynamic" in result.out and "waves" in result.out


def test_plan_refuses_a_plan_with_errors(shoal):
    result = shoal("plan", EXAMPLES / "broken" / "cycle.yaml")
    assert result.code == 1
    assert "cycle.yaml:" in result.err and "[cycle]" in result.err  # listed as `check` lists it
    assert result.err.splitlines()[-1].startswith("shoal: error: the plan has 1 error(s)")


def test_write_strategy_updates_tasks_json_keeping_other_keys(shoal, tmp_path):
    folder = tmp_path / "spec"
    shutil.copytree(EXAMPLES / "tasks-json", folder)
    before = json.loads((folder / "tasks.json").read_text())
    result = shoal("plan", folder, "--write-strategy")
    assert result.code == 0, result.err
    after = json.loads((folder / "tasks.json").read_text())
    strategy = after["execution_strategy"]
    assert strategy["mode"] in ("sequential", "parallel_waves", "fully_parallel")
    assert strategy["waves"] and {"wave_id", "tasks", "rationale"} <= set(strategy["waves"][0])
    assert [t["id"] for t in after["tasks"]] == [t["id"] for t in before["tasks"]]
    assert {k for k in before if k != "execution_strategy"} <= set(after)


def test_write_strategy_refuses_other_formats(shoal):
    assert shoal("plan", EXAMPLES / "canonical", "--write-strategy").code == 2


def test_prompt_is_seed_001_worker_prompt(shoal):
    result = shoal("prompt", EXAMPLES / "canonical", "stock")
    assert result.code == 0, result.err
    out = result.out
    for heading in ("# Task Worker: Execute Task stock", "## Task Details", "## Project Context",
                    "## Files to Modify", "## Parallel Execution Context", "## Expected Output"):
        assert heading in out
    assert "**Wave**" in out and "TASK COMPLETE" in out and '"files_modified"' in out


def test_prompt_for_unknown_task_exits_2(shoal):
    result = shoal("prompt", EXAMPLES / "canonical", "no-such-task")
    assert result.code == 2 and "no-such-task" in result.err


def test_plan_template_override(shoal, tmp_path):
    (tmp_path / "worker.j2").write_text("TASK={{ task.id }} OWNS={{ task.owns | join(',') }}\n")
    (tmp_path / "plan.yaml").write_text(
        "version: 1\nprompt_template: worker.j2\ntasks:\n  - id: a\n    owns: [a.txt]\n"
    )
    result = shoal("prompt", tmp_path, "a")
    assert result.code == 0, result.err
    assert result.out.strip() == "TASK=a OWNS=a.txt"


def test_schema_is_json_schema_of_the_canonical_format(shoal):
    result = shoal("schema")
    assert result.code == 0
    schema = result.json()
    assert "tasks" in schema["properties"] and "version" in schema["properties"]


def test_init_writes_a_plan_that_passes_check_and_refuses_to_overwrite(shoal, tmp_path):
    target = tmp_path / "my-plan"
    assert shoal("init", target).code == 0
    assert "#" in (target / "plan.yaml").read_text()  # commented
    checked = shoal("check", target, "--format", "json")
    assert checked.code == 0 and checked.json()["ok"], checked.out
    assert shoal("init", target).code == 2
    assert shoal("init", target, "--force").code == 0


def test_help_documents_exit_codes(shoal):
    result = shoal("--help")
    assert result.code == 0
    assert "130" in result.out and "Exit codes" in result.out


def test_cli_reference_doc_is_current():
    committed = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == render_cli_reference(), (
        "docs/cli.md is stale: run `python -m shoal.cli.reference > docs/cli.md`"
    )
