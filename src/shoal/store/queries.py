"""Reads: runs, tasks, attempts, merges and the event log, as frozen records.

Each call sees the latest committed state; wrap several in ``Store.snapshot()`` to see
one state across them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from shoal.errors import UnknownRunError
from shoal.store.db import Database
from shoal.store.records import (
    AttemptRecord,
    Event,
    EventKind,
    MergeRecord,
    RunRecord,
    TaskRecord,
)

_EVENT_PAGE = 500


class Queries(Database):
    def get_run(self, run_id: str) -> RunRecord:
        """The run, or ``UnknownRunError``."""
        rows = self._read("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise UnknownRunError(
                f"no run {run_id!r} in {self._path}",
                hint="check the run id; `shoal status` shows the latest run",
            )
        return RunRecord.from_row(rows[0])

    def latest_run(self) -> RunRecord | None:
        """The most recently started run, or ``None`` when there is none."""
        rows = self._read("SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT 1")
        return RunRecord.from_row(rows[0]) if rows else None

    def list_runs(self, limit: int | None = None) -> list[RunRecord]:
        """Runs, newest first."""
        rows = self._read(
            "SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?",
            (-1 if limit is None else limit,),
        )
        return [RunRecord.from_row(r) for r in rows]

    def task(self, run_id: str, task_id: str) -> TaskRecord:
        rows = self._read("SELECT * FROM tasks WHERE run_id = ? AND task_id = ?", (run_id, task_id))
        if not rows:
            self.get_run(run_id)
            raise UnknownRunError(f"run {run_id} has no task {task_id!r}")
        return TaskRecord.from_row(rows[0])

    def tasks(self, run_id: str) -> list[TaskRecord]:
        """The run's tasks in plan order."""
        rows = self._read("SELECT * FROM tasks WHERE run_id = ? ORDER BY position", (run_id,))
        return [TaskRecord.from_row(r) for r in rows]

    def task_states(self, run_id: str) -> dict[str, str]:
        """Task id -> state, in plan order: what a supervisor needs, without whole records."""
        return {r[0]: r[1] for r in self._read(
            "SELECT task_id, state FROM tasks WHERE run_id = ? ORDER BY position", (run_id,))}

    def attempts(self, run_id: str, task_id: str | None = None) -> list[AttemptRecord]:
        """Attempts of the run (or of one task), by start time then task and number."""
        if task_id is None:
            rows = self._read(
                "SELECT * FROM attempts WHERE run_id = ? ORDER BY started_at, task_id, number",
                (run_id,),
            )
        else:
            rows = self._read(
                "SELECT * FROM attempts WHERE run_id = ? AND task_id = ? ORDER BY number",
                (run_id, task_id),
            )
        return [AttemptRecord.from_row(r) for r in rows]

    def merges(self, run_id: str) -> list[MergeRecord]:
        """Merged tasks, in the order they were merged."""
        rows = self._read(
            "SELECT * FROM merges WHERE run_id = ? ORDER BY merged_at, rowid", (run_id,)
        )
        return [MergeRecord.from_row(r) for r in rows]

    def events(
        self,
        run_id: str,
        after_seq: int = 0,
        *,
        kinds: Iterable[EventKind | str] | None = None,
    ) -> Iterator[Event]:
        """The run's events with ``seq > after_seq``, oldest first.

        Read a page at a time, so a long log never sits in memory and a writer is
        never held up; ``watch`` tails by passing the last ``seq`` it saw.
        """
        wanted = None if kinds is None else {str(getattr(k, "value", k)) for k in kinds}
        last = after_seq
        while True:
            rows = self._read(
                "SELECT * FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (run_id, last, _EVENT_PAGE),
            )
            for row in rows:
                if wanted is None or row["kind"] in wanted:
                    yield Event.from_row(row)
            if len(rows) < _EVENT_PAGE:
                return
            last = rows[-1]["seq"]

    def last_seq(self, run_id: str) -> int:
        """The ``seq`` of the run's latest event (0 when it has none)."""
        rows = self._read("SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id = ?", (run_id,))
        return int(rows[0][0])
