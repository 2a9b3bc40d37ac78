"""Workers a killed orchestrator leaves behind. Each worker has a session of its own, so it
outlives an orchestrator killed with ``kill -9``: the run notes every worker's process group as
it starts and as it is reaped, and ``shoal resume`` (or the next ``shoal run``) stops the ones
still running.

The notes are one append-only file per run, ``workers.pids`` in its folder: ``+<pgid>
<attempt> <task>`` when a worker starts, ``-<pgid>`` when it has been reaped. One write each,
and no file made or removed per attempt: on a disk, creating and deleting a pid file cost more
than the rest of starting a worker.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

from .merge import VERIFY_PIDFILE
from .options import DEFAULTS

JOURNAL = "workers.pids"  # in the run's folder
LEGACY_PIDFILE = "worker.pid"  # per attempt folder, from shoal versions before the journal


class WorkerJournal:
    """The run's notes of its workers' process groups; safe to use from several threads."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / JOURNAL
        self._fd: int | None = None
        self._lock = threading.Lock()

    def started(self, pgid: int, task_id: str, attempt: int) -> None:
        self._append(f"+{pgid} {attempt} {task_id}\n")

    def ended(self, pgid: int) -> None:
        self._append(f"-{pgid}\n")

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _append(self, line: str) -> None:
        with self._lock:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                                   0o644)
            os.write(self._fd, line.encode())  # one short write: whole, even if we die next


def running_groups(run_dir: Path) -> list[int]:
    """The process groups the journal shows started and not yet reaped, in start order."""
    live: dict[int, None] = {}
    try:
        text = (run_dir / JOURNAL).read_bytes().decode("utf-8", "replace")
    except OSError:
        return []
    for line in text.split("\n")[:-1]:  # not a last line without its newline: cut short
        head = line.split(" ", 1)[0]
        try:
            pgid = int(head[1:])
        except ValueError:
            continue
        if head[:1] == "+" and pgid > 0:
            live[pgid] = None
        elif head[:1] == "-":
            live.pop(pgid, None)
    return list(live)


def stop_orphans(run_dir: Path, run_id: str, grace_s: float = DEFAULTS.grace) -> list[int]:
    """Stop the workers (and the verify gate) a killed orchestrator left running: each process
    group the journal shows running, or a pidfile in the run's folder names (TERM, `grace_s`,
    KILL). A group is only signalled while one of its processes still carries
    ``SHOAL_RUN_ID=<run_id>``, so a reused pid is never hit. Needs ``/proc`` (Linux); elsewhere
    they run on until they end, in workspaces that no new attempt uses. Returns the process
    groups stopped. The journal starts afresh: none of them runs any more."""
    stopped = []
    pidfiles = [*sorted(run_dir.glob(f"attempts/*/*/{LEGACY_PIDFILE}")), run_dir / VERIFY_PIDFILE]
    groups: list[tuple[int, Path | None]] = [(pgid, None) for pgid in running_groups(run_dir)]
    for path in (p for p in pidfiles if p.exists()):
        try:
            groups.append((int(json.loads(path.read_text())["pid"]), path))
        except (OSError, ValueError, KeyError, TypeError):
            groups.append((0, path))  # written half when the orchestrator died
    # A worker spawned just before the orchestrator died may not be in the journal yet: find
    # it by the run id every worker carries in its environment.
    known = {pgid for pgid, _ in groups}
    groups += [(pgid, None) for pgid in _groups_with(f"SHOAL_RUN_ID={run_id}") if pgid not in known]
    for pgid, pidfile in groups:
        if pgid > 0 and any(_has_env(pid, f"SHOAL_RUN_ID={run_id}") for pid in _group(pgid)):
            _signal_group(pgid, signal.SIGTERM)
            deadline = time.monotonic() + grace_s
            while _group(pgid) and time.monotonic() < deadline:
                time.sleep(0.05)
            _signal_group(pgid, signal.SIGKILL)
            deadline = time.monotonic() + 2  # not our children: init reaps them
            while _group(pgid) and time.monotonic() < deadline:
                time.sleep(0.02)
            stopped.append(pgid)
        if pidfile is not None:
            pidfile.unlink(missing_ok=True)
    (run_dir / JOURNAL).unlink(missing_ok=True)
    return stopped


def _group(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group `pgid`; empty without /proc."""
    members = []
    try:
        entries = [e.name for e in os.scandir("/proc") if e.name.isdigit()]
    except OSError:
        return []
    for pid in entries:
        try:
            stat = Path(f"/proc/{pid}/stat").read_bytes()
        except OSError:
            continue
        state, _ppid, pgrp = stat[stat.rfind(b")") + 2:].split()[:3]  # comm may hold spaces
        if state != b"Z" and int(pgrp) == pgid:
            members.append(int(pid))
    return members


def _groups_with(entry: str) -> list[int]:
    """Process groups (not this process's own) with a live process whose environment holds
    `entry`; empty without /proc."""
    own = os.getpgrp()
    found: dict[int, None] = {}
    try:
        entries = [e.name for e in os.scandir("/proc") if e.name.isdigit()]
    except OSError:
        return []
    for pid in entries:
        if not _has_env(int(pid), entry):
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_bytes()
        except OSError:
            continue
        state, _ppid, pgrp = stat[stat.rfind(b")") + 2:].split()[:3]
        if state != b"Z" and int(pgrp) not in (own, 0):
            found[int(pgrp)] = None
    return list(found)


def _has_env(pid: int, entry: str) -> bool:
    try:
        return entry.encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


