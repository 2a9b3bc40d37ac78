"""The run family end to end through the CLI: demo, run, status, merge, cleanup."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from shoal.git import Git
from shoal.store import Store, default_db_path
from shoal.testing import snapshot_user_state


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


def test_demo_runs_the_plan_end_to_end(shoal, tmp_path):
    result = shoal("demo", "--dir", tmp_path, "--progress", "plain")
    assert result.code == 0, result.out + result.err
    repo = tmp_path / "repo"
    assert "8 succeeded" in result.out and "faster than one at a time" in result.out
    assert f"workspaces: {tmp_path / 'repo.shoal'}/" in result.out  # beside the repo, not in .git
    status = shoal("status", "--repo", repo, "--format", "json").json()
    assert status["run"]["state"] == "succeeded"
    tasks = {t["id"]: t for t in status["tasks"]}
    assert len(tasks) == 8 and all(t["state"] == "succeeded" for t in tasks.values())
    branch = status["run"]["integration_branch"]
    # the conflicting pair both appended to inventory/__init__.py: serialised, both kept
    init = _git(repo, "show", f"{branch}:inventory/__init__.py")
    assert "from . import cli" in init and "from . import export" in init
    # the two RED tasks never overlapped in time (attempt times from the state database)
    store = Store.open(default_db_path(Git(repo).common_dir()), create=False)
    try:
        spans = {a.task_id: (a.started_at, a.ended_at) for a in store.attempts(status["run"]["id"])
                 if a.task_id in ("orders", "pricing")}
    finally:
        store.close()
    (a0, a1), (b0, b1) = spans["orders"], spans["pricing"]
    assert a1 <= b0 or b1 <= a0, spans
    # the progress lines went to stderr, one per event
    assert "merged as" in result.err


def test_run_status_merge_cleanup(shoal, tmp_path):
    from shoal.testing import make_repo

    repo = make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "version: 1\n"
        "tasks:\n"
        "  - {id: a, owns: [a.txt], run: ['echo a > a.txt']}\n"
        "  - {id: b, owns: [b.txt], after: [a], run: ['test -f a.txt', 'echo b > b.txt']}\n"
    )
    before = snapshot_user_state(repo, ignore_branches=("shoal/", "shoal-task/"))
    run = shoal("run", plan, "--repo", repo, "--progress", "off", "--format", "json")
    assert run.code == 0, run.out + run.err
    data = run.json()
    assert [t["state"] for t in data["tasks"]] == ["succeeded", "succeeded"]
    assert snapshot_user_state(repo, ignore_branches=("shoal/", "shoal-task/")) == before
    assert _git(repo, "status", "--porcelain") == ""

    merged = shoal("merge", "--repo", repo, "--into", "landed", "--format", "json")
    assert merged.code == 0, merged.err
    assert _git(repo, "show", "landed:b.txt") == "b\n"

    assert (repo.parent / "repo.shoal").is_dir()
    cleaned = shoal("cleanup", "--repo", repo)
    assert cleaned.code == 0, cleaned.err
    assert not (repo.parent / "repo.shoal").exists()
    assert not [b for b in _git(repo, "branch", "--format=%(refname:short)").split()
                if b.startswith("shoal-task/")]
    assert data["run"]["integration_branch"] in _git(repo, "branch", "--format=%(refname:short)")


def test_run_with_a_failing_task_exits_1_and_names_it(shoal, tmp_path):
    from shoal.testing import make_repo

    repo = make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "version: 1\ndefaults: {retries: 0}\n"
        "tasks:\n"
        "  - {id: bad, owns: [a.txt], run: ['echo broken >&2', 'exit 4']}\n"
        "  - {id: after-bad, owns: [b.txt], after: [bad], run: ['echo b > b.txt']}\n"
    )
    result = shoal("run", plan, "--repo", repo, "--progress", "off")
    assert result.code == 1
    assert "bad" in result.out and "failed" in result.out
    assert "skipped" in result.out and "retry-failed" in result.out


def test_run_outside_a_repository_exits_2(shoal, tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("version: 1\ntasks:\n  - {id: a, owns: [a.txt], run: ['true']}\n")
    (tmp_path / "not-a-repo").mkdir()
    result = shoal("run", plan, "--repo", tmp_path / "not-a-repo", "--progress", "off")
    assert result.code == 2
    assert "not inside a git work tree" in result.err and "Traceback" not in result.err


def test_status_without_runs_exits_2_with_a_hint(shoal, tmp_path):
    from shoal.testing import make_repo

    repo = make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    result = shoal("status", "--repo", repo)
    assert result.code == 2 and "shoal run" in result.err


def test_run_reads_the_plan_once_unless_a_board_needs_it(shoal, tmp_path, monkeypatch):
    from shoal import planfile
    from shoal.testing import make_repo

    repo = make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    plan = tmp_path / "plan.yaml"
    plan.write_text("version: 1\ntasks:\n  - {id: a, owns: [a.txt], run: ['echo a > a.txt']}\n")
    reads: list[object] = []
    real = planfile.read_plan
    monkeypatch.setattr(planfile, "read_plan", lambda path: reads.append(path) or real(path))
    for n, progress in enumerate(("off", "plain", "auto"), start=1):  # auto: not a terminal here
        result = shoal("run", plan, "--repo", repo, "--progress", progress)
        assert result.code == 0, result.out + result.err
        assert len(reads) == n, progress
    # the board is drawn from the plan before the run starts: read once more for it
    result = shoal("run", plan, "--repo", repo, "--progress", "live")
    assert result.code == 0, result.out + result.err
    assert len(reads) == 5
