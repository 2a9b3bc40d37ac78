"""`shoal check` end to end on the example plans of every input format."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from .conftest import EXAMPLES

FORMATS = ["canonical", "json", "toml", "tasks-json", "plan-folder", "boundaries"]


@pytest.mark.parametrize("name", FORMATS)
def test_every_example_format_checks_clean(shoal, name):
    result = shoal("check", EXAMPLES / name, "--format", "json")
    data = result.json()
    assert result.code == 0, data["problems"]
    assert data["ok"] is True
    assert data["plan"]["tasks"] >= 3
    assert data["mode"] in ("sequential", "parallel_waves", "fully_parallel")
    assert not [p for p in data["problems"] if p["severity"] == "error"]


@pytest.mark.parametrize("name", FORMATS)
def test_text_output_reads_like_a_conflict_check(shoal, name):
    result = shoal("check", EXAMPLES / name)
    assert result.code == 0
    assert "Conflict Check:" in result.out
    assert "Decision:" in result.out


def test_formats_agree_on_the_same_plan(shoal):
    # canonical YAML, JSON and TOML hold the same plan: same tasks, same mode
    seen = {n: shoal("check", EXAMPLES / n, "--format", "json").json() for n in ("canonical", "json", "toml")}
    assert len({d["plan"]["tasks"] for d in seen.values()}) == 1
    assert len({d["mode"] for d in seen.values()}) == 1


def test_cycle_is_named_in_order_with_exit_1(shoal):
    result = shoal("check", EXAMPLES / "broken" / "cycle.yaml", "--format", "json")
    assert result.code == 1
    cycles = [p for p in result.json()["problems"] if p["code"] == "cycle"]
    assert cycles, result.out
    chain = re.search(r"[\w.-]+(?: -> [\w.-]+)+", cycles[0]["message"]).group(0).split(" -> ")
    assert chain[0] == chain[-1]  # named in order, closing on its first task
    assert set(chain) == set(cycles[0]["tasks"])


def test_unknown_dependency_suggests_a_name(shoal):
    result = shoal("check", EXAMPLES / "broken" / "unknown-dep.yaml", "--format", "json")
    assert result.code == 1
    unknown = [p for p in result.json()["problems"] if p["code"] == "unknown-task"]
    assert unknown and "did you mean" in (unknown[0]["hint"] or unknown[0]["message"])
    assert unknown[0]["file"].endswith("unknown-dep.yaml") and unknown[0]["line"]


def test_unknown_field_names_file_line_task_and_field(shoal):
    result = shoal("check", EXAMPLES / "broken" / "unknown-field.yaml", "--format", "json")
    assert result.code == 1
    schema = [p for p in result.json()["problems"] if p["code"] == "schema"]
    assert schema
    p = schema[0]
    assert p["file"].endswith("unknown-field.yaml") and p["line"] and p["tasks"] and p["field"]


def test_overlap_is_a_warning_and_an_error_when_strict(shoal):
    path = EXAMPLES / "broken" / "overlap.yaml"
    lenient = shoal("check", path, "--format", "json")
    overlaps = [p for p in lenient.json()["problems"] if p["code"] == "ownership-overlap"]
    assert overlaps and all(p["severity"] == "warning" for p in overlaps)
    assert len(overlaps[0]["tasks"]) == 2 and overlaps[0]["paths"]
    assert lenient.code == 0
    strict = shoal("check", path, "--strict", "--format", "json")
    assert strict.code == 1
    assert any(p["code"] == "ownership-overlap" and p["severity"] == "error" for p in strict.json()["problems"])


def test_malformed_yaml_exits_2_with_location_and_no_traceback(shoal):
    result = shoal("check", EXAMPLES / "broken" / "malformed.yaml")
    assert result.code == 2
    assert "malformed.yaml:" in result.err
    assert "Traceback" not in result.err + result.out


def test_missing_file_and_empty_folder_exit_2(shoal, tmp_path):
    assert shoal("check", tmp_path / "nope.yaml").code == 2
    empty = shoal("check", tmp_path)
    assert empty.code == 2
    assert "shoal init" in empty.err  # the hint says how to make a plan


def test_non_utf8_plan_exits_2(shoal, tmp_path):
    bad = tmp_path / "plan.yaml"
    bad.write_bytes(b"version: 1\ntasks:\n  - id: caf\xe9\n")
    result = shoal("check", bad)
    assert result.code == 2
    assert "UTF-8" in result.err or "utf-8" in result.err


def test_python_dash_m_runs_the_cli():
    done = subprocess.run([sys.executable, "-m", "shoal", "check", str(EXAMPLES / "canonical")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Conflict Check:" in done.stdout


# A task of the first phase waits for a task of the second: it could never start.
LATER_PHASE_PLAN = """\
version: 1
name: phases
phases:
  - {name: design}
  - {name: build}
tasks:
  - id: impl
    title: Implementation
    phase: design
    owns: [a.py]
    after: [later]
    prompt: write a.py
  - id: later
    title: Later
    phase: build
    owns: [b.py]
    prompt: write b.py
"""


def test_dependency_on_a_later_phase_is_a_phase_order_problem_not_a_crash(shoal, tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(LATER_PHASE_PLAN)
    result = shoal("check", plan, "--format", "json")
    assert result.code == 1, result.err
    data = result.json()
    assert data["ok"] is False and data["mode"] is None
    [problem] = [p for p in data["problems"] if p["code"] == "phase-order"]
    assert problem["severity"] == "error"
    assert problem["tasks"][0] == "impl" and problem["field"] == "after"
    assert problem["file"] == str(plan) and problem["line"] == 11  # the `after:` line

    text = shoal("check", plan)
    assert text.code == 1 and "internal error" not in text.err
    assert f"{plan}:11:" in text.out and "[phase-order] task impl, later field after" in text.out


def test_a_yaml_comment_cutting_a_run_command_is_a_warning(shoal, tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "version: 1\n"
        "tasks:\n"
        "  - id: gen\n"
        "    title: Generate\n"
        "    owns: [out.txt]\n"
        "    run:\n"
        "      - printf 'a #b' > out.txt\n"  # YAML: ` #b' > out.txt` is a comment
    )
    result = shoal("check", plan, "--format", "json")
    assert result.code == 0, result.out  # a warning: the run may still be what was meant
    [p] = [p for p in result.json()["problems"] if p["field"] == "run"]
    assert p["code"] == "shell-syntax" and p["severity"] == "warning" and p["tasks"] == ["gen"] and p["line"] == 6
    assert "printf 'a" in p["message"] and "quote the whole item" in p["hint"]


def test_verify_and_setup_commands_cut_by_a_yaml_comment_are_errors(shoal, tmp_path):
    """They run without a shell and a run refuses them at its start: `check` says so first."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "version: 1\n"
        "setup:\n"
        "  - \"echo 'ready #1'\"\n"  # fine: the whole item quoted in the YAML
        "defaults:\n"
        "  verify:\n"
        "    - grep -q 'a #b' out.txt\n"  # YAML cuts it to `grep -q 'a`
        "tasks:\n"
        "  - id: gen\n"
        "    owns: [out.txt]\n"
        "    verify: [\"test -s out.txt\", \"sh -c 'exit 0\"]\n"
    )
    result = shoal("check", plan, "--format", "json")
    assert result.code == 1, result.out
    found = sorted((p["field"], p["line"], tuple(p["tasks"])) for p in result.json()["problems"]
                   if p["code"] == "shell-syntax" and p["severity"] == "error")
    assert found == [("defaults.verify", None, ()), ("verify", 10, ("gen",))]


def test_a_bare_name_only_deeper_is_a_warning_with_repo(shoal, tmp_path):
    """Plan paths are anchored at the root (issue 14, item 5): with --repo, a name without a
    `/` that the root lacks but a deeper folder has gets a warning suggesting `**/NAME`."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "CHANGES.md").write_text("")
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "version: 1\n"
        "tasks:\n"
        "  - id: notes\n"
        "    owns: [CHANGES.md]\n"
        "  - id: ex\n"
        "    owns: [examples/**]\n"
    )
    plain = shoal("check", plan, "--format", "json").json()
    assert plain["problems"] == []  # no overlap: CHANGES.md is the root's only
    result = shoal("check", plan, "--repo", tmp_path, "--format", "json")
    assert result.code == 0, result.out
    [p] = result.json()["problems"]
    assert (p["code"], p["severity"], p["tasks"], p["field"], p["line"]) == (
        "schema", "warning", ["notes"], "owns", 4)
    assert "`docs/CHANGES.md`" in p["message"] and "`**/CHANGES.md`" in p["hint"]
