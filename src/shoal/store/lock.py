"""``RunLock``: at most one ``shoal run`` per repository at a time.

An exclusive, non-blocking ``flock`` on ``<git common dir>/shoal/run.lock``, held for the
whole run. The OS drops it when the holder's process ends, however it ends (even
``kill -9``), so a crashed run never leaves a stale lock behind. The file's content
(run id, pid, host, time) only serves the message a second run gets; the lock itself
is the ``flock``, never the file's existence, and the file is never deleted (deleting
a lock file races with a process that has just opened it).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from shoal.errors import RunInProgressError


def lock_path(common_dir: Path) -> Path:
    return Path(common_dir) / "shoal" / "run.lock"


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or last held) the lock, as it wrote itself into the lock file."""

    run_id: str | None
    pid: int | None
    host: str | None
    since: float | None


def _read_holder(fd: int) -> LockHolder:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = b""
    while chunk := os.read(fd, 4096):
        raw += chunk
    try:
        info: Any = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        info = None  # the holder has not written itself in yet
    if not isinstance(info, dict):
        return LockHolder(None, None, None, None)

    def get(key: str, kind: type) -> Any:
        value = info.get(key)
        return value if isinstance(value, kind) and not isinstance(value, bool) else None

    return LockHolder(get("run_id", str), get("pid", int), get("host", str), get("since", float))


class RunLock:
    """Hold with ``with RunLock(common_dir, run_id=...)`` or ``acquire()``/``release()``.

    ``acquire`` raises ``RunInProgressError`` naming the run and pid holding the lock.
    """

    def __init__(self, common_dir: Path, *, run_id: str | None = None) -> None:
        self.path = lock_path(common_dir)
        self._run_id = run_id
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, run_id: str | None = None, *, at: float | None = None) -> None:
        if self._fd is not None:
            raise RuntimeError("RunLock is already held by this object")
        if run_id is not None:
            self._run_id = run_id
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # os.open fds are not inherited by child processes (PEP 446), so a worker that
        # outlives the orchestrator cannot keep the repository locked.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise _in_progress(holder) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._write(at)

    def set_run_id(self, run_id: str, *, at: float | None = None) -> None:
        """Name the run once it has an id (the lock is taken before the run is created)."""
        if self._fd is None:
            raise RuntimeError("RunLock is not held")
        self._run_id = run_id
        self._write(at)

    def _write(self, at: float | None) -> None:
        assert self._fd is not None
        info = {
            "run_id": self._run_id,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": float(time.time() if at is None else at),
        }
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(info).encode("utf-8"), 0)

    def release(self) -> None:
        """Give the lock up (idempotent). The file stays, emptied of the holder's name."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the only descriptor drops the flock

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    @staticmethod
    def holder(common_dir: Path) -> LockHolder | None:
        """Who holds the lock now, or ``None`` when no run is in progress.

        Probes with a shared lock, which any exclusive holder blocks; `shoal status`
        uses it to tell a live run from one whose orchestrator died.
        """
        path = lock_path(common_dir)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _read_holder(fd)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)


def _in_progress(holder: LockHolder) -> RunInProgressError:
    who = f"run {holder.run_id}" if holder.run_id else "another run"
    pid = (
        f" (pid {holder.pid}" + (f" on {holder.host})" if holder.host else ")")
        if holder.pid
        else ""
    )
    return RunInProgressError(
        f"{who}{pid} is already running in this repository",
        run_id=holder.run_id,
        pid=holder.pid,
        hint="see it with `shoal status` or `shoal watch`; wait for it to end, "
        "then `shoal resume` or start again",
    )
