"""engine.orphans: the run's journal of its workers' process groups, and stopping the workers a
killed orchestrator left running (real processes in sessions of their own)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

import shoal
from shoal.engine.orphans import JOURNAL, WorkerJournal, running_groups, stop_orphans

from .conftest import alive_with, write_plan

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def test_the_journal_shows_the_groups_started_and_not_yet_reaped(tmp_path: Path) -> None:
    journal = WorkerJournal(tmp_path / "run")  # its folder is made on the first note
    journal.started(101, "a", 1)
    journal.started(102, "b", 1)
    journal.ended(101)
    journal.started(101, "c", 2)  # the pid came round again: a new worker
    journal.started(103, "d", 1)
    journal.ended(103)
    journal.close()
    assert running_groups(tmp_path / "run") == [102, 101]
    assert (tmp_path / "run" / JOURNAL).read_text().splitlines()[0] == "+101 1 a"


def test_lines_cut_short_or_unreadable_are_left_out(tmp_path: Path) -> None:
    (tmp_path / JOURNAL).write_text("+7 1 a\nnoise\n+x 1 b\n-\n+8 1 c\n+9 1 d\n-8\n+12")  # died mid-line
    assert running_groups(tmp_path) == [7, 9]
    assert running_groups(tmp_path / "nowhere") == []


def test_notes_from_many_threads_stay_whole(tmp_path: Path) -> None:
    journal = WorkerJournal(tmp_path)

    def note(base: int) -> None:
        for i in range(200):
            journal.started(base + i, f"task-{base + i}", 1)
            if i % 2:
                journal.ended(base + i)

    threads = [threading.Thread(target=note, args=(k * 1000 + 1,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    journal.close()
    lines = (tmp_path / JOURNAL).read_text().splitlines()
    assert len(lines) == 8 * 300
    assert all(line.startswith(("+", "-")) for line in lines)
    assert sorted(running_groups(tmp_path)) == sorted(k * 1000 + 1 + i for k in range(8) for i in range(0, 200, 2))


def _sleeper(marker: str, run_id: str | None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "SHOAL_RUN_ID"}
    if run_id is not None:
        env["SHOAL_RUN_ID"] = run_id
    return subprocess.Popen(["sh", "-c", f"sleep 30 # {marker}"], env=env, start_new_session=True)


def test_stop_orphans_stops_the_run_s_workers_and_nothing_else(tmp_path: Path) -> None:
    marker = f"shoal-orphan-{os.getpid()}-{time.monotonic_ns()}"
    ours, stranger = _sleeper(marker, "r1"), _sleeper(marker, None)
    try:
        journal = WorkerJournal(tmp_path)
        journal.started(ours.pid, "a", 1)
        journal.started(stranger.pid, "b", 1)  # e.g. a pid reused by a process of someone else
        journal.close()
        deadline = time.monotonic() + 10
        while len(alive_with(marker)) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.01)

        assert stop_orphans(tmp_path, "r1", grace_s=2) == [ours.pid]

        ours.wait(timeout=10)
        assert stranger.poll() is None  # no SHOAL_RUN_ID=r1 in it: never signalled
        assert not (tmp_path / JOURNAL).exists()  # none of the run's workers runs any more
    finally:
        for proc in (ours, stranger):
            proc.kill()
            proc.wait()


def test_a_worker_the_journal_never_noted_is_found_by_its_run_id(tmp_path: Path) -> None:
    """Killed between spawning a worker and noting it: the worker carries SHOAL_RUN_ID."""
    marker = f"shoal-orphan-{os.getpid()}-{time.monotonic_ns()}"
    unnoted, other_run = _sleeper(marker, "r1"), _sleeper(marker, "r2")
    try:
        deadline = time.monotonic() + 10
        while len(alive_with(marker)) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.01)

        assert stop_orphans(tmp_path, "r1", grace_s=2) == [unnoted.pid]

        unnoted.wait(timeout=10)
        assert other_run.poll() is None  # another run's worker is left alone
    finally:
        for proc in (unnoted, other_run):
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("isolation", ["none", "worktree"])
def test_a_run_notes_every_worker_in_its_journal_and_no_pid_files(repo: Path, tmp_path: Path,
                                                                   isolation: str) -> None:
    plan = write_plan(tmp_path, [{"id": f"t{i}", "owns": [f"t{i}.txt"], "run": [f"echo {i} > t{i}.txt"]}
                                 for i in range(4)])

    result = shoal.run(plan, repo=repo, max_parallel=2, isolation=isolation, grace=0.3)

    assert result.ok, result.to_json()
    lines = (result.run_dir / JOURNAL).read_text().splitlines()
    assert sorted(line.split()[2] for line in lines if line.startswith("+")) == ["t0", "t1", "t2", "t3"]
    assert len([line for line in lines if line.startswith("-")]) == 4
    assert running_groups(result.run_dir) == []
    assert sorted(p.name for p in (result.run_dir / "attempts" / "t0" / "1").iterdir()) == [
        "output.log", "prompt.md"]
