"""End to end: durable state. The orchestrator killed with ``kill -9`` at several points (and
stopped with Ctrl-C), then resumed: every task's work is merged exactly once and merged tasks
never run again. Also: two runs at once on one repository, and ``--retry-failed``."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import shoal
from shoal.errors import RunInProgressError, ShoalError
from shoal.model import TaskState
from shoal.store import RunState, Store, default_db_path

from .conftest import (
    alive_with,
    attempts,
    fake_agent,
    git_out,
    merge_keys,
    show,
    start_cli,
    user_state,
    wait_for_run,
    write_plan,
)

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

TASKS = ("a", "b", "c", "d")


def _plan(tmp_path: Path, *, dawdle_s: float = 1.0, **top: object) -> Path:
    """a and b in parallel, c after a, d after b and c. Every attempt appends a line to
    side/<task> (outside the repository); while the file `slow` exists (the test removes it
    before resuming), attempts dawdle `dawdle_s` in a process whose command line holds the
    test's marker, so that orphans can be found."""
    side = tmp_path / "side"
    side.mkdir(exist_ok=True)
    slow = tmp_path / "slow"
    slow.touch()
    marker = _marker(tmp_path)

    def task(tid: str, after: list[str]) -> dict[str, object]:
        return {"id": tid, "owns": [f"{tid}.txt"], "after": after, "run": [
            f"echo run >> {side / tid}",
            f'if [ -f {slow} ]; then python3 -c "import time; time.sleep({dawdle_s})" {marker}; fi',
            *(f"test -f {dep}.txt" for dep in after),
            f"echo {tid} > {tid}.txt",
        ]}

    return write_plan(tmp_path, [task("a", []), task("b", []), task("c", ["a"]),
                                 task("d", ["b", "c"])], **top)


def _marker(tmp_path: Path) -> str:
    return f"shoal-test-marker-{abs(hash(str(tmp_path)))}"


def _wait_for_processes(marker: str, count: int, proc: subprocess.Popen[bytes],
                        timeout: float = 60) -> None:
    """Poll until `count` live processes hold `marker` in their command line (workers or a
    gate started by the orchestrator `proc`, which must still be running)."""
    deadline = time.monotonic() + timeout
    while len(alive_with(marker)) < count:
        assert proc.poll() is None, "the orchestrator ended before the moment to kill it"
        assert time.monotonic() < deadline, f"timed out waiting for {count} process(es) {marker}"
        time.sleep(0.02)


def _kinds(store: Store, run_id: str, kind: str) -> list:  # type: ignore[type-arg]
    return list(store.events(run_id, kinds=[kind]))


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL


def _merged_before(repo: Path, run_id: str) -> dict[str, int]:
    """Task -> attempts so far, for the tasks whose work is on the integration branch."""
    landed = {k.split("/", 1)[1] for k in merge_keys(repo, f"shoal/{run_id}")}
    return {a.task_id: a.number for a in attempts(repo, run_id) if a.task_id in landed}


def _assert_finished_exactly_once(repo: Path, tmp_path: Path, result: shoal.RunResult,
                                  merged_before: dict[str, int]) -> None:
    assert result.state is RunState.SUCCEEDED, result.to_json()
    assert all(t.state is TaskState.SUCCEEDED for t in result.tasks)
    branch = result.integration_branch
    for t in TASKS:
        assert show(repo, branch, f"{t}.txt") == f"{t}\n"
    if result.run.options.get("isolation") == "none":  # one commit of the shared tree, no merges
        return
    keys = merge_keys(repo, branch)
    assert sorted(keys) == [f"{result.run_id}/{t}" for t in TASKS]  # each exactly once
    for task_id, number in merged_before.items():  # merged work was not done again
        assert result.task(task_id).attempts == number
        assert (tmp_path / "side" / task_id).read_text().count("run") == number
    store = Store.open(default_db_path(repo / ".git"), create=False)
    try:
        assert sorted(m.task_id for m in store.merges(result.run_id)) == list(TASKS)
    finally:
        store.close()


@pytest.mark.parametrize("isolation", ["worktree", "directory", "branch", "none"])
def test_kill_9_while_workers_run_then_resume(repo: Path, tmp_path: Path, isolation: str) -> None:
    plan = _plan(tmp_path, dawdle_s=60)
    before = user_state(repo)
    proc = start_cli(tmp_path, "run", plan, "--repo", repo, "--progress", "plain",
                      "--isolation", isolation)
    started = 1 if isolation == "branch" else 2  # branch: one task at a time
    run_id = wait_for_run(repo, lambda s, r: len(_kinds(s, r, "task_started")) >= started, proc)
    marker = _marker(tmp_path)
    _wait_for_processes(marker, started, proc)  # the workers are up
    _kill(proc)
    assert alive_with(marker)  # orphaned: their own sessions outlive the orchestrator
    (tmp_path / "slow").unlink()
    merged = _merged_before(repo, run_id)
    assert merged == {}

    result = shoal.resume(repo=repo)

    assert result.run_id == run_id
    _assert_finished_exactly_once(repo, tmp_path, result, merged)
    assert alive_with(marker) == []  # resume stopped the orphans
    assert result.task("a").attempts == 2  # interrupted attempt + the fresh one
    assert show(repo, result.integration_branch, "a.txt") == "a\n"
    assert user_state(repo) == before
    assert git_out(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_kill_9_right_after_a_merge_then_resume(repo: Path, tmp_path: Path) -> None:
    plan = _plan(tmp_path, dawdle_s=0.5)
    proc = start_cli(tmp_path, "run", plan, "--repo", repo, "--progress", "plain")
    run_id = wait_for_run(repo, lambda s, r: bool(_kinds(s, r, "merged")), proc)
    _kill(proc)
    merged = _merged_before(repo, run_id)
    assert merged  # at least the first merge landed

    result = shoal.resume(repo=repo)

    _assert_finished_exactly_once(repo, tmp_path, result, merged)


def _slow_gate(tmp_path: Path) -> tuple[str, str]:
    """A verify command that takes 60 s while the file `slow` exists when it starts, with a
    marker in its command line; and the marker."""
    marker = f"{_marker(tmp_path)}-gate"
    code = f"import os, time\nif os.path.exists({str(tmp_path / 'slow')!r}): time.sleep(60)"
    return shlex.join([sys.executable, "-c", code, marker]), marker


def test_kill_9_while_a_verify_gate_runs_then_resume(repo: Path, tmp_path: Path) -> None:
    gate, marker = _slow_gate(tmp_path)
    plan = _plan(tmp_path, dawdle_s=0.1, verify=[gate])
    proc = start_cli(tmp_path, "run", plan, "--repo", repo, "--progress", "plain")
    run_id = wait_for_run(repo, lambda s, r: bool(_kinds(s, r, "merge_started")), proc)
    _wait_for_processes(marker, 1, proc)  # inside the gate
    _kill(proc)
    assert alive_with(marker)  # the gate outlives the orchestrator
    merged = _merged_before(repo, run_id)
    assert merged == {}
    (tmp_path / "slow").unlink()

    result = shoal.resume(repo=repo)

    _assert_finished_exactly_once(repo, tmp_path, result, merged)
    assert alive_with(marker) == []


def test_ctrl_c_while_a_verify_gate_runs_stops_it_at_once(repo: Path, tmp_path: Path) -> None:
    gate, marker = _slow_gate(tmp_path)
    plan = _plan(tmp_path, dawdle_s=0.1, verify=[gate])
    proc = start_cli(tmp_path, "run", plan, "--repo", repo, "--progress", "plain")
    run_id = wait_for_run(repo, lambda s, r: bool(_kinds(s, r, "merge_started")), proc)
    _wait_for_processes(marker, 1, proc)  # inside the gate
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    assert proc.wait(30) == 130
    assert time.monotonic() - started < 10  # not the gate's 60 s
    assert alive_with(marker) == []
    state = shoal.engine.load_result(repo=repo)
    assert state.state is RunState.INTERRUPTED
    assert not any(t.state is TaskState.FAILED for t in state.tasks)
    assert merge_keys(repo, f"shoal/{run_id}") == []
    (tmp_path / "slow").unlink()

    result = shoal.resume(repo=repo)

    _assert_finished_exactly_once(repo, tmp_path, result, {})


CRASH_AFTER_UPDATE_REF = """
import os, signal, sys
from shoal.engine import merge

original = merge.MergeQueue.merge

def merge_then_die(self, task, head, **kwargs):
    outcome = original(self, task, head, **kwargs)
    if outcome.state == "merged" and task.id == sys.argv[3]:
        os.kill(os.getpid(), signal.SIGKILL)  # the branch moved; the database never heard
    return outcome

merge.MergeQueue.merge = merge_then_die
import shoal
shoal.run(sys.argv[1], repo=sys.argv[2], grace=0.5)
"""


def test_kill_9_between_the_merge_and_its_record_then_resume(repo: Path, tmp_path: Path) -> None:
    plan = _plan(tmp_path, dawdle_s=0.1)
    script = tmp_path / "crash.py"
    script.write_text(CRASH_AFTER_UPDATE_REF)
    done = subprocess.run([sys.executable, str(script), str(plan), str(repo), "c"], timeout=60,
                          capture_output=True, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr
    store = Store.open(default_db_path(repo / ".git"), create=False)
    try:
        run = store.latest_run()
        assert run is not None
        assert store.task(run.id, "c").merged_commit is None  # git has it, the database not
    finally:
        store.close()
    merged = _merged_before(repo, run.id)
    assert "c" in merged

    result = shoal.resume(repo=repo)

    _assert_finished_exactly_once(repo, tmp_path, result, merged)


def test_ctrl_c_interrupts_cleanly_and_resume_finishes(repo: Path, tmp_path: Path) -> None:
    plan = _plan(tmp_path, dawdle_s=60)
    proc = start_cli(tmp_path, "run", plan, "--repo", repo, "--progress", "plain")
    run_id = wait_for_run(repo, lambda s, r: len(_kinds(s, r, "task_started")) >= 2, proc)
    _wait_for_processes(_marker(tmp_path), 2, proc)  # the workers are up
    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 130, (tmp_path / "orchestrator.log").read_text()
    log = (tmp_path / "orchestrator.log").read_text()
    assert "interrupted" in log and "Traceback" not in log
    assert alive_with(_marker(tmp_path)) == []  # every worker was stopped
    state = shoal.engine.load_result(repo=repo)
    assert state.run_id == run_id and state.state is RunState.INTERRUPTED
    assert all(t.state is TaskState.PENDING for t in state.tasks)
    (tmp_path / "slow").unlink()

    resumed = subprocess.run([sys.executable, "-m", "shoal", "resume", "--repo", str(repo),
                              "--progress", "off"], capture_output=True, text=True, timeout=60,
                             check=False)

    assert resumed.returncode == 0, resumed.stderr
    _assert_finished_exactly_once(repo, tmp_path, shoal.engine.load_result(repo=repo), {})


def test_a_second_run_on_the_same_repository_is_refused(repo: Path, tmp_path: Path) -> None:
    plan = _plan(tmp_path, dawdle_s=1.0)
    first = start_cli(tmp_path, "run", plan, "--repo", repo, "--progress", "plain")
    run_id = wait_for_run(repo, lambda s, r: bool(_kinds(s, r, "task_started")), first)

    with pytest.raises(RunInProgressError) as info:
        shoal.run(plan, repo=repo)
    assert info.value.run_id == run_id and info.value.pid == first.pid
    assert run_id in info.value.message and str(first.pid) in info.value.message
    second = subprocess.run([sys.executable, "-m", "shoal", "run", str(plan), "--repo", str(repo),
                             "--progress", "off"], capture_output=True, text=True, timeout=60,
                             check=False)
    assert second.returncode == 2
    assert run_id in second.stderr and str(first.pid) in second.stderr
    with pytest.raises(RunInProgressError):
        shoal.resume(repo=repo)

    assert first.wait(60) == 0, (tmp_path / "orchestrator.log").read_text()
    result = shoal.engine.load_result(repo=repo)
    assert result.run_id == run_id
    _assert_finished_exactly_once(repo, tmp_path, result, {})


def test_retry_failed_runs_only_what_failed_on_top_of_the_integration_branch(
        repo: Path, tmp_path: Path) -> None:
    flag, side = tmp_path / "fixed", tmp_path / "side"
    side.mkdir()
    plan = write_plan(tmp_path, [
        {"id": "a", "owns": ["a.txt"], "run": [f"echo run >> {side / 'a'}", "echo a > a.txt"]},
        {"id": "flaky", "owns": ["f.txt"], "after": ["a"], "retries": 1,
         "run": [f"echo run >> {side / 'flaky'}", f"test -f {flag}", "test -f a.txt",
                 "echo f > f.txt"]},
        {"id": "after", "owns": ["z.txt"], "after": ["flaky"], "run": ["echo z > z.txt"]},
    ])
    first = shoal.run(plan, repo=repo, grace=0.5)
    assert first.state is RunState.FAILED
    assert first.task("flaky").state is TaskState.FAILED and first.task("flaky").attempts == 2
    assert first.task("after").state is TaskState.SKIPPED
    with pytest.raises(ShoalError, match="has not ended|nothing to resume"):
        shoal.resume(repo=repo)
    flag.touch()

    again = shoal.retry_failed(repo=repo)

    assert again.run_id == first.run_id and again.ok, again.to_json()
    assert again.task("a").attempts == 1 and (side / "a").read_text() == "run\n"
    assert again.task("flaky").attempts == 3
    branch = again.integration_branch
    assert sorted(merge_keys(repo, branch)) == [f"{first.run_id}/{t}" for t in ("a", "after", "flaky")]
    assert show(repo, branch, "z.txt") == "z\n"
    with pytest.raises(ShoalError, match="no failed"):
        shoal.retry_failed(repo=repo)


def test_cli_retry_failed(repo: Path, tmp_path: Path) -> None:
    flag = tmp_path / "fixed"
    plan = write_plan(tmp_path, [{"id": "t", "owns": ["t.txt"], "retries": 0,
                                  "run": [f"test -f {flag}", "echo t > t.txt"]}])
    run = lambda *a: subprocess.run([sys.executable, "-m", "shoal", *a, "--repo", str(repo),
                                     "--progress", "off"], capture_output=True, text=True,
                                    timeout=60, check=False)
    assert run("run", str(plan)).returncode == 1
    flag.touch()
    done = run("run", "--retry-failed")
    assert done.returncode == 0, done.stderr
    assert show(repo, shoal.engine.load_result(repo=repo).integration_branch, "t.txt") == "t\n"


@pytest.mark.parametrize("isolation", ["none", "directory"])
def test_kill_9_after_a_task_finished_in_a_shared_tree(repo: Path, tmp_path: Path,
                                                       isolation: str) -> None:
    """Isolation none commits the shared tree once, at the end: a finished task's work lives
    only in that tree until then, and a resume must not throw it away."""
    slow = tmp_path / "slow"
    slow.touch()
    plan = write_plan(tmp_path, [
        {"id": "x", "owns": ["x.txt"], "run": ["echo x > x.txt"]},
        {"id": "y", "owns": ["y.txt"],
         "run": [f"if [ -f {slow} ]; then sleep 60; fi", "echo y > y.txt"]},
    ])
    proc = start_cli(tmp_path, "run", plan, "--repo", repo, "--progress", "plain",
                      "--isolation", isolation)
    wait_for_run(repo, lambda s, r: s.task(r, "x").state is TaskState.SUCCEEDED, proc)
    _kill(proc)
    slow.unlink()

    result = shoal.resume(repo=repo)

    assert result.ok, result.to_json()
    assert result.task("x").attempts == 1
    assert show(repo, result.integration_branch, "x.txt") == "x\n"
    assert show(repo, result.integration_branch, "y.txt") == "y\n"
    # the snapshots go on from the tree as it was left: x's work is not pinned on y
    assert result.task("y").changed_paths == ("y.txt",)


def test_resume_keeps_the_agent_settings_of_the_run(repo: Path, tmp_path: Path) -> None:
    """A run with the command agent, killed after its first merge: the resumed run starts the
    same agent CLI (its settings are part of the run's durable state)."""
    plan = write_plan(tmp_path, [
        {"id": "p", "owns": ["p.txt"], "prompt": "p\n\n## Files to Modify\n- p.txt\n"},
        {"id": "q", "owns": ["q.txt"], "after": ["p"], "prompt": "q\n\n## Files to Modify\n- q.txt\n"},
    ])
    script = tmp_path / "crash.py"
    script.write_text(CRASH_AFTER_UPDATE_REF.replace(
        "shoal.run(sys.argv[1], repo=sys.argv[2], grace=0.5)",
        f"shoal.run(sys.argv[1], repo=sys.argv[2], grace=0.5, agent='command', "
        f"agent_settings={fake_agent('ok')!r})"))
    done = subprocess.run([sys.executable, str(script), str(plan), str(repo), "p"], timeout=60,
                          capture_output=True, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr

    result = shoal.resume(repo=repo)

    assert result.ok, result.to_json()
    assert result.task("p").attempts == 1
    assert "fake agent" in (show(repo, result.integration_branch, "q.txt") or "")


def test_a_new_run_stops_the_workers_a_killed_run_left_behind(repo: Path, tmp_path: Path) -> None:
    plan = _plan(tmp_path, dawdle_s=60)
    proc = start_cli(tmp_path, "run", plan, "--repo", repo, "--progress", "plain")
    first = wait_for_run(repo, lambda s, r: len(_kinds(s, r, "task_started")) >= 2, proc)
    marker = _marker(tmp_path)
    _wait_for_processes(marker, 2, proc)  # the workers are up
    _kill(proc)
    assert alive_with(marker)  # orphaned

    other = write_plan(tmp_path, [{"id": "x", "owns": ["x.txt"], "run": ["echo x > x.txt"]}],
                       name="other.yaml")
    result = shoal.run(other, repo=repo, grace=0.5)

    assert result.ok
    assert alive_with(marker) == []  # the new run stopped the old run's workers
    store = Store.open(default_db_path(repo / ".git"), create=False)
    try:
        assert store.get_run(first).state == RunState.INTERRUPTED.value
    finally:
        store.close()
    (tmp_path / "slow").unlink()
    resumed = shoal.resume(first, repo=repo)  # and the old run can still be finished
    _assert_finished_exactly_once(repo, tmp_path, resumed, {})


def test_resume_uses_the_workspace_root_the_run_recorded(repo: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13: the settings may point elsewhere by the time a run is resumed."""
    plan = _plan(tmp_path, dawdle_s=0.5)
    proc = start_cli(tmp_path, "run", plan, "--repo", repo, "--progress", "plain",
                     "--workspace-root", tmp_path / "ws1")
    run_id = wait_for_run(repo, lambda s, r: bool(_kinds(s, r, "merged")), proc)
    _kill(proc)
    monkeypatch.setenv("SHOAL_WORKSPACE_ROOT", str(tmp_path / "ws2"))
    result = shoal.resume(repo=repo)
    assert result.ok and result.run_id == run_id
    with Store.open(default_db_path(repo / ".git"), create=False) as store:
        places = {a.workspace for a in store.attempts(run_id)}
    assert places and all(str(p).startswith(str(tmp_path / "ws1" / run_id) + "/") for p in places)
    assert not (tmp_path / "ws2").exists()
