"""End to end on real repositories: a run that goes well, each isolation mode, the inputs a run
refuses (bad base, not a repository) and the one it accepts with a note (a dirty working tree)."""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

import shoal
import shoal.api
from shoal.engine import naming
from shoal.git import NotARepository, RefNotFound
from shoal.model import TaskState
from shoal.store import RunState

from .conftest import (
    attempts,
    git_out,
    merge_keys,
    py_command,
    run_events,
    show,
    user_state,
    write_plan,
)

# A task that waits (up to 10 s) until RESOURCE_LOCKS.json lists `path` as locked by it.
WAIT_FOR_LOCK = (
    'python3 -c "import json, os, sys, time, subprocess\n'
    "common = subprocess.run(['git', 'rev-parse', '--path-format=absolute', '--git-common-dir'],"
    " capture_output=True, text=True).stdout.strip()\n"
    "f = os.path.join(common, 'shoal', 'runs', os.environ['SHOAL_RUN_ID'], 'RESOURCE_LOCKS.json')\n"
    "end = time.time() + 10\n"
    "while time.time() < end:\n"
    "    try:\n"
    "        if sys.argv[1] in open(f).read(): sys.exit(0)\n"
    "    except OSError: pass\n"
    '    time.sleep(0.05)\n'
    'sys.exit(9)" '
)


def test_parallel_tasks_and_a_dependent_land_once_each(repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, [
        {"id": "a", "owns": ["a.txt"], "run": [WAIT_FOR_LOCK + "a.txt", "echo A > a.txt"]},
        {"id": "b", "owns": ["b.txt"], "run": ["echo B > b.txt"]},
        # starts from the integration head: the work of a and b is there
        {"id": "c", "owns": ["c.txt"], "after": ["a", "b"],
         "run": ["test -f a.txt", "test -f b.txt", "cat a.txt b.txt > c.txt"]},
    ])
    before = user_state(repo)

    result = shoal.run(plan, repo=repo, grace=0.5)

    assert result.state is RunState.SUCCEEDED, result.to_json()
    assert {t.task_id: t.state for t in result.tasks} == {
        "a": TaskState.SUCCEEDED, "b": TaskState.SUCCEEDED, "c": TaskState.SUCCEEDED}
    assert all(t.attempts == 1 for t in result.tasks)
    branch = result.integration_branch
    assert show(repo, branch, "c.txt") == "A\nB\n"
    # exactly one merge commit per task, each with its trailer
    assert sorted(merge_keys(repo, branch)) == [f"{result.run_id}/{t}" for t in "abc"]
    assert merge_keys(repo, branch)[-1] == f"{result.run_id}/c"
    merges = [line for line in git_out(repo, "log", "--first-parent", "--format=%P", branch)
              .splitlines() if len(line.split()) == 2]
    assert len(merges) == 3
    # a and b ran side by side; c started after both had merged
    starts = {a.task_id: a for a in attempts(repo, result.run_id)}
    merged_at = {e.task_id: e.ts for e in run_events(repo, result.run_id, "merged")}
    assert starts["a"].started_at < starts["b"].ended_at and starts["b"].started_at < starts["a"].ended_at
    assert starts["c"].started_at >= max(merged_at["a"], merged_at["b"])
    # the user's checkout is as it was, and git status shows nothing of the run
    assert user_state(repo) == before
    assert git_out(repo, "status", "--porcelain", "--untracked-files=all") == ""
    # seed 003's status files
    status = json.loads((result.run_dir / "PARALLEL_STATUS.json").read_text())
    assert status["execution_id"] == result.run_id and status["phase"] == "done"
    assert {t["id"]: t["status"] for t in status["tasks"]} == dict.fromkeys("abc", "completed")
    assert json.loads((result.run_dir / "RESOURCE_LOCKS.json").read_text())["locks"] == []


def test_work_lands_only_on_the_integration_branch(repo: Path, tmp_path: Path) -> None:
    head = git_out(repo, "rev-parse", "HEAD")
    plan = write_plan(tmp_path, [{"id": "t", "owns": ["src/app.py"],
                                  "run": ["echo 'def main(): return 2' > src/app.py"]}])
    result = shoal.run(plan, repo=repo, grace=0.5)
    assert result.ok
    assert git_out(repo, "rev-parse", "HEAD") == head
    assert (repo / "src/app.py").read_text() == "def main():\n    return 1\n"
    assert show(repo, result.integration_branch, "src/app.py") == "def main(): return 2\n"
    # the dirty-leftover commit of the worker carries the Conventional Commits subject and trailer
    log = git_out(repo, "log", "--format=%s%n%b%x00", f"{head}..{result.integration_branch}",
                  "--no-merges")
    assert log.startswith("feat(t): t") and f"Shoal-Task: {result.run_id}/t" in log


@pytest.mark.parametrize("isolation", ["directory", "branch", "none"])
def test_isolation_modes_run_a_small_plan(repo: Path, tmp_path: Path, isolation: str) -> None:
    plan = write_plan(tmp_path, [
        {"id": "a", "owns": ["out/a.txt"], "run": ["mkdir -p out", "echo A > out/a.txt", "sleep 0.3"]},
        {"id": "b", "owns": ["out/b.txt"], "run": ["mkdir -p out", "echo B > out/b.txt", "sleep 0.3"]},
        {"id": "c", "owns": ["out/c.txt"], "after": ["a"],
         "run": ["test -f out/a.txt", "echo C > out/c.txt"]},
    ])
    before = user_state(repo)

    result = shoal.run(plan, repo=repo, isolation=isolation, grace=0.5)

    assert result.ok, result.to_json()
    branch = result.integration_branch
    for name, text in (("a", "A"), ("b", "B"), ("c", "C")):
        assert show(repo, branch, f"out/{name}.txt") == f"{text}\n"
    assert user_state(repo) == before
    runs = attempts(repo, result.run_id)
    assert len(runs) == 3
    if isolation == "branch":  # seed 002's pattern 2: one task at a time
        spans = sorted((a.started_at, a.ended_at) for a in runs)
        assert all(end <= nxt for (_, end), (nxt, _) in pairwise(spans))
    if isolation != "none":  # one merge per task; none commits the shared tree once at the end
        assert sorted(merge_keys(repo, branch)) == [f"{result.run_id}/{t}" for t in "abc"]


@pytest.mark.parametrize("isolation", ["directory", "branch"])
def test_shared_workspace_modes_retry_a_failed_task(repo: Path, tmp_path: Path,
                                                     isolation: str) -> None:
    """A failed attempt hands its workspace back: the retry (and the next task) can start."""
    flag = tmp_path / "second-try"
    plan = write_plan(tmp_path, [
        {"id": "a", "owns": ["a.txt"], "retries": 1,
         "run": ["echo A > a.txt", f"test -f {flag} || {{ touch {flag}; exit 1; }}"]},
        {"id": "b", "owns": ["b.txt"], "after": ["a"], "run": ["echo B > b.txt"]},
    ])
    result = shoal.run(plan, repo=repo, isolation=isolation, grace=0.5)
    assert result.ok, result.to_json()
    assert result.task("a").attempts == 2
    assert show(repo, result.integration_branch, "b.txt") == "B\n"


def test_dirty_working_tree_is_left_alone_and_noted(repo: Path, tmp_path: Path) -> None:
    (repo / "src/app.py").write_bytes(b"uncommitted \x00 bytes\n")
    (repo / "scratch.txt").write_text("untracked\n")
    git_out(repo, "add", "scratch.txt")  # something staged, too
    (repo / "scratch.txt").write_text("untracked, then changed\n")
    before = user_state(repo)
    plan = write_plan(tmp_path, [{"id": "t", "owns": ["src/app.py", "copy.txt"],
                                  "run": ["cp src/app.py copy.txt", "echo new > src/app.py"]}])

    result = shoal.run(plan, repo=repo, grace=0.5)

    assert result.ok, result.to_json()
    notes = run_events(repo, result.run_id, "note")
    assert len(notes) == 1 and "uncommitted changes" in notes[0].data["message"]
    assert "not part of this run" in notes[0].data["message"]
    # the run started from the committed base, not from the dirty files
    assert show(repo, result.integration_branch, "copy.txt") == "def main():\n    return 1\n"
    assert show(repo, result.integration_branch, "scratch.txt") is None
    assert user_state(repo) == before


def test_base_ref_that_does_not_exist(repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, [{"id": "t", "owns": ["a.txt"], "run": ["true"]}])
    before = user_state(repo)
    with pytest.raises(RefNotFound) as info:
        shoal.run(plan, repo=repo, base="no-such-branch")
    assert "no-such-branch" in info.value.message and info.value.hint
    assert user_state(repo) == before
    assert git_out(repo, "branch", "--list", "shoal*") == ""


def test_folder_that_is_not_a_repository(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    plan = write_plan(tmp_path, [{"id": "t", "owns": ["a.txt"], "run": ["true"]}])
    with pytest.raises(NotARepository) as info:
        shoal.run(plan, repo=folder)
    assert str(folder) in info.value.message
    assert list(folder.iterdir()) == []


def _cli(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shoal", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("case", ["bad-base", "not-a-repo"])
def test_cli_bad_input_exit_2_with_the_message(repo: Path, tmp_path: Path, case: str) -> None:
    plan = write_plan(tmp_path, [{"id": "t", "owns": ["a.txt"], "run": ["true"]}])
    if case == "bad-base":
        done = _cli("run", plan, "--repo", repo, "--base", "nope", "--progress", "off", cwd=tmp_path)
        needle = "'nope' does not exist"
    else:
        (tmp_path / "plain").mkdir()
        done = _cli("run", plan, "--repo", tmp_path / "plain", "--progress", "off", cwd=tmp_path)
        needle = "is not inside a git work tree"
    assert done.returncode == 2, done.stderr
    assert needle in done.stderr and "hint:" in done.stderr
    assert "Traceback" not in done.stderr


def test_verify_commands_run_on_the_merged_result(repo: Path, tmp_path: Path) -> None:
    check = py_command("import pathlib, sys; sys.exit(0 if pathlib.Path('a.txt').exists() else 1)")
    plan = write_plan(tmp_path, [
        {"id": "a", "owns": ["a.txt"], "run": ["echo A > a.txt"]},
        {"id": "b", "owns": ["b.txt"], "after": ["a"], "run": ["echo B > b.txt"], "verify": [check]},
    ])
    result = shoal.run(plan, repo=repo, grace=0.5)
    assert result.ok, result.to_json()



def test_each_worker_gets_the_prompt_shoal_prompt_shows(repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, [
        {"id": "a", "owns": ["src/x.py"], "run": ["true"]},
        {"id": "b", "owns": ["src/x.py"], "run": ["true"]},  # conflicts with a: high risk
        {"id": "c", "owns": ["c.txt"], "after": ["a"], "run": ["true"]},
        {"id": "d", "owns": ["d.txt"], "run": ["true"]},
    ])

    result = shoal.run(plan, repo=repo, max_parallel=3)

    assert result.ok
    for task_id in "abcd":
        given = naming.prompt_path(repo / ".git", result.run_id, task_id, 1).read_text()
        assert given == shoal.api.render_prompt(plan, task_id, max_parallel=3)
    assert "high (overlapping paths with b" in naming.prompt_path(
        repo / ".git", result.run_id, "a", 1).read_text()
