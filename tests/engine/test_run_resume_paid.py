"""Issue 14, item 1: a resume never pays twice. Work a worker had finished (result recorded,
committed on its task branch) when the orchestrator was killed goes straight back to the merge
queue; only workers that were still running start again."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import shoal
from shoal.model import TaskState
from shoal.store import Store, default_db_path

from .conftest import (
    alive_with,
    attempts,
    merge_keys,
    show,
    start_cli,
    wait_for_run,
    write_plan,
)

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _gate(tmp_path: Path) -> tuple[str, str]:
    """A verify command that blocks while the file `slow` exists, with a marker to find it by."""
    marker = f"shoal-paid-gate-{abs(hash(str(tmp_path)))}"
    code = (f"import os, time\nwhile os.path.exists({str(tmp_path / 'slow')!r}): "
            "time.sleep(0.05)")
    return shlex.join([sys.executable, "-c", code, marker]), marker


def _merge_started(repo: Path, proc: subprocess.Popen[bytes], tasks: set[str]) -> str:
    """Wait until every task of `tasks` has been handed to the merge queue; the run's id."""
    return wait_for_run(repo, lambda store, run_id: tasks <= {
        e.task_id for e in store.events(run_id, kinds=["merge_started"])}, proc, timeout=60)


def test_finished_work_is_merged_on_resume_not_run_again(repo: Path, tmp_path: Path) -> None:
    side = tmp_path / "side"
    side.mkdir()
    (tmp_path / "slow").touch()
    gate, marker = _gate(tmp_path)
    tasks = [{"id": t, "owns": [f"{t}.txt"], "run": [f"echo run >> {side / t}", f"echo {t} > {t}.txt"]}
             for t in ("a", "b")]
    plan = write_plan(tmp_path, tasks, verify=[gate])
    proc = start_cli(tmp_path, "run", plan, "--repo", repo, "--progress", "plain")
    # a's merge waits in the gate, b waits behind it: both workers have finished
    run_id = _merge_started(repo, proc, {"a", "b"})
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL
    assert merge_keys(repo, f"shoal/{run_id}") == []  # nothing merged yet
    (tmp_path / "slow").unlink()

    result = shoal.resume(repo=repo)

    assert result.ok, result.to_json()
    for t in ("a", "b"):
        assert result.task(t).state is TaskState.SUCCEEDED
        assert result.task(t).attempts == 1  # not paid for twice
        assert (side / t).read_text() == "run\n"
        assert show(repo, result.integration_branch, f"{t}.txt") == f"{t}\n"
        assert len(attempts(repo, run_id, t)) == 1
    assert sorted(merge_keys(repo, result.integration_branch)) == [f"{run_id}/a", f"{run_id}/b"]
    assert alive_with(marker) == []
    with Store.open(default_db_path(repo / ".git"), create=False) as store:
        notes = [e for e in store.events(run_id, kinds=["note"]) if e.task_id in ("a", "b")]
    assert len(notes) == 2 and all("without running it again" in n.data["message"] for n in notes)


def test_a_worker_cut_off_mid_run_starts_again(repo: Path, tmp_path: Path) -> None:
    """Only finished work is kept: a worker killed while running gets a new attempt."""
    side = tmp_path / "side"
    side.mkdir()
    started = tmp_path / "started"
    plan = write_plan(tmp_path, [{"id": "w", "owns": ["w.txt"], "run": [
        f"echo run >> {side / 'w'}", f"touch {started}",
        f'if [ ! -f {tmp_path / "go"} ]; then sleep 30; fi', "echo w > w.txt"]}])
    proc = start_cli(tmp_path, "run", plan, "--repo", repo, "--progress", "plain")
    deadline = time.monotonic() + 60
    while not started.exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL
    (tmp_path / "go").touch()

    result = shoal.resume(repo=repo)

    assert result.ok and result.task("w").attempts == 2
    assert (side / "w").read_text() == "run\nrun\n"
