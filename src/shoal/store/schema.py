"""The state database's schema, its version, and how a connection is opened.

The version lives in ``PRAGMA user_version``. ``MIGRATIONS[n]`` takes a database from
version ``n`` to ``n + 1``; all pending steps run in one transaction, so a crash during
an upgrade leaves the old version intact.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from shoal.errors import StoreError

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 5.0

_V1 = """
CREATE TABLE runs (
    id                 TEXT PRIMARY KEY,
    plan_path          TEXT,
    plan_format        TEXT,
    plan_snapshot      TEXT NOT NULL DEFAULT '{}',
    repo               TEXT NOT NULL,
    base_commit        TEXT,
    integration_branch TEXT,
    state              TEXT NOT NULL,
    options            TEXT NOT NULL DEFAULT '{}',
    pid                INTEGER,
    host               TEXT,
    started_at         REAL NOT NULL,
    ended_at           REAL
);
CREATE INDEX runs_by_start ON runs (started_at);

CREATE TABLE tasks (
    run_id        TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    task_id       TEXT NOT NULL,
    position      INTEGER NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending',
    attempts      INTEGER NOT NULL DEFAULT 0,
    branch        TEXT,
    workspace     TEXT,
    base_commit   TEXT,
    head_commit   TEXT,
    merged_commit TEXT,
    changed_paths TEXT NOT NULL DEFAULT '[]',
    violations    TEXT NOT NULL DEFAULT '[]',
    result        TEXT,
    reason        TEXT,
    log_path      TEXT,
    started_at    REAL,
    ended_at      REAL,
    PRIMARY KEY (run_id, task_id)
);

CREATE TABLE attempts (
    run_id     TEXT NOT NULL,
    task_id    TEXT NOT NULL,
    number     INTEGER NOT NULL,
    state      TEXT NOT NULL DEFAULT 'running',
    started_at REAL NOT NULL,
    ended_at   REAL,
    exit_code  INTEGER,
    timeout_s  REAL,
    log_path   TEXT,
    workspace  TEXT,
    result     TEXT,
    error      TEXT,
    PRIMARY KEY (run_id, task_id, number),
    FOREIGN KEY (run_id, task_id) REFERENCES tasks (run_id, task_id) ON DELETE CASCADE
);
-- a task never has two workers at once
CREATE UNIQUE INDEX attempts_one_running ON attempts (run_id, task_id) WHERE state = 'running';

-- one row per merged task: "merged exactly once" is the schema's promise, not the engine's
CREATE TABLE merges (
    run_id     TEXT NOT NULL,
    task_id    TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    tree       TEXT,
    merged_at  REAL NOT NULL,
    verify     TEXT,
    UNIQUE (run_id, task_id),
    FOREIGN KEY (run_id, task_id) REFERENCES tasks (run_id, task_id) ON DELETE CASCADE
);

CREATE TABLE events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    ts      REAL NOT NULL,
    kind    TEXT NOT NULL,
    task_id TEXT,
    data    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_by_run ON events (run_id, seq);
-- the log is evidence for `shoal audit`: rows may be added (or dropped with their run), never edited
CREATE TRIGGER events_append_only BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
"""

# MIGRATIONS[n] upgrades version n to n + 1.
MIGRATIONS: tuple[str, ...] = (_V1,)
assert len(MIGRATIONS) == SCHEMA_VERSION


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the settings every user of the database needs.

    Autocommit mode (``isolation_level=None``): transactions are opened explicitly, so
    none is ever left open by accident. WAL lets readers in other processes read while
    the run writes; ``synchronous=NORMAL`` keeps every commit across a process crash
    (only a power cut can lose the last ones) without an fsync per transaction.
    """
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        _use_wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL, which it then keeps. The switch needs a lock that SQLite does not
    wait for where waiting could deadlock (another connection writing, as when several processes
    open a new database at once): it fails at once with "database is locked", so retry it here
    for up to the busy timeout."""
    if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        return
    deadline, pause = time.monotonic() + BUSY_TIMEOUT_S, 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def check_version(version: int, path: Path) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the state database {path} has schema version {version}, "
            f"but this shoal only knows versions up to {SCHEMA_VERSION}",
            hint="a newer shoal wrote it: upgrade shoal (pip install -U shoal), "
            "or move the file aside to start afresh",
        )


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Bring the database to ``SCHEMA_VERSION``; returns the version it had before.

    The write lock is taken first and the version read again under it, so two processes
    opening a fresh database at once do not both create the tables.
    """
    check_version(schema_version(conn), path)
    if schema_version(conn) == SCHEMA_VERSION:
        return SCHEMA_VERSION
    conn.execute("BEGIN IMMEDIATE")
    try:
        before = schema_version(conn)
        check_version(before, path)
        for step in range(before, SCHEMA_VERSION):
            # executescript() would COMMIT first; run statement by statement instead
            for statement in _statements(MIGRATIONS[step]):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return before


def _statements(script: str) -> list[str]:
    """Split a script into complete statements (a trigger body holds inner semicolons)."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--") and not buf.strip():
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buf.strip()[:60]!r}")
    return out
