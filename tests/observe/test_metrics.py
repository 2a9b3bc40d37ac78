"""`run_metrics`: on hand-built logs with known times (every figure worked out by hand from
the definitions in docs/observe.md), and on real runs checked against the attempts table."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from shoal.model import TaskState
from shoal.observe import run_metrics
from shoal.store import AttemptState, Store

from .conftest import Ran

T0 = 1_700_000_000.0
SNAPSHOT = {"name": "hand", "phases": [{"name": "main", "parallel": True}], "tasks": [
    {"id": "a", "owns": ["a.txt"], "estimate_s": 10},
    {"id": "b", "owns": ["b.txt"], "estimate_s": 20},
    {"id": "c", "owns": ["c.txt"], "after": ["a", "b"], "estimate_s": 5},
]}


def usage(cost: float, tokens_in: int, tokens_out: int, turns: int, session: str) -> dict[str, object]:
    return {"status": "succeeded", "cost_usd": cost, "tokens_in": tokens_in,
            "tokens_out": tokens_out, "turns": turns, "session_id": session}


def hand_built(store: Store, strategy: str = "dynamic", run_id: str = "hand") -> str:
    """a 0-10 s and b 0-20 s side by side; c after both: fails 21-26, retried 26-28; ends at 30."""
    store.create_run(repo="/nowhere", plan_snapshot=SNAPSHOT, task_ids=["a", "b", "c"],
                     options={"max_parallel": 2, "strategy": strategy}, run_id=run_id, at=T0)
    ok = AttemptState.SUCCEEDED
    store.start_attempt(run_id, "a", slot=0, at=T0)
    store.start_attempt(run_id, "b", slot=1, at=T0)
    store.finish_attempt(run_id, "a", 1, ok, result=usage(0.25, 1000, 200, 3, "s-a"), at=T0 + 10)
    store.record_changed_paths(run_id, "a", ["a.txt"], at=T0 + 10)
    store.record_merge(run_id, "a", "1" * 40, at=T0 + 11)
    store.finish_attempt(run_id, "b", 1, ok, result=usage(0.5, 3000, 400, 5, "s-b"), at=T0 + 20)
    store.record_changed_paths(run_id, "b", ["b.txt"], at=T0 + 20)
    store.record_merge(run_id, "b", "2" * 40, at=T0 + 20.5)
    store.start_attempt(run_id, "c", slot=0, at=T0 + 21)
    store.finish_attempt(run_id, "c", 1, AttemptState.FAILED, result=usage(0.1, 10, 1, 1, "s-c1"),
                         task_state=TaskState.PENDING, reason="retry", at=T0 + 26)
    store.start_attempt(run_id, "c", slot=0, at=T0 + 26)
    store.finish_attempt(run_id, "c", 2, ok, result={"status": "succeeded", "session_id": "s-c2"},
                         at=T0 + 28)
    store.record_changed_paths(run_id, "c", ["c.txt"], at=T0 + 28)
    store.record_merge(run_id, "c", "3" * 40, at=T0 + 29)
    from shoal.store import RunState

    store.set_run_state(run_id, RunState.SUCCEEDED, at=T0 + 30)
    return run_id


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Store.open(tmp_path / "state.db") as s:
        yield s


def test_hand_built_log(store: Store) -> None:
    m = run_metrics(store, hand_built(store))
    assert (m.sequential_s, m.wall_s, m.makespan_s) == (37.0, 30.0, 28.0)
    assert m.speedup == pytest.approx(37 / 30)
    assert (m.tasks_total, m.tasks_parallelised, m.tasks_sequential, m.tasks_not_run) == (3, 2, 1, 0)
    assert m.max_concurrent == 2 and m.slots == 2
    assert (m.workers_spawned, m.workers_succeeded, m.workers_failed, m.workers_retried) == (4, 3, 1, 1)
    # critical path b (20 s) then c (5 + 2 s); the work is 37 s on 2 slots
    assert m.critical_path == ("b", "c") and m.critical_path_s == 27.0
    assert m.lower_bound_s == 27.0 and m.makespan_ratio == pytest.approx(28 / 27)
    assert m.idle_slot_s == 2 * 28 - 37
    assert m.estimated_sequential_s == 35.0
    assert (m.cost_usd, m.tokens_in, m.tokens_out, m.turns) == (pytest.approx(0.85), 4010, 601, 9)
    assert m.waves is None and m.state == "succeeded"


def test_hand_built_per_task(store: Store) -> None:
    tasks = {t.task_id: t for t in run_metrics(store, hand_built(store)).tasks}
    c = tasks["c"]
    assert (c.attempts, c.duration_s, c.overlapped, c.merged_s) == (2, 7.0, False, 29.0)
    assert [(s.number, s.start_s, s.end_s, s.outcome) for s in c.spans] == [
        (1, 21.0, 26.0, "failed"), (2, 26.0, 28.0, "succeeded")]
    assert (c.cost_usd, c.tokens_in, c.turns, c.session_id) == (0.1, 10, 1, "s-c2")
    assert (tasks["a"].cost_usd, tasks["a"].session_id, tasks["a"].overlapped) == (0.25, "s-a", True)
    data = tasks["b"].to_json()
    assert data["tokens_in"] == 3000 and data["duration_s"] == 20.0 and data["state"] == "succeeded"


def test_hand_built_waves(store: Store) -> None:
    m = run_metrics(store, hand_built(store, strategy="waves"))
    # wave 1 {a, b}: 0-20 s; wave 2 {c}: 21-28 s
    assert m.waves == 2 and m.avg_wave_s == pytest.approx((20 + 7) / 2)
    assert {t.task_id: t.wave for t in m.tasks} == {"a": 1, "b": 1, "c": 2}


def test_a_run_still_going_is_measured_up_to_now(store: Store) -> None:
    store.create_run(repo="/nowhere", plan_snapshot=SNAPSHOT, task_ids=["a", "b", "c"],
                     options={"max_parallel": 2}, run_id="live", at=T0)
    store.start_attempt("live", "a", at=T0 + 1)
    m = run_metrics(store, "live", now=T0 + 5)
    assert (m.wall_s, m.sequential_s, m.tasks_not_run, m.state) == (5.0, 4.0, 2, "running")
    assert m.tasks[0].spans[0].end_s is None and m.cost_usd is None


def test_no_plan_no_lower_bound(store: Store) -> None:
    store.create_run(repo="/nowhere", task_ids=["a"], run_id="bare", at=T0)
    m = run_metrics(store, "bare")
    assert m.slots is None and m.lower_bound_s is None and m.critical_path == ()
    assert m.to_json()["makespan_ratio"] is None


# -- real runs -----------------------------------------------------------------------------------
def _checked(ran: Ran):  # type: ignore[no-untyped-def]
    """The metrics, with what the attempts and runs tables say independently of the event log."""
    with ran.store() as store:
        m = run_metrics(store, ran.run_id)
        attempts = store.attempts(ran.run_id)
        run = store.get_run(ran.run_id)
    assert m.sequential_s == pytest.approx(sum(a.duration_s or 0 for a in attempts))
    assert m.wall_s == pytest.approx(run.ended_at - run.started_at)
    assert m.workers_spawned == len(attempts)
    assert m.speedup == pytest.approx(m.sequential_s / m.wall_s)
    assert m.lower_bound_s >= m.critical_path_s and m.lower_bound_s >= m.busy_s / m.slots
    assert m.makespan_ratio >= 1 - 1e-9  # no schedule beats the lower bound
    assert m.max_concurrent <= m.slots and m.idle_slot_s >= 0
    return m


def test_parallel_run(parallel_run: Ran) -> None:
    m = _checked(parallel_run)
    assert (m.max_concurrent, m.tasks_parallelised, m.tasks_sequential) == (2, 2, 1)
    assert (m.workers_succeeded, m.workers_failed, m.workers_retried) == (3, 0, 0)
    assert m.critical_path[-1] == "c" and not math.isnan(m.speedup)
    # a and b each slept 0.4 s side by side: more work than wall time between their starts
    assert m.tasks[0].overlapped and m.tasks[1].overlapped and not m.tasks[2].overlapped


def test_retry_run(retry_run: Ran) -> None:
    m = _checked(retry_run)
    t = next(x for x in m.tasks if x.task_id == "t")
    # exit 1 from the script agent counts as a crash or a failure: both are failed workers
    assert [s.outcome for s in t.spans][1:] == ["succeeded"]
    assert t.spans[0].outcome in ("failed", "crashed")
    assert (m.workers_spawned, m.workers_failed, m.workers_retried) == (4, 1, 1)


def test_waves_run(waves_run: Ran) -> None:
    m = _checked(waves_run)
    assert m.strategy == "waves" and m.waves == 2 and m.avg_wave_s > 0
    assert {t.task_id: t.wave for t in m.tasks} == {"a": 1, "b": 1, "c": 2, "d": 2}


def test_failing_run(failing_run: Ran) -> None:
    m = _checked(failing_run)
    assert m.tasks_not_run == 1 and m.workers_failed == 2 and m.state == "failed"
    assert next(t for t in m.tasks if t.task_id == "d").state == "skipped"


def test_slots_run(slots_run: Ran) -> None:
    m = _checked(slots_run)
    assert m.max_concurrent == 2 == m.slots and m.tasks_total == 3


def test_every_json_key_is_documented(store: Store) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "observe.md").read_text()
    data = run_metrics(store, hand_built(store)).to_json()
    keys = {*data, *data["tasks"][0], *data["tasks"][0]["spans"][0]}
    assert sorted(k for k in keys if f"`{k}`" not in doc) == []


def test_the_total_cost_is_summed_without_float_noise(store: Store) -> None:
    """Issue 13: three tasks at $0.01905 showed a total of 0.057150000000000006."""
    store.create_run(repo="/nowhere", plan_snapshot=SNAPSHOT, task_ids=["a", "b", "c"],
                     options={"max_parallel": 3}, run_id="noise", at=T0)
    for i, task in enumerate("abc"):
        store.start_attempt("noise", task, slot=i, at=T0)
    for task in "abc":
        store.finish_attempt("noise", task, 1, AttemptState.SUCCEEDED,
                             result=usage(0.01905, 10, 1, 1, f"s-{task}"), at=T0 + 1)
    m = run_metrics(store, "noise")
    assert m.cost_usd == 0.05715 and repr(m.to_json()["cost_usd"]) == "0.05715"
