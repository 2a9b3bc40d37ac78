"""The run lock: one run per repository, refused from a second process, never stale."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shoal.errors import ExitCode, RunInProgressError
from shoal.store import RunLock, lock_path

HOLDER = r"""
import sys, time
from shoal.store import RunLock
lock = RunLock(sys.argv[1], run_id="child-run")
lock.acquire()
print("locked", flush=True)
time.sleep(600)
"""

CONTENDER = r"""
import sys
from shoal.errors import RunInProgressError
from shoal.store import RunLock
try:
    RunLock(sys.argv[1]).acquire(run_id="second")
except RunInProgressError as exc:
    print(f"{exc.run_id} {exc.pid}")
    print(exc.message)
    sys.exit(int(exc.exit_code))
print("acquired")
"""


def contend(common_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CONTENDER, str(common_dir)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_second_process_is_refused_with_run_and_pid(tmp_path: Path) -> None:
    with RunLock(tmp_path, run_id="20261122-184501-ab12") as lock:
        assert lock.held
        proc = contend(tmp_path)
        assert proc.returncode == ExitCode.USAGE, proc.stderr
        ids, message = proc.stdout.splitlines()[:2]
        assert ids == f"20261122-184501-ab12 {os.getpid()}"
        assert f"run 20261122-184501-ab12 (pid {os.getpid()}" in message
    assert not lock.held
    assert contend(tmp_path).stdout.strip() == "acquired"


def test_lock_of_a_killed_holder_is_free(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(RunInProgressError) as info:
            RunLock(tmp_path).acquire()
        assert (info.value.run_id, info.value.pid) == ("child-run", child.pid)
        assert "shoal status" in (info.value.hint or "")
        holder = RunLock.holder(tmp_path)
        assert holder is not None and holder.pid == child.pid
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    # the OS dropped the flock with the process; the file with its old content remains
    assert lock_path(tmp_path).exists()
    assert RunLock.holder(tmp_path) is None
    with RunLock(tmp_path, run_id="next") as lock:
        assert lock.held


def test_holder_reports_the_run_and_release_clears_it(tmp_path: Path) -> None:
    assert RunLock.holder(tmp_path) is None  # no lock file at all
    lock = RunLock(tmp_path)
    lock.acquire(at=123.0)
    holder = RunLock.holder(tmp_path)
    assert holder is not None and (holder.run_id, holder.pid, holder.since) == (
        None,
        os.getpid(),
        123.0,
    )
    lock.set_run_id("r1", at=124.0)
    holder = RunLock.holder(tmp_path)
    assert holder is not None and (holder.run_id, holder.since) == ("r1", 124.0)
    with pytest.raises(RuntimeError):
        lock.acquire()
    lock.release()
    lock.release()  # idempotent
    assert RunLock.holder(tmp_path) is None
    assert lock_path(tmp_path).read_text() == ""
    with pytest.raises(RuntimeError):
        lock.set_run_id("r2")


def test_second_lock_in_the_same_process_is_refused(tmp_path: Path) -> None:
    with RunLock(tmp_path, run_id="one"), pytest.raises(RunInProgressError, match="run one"):
        RunLock(tmp_path).acquire()


def test_workers_do_not_inherit_the_lock(tmp_path: Path) -> None:
    # a worker that outlives the orchestrator must not keep the repository locked
    lock = RunLock(tmp_path, run_id="r")
    lock.acquire()
    worker = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"], close_fds=False
    )
    try:
        lock.release()
        time.sleep(0.05)
        assert worker.poll() is None
        assert RunLock.holder(tmp_path) is None
    finally:
        worker.kill()
        worker.wait()
