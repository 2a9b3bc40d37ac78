"""Issue 14, item 4: seed 001's result fields for a tasks.json the repository tracks go on the
integration branch (and into the run's folder), never into the user's checkout; an untracked
tasks.json is still updated in place, as seed 001 does."""

from __future__ import annotations

import json
from pathlib import Path

import shoal
from shoal.cli import main
from shoal.testing import commit_files

from .conftest import git_out, show, user_state


def _tasks_json() -> str:
    return json.dumps({"spec": "T-1", "tasks": [
        {"id": "a", "summary": "Write a", "relevant_files": ["a.txt"], "run": ["echo a > a.txt"],
         "custom": "kept"},
        {"id": "b", "summary": "Write b", "relevant_files": ["b.txt"], "run": ["exit 3"]},
    ]}, indent=2) + "\n"


def test_a_tracked_tasks_json_gets_its_results_through_the_integration_branch(
        repo: Path) -> None:
    commit_files(repo, {"plan/tasks.json": _tasks_json()}, "the plan")
    before = user_state(repo)

    result = shoal.run(repo / "plan" / "tasks.json", repo=repo)

    assert git_out(repo, "status", "--porcelain") == ""  # was ` M plan/tasks.json`
    assert user_state(repo) == before
    on_branch = json.loads(show(repo, result.integration_branch, "plan/tasks.json") or "{}")
    statuses = {t["id"]: t["status"] for t in on_branch["tasks"]}
    assert statuses == {"a": "pass", "b": "fail"}
    assert on_branch["tasks"][0]["custom"] == "kept" and on_branch["tasks"][0]["completed_at"]
    kept = json.loads((result.run_dir / "tasks.json").read_text())
    assert kept == on_branch
    # the results land with the work, and nothing in the checkout stops `shoal merge`
    assert main(["merge", result.run_id, "--repo", str(repo)]) == 0
    assert json.loads((repo / "plan" / "tasks.json").read_text())["tasks"][0]["status"] == "pass"
    assert git_out(repo, "status", "--porcelain") == ""


def test_an_untracked_tasks_json_is_updated_in_place(repo: Path, tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "tasks.json").write_text(_tasks_json())

    result = shoal.run(spec / "tasks.json", repo=repo)

    statuses = {t["id"]: t["status"] for t in json.loads((spec / "tasks.json").read_text())["tasks"]}
    assert statuses == {"a": "pass", "b": "fail"}
    assert show(repo, result.integration_branch, "spec/tasks.json") is None
