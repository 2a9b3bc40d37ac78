"""The connection underneath ``Store``: opening, transactions, snapshots, SQLite errors.

Every write goes through ``_tx`` (one ``BEGIN IMMEDIATE`` transaction: all or nothing);
every event through ``_event`` inside such a transaction.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any, Self

from shoal.errors import StoreError, UnknownRunError
from shoal.store.records import EventKind
from shoal.store.schema import connect, migrate

Clock = Callable[[], float]


def _json_default(value: object) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot store {type(value).__name__} as JSON: {value!r}")


def dumps(value: Any) -> str:
    """The JSON text of a column or event (compact; enums, paths and sets converted)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)


class Database:
    """One SQLite connection, shared safely by the threads of one process."""

    def __init__(self, conn: sqlite3.Connection, path: Path, clock: Clock = time.time) -> None:
        self._conn = conn
        self._path = path
        self._clock = clock
        self._lock = threading.RLock()
        self._batch_depth = 0  # > 0 while batch() holds one transaction open

    @classmethod
    def open(cls, path: Path | str, *, create: bool = True, clock: Clock = time.time) -> Self:
        """Open (and create or upgrade) the database at ``path``.

        ``create=False`` is for readers: a missing database is a ``StoreError`` saying
        nothing has run yet, instead of an empty file left behind.
        """
        path = Path(path)
        if not path.exists():
            if not create:
                raise StoreError(
                    f"no shoal state in this repository ({path} does not exist)",
                    hint="nothing has run here yet; start a run with `shoal run PLAN`",
                )
            path.parent.mkdir(parents=True, exist_ok=True)
        conn: sqlite3.Connection | None = None
        try:
            conn = connect(path)
            migrate(conn, path)
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise StoreError(
                f"cannot open the state database {path}: {exc}",
                hint="if another shoal is busy with it, try again; if the file is damaged, "
                "move it aside and shoal starts a new one",
            ) from exc
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        return cls(conn, path, clock)

    @property
    def path(self) -> Path:
        return self._path

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions --------------------------------------------------------------

    @contextmanager
    def _tx(self, what: str) -> Iterator[sqlite3.Connection]:
        """One write transaction; any exception rolls back everything done inside it.

        Inside :meth:`batch` it is a savepoint of the batch's transaction instead: still all
        or nothing, but committed with the batch."""
        with self._lock:
            if self._batch_depth:
                yield from self._savepoint(what)
                return
            self._begin(what)
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                if self._conn.in_transaction:  # SQLite may already have rolled back
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._error(what, exc) from exc
                raise

    def _begin(self, what: str) -> None:
        if self._conn.in_transaction:
            raise RuntimeError("cannot write inside snapshot() or another transaction")
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._error(what, exc) from exc

    def _savepoint(self, what: str) -> Iterator[sqlite3.Connection]:
        try:
            self._conn.execute("SAVEPOINT write")
            yield self._conn
            self._conn.execute("RELEASE write")
        except BaseException as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK TO write")
                self._conn.execute("RELEASE write")
            if isinstance(exc, sqlite3.Error):
                raise self._error(what, exc) from exc
            raise

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Make the writes inside one transaction: one commit instead of one per write.

        Each write stays all or nothing (a savepoint); the batch commits when the block ends,
        also when it ends by an exception (the writes that succeeded are kept). Other threads'
        writes wait for the batch. Callers must not act on a write outside this process
        (start a worker, tell a user) before the batch has ended: a crash loses the batch.
        """
        with self._lock:
            if self._batch_depth:
                self._batch_depth += 1
                try:
                    yield
                finally:
                    self._batch_depth -= 1
                return
            self._begin("start a batch of writes")
            self._batch_depth = 1
            try:
                yield
            finally:
                self._batch_depth = 0
                if self._conn.in_transaction:
                    try:
                        self._conn.execute("COMMIT")
                    except sqlite3.Error as exc:
                        self._conn.execute("ROLLBACK")
                        raise self._error("commit a batch of writes", exc) from exc

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Make the reads inside see one consistent state (one read transaction).

        Without it each read sees the latest commit, so a ``tasks()`` and an
        ``attempts()`` call may straddle a write. Readers never block the writer (WAL).
        """
        with self._lock:
            if self._conn.in_transaction:  # nested: the outer snapshot already holds one
                yield
                return
            self._conn.execute("BEGIN")
            try:
                yield
            finally:
                self._conn.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self._error("read the state database", exc) from exc

    def _error(self, what: str, exc: sqlite3.Error) -> StoreError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            hint = "another shoal process is writing the state database; try again"
        elif "readonly" in text or "read-only" in text:
            hint = f"shoal needs write access to {self._path} and its folder"
        else:
            hint = f"state database: {self._path}"
        return StoreError(f"could not {what}: {text}", hint=hint)

    def _now(self, at: float | None) -> float:
        return self._clock() if at is None else at

    def _event(
        self,
        conn: sqlite3.Connection,
        run_id: str,
        kind: EventKind | str,
        at: float,
        task_id: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> int:
        cur = conn.execute(
            "INSERT INTO events (run_id, ts, kind, task_id, data) VALUES (?, ?, ?, ?, ?)",
            (run_id, at, str(getattr(kind, "value", kind)), task_id, dumps(dict(data or {}))),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def _events(
        self,
        conn: sqlite3.Connection,
        run_id: str,
        kind: EventKind | str,
        at: float,
        items: Sequence[tuple[str | None, Mapping[str, Any] | None]],
    ) -> None:
        """:meth:`_event` for several tasks (``(task_id, data)`` each), in that order."""
        kind_text = str(getattr(kind, "value", kind))
        conn.executemany(
            "INSERT INTO events (run_id, ts, kind, task_id, data) VALUES (?, ?, ?, ?, ?)",
            [(run_id, at, kind_text, task_id, dumps(dict(data or {}))) for task_id, data in items],
        )

    def _require_run(self, conn: sqlite3.Connection, run_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise UnknownRunError(
                f"no run {run_id!r} in {self._path}",
                hint="check the run id; `shoal status` shows the latest run",
            )
        return row
