"""The repository-wide lock behind :meth:`shoal.git.Git.lock`.

One lock per git common dir, held by one thread at a time (a re-entrant ``threading.RLock``) and
by one process at a time (``fcntl.flock`` on ``<common dir>/shoal/git.lock``). The flock is
released by the kernel if the process dies, so a crashed orchestrator never leaves it stuck.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class RepoLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._rlock = threading.RLock()
        self._depth = 0
        self.fd = -1

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._rlock:  # flock belongs to an open file: only the outermost holder takes it
            if self._depth == 0:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                except BaseException:
                    os.close(fd)
                    raise
                self.fd = fd
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fd, self.fd = self.fd, -1
                    os.close(fd)  # releases the flock


_guard = threading.Lock()
_locks: dict[Path, RepoLock] = {}


def repo_lock(common_dir: Path) -> RepoLock:
    """The lock of the repository whose git common dir is `common_dir` (absolute, resolved)."""
    with _guard:
        lock = _locks.get(common_dir)
        if lock is None:
            lock = _locks[common_dir] = RepoLock(common_dir / "shoal" / "git.lock")
        return lock


def _after_fork_in_child() -> None:
    # A forked child starts with no locks: its inherited copy of a held flock descriptor would
    # otherwise keep the parent's lock held after the parent released it.
    global _guard, _locks
    for lock in _locks.values():
        if lock.fd >= 0:
            os.close(lock.fd)
    _guard, _locks = threading.Lock(), {}


os.register_at_fork(after_in_child=_after_fork_in_child)
