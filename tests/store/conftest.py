"""Fixtures for the store tests: a database in tmp_path and a clock the test moves."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from shoal.store import Store


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "git" / "shoal" / "state.db"


@pytest.fixture
def store(db_path: Path, clock: FakeClock):
    with Store.open(db_path, clock=clock) as s:
        yield s


def dump_tables(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, read through a separate connection."""
    conn = sqlite3.connect(str(path))
    try:
        tables = ["runs", "tasks", "attempts", "merges", "events"]
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}
    finally:
        conn.close()
