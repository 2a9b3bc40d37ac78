"""End to end: attempts the supervisor runs on its own thread. With isolation none, once the
shared tree exists an attempt needs no git to start and the attempts that end together share one
snapshot of the tree (none at all without change tracking), so the supervisor starts its worker
and waits for it with its inbox instead of handing it to a worker thread. Every failure path must
behave exactly as it does on a worker thread."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import shoal
from shoal.engine import sharedtree, supervisor
from shoal.engine.inline import interrupts_deferred
from shoal.model import TaskState
from shoal.store import AttemptState, RunState

from .conftest import alive_with, attempts, git_out, show, start_cli, user_state, write_plan

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc and pidfds")

FAST = {"isolation": "none", "track_changes": False, "grace": 0.3}


@pytest.fixture
def inline_starts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tasks whose attempts the supervisor began on its own thread."""
    seen: list[str] = []
    real = supervisor.Supervisor._begin_here

    def spy(self: supervisor.Supervisor, spec):  # type: ignore[no-untyped-def]
        seen.append(spec.task.id)
        return real(self, spec)

    monkeypatch.setattr(supervisor.Supervisor, "_begin_here", spy)
    return seen


def _plan(tmp_path: Path, tasks: list[dict[str, object]], **top: object) -> Path:
    """`tasks` after a first task, which opens the shared tree on a worker thread."""
    first = {"id": "open", "owns": ["open.txt"], "run": ["echo open > open.txt"]}
    return write_plan(tmp_path, [first, *({"after": ["open"], **t} for t in tasks)], **top)


def _marker() -> str:
    return f"shoal-inline-{os.getpid()}-{time.monotonic_ns()}"


def _start(tmp_path: Path, plan: Path, repo: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    """`shoal run PLAN` (isolation none, no change tracking) in a process of its own; its log."""
    proc = start_cli(tmp_path, "run", plan, "--repo", repo, "--isolation", "none",
                     "--no-track-changes", *args)
    return proc, tmp_path / "orchestrator.log"


def _wait_for_workers(marker: str, count: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while len(alive_with(marker)) < count:
        assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
        time.sleep(0.01)


def test_many_tasks_run_on_the_supervisor_thread_and_land(repo: Path, tmp_path: Path,
                                                          inline_starts: list[str]) -> None:
    ids = [f"n{i:02d}" for i in range(24)]
    plan = _plan(tmp_path, [{"id": i, "owns": [f"{i}.txt"], "run": [f"echo {i} > {i}.txt"]}
                            for i in ids])
    before = user_state(repo)

    result = shoal.run(plan, repo=repo, max_parallel=4, **FAST)

    assert result.ok, result.to_json()
    assert sorted(inline_starts) == ids  # all but the first, which opened the tree
    for i in ids:
        assert show(repo, result.integration_branch, f"{i}.txt") == f"{i}\n"
    assert user_state(repo) == before



def test_tracked_tasks_run_here_too_and_each_gets_exactly_its_own_changes(
        repo: Path, tmp_path: Path, inline_starts: list[str]) -> None:
    ids = [f"n{i:02d}" for i in range(24)]
    tasks: list[dict[str, object]] = [
        {"id": i, "owns": [f"out/{i}.txt"], "run": [f"mkdir -p out && echo {i} > out/{i}.txt"]}
        for i in ids]
    # a path nobody owns goes to whichever task collects first (isolation none's best effort):
    # alone at the end, that is the task that wrote it
    tasks.append({"id": "stray", "owns": ["out/stray.txt"], "run": ["echo x > elsewhere.txt"],
                  "after": ["open", *ids]})
    plan = _plan(tmp_path, tasks)
    before = user_state(repo)

    result = shoal.run(plan, repo=repo, max_parallel=4, isolation="none", grace=0.3)

    assert sorted(inline_starts) == sorted([*ids, "stray"])  # tracked, and on this thread
    for i in ids:  # attempts that ended together shared snapshots; each still got its own
        assert result.task(i).changed_paths == (f"out/{i}.txt",), result.task(i)
        assert show(repo, result.integration_branch, f"out/{i}.txt") == f"{i}\n"
    stray = result.task("stray")
    assert stray.state == TaskState.FAILED.value and "boundary violation" in (stray.reason or "")
    assert [v["path"] for v in stray.violations] == ["elsewhere.txt"]
    assert not (result.run_dir / "shared.index").exists()  # the snapshots' index: run over
    assert user_state(repo) == before


def test_slow_snapshots_send_tracked_attempts_back_to_worker_threads(
        repo: Path, tmp_path: Path, inline_starts: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # on a large repository a snapshot would stall the supervisor's starts: every one is "slow"
    monkeypatch.setattr(sharedtree, "SLOW_SNAPSHOT_S", -1.0)
    ids = [f"n{i:02d}" for i in range(8)]
    plan = _plan(tmp_path, [{"id": i, "owns": [f"out/{i}.txt"],
                             "run": [f"mkdir -p out && echo {i} > out/{i}.txt"]} for i in ids])

    result = shoal.run(plan, repo=repo, max_parallel=4, isolation="none", grace=0.3)

    assert result.ok, result.to_json()
    assert inline_starts == []  # the first task's snapshot was slow: threads took the rest
    for i in ids:
        assert result.task(i).changed_paths == (f"out/{i}.txt",), result.task(i)
        assert show(repo, result.integration_branch, f"out/{i}.txt") == f"{i}\n"


def test_a_branch_deleted_in_the_shared_tree_is_blamed_on_its_task_and_put_back(
        repo: Path, tmp_path: Path, inline_starts: list[str]) -> None:
    git_out(repo, "branch", "feature")
    feature = git_out(repo, "rev-parse", "feature")
    quiet = [f"q{i}" for i in range(4)]  # end together, after the deleter: one look at the refs
    plan = _plan(tmp_path, [
        {"id": "deleter", "owns": ["d.txt"], "run": ["git branch -D feature", "echo d > d.txt"]},
        *({"id": i, "owns": [f"{i}.txt"], "run": ["sleep 0.5", f"echo {i} > {i}.txt"]}
          for i in quiet),
    ])
    before = user_state(repo)

    result = shoal.run(plan, repo=repo, max_parallel=5, **FAST)

    assert sorted(inline_starts)[:1] == ["deleter"] and set(quiet) <= set(inline_starts)
    deleter = result.task("deleter")
    assert deleter.state == TaskState.FAILED.value, deleter
    assert [v["path"] for v in deleter.violations][:1] == ["refs/heads/feature"]
    assert "put it back" in deleter.violations[0]["detail"]
    assert git_out(repo, "rev-parse", "feature") == feature
    for i in quiet:
        assert result.task(i).state == TaskState.SUCCEEDED.value, result.task(i)
        assert result.task(i).violations == ()
    assert user_state(repo) == before


def test_hung_worker_times_out_retries_once_longer_then_blocks(repo: Path, tmp_path: Path,
                                                                inline_starts: list[str]) -> None:
    marker = _marker()
    hang = f"trap '' TERM; sh -c 'trap \"\" TERM; exec sleep 300' {marker}-child & exec sleep 300 # {marker}"
    plan = _plan(tmp_path, [
        {"id": "slow", "owns": ["slow.txt"], "timeout": "1s", "retries": 3,
         "run": [f"sh -c \"{hang}\" {marker}"]},
        {"id": "other", "owns": ["o.txt"], "run": ["echo o > o.txt"]},
    ])

    result = shoal.run(plan, repo=repo, **FAST)

    assert "slow" in inline_starts
    slow = result.task("slow")
    assert slow.state is TaskState.BLOCKED and "gave up" in (slow.reason or "")
    runs = attempts(repo, result.run_id, "slow")
    assert [a.state for a in runs] == [AttemptState.TIMEOUT, AttemptState.TIMEOUT]
    assert runs[1].ended_at - runs[1].started_at >= 1.5
    assert result.task("other").state is TaskState.SUCCEEDED
    assert alive_with(marker) == []  # the whole group, TERM ignored, was killed and reaped


def test_failures_crashes_floods_and_missing_programs(repo: Path, tmp_path: Path,
                                                      inline_starts: list[str]) -> None:
    plan = _plan(tmp_path, [
        {"id": "bad", "owns": ["bad.txt"], "retries": 1, "run": ["echo 'boom' >&2; exit 3"]},
        {"id": "child", "owns": ["c.txt"], "after": ["bad"], "run": ["true"]},
        {"id": "killed", "owns": ["k.txt"], "retries": 0, "run": ["kill -9 $$"]},
        {"id": "flood", "owns": ["f.txt"], "retries": 0, "run": ["yes | head -c 50000000"]},
        {"id": "missing", "owns": ["m.txt"], "agent": "command"},
    ])
    settings = {"command": {"command": ["shoal-no-such-agent-xyz", "{prompt_file}"]}}

    result = shoal.run(plan, repo=repo, max_output_bytes=1 << 20, agent_settings=settings, **FAST)

    assert {"bad", "killed", "flood", "missing"} <= set(inline_starts)
    assert result.state is RunState.FAILED
    bad = result.task("bad")
    assert bad.attempts == 2 and "exited with code 3" in (bad.reason or "") and "boom" in (bad.reason or "")
    assert result.task("child").state is TaskState.SKIPPED
    assert "SIGKILL" in (result.task("killed").reason or "")
    assert "bytes of output" in (result.task("flood").reason or "")
    missing = result.task("missing")
    assert missing.attempts == 1 and "shoal-no-such-agent-xyz" in (missing.reason or "")


def test_idle_worker_is_stopped_by_the_watchdog(repo: Path, tmp_path: Path,
                                                inline_starts: list[str]) -> None:
    plan = _plan(tmp_path, [{"id": "quiet", "owns": ["q.txt"], "retries": 0, "run": ["sleep 30"]}])

    started = time.monotonic()
    result = shoal.run(plan, repo=repo, idle_timeout=1.0, **FAST)

    assert inline_starts == ["quiet"]
    assert time.monotonic() - started < 15
    quiet = result.task("quiet")
    assert quiet.state is TaskState.FAILED and "idle timeout" in (quiet.reason or "")


def test_ctrl_c_stops_the_workers_it_runs_itself(repo: Path, tmp_path: Path) -> None:
    marker = _marker()
    plan = _plan(tmp_path, [{"id": f"s{i}", "owns": [f"s{i}.txt"],
                             "run": [f"sh -c 'exec sleep 60' {marker}"]} for i in range(3)])
    proc, log = _start(tmp_path, plan, repo, "--progress", "plain")
    _wait_for_workers(marker, 3, proc, log)

    proc.send_signal(signal.SIGINT)

    assert proc.wait(30) == 130, log.read_text()
    assert alive_with(marker) == []
    assert "Traceback" not in log.read_text()
    state = shoal.engine.load_result(repo=repo)
    assert state.state is RunState.INTERRUPTED
    assert state.task("open").state is TaskState.SUCCEEDED
    assert all(state.task(f"s{i}").state is TaskState.PENDING for i in range(3))
    run_dir = state.run_dir
    assert list(run_dir.glob("attempts/*/*/worker.pid")) == []


@pytest.mark.parametrize("after_s", [0.2, 0.5, 0.8])
def test_ctrl_c_in_a_run_of_many_workers_leaves_none_behind(
        repo: Path, tmp_path: Path, after_s: float) -> None:
    marker = _marker()
    plan = _plan(tmp_path, [{"id": f"q{i:03d}", "owns": [f"q{i:03d}.txt"],
                             "run": [f"sh -c 'sleep 1' {marker}"]} for i in range(400)])
    proc, log = _start(tmp_path, plan, repo, "--max-parallel", "8", "--progress", "off")
    _wait_for_workers(marker, 1, proc, log)
    time.sleep(after_s)

    proc.send_signal(signal.SIGINT)

    assert proc.wait(30) == 130, log.read_text()
    assert alive_with(marker) == []  # every worker it had started was stopped
    assert shoal.engine.load_result(repo=repo).state is RunState.INTERRUPTED


def test_ctrl_c_is_held_back_until_a_deferred_block_ends() -> None:
    reached_the_end = False
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # a signal is handled between bytecodes: it would have been by now
            reached_the_end = True
    assert reached_the_end
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
