"""Git.lock serialises changes to the shared .git across threads and processes."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from pathlib import Path

from shoal.git import Git


def hold_and_log(repo: str, log: str, rounds: int) -> None:
    """Worker: append `start` and `end` lines under the lock, pausing in between."""
    git = Git(Path(repo))
    for _ in range(rounds):
        with git.lock():
            with open(log, "a") as f:
                f.write(f"start {os.getpid()}\n")
            time.sleep(0.01)
            with open(log, "a") as f:
                f.write(f"end {os.getpid()}\n")


def assert_not_interleaved(lines: list[str]) -> None:
    assert len(lines) % 2 == 0
    for start, end in zip(lines[::2], lines[1::2]):
        assert start.split()[0] == "start" and end.split()[0] == "end"
        assert start.split()[1] == end.split()[1]


def test_two_processes_serialise(repo: Path, tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=hold_and_log, args=(str(repo), str(log), 15)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    lines = log.read_text().splitlines()
    assert len(lines) == 60 and len({line.split()[1] for line in lines}) == 2
    assert_not_interleaved(lines)
    assert (repo / ".git" / "shoal" / "git.lock").exists()


def test_threads_serialise_and_lock_is_reentrant(repo: Path, tmp_path: Path) -> None:
    events: list[str] = []

    def worker(i: int) -> None:
        git = Git(repo)
        for _ in range(10):
            with git.lock(), git.lock():  # re-entrant: a locked verb inside a locked block
                events.append(f"start {i}")
                time.sleep(0.002)
                events.append(f"end {i}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(events) == 80
    assert_not_interleaved(events)


def test_worktree_and_main_share_one_lock(repo: Path, tmp_path: Path) -> None:
    wt = Git(repo).worktree_add(tmp_path / "wt", "task", "main")
    inside, trying = threading.Event(), threading.Event()
    order: list[str] = []

    def other() -> None:
        trying.set()
        with Git(repo).lock():
            order.append("main")

    with wt.lock():
        t = threading.Thread(target=other)
        t.start()
        assert trying.wait(30)
        time.sleep(0.2)  # a window in which the other thread would get in, if it could
        order.append("worktree")
        inside.set()
    t.join(10)
    assert order == ["worktree", "main"]


def _forked_child(repo: str, log: str, trying) -> None:  # type: ignore[no-untyped-def]
    trying.set()
    with Git(Path(repo)).lock(), open(log, "a") as f:
        f.write(f"child {time.time()}\n")


def test_forked_child_does_not_inherit_a_held_lock(repo: Path, tmp_path: Path) -> None:
    if "fork" not in multiprocessing.get_all_start_methods():  # pragma: no cover
        return
    log = tmp_path / "log.txt"
    git = Git(repo)
    ctx = multiprocessing.get_context("fork")
    trying = ctx.Event()
    with git.lock():
        child = ctx.Process(target=_forked_child, args=(str(repo), str(log), trying))
        child.start()
        assert trying.wait(30)
        time.sleep(0.3)  # a window in which the child would get in, if it could
        assert not log.exists()  # the child waits for the parent's lock
        released = time.time()
    child.join(30)
    assert child.exitcode == 0
    assert float(log.read_text().split()[1]) >= released
    with git.lock():  # and the parent can take it again
        pass
