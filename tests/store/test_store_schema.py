"""The database file: creation, settings, versioning, and opening bad files."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from shoal.errors import StoreError
from shoal.store import SCHEMA_VERSION, Store, default_db_path, new_run_id
from shoal.store.schema import connect


def test_fresh_database_has_schema_version_and_wal(store: Store, db_path: Path) -> None:
    conn = sqlite3.connect(str(db_path))
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 1
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()
    assert {"runs", "tasks", "attempts", "merges", "events"} <= names


def test_connection_settings(store: Store) -> None:
    conn = store._conn
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_reopening_keeps_data(db_path: Path) -> None:
    with Store.open(db_path) as s:
        run = s.create_run(repo="/repo", task_ids=["a"], at=10.0)
    with Store.open(db_path) as s:
        assert s.get_run(run.id) == run
        assert [t.task_id for t in s.tasks(run.id)] == ["a"]


def test_newer_schema_is_refused(db_path: Path) -> None:
    Store.open(db_path).close()
    conn = sqlite3.connect(str(db_path))
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError) as info:
        Store.open(db_path)
    assert f"schema version {SCHEMA_VERSION + 1}" in info.value.message
    assert "upgrade shoal" in (info.value.hint or "")


def test_file_that_is_not_a_database(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is not sqlite, just some text that is long enough" * 20)
    with pytest.raises(StoreError) as info:
        Store.open(db_path)
    assert "cannot open the state database" in info.value.message
    assert info.value.hint


def test_reader_does_not_create_a_database(db_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        Store.open(db_path, create=False)
    assert "shoal run" in (info.value.hint or "")
    assert not db_path.exists()


def test_default_db_path(tmp_path: Path) -> None:
    assert default_db_path(tmp_path / ".git") == tmp_path / ".git" / "shoal" / "state.db"


def test_new_run_id_is_utc_time_and_token() -> None:
    assert new_run_id(1795373101.0, "ab12") == "20261122-184501-ab12"
    assert len(new_run_id(0.0)) == len("19700101-000000-0000")


def test_events_are_append_only(store: Store) -> None:
    run = store.create_run(repo="/r")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store._conn.execute("UPDATE events SET kind = 'forged' WHERE run_id = ?", (run.id,))


def test_processes_creating_the_database_at_once(db_path: Path) -> None:
    # each child opens (and so migrates) the same new file; none may fail or duplicate tables
    code = (
        "import sys; from shoal.store import Store\n"
        "with Store.open(sys.argv[1]) as s: s.create_run(repo='/r')\n"
    )
    children = [
        subprocess.Popen([sys.executable, "-c", code, str(db_path)], stderr=subprocess.PIPE)
        for _ in range(6)
    ]
    for child in children:
        _, err = child.communicate(timeout=60)
        assert child.returncode == 0, err.decode()
    with Store.open(db_path) as s:
        assert len(s.list_runs()) == 6


def test_switching_a_fresh_database_to_wal_waits_for_a_writer(tmp_path: Path) -> None:
    # Another connection writes to the still rollback-journal file. SQLite does not call the busy
    # handler here (waiting could deadlock) and fails at once; opening must wait and retry.
    path = tmp_path / "state.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        conn = connect(path)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.close()
    finally:
        release.join()
        holder.close()
