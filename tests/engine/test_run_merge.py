"""End to end: the merge queue refusing work — a real git conflict between two tasks that ran
side by side, and a failing verify gate — leaves the integration branch as it was."""

from __future__ import annotations

from pathlib import Path

import shoal
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


def test_conflict_between_parallel_tasks_fails_the_later_one(repo: Path, tmp_path: Path) -> None:
    # Neither owns README.md, so the scheduler lets them run together; --on-violation warn lets
    # both changes through the boundary check, and git has the last word.
    plan = write_plan(tmp_path, [
        {"id": "first", "owns": ["a.txt"], "run": ["echo A > a.txt", "echo first > README.md"]},
        {"id": "second", "owns": ["b.txt"],
         "run": ["echo B > b.txt", "echo second > README.md",
                 # ends once first's change has landed (at most 60 s), however slow the machine
                 'i=0; until git show "shoal/$SHOAL_RUN_ID:README.md" 2>/dev/null | grep -q first'
                 ' || [ $i -ge 1200 ]; do sleep 0.05; i=$((i+1)); done']},
    ], max_parallel=2)
    before = user_state(repo)

    result = shoal.run(plan, repo=repo, on_violation="warn", grace=0.5)

    first, second = result.task("first"), result.task("second")
    assert first.state is TaskState.SUCCEEDED
    assert second.state is TaskState.FAILED and result.state is RunState.FAILED
    assert "conflicts" in (second.reason or "") and "README.md" in (second.reason or "")
    assert second.attempts == 1
    ran = {a.task_id: a for a in attempts(repo, result.run_id)}
    assert ran["first"].started_at < ran["second"].ended_at  # they did run side by side
    failed = run_events(repo, result.run_id, "merge_failed")
    assert [e.task_id for e in failed] == ["second"] and failed[0].data["conflicts"] == ["README.md"]
    # the failed merge left the integration branch at the first task's merge
    branch = result.integration_branch
    assert git_out(repo, "rev-parse", branch) == first.merged_commit
    assert merge_keys(repo, branch) == [f"{result.run_id}/first"]
    assert show(repo, branch, "README.md") == "first\n" and show(repo, branch, "b.txt") is None
    # the work stays on the task's branch
    assert show(repo, second.branch or "", "b.txt") == "B\n"
    assert user_state(repo) == before


def test_failing_verify_gate_fails_the_task_and_keeps_the_branch(repo: Path, tmp_path: Path) -> None:
    gate = py_command("import os, sys; print('bad.txt is not allowed'); "
                      "sys.exit(1 if os.path.exists('bad.txt') else 0)")
    plan = write_plan(tmp_path, [
        {"id": "good", "owns": ["good.txt"], "run": ["echo g > good.txt"]},
        {"id": "bad", "owns": ["bad.txt"], "after": ["good"], "run": ["echo b > bad.txt"]},
        {"id": "after-bad", "owns": ["c.txt"], "after": ["bad"], "run": ["echo c > c.txt"]},
    ], verify=[gate])

    result = shoal.run(plan, repo=repo, grace=0.5)

    good, bad = result.task("good"), result.task("bad")
    assert good.state is TaskState.SUCCEEDED
    assert bad.state is TaskState.FAILED
    assert "verify command" in (bad.reason or "") and "exited with 1" in (bad.reason or "")
    assert result.task("after-bad").state is TaskState.SKIPPED
    events = run_events(repo, result.run_id, "verify_failed")
    assert [e.task_id for e in events] == ["bad"]
    assert "bad.txt is not allowed" in events[0].data["verify"][-1]["output_tail"]
    branch = result.integration_branch
    assert git_out(repo, "rev-parse", branch) == good.merged_commit
    assert show(repo, branch, "bad.txt") is None
    assert merge_keys(repo, branch) == [f"{result.run_id}/good"]


def test_task_verify_runs_after_the_plan_gates(repo: Path, tmp_path: Path) -> None:
    order = tmp_path / "order.txt"
    plan = write_plan(tmp_path, [
        {"id": "t", "owns": ["t.txt"], "run": ["echo t > t.txt"],
         "verify": [py_command(f"open({str(order)!r}, 'a').write('task\\n')")]},
    ], verify=[py_command(f"open({str(order)!r}, 'a').write('plan\\n')")])
    result = shoal.run(plan, repo=repo, grace=0.5)
    assert result.ok
    assert order.read_text() == "plan\ntask\n"
