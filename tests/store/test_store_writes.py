"""Every write: what it changes and the event it logs with it."""

from __future__ import annotations

import sqlite3

import pytest
from conftest import FakeClock
from store_replay import check_log_matches_tables

from shoal.errors import AlreadyMergedError, StoreError, UnknownRunError
from shoal.model import TaskState
from shoal.store import AttemptStart, AttemptState, EventKind, RunState, Store


def kinds(store: Store, run_id: str, after: int = 0) -> list[str]:
    return [
        str(e.kind.value if isinstance(e.kind, EventKind) else e.kind)
        for e in store.events(run_id, after)
    ]


def test_create_run_with_tasks(store: Store, clock: FakeClock) -> None:
    run = store.create_run(
        repo="/repo",
        plan_path="plan.yaml",
        plan_format="canonical",
        plan_snapshot={"tasks": [{"id": "a"}]},
        base_commit="b" * 40,
        integration_branch="shoal/run",
        options={"strategy": "dynamic", "max_parallel": 4},
        task_ids=["b", "a"],
        pid=123,
        host="box",
        run_id="20261122-184501-ab12",
    )
    assert run.id == "20261122-184501-ab12"
    assert run.state is RunState.RUNNING
    assert run.started_at == clock.now and run.ended_at is None
    assert run.options == {"strategy": "dynamic", "max_parallel": 4}
    assert run.plan_snapshot == {"tasks": [{"id": "a"}]}
    assert (run.pid, run.host) == (123, "box")
    assert [(t.task_id, t.state, t.position) for t in store.tasks(run.id)] == [
        ("b", TaskState.PENDING, 0),
        ("a", TaskState.PENDING, 1),
    ]
    assert kinds(store, run.id) == ["run_started", "tasks_added"]


def test_runs_listing(store: Store, clock: FakeClock) -> None:
    assert store.latest_run() is None and store.list_runs() == []
    first = store.create_run(repo="/r")
    clock.advance(5)
    second = store.create_run(repo="/r")
    assert store.latest_run() == second
    assert [r.id for r in store.list_runs()] == [second.id, first.id]
    assert [r.id for r in store.list_runs(limit=1)] == [second.id]
    with pytest.raises(UnknownRunError) as info:
        store.get_run("nope")
    assert "shoal status" in (info.value.hint or "")


def test_add_tasks_appends_in_order_and_refuses_duplicates(store: Store) -> None:
    run = store.create_run(repo="/r", task_ids=["a"])
    store.add_tasks(run.id, ["b", "c"])
    assert [t.task_id for t in store.tasks(run.id)] == ["a", "b", "c"]
    with pytest.raises(StoreError):
        store.add_tasks(run.id, ["a"])  # primary key
    with pytest.raises(ValueError):
        store.add_tasks(run.id, ["x", "x"])
    with pytest.raises(UnknownRunError):
        store.add_tasks("nope", ["z"])
    assert [t.task_id for t in store.tasks(run.id)] == ["a", "b", "c"]


def test_task_states_agree_with_the_records_in_plan_order(store: Store) -> None:
    run = store.create_run(repo="/r", task_ids=["c", "a", "b"])
    store.start_attempt(run.id, "a")
    store.set_task_state(run.id, "b", TaskState.SKIPPED, reason="its dependency failed")
    states = store.task_states(run.id)
    assert list(states.items()) == [(t.task_id, t.state.value) for t in store.tasks(run.id)]
    assert states == {"c": "pending", "a": "running", "b": "skipped"}


def test_attempts_are_numbered_and_one_runs_at_a_time(store: Store, clock: FakeClock) -> None:
    run = store.create_run(repo="/r", task_ids=["a"])
    start = clock.advance(1)
    n1 = store.start_attempt(
        run.id,
        "a",
        timeout_s=60,
        log_path="/l/a.1.log",
        workspace="/w/a",
        branch="shoal/a",
        base_commit="c0",
        slot=2,
    )
    assert n1 == 1
    with pytest.raises(StoreError, match="already has attempt 1 running"):
        store.start_attempt(run.id, "a")
    task = store.task(run.id, "a")
    assert (task.state, task.attempts, task.started_at) == (TaskState.RUNNING, 1, start)
    assert (task.workspace, task.branch, task.base_commit, task.log_path) == (
        "/w/a",
        "shoal/a",
        "c0",
        "/l/a.1.log",
    )
    clock.advance(60)
    store.finish_attempt(
        run.id,
        "a",
        n1,
        AttemptState.TIMEOUT,
        exit_code=-9,
        error="timed out",
        task_state=TaskState.PENDING,
        reason="retrying",
    )
    assert store.task(run.id, "a").state is TaskState.PENDING
    clock.advance(1)
    n2 = store.start_attempt(run.id, "a", timeout_s=120, log_path="/l/a.2.log")
    assert n2 == 2
    task = store.task(run.id, "a")
    assert (task.attempts, task.started_at, task.reason, task.log_path) == (
        2,
        start,
        None,
        "/l/a.2.log",
    )
    attempts = store.attempts(run.id, "a")
    assert [(a.number, a.state) for a in attempts] == [
        (1, AttemptState.TIMEOUT),
        (2, AttemptState.RUNNING),
    ]
    assert attempts[0].duration_s == 60 and attempts[0].exit_code == -9
    started = [e for e in store.events(run.id) if e.kind == EventKind.TASK_STARTED]
    assert started[0].data == {"attempt": 1, "slot": 2, "workspace": "/w/a", "timeout_s": 60}
    assert kinds(store, run.id)[2:] == [
        "task_started",
        "task_finished",
        "task_retry",
        "task_started",
    ]


def test_start_attempts_starts_several_at_once_all_or_none(store: Store) -> None:
    run = store.create_run(repo="/r", task_ids=["a", "b", "c", "d"])
    store.start_attempt(run.id, "b")
    store.finish_attempt(run.id, "b", 1, AttemptState.FAILED, task_state=TaskState.PENDING)
    store.start_attempt(run.id, "d")
    before = kinds(store, run.id)

    with pytest.raises(StoreError, match="task d of run .* already has attempt 1 running"):
        store.start_attempts(run.id, [AttemptStart("a"), AttemptStart("d")])
    with pytest.raises(UnknownRunError, match="no task 'z'"):
        store.start_attempts(run.id, [AttemptStart("a"), AttemptStart("z")])
    with pytest.raises(ValueError, match="one attempt at a time"):
        store.start_attempts(run.id, [AttemptStart("a"), AttemptStart("a")])
    assert store.task(run.id, "a").state is TaskState.PENDING  # none of them started
    assert kinds(store, run.id) == before

    numbers = store.start_attempts(run.id, [
        AttemptStart("c", timeout_s=5, log_path="/l/c.log", branch="t/c", base_commit="c0", slot=3),
        AttemptStart("b", slot=1), AttemptStart("a", workspace="/w/a")])
    assert numbers == [1, 2, 1]
    assert [(t.task_id, t.state, t.attempts) for t in store.tasks(run.id)] == [
        ("a", TaskState.RUNNING, 1), ("b", TaskState.RUNNING, 2), ("c", TaskState.RUNNING, 1),
        ("d", TaskState.RUNNING, 1)]
    c = store.task(run.id, "c")
    assert (c.log_path, c.branch, c.base_commit) == ("/l/c.log", "t/c", "c0")
    assert store.task(run.id, "a").workspace == "/w/a"
    started = [e for e in store.events(run.id) if e.kind == EventKind.TASK_STARTED][-3:]
    assert [(e.task_id, e.data) for e in started] == [
        ("c", {"attempt": 1, "slot": 3, "workspace": None, "timeout_s": 5}),
        ("b", {"attempt": 2, "slot": 1, "workspace": None, "timeout_s": None}),
        ("a", {"attempt": 1, "slot": None, "workspace": "/w/a", "timeout_s": None})]
    assert store.start_attempts(run.id, []) == []
    store.finish_attempt(run.id, "c", 1, AttemptState.SUCCEEDED)
    store.record_merge(run.id, "c", "m" * 40)
    with pytest.raises(AlreadyMergedError):
        store.start_attempts(run.id, [AttemptStart("c")])


def test_finish_attempt_stores_result_and_refuses_twice(store: Store) -> None:
    run = store.create_run(repo="/r", task_ids=["a"])
    n = store.start_attempt(run.id, "a")
    store.finish_attempt(
        run.id,
        "a",
        n,
        AttemptState.SUCCEEDED,
        exit_code=0,
        result={"status": "pass", "files_modified": ["x.py"]},
    )
    assert store.task(run.id, "a").result == {"status": "pass", "files_modified": ["x.py"]}
    assert store.task(run.id, "a").state is TaskState.RUNNING  # until merged or marked
    assert store.attempts(run.id)[0].result == {"status": "pass", "files_modified": ["x.py"]}
    with pytest.raises(StoreError, match="already ended"):
        store.finish_attempt(run.id, "a", n, AttemptState.FAILED)
    with pytest.raises(UnknownRunError):
        store.finish_attempt(run.id, "a", 7, AttemptState.FAILED)
    with pytest.raises(ValueError):
        store.finish_attempt(run.id, "a", n, AttemptState.RUNNING)


@pytest.mark.parametrize(
    ("state", "kind"),
    [
        (TaskState.SKIPPED, "task_skipped"),
        (TaskState.BLOCKED, "task_blocked"),
        (TaskState.PENDING, "task_retry"),
        (TaskState.FAILED, "task_state"),
        (TaskState.SUCCEEDED, "task_state"),
        (TaskState.CANCELLED, "task_state"),
    ],
)
def test_set_task_state_logs_its_event(store: Store, clock: FakeClock, state, kind) -> None:
    run = store.create_run(repo="/r", task_ids=["a"])
    seq = store.last_seq(run.id)
    store.set_task_state(run.id, "a", state, reason="because", data={"dep": "x"})
    task = store.task(run.id, "a")
    assert (task.state, task.reason) == (state, "because")
    assert task.ended_at == (clock.now if state.terminal else None)
    [event] = store.events(run.id, seq)
    assert event.kind == kind and event.task_id == "a"
    assert event.data == {
        "state": state.value,
        "previous": "pending",
        "reason": "because",
        "dep": "x",
    }


def test_set_task_state_with_named_kind_and_refusals(store: Store) -> None:
    run = store.create_run(repo="/r", task_ids=["a"])
    store.set_task_state(
        run.id, "a", TaskState.FAILED, reason="conflict", kind=EventKind.MERGE_FAILED
    )
    assert kinds(store, run.id)[-1] == "merge_failed"
    with pytest.raises(ValueError, match="start_attempt"):
        store.set_task_state(run.id, "a", TaskState.RUNNING)
    with pytest.raises(UnknownRunError, match="no task 'zz'"):
        store.set_task_state(run.id, "zz", TaskState.FAILED)
    with pytest.raises(UnknownRunError):
        store.set_task_state("nope", "a", TaskState.FAILED)


def test_record_findings(store: Store) -> None:
    run = store.create_run(repo="/r", task_ids=["a"])
    store.record_changed_paths(run.id, "a", ["src/a.py", "tests/t.py"], head_commit="h1")
    store.record_violations(run.id, "a", [{"path": "src/b.py", "rule": "not-owned"}])
    store.record_result(run.id, "a", {"status": "fail", "notes": "n"})
    task = store.task(run.id, "a")
    assert task.changed_paths == ("src/a.py", "tests/t.py") and task.head_commit == "h1"
    assert task.violations == ({"path": "src/b.py", "rule": "not-owned"},)
    assert task.result == {"status": "fail", "notes": "n"}
    events = list(store.events(run.id, 2))
    assert [e.kind for e in events] == ["task_changes", "boundary_violation", "task_result"]
    assert events[1].data == {"violations": [{"path": "src/b.py", "rule": "not-owned"}]}
    store.record_violations(run.id, "a", [])
    assert store.task(run.id, "a").violations == ()


def test_merged_exactly_once(store: Store, clock: FakeClock, db_path) -> None:
    run = store.create_run(repo="/r", task_ids=["a"])
    n = store.start_attempt(run.id, "a")
    store.finish_attempt(run.id, "a", n, AttemptState.SUCCEEDED)
    at = clock.advance(3)
    assert store.record_merge(run.id, "a", "m1", tree="t1", verify={"ok": True}) is True
    seq = store.last_seq(run.id)
    assert store.record_merge(run.id, "a", "m1") is False  # replay: nothing changes
    assert store.last_seq(run.id) == seq
    with pytest.raises(AlreadyMergedError, match="already merged as m1"):
        store.record_merge(run.id, "a", "m2")
    [merge] = store.merges(run.id)
    assert (merge.commit, merge.tree, merge.merged_at, merge.verify) == (
        "m1",
        "t1",
        at,
        {"ok": True},
    )
    task = store.task(run.id, "a")
    assert (task.state, task.merged_commit, task.ended_at) == (TaskState.SUCCEEDED, "m1", at)
    with pytest.raises(AlreadyMergedError):
        store.set_task_state(run.id, "a", TaskState.FAILED)
    with pytest.raises(AlreadyMergedError):
        store.start_attempt(run.id, "a")
    # the schema itself refuses a second row, whoever writes it
    raw = sqlite3.connect(str(db_path))
    with pytest.raises(sqlite3.IntegrityError):
        raw.execute(
            "INSERT INTO merges (run_id, task_id, commit_sha, merged_at) VALUES (?, 'a', 'm3', 0)",
            (run.id,),
        )
    raw.close()
    check_log_matches_tables(store, run.id)


def test_run_states(store: Store, clock: FakeClock) -> None:
    run = store.create_run(repo="/r", pid=1, host="h")
    end = clock.advance(10)
    store.set_run_state(run.id, RunState.INTERRUPTED, reason="ctrl-c")
    assert store.get_run(run.id).ended_at == end
    clock.advance(10)
    store.set_run_state(run.id, RunState.RUNNING, pid=42, host="other")
    resumed = store.get_run(run.id)
    assert (resumed.state, resumed.ended_at, resumed.pid, resumed.host) == (
        RunState.RUNNING,
        None,
        42,
        "other",
    )
    store.set_run_state(run.id, RunState.SUCCEEDED)
    assert store.get_run(run.id).state is RunState.SUCCEEDED
    assert kinds(store, run.id) == ["run_started", "run_interrupted", "run_resumed", "run_finished"]
    last = list(store.events(run.id))[-1]
    assert last.data == {"state": "succeeded", "previous": "running", "reason": None}
    with pytest.raises(UnknownRunError):
        store.set_run_state("nope", RunState.FAILED)


def test_interrupt_run_requeues_running_tasks(store: Store, clock: FakeClock) -> None:
    run = store.create_run(repo="/r", task_ids=["a", "b", "c"])
    store.start_attempt(run.id, "a")
    store.start_attempt(run.id, "b")
    store.finish_attempt(run.id, "b", 1, AttemptState.SUCCEEDED)
    store.record_merge(run.id, "b", "m")
    at = clock.advance(2)
    assert store.interrupt_run(run.id, reason="killed") == ["a"]
    a = store.task(run.id, "a")
    assert (a.state, a.reason) == (TaskState.PENDING, "interrupted: killed")
    [att] = store.attempts(run.id, "a")
    assert (att.state, att.ended_at, att.error) == (AttemptState.INTERRUPTED, at, "killed")
    got = store.get_run(run.id)
    assert (got.state, got.ended_at) == (RunState.INTERRUPTED, at)
    assert kinds(store, run.id)[-2:] == ["task_finished", "run_interrupted"]
    check_log_matches_tables(store, run.id)
    # resume: the requeued task runs again as attempt 2
    store.set_run_state(run.id, RunState.RUNNING)
    assert store.start_attempt(run.id, "a") == 2
    check_log_matches_tables(store, run.id)
    store.set_run_state(run.id, RunState.CANCELLED)
    with pytest.raises(StoreError, match="already ended"):
        store.interrupt_run(run.id)


def test_append_event_and_tailing(store: Store, clock: FakeClock) -> None:
    run = store.create_run(repo="/r", task_ids=["a"])
    other = store.create_run(repo="/r")
    seq = store.append_event(run.id, EventKind.TASK_READY, task_id="a", data={"why": "deps"})
    store.append_event(run.id, "custom_kind", data={"n": 1})
    store.append_event(other.id, EventKind.FALLBACK_SEQUENTIAL)
    events = list(store.events(run.id, after_seq=seq - 1))
    assert [e.kind for e in events] == [EventKind.TASK_READY, "custom_kind"]
    assert isinstance(events[0].kind, EventKind) and events[1].kind == "custom_kind"
    assert events[0].ts == clock.now and events[0].data == {"why": "deps"}
    assert [e.kind for e in store.events(run.id, kinds=["custom_kind"])] == ["custom_kind"]
    with pytest.raises(UnknownRunError):
        store.append_event("nope", EventKind.TASK_READY)


def test_events_are_read_in_pages(store: Store) -> None:
    run = store.create_run(repo="/r")
    for i in range(1203):
        store.append_event(run.id, EventKind.TASK_OUTPUT, data={"i": i}, at=float(i))
    seen = [e.data["i"] for e in store.events(run.id, kinds=[EventKind.TASK_OUTPUT])]
    assert seen == list(range(1203))
    assert store.last_seq(run.id) == list(store.events(run.id))[-1].seq


def test_no_writes_inside_a_snapshot(store: Store) -> None:
    run = store.create_run(repo="/r")
    with store.snapshot():
        assert store.get_run(run.id).id == run.id
        with store.snapshot():  # nesting is fine
            store.tasks(run.id)
        with pytest.raises(RuntimeError):
            store.append_event(run.id, EventKind.TASK_READY)
    store.append_event(run.id, EventKind.TASK_READY)


def test_json_columns_accept_paths_enums_and_sets(store: Store, tmp_path) -> None:
    run = store.create_run(
        repo="/r", options={"isolation": TaskState.PENDING, "dir": tmp_path, "tags": {"b", "a"}}
    )
    assert store.get_run(run.id).options == {
        "isolation": "pending",
        "dir": str(tmp_path),
        "tags": ["a", "b"],
    }
    with pytest.raises(TypeError):
        store.create_run(repo="/r", options={"x": object()})
    assert len(store.list_runs()) == 1
