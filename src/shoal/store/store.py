"""``Store``: the durable state of runs in one SQLite database per repository.

One writer (the run's supervisor thread) and any number of readers in other processes
(`shoal status`, `watch`, `audit`). Every mutating method is one ``BEGIN IMMEDIATE``
transaction that also appends the matching event, so a ``kill -9`` at any moment leaves
state and event log agreeing, and ``shoal resume`` can carry on from either.

Timestamps are the caller's (wall-clock floats); ``at=None`` takes the injected clock.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shoal.errors import StoreError
from shoal.model import TaskState
from shoal.store.db import dumps
from shoal.store.queries import Queries
from shoal.store.records import EventKind, RunRecord, RunState
from shoal.store.tasks import TaskWrites


def default_db_path(common_dir: Path) -> Path:
    """Where a repository's state lives: ``<git common dir>/shoal/state.db``.

    The common dir (``git rev-parse --git-common-dir``) is shared by all worktrees, so
    every worktree of a repository sees the same runs.
    """
    return Path(common_dir) / "shoal" / "state.db"


def new_run_id(at: float, token: str | None = None) -> str:
    """``20261122-184501-ab12``: UTC start time (sorts by age) and 4 random hex digits."""
    stamp = datetime.fromtimestamp(at, UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{token if token is not None else secrets.token_hex(2)}"


class Store(TaskWrites, Queries):
    """Runs, tasks, attempts, merges and events of one repository.

    Safe to share between threads of one process (calls are serialised); open one
    ``Store`` per process. Errors from SQLite come out as ``StoreError``.
    """

    # -- events ----------------------------------------------------------------------

    def append_event(
        self,
        run_id: str,
        kind: EventKind | str,
        *,
        task_id: str | None = None,
        data: Mapping[str, Any] | None = None,
        at: float | None = None,
    ) -> int:
        """Log something that changes no state (task_ready, merge_started, ...); returns seq."""
        with self._tx(f"log {kind}") as conn:
            self._require_run(conn, run_id)
            return self._event(conn, run_id, kind, self._now(at), task_id, data)

    # -- runs ------------------------------------------------------------------------

    def create_run(
        self,
        *,
        repo: str,
        plan_path: str | None = None,
        plan_format: str | None = None,
        plan_snapshot: Mapping[str, Any] | None = None,
        base_commit: str | None = None,
        integration_branch: str | None = None,
        options: Mapping[str, Any] | None = None,
        task_ids: Iterable[str] = (),
        pid: int | None = None,
        host: str | None = None,
        run_id: str | None = None,
        at: float | None = None,
    ) -> RunRecord:
        """A new run in state ``running`` (with its tasks, if given): one transaction.

        ``pid``/``host`` default to this process; ``run_id`` to ``new_run_id(at)``.
        """
        at = self._now(at)
        run_id = run_id or new_run_id(at)
        ids = [str(t) for t in task_ids]
        with self._tx("create a run") as conn:
            conn.execute(
                "INSERT INTO runs (id, plan_path, plan_format, plan_snapshot, repo, base_commit,"
                " integration_branch, state, options, pid, host, started_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    plan_path,
                    plan_format,
                    dumps(dict(plan_snapshot or {})),
                    repo,
                    base_commit,
                    integration_branch,
                    RunState.RUNNING.value,
                    dumps(dict(options or {})),
                    os.getpid() if pid is None else pid,
                    socket.gethostname() if host is None else host,
                    at,
                ),
            )
            self._event(
                conn,
                run_id,
                EventKind.RUN_STARTED,
                at,
                data={"plan": plan_path, "base_commit": base_commit, "options": options or {}},
            )
            if ids:
                self._insert_tasks(conn, run_id, ids, at)
        return self.get_run(run_id)

    def set_run_options(self, run_id: str, options: Mapping[str, Any]) -> None:
        """Replace a run's recorded options (`shoal resume` and `--retry-failed` with new ones)."""
        with self._tx(f"set the options of run {run_id}") as conn:
            self._require_run(conn, run_id)
            conn.execute("UPDATE runs SET options = ? WHERE id = ?", (dumps(dict(options)), run_id))

    def set_run_state(
        self,
        run_id: str,
        state: RunState,
        *,
        reason: str | None = None,
        pid: int | None = None,
        host: str | None = None,
        at: float | None = None,
    ) -> None:
        """Move a run to ``state``; the event is ``run_finished`` for the terminal states,
        ``run_interrupted`` or ``run_resumed`` (back to running: ``pid``/``host`` default
        to this process). To interrupt with running tasks, use ``interrupt_run``."""
        state = RunState(state)
        at = self._now(at)
        with self._tx(f"mark run {run_id} {state.value}") as conn:
            before = RunState(self._require_run(conn, run_id)["state"])
            if state is RunState.RUNNING:
                conn.execute(
                    "UPDATE runs SET state = ?, ended_at = NULL, pid = ?, host = ? WHERE id = ?",
                    (
                        state.value,
                        os.getpid() if pid is None else pid,
                        socket.gethostname() if host is None else host,
                        run_id,
                    ),
                )
                kind = EventKind.RUN_RESUMED
            else:
                conn.execute(
                    "UPDATE runs SET state = ?, ended_at = ? WHERE id = ?",
                    (state.value, at, run_id),
                )
                kind = (
                    EventKind.RUN_INTERRUPTED
                    if state is RunState.INTERRUPTED
                    else EventKind.RUN_FINISHED
                )
            data = {"state": state.value, "previous": before.value, "reason": reason}
            self._event(conn, run_id, kind, at, data=data)

    def interrupt_run(
        self, run_id: str, *, reason: str = "the orchestrator stopped", at: float | None = None
    ) -> list[str]:
        """Mark a run interrupted after Ctrl-C or a crash: one transaction.

        Refused (``StoreError``) for a run that already ended. Running attempts become
        ``interrupted`` (each gets a ``task_finished`` event, so every start in the log
        has an end), their tasks go back to ``pending``. Returns the ids of those tasks,
        which ``shoal resume`` must run again.
        """
        at = self._now(at)
        with self._tx(f"interrupt run {run_id}") as conn:
            before = RunState(self._require_run(conn, run_id)["state"])
            if before.terminal:
                raise StoreError(
                    f"run {run_id} already ended ({before.value}); it cannot be interrupted"
                )
            running = conn.execute(
                "SELECT task_id, number FROM attempts WHERE run_id = ? AND state = 'running'"
                " ORDER BY started_at, task_id",
                (run_id,),
            ).fetchall()
            for row in running:
                conn.execute(
                    "UPDATE attempts SET state = 'interrupted', ended_at = ?, error = ?"
                    " WHERE run_id = ? AND task_id = ? AND number = ?",
                    (at, reason, run_id, row["task_id"], row["number"]),
                )
                self._event(
                    conn,
                    run_id,
                    EventKind.TASK_FINISHED,
                    at,
                    row["task_id"],
                    {"attempt": row["number"], "outcome": "interrupted", "error": reason},
                )
            requeued = [
                r["task_id"]
                for r in conn.execute(
                    "SELECT task_id FROM tasks WHERE run_id = ? AND state = ? ORDER BY position",
                    (run_id, TaskState.RUNNING.value),
                )
            ]
            conn.execute(
                "UPDATE tasks SET state = ?, reason = ? WHERE run_id = ? AND state = ?",
                (
                    TaskState.PENDING.value,
                    f"interrupted: {reason}",
                    run_id,
                    TaskState.RUNNING.value,
                ),
            )
            conn.execute(
                "UPDATE runs SET state = ?, ended_at = ? WHERE id = ?",
                (RunState.INTERRUPTED.value, at, run_id),
            )
            self._event(
                conn,
                run_id,
                EventKind.RUN_INTERRUPTED,
                at,
                data={
                    "state": RunState.INTERRUPTED.value,
                    "previous": before.value,
                    "reason": reason,
                    "requeued": requeued,
                },
            )
        return requeued
