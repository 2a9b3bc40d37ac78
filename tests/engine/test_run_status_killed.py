"""`shoal status` of a run whose orchestrator was killed with ``kill -9``: the database still
says ``running``, but nothing runs it. Status (text and JSON) says ``interrupted`` and how to
finish it, as `shoal watch` does, and leaves the database as it is."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import shoal
from shoal.store import RunLock, RunState, Store, default_db_path

from .conftest import alive_with, start_cli, wait_for_run, write_plan

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _plan(tmp_path: Path, marker: str) -> Path:
    """One task that waits (at most 60 s) until the file `release` exists, in a process whose
    command line holds `marker`."""
    release = tmp_path / "release"
    wait = (f"import os, time; end = time.monotonic() + 60; "
            f"any(os.path.exists({str(release)!r}) or time.monotonic() > end or time.sleep(0.05) "
            f"for _ in iter(int, 1))")
    return write_plan(tmp_path, [{"id": "a", "owns": ["a.txt"], "run": [
        shlex.join([sys.executable, "-c", wait, marker]), "echo a > a.txt"]}])


def _status(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shoal", "status", "--repo", str(repo), *args],
                          capture_output=True, text=True, timeout=60, check=False,
                          stdin=subprocess.DEVNULL)


def _wait_until_running(repo: Path, proc: subprocess.Popen[bytes]) -> str:
    """The run's id, once its task's attempt is recorded and the run lock is held."""
    return wait_for_run(repo, lambda store, run_id: bool(store.attempts(run_id, "a"))
                     and RunLock.holder(repo / ".git") is not None, proc)


def test_status_of_a_run_whose_orchestrator_was_killed_says_interrupted(
        repo: Path, tmp_path: Path) -> None:
    marker = f"shoal-status-killed-{abs(hash(str(tmp_path)))}"
    plan = _plan(tmp_path, marker)
    proc = start_cli(tmp_path, "run", plan, "--repo", repo, "--progress", "plain")
    try:
        run_id = _wait_until_running(repo, proc)
        live = _status(repo, "--format", "json")
        assert live.returncode == 0, live.stderr
        assert json.loads(live.stdout)["run"]["state"] == "running"  # alive: running it is
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    try:
        done = _status(repo, "--format", "json")
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)
        assert data["run"]["id"] == run_id
        assert data["run"]["state"] == "interrupted"
        assert data["run"]["orchestrator_gone"] is True
        assert f"shoal resume {run_id}" in data["run"]["hint"]

        text = _status(repo)
        assert text.returncode == 0, text.stderr
        assert f"run {run_id}: interrupted" in text.stdout
        assert f"shoal resume {run_id}" in text.stdout
        assert "orchestrator is gone" in text.stdout

        store = Store.open(default_db_path(repo / ".git"), create=False)
        try:  # status only reads: the database still says running, for resume to take over
            assert RunState(store.get_run(run_id).state) is RunState.RUNNING
        finally:
            store.close()
    finally:
        (tmp_path / "release").touch()  # the orphaned worker ends by itself

    result = shoal.resume(repo=repo)
    assert result.ok, result.to_json()
    assert result.run_id == run_id
    assert alive_with(marker) == []
