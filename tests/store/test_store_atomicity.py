"""A write that fails at its last step leaves nothing behind; a killed writer leaves a
database that agrees with its own event log and can be carried on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import dump_tables
from store_replay import check_log_matches_tables

from shoal.errors import StoreError
from shoal.model import TaskState
from shoal.store import AttemptState, EventKind, RunState, Store

# operation name -> (call, the event kind whose insertion is made to fail: the last one)
OPERATIONS = {
    "create_run": (lambda s, r: s.create_run(repo="/r", task_ids=["x"]), "tasks_added"),
    "add_tasks": (lambda s, r: s.add_tasks(r, ["x", "y"]), "tasks_added"),
    "start_attempt": (lambda s, r: s.start_attempt(r, "b", workspace="/w"), "task_started"),
    "finish_attempt": (
        lambda s, r: s.finish_attempt(
            r,
            "a",
            1,
            AttemptState.TIMEOUT,
            result={"s": 1},
            task_state=TaskState.BLOCKED,
            reason="timeouts",
        ),
        "task_blocked",
    ),
    "set_task_state": (lambda s, r: s.set_task_state(r, "b", TaskState.SKIPPED), "task_skipped"),
    "record_changed_paths": (
        lambda s, r: s.record_changed_paths(r, "a", ["p"], head_commit="h"),
        "task_changes",
    ),
    "record_violations": (lambda s, r: s.record_violations(r, "a", ["p"]), "boundary_violation"),
    "record_result": (lambda s, r: s.record_result(r, "a", {"status": "pass"}), "task_result"),
    "record_merge": (lambda s, r: s.record_merge(r, "c", "m1", tree="t"), "merged"),
    "set_run_state": (lambda s, r: s.set_run_state(r, RunState.FAILED), "run_finished"),
    "interrupt_run": (lambda s, r: s.interrupt_run(r, reason="boom"), "run_interrupted"),
    "append_event": (
        lambda s, r: s.append_event(r, EventKind.TASK_READY, task_id="b"),
        "task_ready",
    ),
}


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_failing_event_rolls_back_the_whole_change(store: Store, db_path: Path, name) -> None:
    run = store.create_run(repo="/r", task_ids=["a", "b", "c"])
    store.start_attempt(run.id, "a")
    store.start_attempt(run.id, "c")
    store.finish_attempt(run.id, "c", 1, AttemptState.SUCCEEDED)
    call, kind = OPERATIONS[name]
    before = dump_tables(db_path)
    # a TEMP trigger lives only on the store's own connection: the "crash" strikes after
    # the state rows were written, when the matching event is appended
    store._conn.execute(
        f"CREATE TEMP TRIGGER crash BEFORE INSERT ON main.events WHEN NEW.kind = '{kind}'"
        " BEGIN SELECT RAISE(ABORT, 'simulated crash'); END"
    )
    with pytest.raises(StoreError, match="simulated crash"):
        call(store, run.id)
    assert dump_tables(db_path) == before
    assert not store._conn.in_transaction
    store._conn.execute("DROP TRIGGER temp.crash")
    call(store, run.id)  # the same call goes through once nothing fails
    assert dump_tables(db_path) != before
    check_log_matches_tables(store, run.id)


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_failing_write_inside_a_batch_rolls_back_only_itself(store: Store, db_path: Path, name) -> None:
    run = store.create_run(repo="/r", task_ids=["a", "b", "c"])
    store.start_attempt(run.id, "a")
    store.start_attempt(run.id, "c")
    store.finish_attempt(run.id, "c", 1, AttemptState.SUCCEEDED)
    call, kind = OPERATIONS[name]
    with store.batch():
        store.append_event(run.id, "before_failure")
    with_before = dump_tables(db_path)
    store._conn.execute(
        f"CREATE TEMP TRIGGER crash BEFORE INSERT ON main.events WHEN NEW.kind = '{kind}'"
        " BEGIN SELECT RAISE(ABORT, 'simulated crash'); END"
    )
    with store.batch():
        store.append_event(run.id, "kept_1")
        with pytest.raises(StoreError, match="simulated crash"):
            call(store, run.id)
        store.append_event(run.id, "kept_2")
        assert store._conn.in_transaction  # one transaction for the whole batch
    assert not store._conn.in_transaction
    store._conn.execute("DROP TRIGGER temp.crash")
    kinds = [str(e.kind) for e in store.events(run.id)]
    assert kinds[-2:] == ["kept_1", "kept_2"]
    # apart from the two events the batch kept, the failed call left nothing behind
    after = dump_tables(db_path)
    assert {k: v for k, v in after.items() if k != "events"} == \
        {k: v for k, v in with_before.items() if k != "events"}
    check_log_matches_tables(store, run.id)


def test_batch_commits_what_succeeded_when_its_block_raises(store: Store, db_path: Path) -> None:
    run = store.create_run(repo="/r", task_ids=["a", "b"])
    with pytest.raises(KeyError):
        with store.batch():
            store.start_attempt(run.id, "a")
            with store.batch():  # nested: joins the outer one
                store.start_attempt(run.id, "b")
            raise KeyError("the caller failed after two writes")
    assert not store._conn.in_transaction
    with Store.open(db_path, create=False) as other:  # another connection sees both
        assert {t.task_id: t.state for t in other.tasks(run.id)} == {"a": "running", "b": "running"}
    check_log_matches_tables(store, run.id)


def test_batch_is_invisible_to_other_connections_until_it_ends(store: Store, db_path: Path) -> None:
    run = store.create_run(repo="/r", task_ids=["a"])
    with Store.open(db_path, create=False) as other:
        with store.batch():
            store.start_attempt(run.id, "a")
            assert store.task(run.id, "a").state == "running"  # its own writes, seen at once
            assert other.task(run.id, "a").state == "pending"
        assert other.task(run.id, "a").state == "running"


WRITER = r"""
import sys
from shoal.model import TaskState
from shoal.store import AttemptState, RunState, Store

store = Store.open(sys.argv[1])
round_ = 0
while True:
    round_ += 1
    run = store.create_run(repo="/r", task_ids=[f"t{i}" for i in range(6)])
    for i in range(6):
        tid = f"t{i}"
        n = store.start_attempt(run.id, tid, workspace=f"/w/{tid}")
        if i % 3 == 0:
            store.finish_attempt(run.id, tid, n, AttemptState.TIMEOUT,
                                 task_state=TaskState.PENDING, reason="retry")
            n = store.start_attempt(run.id, tid)
        store.finish_attempt(run.id, tid, n, AttemptState.SUCCEEDED, result={"status": "pass"})
        store.record_changed_paths(run.id, tid, [f"src/{tid}.py"], head_commit=f"h{i}")
        if i == 4:
            store.set_task_state(run.id, tid, TaskState.FAILED, reason="verify")
        else:
            store.record_merge(run.id, tid, f"m{round_}-{i}")
    store.set_run_state(run.id, RunState.SUCCEEDED)
"""


def test_kill_9_writer_leaves_a_consistent_resumable_database(db_path: Path) -> None:
    Store.open(db_path).close()
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(db_path)])
    try:
        reader = Store.open(db_path, create=False)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            runs = reader.list_runs()
            if len(runs) >= 3 and child.poll() is None:
                break
            time.sleep(0.02)
        else:
            pytest.fail("the writer made no progress")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    reader.close()
    with Store.open(db_path) as store:
        assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        runs = store.list_runs()
        for run in runs:
            check_log_matches_tables(store, run.id)
        # resume the run the kill cut short (the newest one, if it was not finished)
        latest = runs[0]
        if latest.state is RunState.RUNNING:
            requeued = store.interrupt_run(latest.id, reason="orchestrator killed")
            store.set_run_state(latest.id, RunState.RUNNING)
            for tid in requeued:
                n = store.start_attempt(latest.id, tid)
                store.finish_attempt(latest.id, tid, n, AttemptState.SUCCEEDED)
                store.record_merge(latest.id, tid, f"resumed-{tid}")
            check_log_matches_tables(store, latest.id)
            assert not [t for t in store.tasks(latest.id) if t.state is TaskState.RUNNING]
