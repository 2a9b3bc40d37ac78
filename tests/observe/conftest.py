"""Real runs on real repositories, made once per session and only read by the tests: each
shape the audit must pass (parallel with dependencies, waves, every scheduling rule, retries,
failures with the sequential fallback, a boundary violation merged with `warn`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import shoal
from shoal.engine import RunResult
from shoal.git import Git
from shoal.store import Store, default_db_path
from shoal.testing import isolate_git, make_repo

SLEEP = "sleep 0.4"  # the work of a task


def together(folder: Path, me: str, *others: str) -> str:
    """A shell command: note that `me` has started, then wait (at most 60 s) until `others`
    have too, so that tasks started together overlap however loaded the machine is."""
    flags = folder / "started"
    waiting = " || ".join(f"[ ! -f {flags / o} ]" for o in others)
    return (f"mkdir -p {flags} && touch {flags / me}; i=0; "
            f"while {{ {waiting}; }} && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done")


@dataclass(frozen=True)
class Ran:
    repo: Path
    plan: Path
    result: RunResult

    @property
    def run_id(self) -> str:
        return self.result.run_id

    def store(self) -> Store:
        return Store.open(default_db_path(Git(self.repo).common_dir()), create=False)


@pytest.fixture(scope="session")
def _env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """tests/conftest.py's git isolation, for session-scoped runs (made before it applies)."""
    with pytest.MonkeyPatch.context() as mp:
        isolate_git(mp, tmp_path_factory.mktemp("home"))
        yield


def make_run(folder: Path, tasks: list[dict[str, object]], *, top: dict[str, object] | None = None,
             **options: object) -> Ran:
    """A repository in `folder`, a canonical plan beside it, and a real run of it."""
    repo = make_repo(folder / "repo", {"README.md": "# demo\n", "shared.txt": "start\n"})
    data: dict[str, object] = {"version": 1, "defaults": {"timeout": "30s", "retries": 0}}
    data.update(top or {})
    data["tasks"] = tasks
    plan = folder / "plan.json"
    plan.write_text(json.dumps(data, indent=1), encoding="utf-8")
    result = shoal.run(plan, repo=repo, grace=0.5, **options)  # type: ignore[arg-type]
    return Ran(repo, plan, result)


def _writes(name: str, *before: str) -> list[str]:
    return [*before, f"echo {name} > {name}.txt"]


@pytest.fixture(scope="session")
def parallel_run(_env: None, tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """a and b side by side, c after both; two slots."""
    folder = tmp_path_factory.mktemp("parallel")
    return make_run(folder, [
        {"id": "a", "owns": ["a.txt"], "run": _writes("a", together(folder, "a", "b"), SLEEP)},
        {"id": "b", "owns": ["b.txt"], "run": _writes("b", together(folder, "b", "a"), SLEEP)},
        {"id": "c", "owns": ["c.txt"], "after": ["a", "b"], "run": _writes("c")},
    ], max_parallel=2)


@pytest.fixture(scope="session")
def slots_run(_env: None, tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """Three independent tasks, two slots: e waits for one."""
    return make_run(tmp_path_factory.mktemp("slots"), [
        {"id": t, "owns": [f"{t}.txt"], "run": _writes(t, SLEEP)} for t in ("a", "b", "e")
    ], max_parallel=2)


@pytest.fixture(scope="session")
def waves_run(_env: None, tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """The waves strategy: wave 1 {a, b}, wave 2 {c, d}."""
    folder = tmp_path_factory.mktemp("waves")
    return make_run(folder, [
        {"id": "a", "owns": ["a.txt"], "run": _writes("a", together(folder, "a", "b"), "sleep 1")},
        {"id": "b", "owns": ["b.txt"], "run": _writes("b", together(folder, "b", "a"), "sleep 0.1")},
        {"id": "c", "owns": ["c.txt"], "after": ["a"],
         "run": _writes("c", together(folder, "c", "d"), SLEEP)},
        {"id": "d", "owns": ["d.txt"], "after": ["b"],
         "run": _writes("d", together(folder, "d", "c"), SLEEP)},
    ], strategy="waves", max_parallel=2)


@pytest.fixture(scope="session")
def rules_run(_env: None, tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """Every rule, one pair at a time: a serial phase (s1, s2); a conflicting pair (x, y own
    shared.txt); two RED tasks; a CRITICAL task beside a plain one; a last phase (f)."""
    append = "echo {0} >> shared.txt"
    tasks: list[dict[str, object]] = [
        {"id": "s1", "phase": "prep", "owns": ["s1.txt"], "run": _writes("s1")},
        {"id": "s2", "phase": "prep", "owns": ["s2.txt"], "run": _writes("s2")},
        {"id": "x", "owns": ["shared.txt"], "run": [append.format("x")]},
        {"id": "y", "owns": ["shared.txt"], "run": [append.format("y")]},
        {"id": "r1", "title": "r1 [R:RED]", "owns": ["r1.txt"], "after": ["x", "y"],
         "run": _writes("r1")},
        {"id": "r2", "risk": "red", "owns": ["r2.txt"], "after": ["x", "y"], "run": _writes("r2")},
        {"id": "k", "risk": "critical", "owns": ["k.txt"], "after": ["r1", "r2"],
         "run": _writes("k")},
        {"id": "g", "owns": ["g.txt"], "after": ["r1", "r2"], "run": _writes("g")},
        {"id": "h", "owns": ["h.txt"], "after": ["k", "g"], "run": _writes("h")},
        {"id": "f", "phase": "wrap", "owns": ["f.txt"], "run": _writes("f")},
    ]
    for t in tasks:
        t.setdefault("phase", "main")
    return make_run(tmp_path_factory.mktemp("rules"), tasks, top={"phases": [
        {"name": "prep", "parallel": False}, {"name": "main"}, {"name": "wrap"}]})


@pytest.fixture(scope="session")
def retry_run(_env: None, tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """t fails its first attempt and is retried; u runs beside it; v waits for t."""
    folder = tmp_path_factory.mktemp("retry")
    flag = folder / "second-try"
    return make_run(folder, [
        {"id": "t", "owns": ["t.txt"], "retries": 1,
         "run": ["echo t > t.txt", f"test -f {flag} || {{ touch {flag}; exit 1; }}"]},
        {"id": "u", "owns": ["u.txt"], "run": _writes("u", SLEEP)},
        {"id": "v", "owns": ["v.txt"], "after": ["t"], "run": _writes("v")},
    ], max_parallel=2)


@pytest.fixture(scope="session")
def failing_run(_env: None, tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """f1 and f2 fail side by side (the run falls back to one task at a time); d, after f1, is
    skipped; ok1 and ok2 then run one at a time."""
    # f1 and f2 start in one tick and fail after the same time, so that no success comes
    # between their failures (a rendezvous would let one end a poll later). An ok task takes
    # the first freed slot: it waits until both failures are out, then a second more for
    # the supervisor to take them in, so that a loaded machine cannot slip its success
    # between the two.
    folder = tmp_path_factory.mktemp("failing")
    done = folder / "done"
    wait = (f"for i in $(seq 600); do [ -e {done}-f1 ] && [ -e {done}-f2 ] && break; "
            "sleep 0.1; done; sleep 1")
    return make_run(folder, [
        {"id": "f1", "owns": ["f1.txt"], "run": ["sleep 0.2", f"touch {done}-f1", "exit 1"]},
        {"id": "f2", "owns": ["f2.txt"], "run": ["sleep 0.2", f"touch {done}-f2", "exit 1"]},
        {"id": "d", "owns": ["d.txt"], "after": ["f1"], "run": _writes("d")},
        {"id": "ok1", "owns": ["ok1.txt"], "run": _writes("ok1", wait)},
        {"id": "ok2", "owns": ["ok2.txt"], "run": _writes("ok2", wait)},
    ], max_parallel=2)


@pytest.fixture(scope="session")
def warn_run(_env: None, tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """w writes outside its paths; `--on-violation warn` merges it and reports."""
    return make_run(tmp_path_factory.mktemp("warn"), [
        {"id": "w", "owns": ["w.txt"], "run": ["echo w > w.txt", "echo stray > stray.txt"]},
        {"id": "z", "owns": ["z.txt"], "run": _writes("z")},
    ], on_violation="warn")


def db_rows(ran: Ran, sql: str) -> list[sqlite3.Row]:
    """Rows of `sql` (its one parameter: the run's id), read with sqlite3 itself, not through
    shoal's store."""
    conn = sqlite3.connect(default_db_path(Git(ran.repo).common_dir()))
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, (ran.run_id,)).fetchall()
    finally:
        conn.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An empty state database, for logs written by hand (tests/observe/gated.py)."""
    with Store.open(tmp_path / "state.db") as s:
        yield s
