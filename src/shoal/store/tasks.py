"""Writes about tasks: adding them, attempts, state changes, findings and merges.

Each public method is one transaction with its event. The rule the store itself keeps:
a merged task stays ``succeeded`` and is never merged again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from shoal.errors import AlreadyMergedError, StoreError, UnknownRunError
from shoal.model import TaskState
from shoal.store.db import Database, dumps
from shoal.store.records import AttemptStart, AttemptState, EventKind

_IN_CHUNK = 500  # task ids per IN (...): well under SQLite's limit on parameters

# The event a task state change is logged as, unless the caller names a more precise one.
_STATE_EVENTS = {
    TaskState.PENDING: EventKind.TASK_RETRY,
    TaskState.SKIPPED: EventKind.TASK_SKIPPED,
    TaskState.BLOCKED: EventKind.TASK_BLOCKED,
}


class TaskWrites(Database):
    def add_tasks(self, run_id: str, task_ids: Iterable[str], *, at: float | None = None) -> None:
        """Add ``pending`` tasks to a run, in plan order (appended after any already there)."""
        ids = [str(t) for t in task_ids]
        with self._tx(f"add tasks to run {run_id}") as conn:
            self._require_run(conn, run_id)
            self._insert_tasks(conn, run_id, ids, self._now(at))

    def _insert_tasks(
        self, conn: sqlite3.Connection, run_id: str, ids: list[str], at: float
    ) -> None:
        if len(set(ids)) != len(ids):
            raise ValueError(
                f"duplicate task ids: {sorted(i for i in set(ids) if ids.count(i) > 1)}"
            )
        start = conn.execute(
            "SELECT COALESCE(MAX(position) + 1, 0) FROM tasks WHERE run_id = ?", (run_id,)
        ).fetchone()[0]
        conn.executemany(
            "INSERT INTO tasks (run_id, task_id, position, state) VALUES (?, ?, ?, ?)",
            [(run_id, tid, start + i, TaskState.PENDING.value) for i, tid in enumerate(ids)],
        )
        self._event(conn, run_id, EventKind.TASKS_ADDED, at, data={"tasks": ids})

    def _require_task(self, conn: sqlite3.Connection, run_id: str, task_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM tasks WHERE run_id = ? AND task_id = ?", (run_id, task_id)
        ).fetchone()
        if row is None:
            self._require_run(conn, run_id)
            raise UnknownRunError(f"run {run_id} has no task {task_id!r}")
        return row

    def start_attempt(
        self,
        run_id: str,
        task_id: str,
        *,
        timeout_s: float | None = None,
        log_path: str | None = None,
        workspace: str | None = None,
        branch: str | None = None,
        base_commit: str | None = None,
        slot: int | None = None,
        at: float | None = None,
    ) -> int:
        """Start the next attempt of a task (task → ``running``); returns its number (1, 2, ...).

        Refused (``StoreError``) while another attempt of the task is running, and
        (``AlreadyMergedError``) once the task is merged.
        """
        start = AttemptStart(task_id, timeout_s=timeout_s, log_path=log_path, workspace=workspace,
                             branch=branch, base_commit=base_commit, slot=slot)
        return self.start_attempts(run_id, [start], at=at)[0]

    def start_attempts(
        self, run_id: str, starts: Sequence[AttemptStart], *, at: float | None = None
    ) -> list[int]:
        """:meth:`start_attempt` for several tasks in one transaction, all or none: their
        attempt numbers, in order. A handful of statements for them all, not five each."""
        ids = [s.task_id for s in starts]
        if len(set(ids)) != len(ids):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"a task can start one attempt at a time: {', '.join(twice)} given twice")
        if not starts:
            return []
        at = self._now(at)
        what = f"start task {ids[0]}" if len(ids) == 1 else \
            f"start tasks {', '.join(ids[:5])}{' ...' if len(ids) > 5 else ''}"
        with self._tx(what) as conn:
            found: dict[str, sqlite3.Row] = {}
            for first in range(0, len(ids), _IN_CHUNK):
                chunk = ids[first:first + _IN_CHUNK]
                for row in conn.execute(
                    "SELECT t.task_id, t.merged_commit,"
                    " (SELECT number FROM attempts a WHERE a.run_id = t.run_id"
                    "  AND a.task_id = t.task_id AND a.state = ?),"
                    " (SELECT COALESCE(MAX(number), 0) FROM attempts a"
                    "  WHERE a.run_id = t.run_id AND a.task_id = t.task_id)"
                    f" FROM tasks t WHERE t.run_id = ? AND t.task_id IN ({','.join('?' * len(chunk))})",
                    (AttemptState.RUNNING.value, run_id, *chunk),
                ):
                    found[row[0]] = row
            numbers = []
            for task_id in ids:
                if task_id not in found:
                    self._require_task(conn, run_id, task_id)  # raises, naming what is missing
                _, merged, running, last = found[task_id]
                if merged is not None:
                    raise AlreadyMergedError(
                        f"task {task_id} of run {run_id} is already merged "
                        f"({merged}); it must not run again"
                    )
                if running is not None:
                    raise StoreError(
                        f"task {task_id} of run {run_id} already has attempt {running} running",
                        hint="finish or interrupt that attempt first",
                    )
                numbers.append(int(last) + 1)
            conn.executemany(
                "INSERT INTO attempts (run_id, task_id, number, state, started_at, timeout_s,"
                " log_path, workspace) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, s.task_id, n, AttemptState.RUNNING.value, at, s.timeout_s, s.log_path,
                  s.workspace) for s, n in zip(starts, numbers, strict=True)],
            )
            conn.executemany(
                "UPDATE tasks SET state = ?, attempts = ?, reason = NULL, ended_at = NULL,"
                " started_at = COALESCE(started_at, ?), log_path = COALESCE(?, log_path),"
                " workspace = COALESCE(?, workspace), branch = COALESCE(?, branch),"
                " base_commit = COALESCE(?, base_commit) WHERE run_id = ? AND task_id = ?",
                [(TaskState.RUNNING.value, n, at, s.log_path, s.workspace, s.branch, s.base_commit,
                  run_id, s.task_id) for s, n in zip(starts, numbers, strict=True)],
            )
            self._events(conn, run_id, EventKind.TASK_STARTED, at, [
                (s.task_id, {"attempt": n, "slot": s.slot, "workspace": s.workspace,
                             "timeout_s": s.timeout_s}) for s, n in zip(starts, numbers, strict=True)])
        return numbers

    def finish_attempt(
        self,
        run_id: str,
        task_id: str,
        number: int,
        state: AttemptState,
        *,
        exit_code: int | None = None,
        result: Mapping[str, Any] | None = None,
        error: str | None = None,
        task_state: TaskState | None = None,
        reason: str | None = None,
        at: float | None = None,
    ) -> None:
        """End a running attempt with ``state`` (``task_finished`` event).

        A ``result`` is also stored on the task. ``task_state`` (with ``reason``) moves
        the task in the same transaction, e.g. to ``pending`` for a retry or ``blocked``;
        without it the task stays ``running`` until ``set_task_state``/``record_merge``.
        """
        state = AttemptState(state)
        if state is AttemptState.RUNNING:
            raise ValueError("finish_attempt needs a final state, not 'running'")
        at = self._now(at)
        with self._tx(f"finish attempt {number} of task {task_id}") as conn:
            row = conn.execute(
                "SELECT a.state, t.state AS task_state, t.merged_commit FROM attempts a"
                " JOIN tasks t ON t.run_id = a.run_id AND t.task_id = a.task_id"
                " WHERE a.run_id = ? AND a.task_id = ? AND a.number = ?",
                (run_id, task_id, number),
            ).fetchone()
            if row is None:
                self._require_task(conn, run_id, task_id)
                raise UnknownRunError(f"task {task_id} of run {run_id} has no attempt {number}")
            if row["state"] != AttemptState.RUNNING.value:
                raise StoreError(
                    f"attempt {number} of task {task_id} already ended ({row['state']})"
                )
            result_text = None if result is None else dumps(dict(result))
            conn.execute(
                "UPDATE attempts SET state = ?, ended_at = ?, exit_code = ?, result = ?, error = ?"
                " WHERE run_id = ? AND task_id = ? AND number = ?",
                (state.value, at, exit_code, result_text, error, run_id, task_id, number),
            )
            if result_text is not None and task_state is None:  # else with the state, below
                conn.execute(
                    "UPDATE tasks SET result = ? WHERE run_id = ? AND task_id = ?",
                    (result_text, run_id, task_id),
                )
            data = {
                "attempt": number,
                "outcome": state.value,
                "exit_code": exit_code,
                "error": error,
            }
            self._event(conn, run_id, EventKind.TASK_FINISHED, at, task_id, data)
            if task_state is not None:
                self._set_task_state(conn, run_id, task_id, TaskState(task_state), at, reason,
                                     task=(row["task_state"], row["merged_commit"]),
                                     result=result_text)

    def set_task_state(
        self,
        run_id: str,
        task_id: str,
        state: TaskState,
        *,
        reason: str | None = None,
        kind: EventKind | str | None = None,
        data: Mapping[str, Any] | None = None,
        at: float | None = None,
    ) -> None:
        """Move a task to ``state`` with the reason shown to the user.

        Logged as ``task_retry`` (back to pending), ``task_skipped``, ``task_blocked`` or
        else ``task_state``, unless ``kind`` names another (e.g. ``merge_failed``);
        ``data`` is added to the event. Which transitions make sense is the engine's
        call; the store only refuses to take a merged task out of ``succeeded``.
        Use ``start_attempt`` to make a task ``running``.
        """
        state = TaskState(state)
        if state is TaskState.RUNNING:
            raise ValueError("use start_attempt() to make a task running")
        at = self._now(at)
        with self._tx(f"mark task {task_id} {state.value}") as conn:
            self._set_task_state(conn, run_id, task_id, state, at, reason, kind, data)

    def _set_task_state(
        self,
        conn: sqlite3.Connection,
        run_id: str,
        task_id: str,
        state: TaskState,
        at: float,
        reason: str | None,
        kind: EventKind | str | None = None,
        data: Mapping[str, Any] | None = None,
        task: tuple[str, str | None] | None = None,  # (state, merged_commit), if just read
        result: str | None = None,  # the task's result (JSON text), stored in the same update
    ) -> None:
        if task is None:
            row = self._require_task(conn, run_id, task_id)
            task = (row["state"], row["merged_commit"])
        previous, merged = task
        if merged is not None and state is not TaskState.SUCCEEDED:
            raise AlreadyMergedError(
                f"task {task_id} of run {run_id} is merged ({merged}); "
                f"it cannot become {state.value}"
            )
        conn.execute(
            "UPDATE tasks SET state = ?, reason = ?, ended_at = ?, result = COALESCE(?, result)"
            " WHERE run_id = ? AND task_id = ?",
            (state.value, reason, at if state.terminal else None, result, run_id, task_id),
        )
        payload = {"state": state.value, "previous": previous, "reason": reason}
        payload.update(data or {})
        kind = kind or _STATE_EVENTS.get(state, EventKind.TASK_STATE)
        self._event(conn, run_id, kind, at, task_id, payload)

    def record_changed_paths(
        self,
        run_id: str,
        task_id: str,
        paths: Sequence[str],
        *,
        head_commit: str | None = None,
        at: float | None = None,
    ) -> None:
        """The paths the worker changed (and the commit holding them): ``task_changes``."""
        paths = [str(p) for p in paths]
        with self._tx(f"record the changes of task {task_id}") as conn:
            self._require_task(conn, run_id, task_id)
            conn.execute(
                "UPDATE tasks SET changed_paths = ?, head_commit = COALESCE(?, head_commit)"
                " WHERE run_id = ? AND task_id = ?",
                (dumps(paths), head_commit, run_id, task_id),
            )
            data = {"paths": paths, "head_commit": head_commit}
            self._event(conn, run_id, EventKind.TASK_CHANGES, self._now(at), task_id, data)

    def record_violations(
        self, run_id: str, task_id: str, violations: Sequence[Any], *, at: float | None = None
    ) -> None:
        """Boundary violations found (JSON values: paths or dicts); an empty list clears them.

        Logged as ``boundary_violation`` with ``{"violations": [...]}``.
        """
        items = list(violations)
        with self._tx(f"record the violations of task {task_id}") as conn:
            self._require_task(conn, run_id, task_id)
            conn.execute(
                "UPDATE tasks SET violations = ? WHERE run_id = ? AND task_id = ?",
                (dumps(items), run_id, task_id),
            )
            data = {"violations": items}
            self._event(conn, run_id, EventKind.BOUNDARY_VIOLATION, self._now(at), task_id, data)

    def record_result(
        self, run_id: str, task_id: str, result: Mapping[str, Any], *, at: float | None = None
    ) -> None:
        """The parsed worker result (status, files_modified, notes, ...): ``task_result``."""
        result = dict(result)
        with self._tx(f"record the result of task {task_id}") as conn:
            self._require_task(conn, run_id, task_id)
            conn.execute(
                "UPDATE tasks SET result = ? WHERE run_id = ? AND task_id = ?",
                (dumps(result), run_id, task_id),
            )
            data = {"status": result.get("status")}
            self._event(conn, run_id, EventKind.TASK_RESULT, self._now(at), task_id, data)

    def record_merge(
        self,
        run_id: str,
        task_id: str,
        commit: str,
        *,
        tree: str | None = None,
        verify: Mapping[str, Any] | None = None,
        at: float | None = None,
    ) -> bool:
        """Record that ``commit`` brought the task into the integration branch.

        The task becomes ``succeeded`` with ``merged_commit`` in the same transaction
        (event ``merged``), so record it only once the merge stands (after verify).
        Returns ``True`` when recorded. Recording the same commit again returns
        ``False`` and changes nothing (a resumed run replaying its last step); a
        different commit raises ``AlreadyMergedError``: that would be a second merge.
        """
        at = self._now(at)
        with self._tx(f"record the merge of task {task_id}") as conn:
            self._require_task(conn, run_id, task_id)
            existing = conn.execute(
                "SELECT commit_sha FROM merges WHERE run_id = ? AND task_id = ?",
                (run_id, task_id),
            ).fetchone()
            if existing is not None:
                if existing[0] == commit:
                    return False
                raise AlreadyMergedError(
                    f"task {task_id} of run {run_id} was already merged as {existing[0]}; "
                    f"refusing to record a second merge ({commit})"
                )
            conn.execute(
                "INSERT INTO merges (run_id, task_id, commit_sha, tree, merged_at, verify)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    task_id,
                    commit,
                    tree,
                    at,
                    None if verify is None else dumps(dict(verify)),
                ),
            )
            conn.execute(
                "UPDATE tasks SET merged_commit = ?, state = ?, reason = NULL, ended_at = ?"
                " WHERE run_id = ? AND task_id = ?",
                (commit, TaskState.SUCCEEDED.value, at, run_id, task_id),
            )
            self._event(
                conn, run_id, EventKind.MERGED, at, task_id, {"commit": commit, "tree": tree}
            )
        return True
