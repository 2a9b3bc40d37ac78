"""End to end: workers that hang, fail, die by a signal, flood output or cannot start, and how
the run goes on (retries, skipped dependents, --fail-fast, the fallback to one at a time)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import shoal
from shoal.model import TaskState
from shoal.store import AttemptState, RunState

from .conftest import (
    alive_with,
    attempts,
    fake_agent,
    py_command,
    run_events,
    show,
    user_state,
    write_plan,
)


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


@needs_proc
def test_hung_worker_times_out_retries_once_longer_then_blocks(repo: Path, tmp_path: Path) -> None:
    marker = f"shoal-hang-{os.getpid()}-{time.monotonic_ns()}"
    # ignores TERM (only KILL ends it), and so does a grandchild in its process group
    hang = f"trap '' TERM; sh -c 'trap \"\" TERM; exec sleep 300' {marker}-child & exec sleep 300 # {marker}"
    plan = write_plan(tmp_path, [
        {"id": "slow", "owns": ["slow.txt"], "timeout": "1s", "retries": 3,
         "run": [f"sh -c \"{hang}\" {marker}"]},
        {"id": "after-slow", "owns": ["x.txt"], "after": ["slow"], "run": ["true"]},
        {"id": "other", "owns": ["o.txt"], "run": ["echo o > o.txt"]},
    ])
    before = user_state(repo)
    started = time.monotonic()

    result = shoal.run(plan, repo=repo, grace=0.3)

    assert time.monotonic() - started < 15
    slow = result.task("slow")
    assert slow.state is TaskState.BLOCKED
    assert slow.reason and "timed out" in slow.reason and "gave up" in slow.reason
    runs = attempts(repo, result.run_id, "slow")
    assert [a.state for a in runs] == [AttemptState.TIMEOUT, AttemptState.TIMEOUT]  # not 4
    assert runs[0].timeout_s == pytest.approx(1.0)
    assert runs[1].timeout_s == pytest.approx(1.5)
    assert runs[1].ended_at - runs[1].started_at >= 1.5
    assert result.task("after-slow").state is TaskState.SKIPPED
    assert "slow" in (result.task("after-slow").reason or "")
    assert result.task("other").state is TaskState.SUCCEEDED
    assert result.state is RunState.FAILED
    assert alive_with(marker) == []  # the whole process group was killed and reaped
    assert user_state(repo) == before


def test_non_zero_exit_is_retried_then_fails_and_skips_dependents(repo: Path, tmp_path: Path) -> None:
    count = tmp_path / "tries"
    plan = write_plan(tmp_path, [
        {"id": "bad", "owns": ["bad.txt"], "retries": 2,
         "run": [f"echo try >> {count}", "echo 'boom: the build broke' >&2; exit 3"]},
        {"id": "child", "owns": ["c.txt"], "after": ["bad"], "run": ["true"]},
        {"id": "grandchild", "owns": ["g.txt"], "after": ["child"], "run": ["true"]},
        {"id": "free", "owns": ["f.txt"], "run": ["echo f > f.txt"]},
    ])

    result = shoal.run(plan, repo=repo, grace=0.5)

    assert result.state is RunState.FAILED
    bad = result.task("bad")
    assert bad.state is TaskState.FAILED and bad.attempts == 3  # 1 + 2 retries
    assert count.read_text().count("try") == 3
    assert "exited with code 3" in (bad.reason or "") and "boom" in (bad.reason or "")
    assert result.task("child").state is TaskState.SKIPPED
    assert "bad" in (result.task("child").reason or "")
    assert result.task("grandchild").state is TaskState.SKIPPED
    assert "bad" in (result.task("grandchild").reason or "")
    assert result.task("child").attempts == 0
    assert result.task("free").state is TaskState.SUCCEEDED
    assert show(repo, result.integration_branch, "f.txt") == "f\n"
    assert show(repo, result.integration_branch, "bad.txt") is None


def test_worker_killed_by_a_signal_is_a_crash(repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, [{"id": "k", "owns": ["k.txt"], "retries": 0,
                                  "run": ["echo k > k.txt", "kill -9 $$"]}])
    result = shoal.run(plan, repo=repo, grace=0.5)
    k = result.task("k")
    assert k.state is TaskState.FAILED
    assert "SIGKILL" in (k.reason or "")
    assert [a.state for a in attempts(repo, result.run_id, "k")] == [AttemptState.CRASHED]
    assert show(repo, result.integration_branch, "k.txt") is None


@pytest.mark.parametrize("how", ["fake-agent", "yes"])
def test_flooding_worker_is_stopped(repo: Path, tmp_path: Path, how: str) -> None:
    limit = 1 << 20
    if how == "yes":
        plan = write_plan(tmp_path, [{"id": "f", "owns": ["f.txt"], "retries": 0,
                                      "run": ["yes", "echo f > f.txt"]}])  # endless
        kwargs = {}
    else:
        plan = write_plan(tmp_path, [{"id": "f", "owns": ["f.txt"], "retries": 0,
                                      "prompt": "flood\n\n## Files to Modify\n- f.txt\n"}])
        kwargs = {"agent": "command", "agent_settings": fake_agent("flood", "--flood-mb", "50")}

    result = shoal.run(plan, repo=repo, grace=0.5, max_output_bytes=limit, **kwargs)

    f = result.task("f")
    assert f.state is TaskState.FAILED
    assert f"more than {limit} bytes of output" in (f.reason or "")
    assert show(repo, result.integration_branch, "f.txt") is None
    log = Path(attempts(repo, result.run_id, "f")[0].log_path or "")
    assert log.stat().st_size > limit
    assert f.ended_at is not None and f.started_at is not None
    assert f.ended_at - f.started_at < 20  # stopped for its output, long before its 30 s timeout


def test_missing_agent_executable_is_a_readable_failure(repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, [{"id": "t", "owns": ["t.txt"], "prompt": "do it"}])
    settings = {"command": {"command": ["shoal-no-such-agent-xyz", "--prompt-file", "{prompt_file}"]}}

    result = shoal.run(plan, repo=repo, agent="command", agent_settings=settings, grace=0.5)

    t = result.task("t")
    assert t.state is TaskState.FAILED
    assert "shoal-no-such-agent-xyz" in (t.reason or "")
    assert "Traceback" not in (t.reason or "")
    assert t.attempts == 1  # installing it is the user's job: retrying cannot help


def test_worker_reporting_blocked_is_blocked_without_retry(repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, [{"id": "t", "owns": ["t.txt"], "retries": 3, "prompt": "x"},
                                 {"id": "u", "owns": ["u.txt"], "after": ["t"], "prompt": "y"}])
    result = shoal.run(plan, repo=repo, agent="command", grace=0.5,
                       agent_settings=fake_agent("blocked"))
    t = result.task("t")
    assert t.state is TaskState.BLOCKED and t.attempts == 1
    assert "missing contract" in (t.reason or "")
    assert result.task("u").state is TaskState.SKIPPED


def test_failing_setup_command_fails_the_task_with_its_output(repo: Path, tmp_path: Path) -> None:
    setup = py_command("import sys; print('npm: lockfile is broken'); sys.exit(4)")
    plan = write_plan(tmp_path, [{"id": "t", "owns": ["t.txt"], "retries": 2,
                                  "run": ["echo t > t.txt"]}], setup=[setup])
    result = shoal.run(plan, repo=repo, grace=0.5)
    t = result.task("t")
    assert t.state is TaskState.FAILED and t.attempts == 1  # the same every time: no retry
    assert "setup command" in (t.reason or "") and "exit code 4" in (t.reason or "")
    assert "lockfile is broken" in (t.reason or "")


def test_hang_after_reporting_pass_still_counts(repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, [{"id": "t", "owns": ["t.txt"], "timeout": "1s",
                                  "prompt": "x\n\n## Files to Modify\n- t.txt\n"}])
    result = shoal.run(plan, repo=repo, agent="command", grace=0.2,
                       agent_settings=fake_agent("hang-after-result"))
    assert result.ok, result.to_json()
    assert show(repo, result.integration_branch, "t.txt") is not None


def test_fail_fast_starts_nothing_new_and_lets_running_tasks_finish(repo: Path,
                                                                    tmp_path: Path) -> None:
    plan = write_plan(tmp_path, [
        {"id": "bad", "owns": ["bad.txt"], "retries": 0, "run": ["exit 1"]},
        {"id": "long", "owns": ["long.txt"], "run": ["sleep 1.5", "echo long > long.txt"]},
        {"id": "later1", "owns": ["l1.txt"], "after": ["long"], "run": ["echo 1 > l1.txt"]},
        {"id": "later2", "owns": ["l2.txt"], "after": ["long"], "run": ["echo 2 > l2.txt"]},
    ], max_parallel=2)

    result = shoal.run(plan, repo=repo, fail_fast=True, grace=0.5)

    assert result.state is RunState.FAILED
    assert result.task("bad").state is TaskState.FAILED
    assert result.task("long").state is TaskState.SUCCEEDED  # was running: finished and merged
    assert show(repo, result.integration_branch, "long.txt") == "long\n"
    for later in ("later1", "later2"):
        assert result.task(later).state is TaskState.CANCELLED
        assert result.task(later).attempts == 0
        assert "fail-fast" in (result.task(later).reason or "")
    assert len(run_events(repo, result.run_id, "fail_fast")) == 1
    bad_end = attempts(repo, result.run_id, "bad")[0].ended_at
    assert all(a.started_at <= bad_end for a in attempts(repo, result.run_id))


def test_all_parallel_workers_failing_falls_back_to_one_at_a_time(repo: Path,
                                                                  tmp_path: Path) -> None:
    tasks = [{"id": f"t{i}", "owns": [f"t{i}.txt"], "retries": 0,
              "run": ["sleep 0.3", "exit 1"] if i < 3 else ["sleep 0.2", f"echo {i} > t{i}.txt"]}
             for i in range(9)]
    plan = write_plan(tmp_path, tasks, max_parallel=3)

    result = shoal.run(plan, repo=repo, grace=0.5)

    fallback = run_events(repo, result.run_id, "fallback_sequential")
    assert len(fallback) == 1 and "one at a time" in fallback[0].data["message"]
    runs = attempts(repo, result.run_id)
    later = [a for a in runs if a.started_at >= fallback[0].ts]
    assert len(later) >= 3
    for a in later:  # nothing ran beside an attempt started after the fallback
        assert all(b is a or b.ended_at <= a.started_at or b.started_at >= a.ended_at
                   for b in runs), (a, runs)
    for i in range(3, 9):
        assert result.task(f"t{i}").state is TaskState.SUCCEEDED


def test_failures_in_waves_with_a_success_do_not_fall_back(repo: Path, tmp_path: Path) -> None:
    """Three failures in a row, each beside a running task, used to fall back (issue 14, item
    8); seed 001 falls back only when every worker of a wave fails. ok1 runs until the three
    failures are in, so they come one after another beside it."""
    done = tmp_path / "done"
    wait = (f"for i in $(seq 600); do [ -e {done}-f1 ] && [ -e {done}-f2 ] && [ -e {done}-f3 ] "
            "&& break; sleep 0.05; done")

    def fails(tid: str) -> dict[str, object]:
        return {"id": tid, "owns": [f"{tid}.txt"], "retries": 0,
                "run": [f"touch {done}-{tid}", "exit 1"]}

    tasks = [fails("f1"), {"id": "ok1", "owns": ["ok1.txt"], "run": [wait, "echo 1 > ok1.txt"]},
             fails("f2"), fails("f3"), {"id": "ok2", "owns": ["ok2.txt"], "run": ["echo 2 > ok2.txt"]},
             {"id": "ok3", "owns": ["ok3.txt"], "run": ["echo 3 > ok3.txt"]}]
    plan = write_plan(tmp_path, tasks, max_parallel=3)
    waves = [sorted(w["tasks"]) for w in shoal.schedule(plan).to_json()["waves"]]
    assert waves == [["f1", "f2", "ok1"], ["f3", "ok2", "ok3"]]  # what the rule judges by

    result = shoal.run(plan, repo=repo, grace=0.5)

    assert run_events(repo, result.run_id, "fallback_sequential") == []
    assert {t.task_id for t in result.tasks if t.state is TaskState.SUCCEEDED} == {"ok1", "ok2", "ok3"}
    starts = {a.task_id: a.started_at for a in attempts(repo, result.run_id)}
    ok1_end = attempts(repo, result.run_id, "ok1")[0].ended_at
    assert starts["f3"] < ok1_end  # f3 did run beside ok1: the old rule would have fired
