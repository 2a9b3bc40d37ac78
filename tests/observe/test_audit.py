"""`audit_run` on real runs (it must pass) and on their logs tampered (it must name the breach).

Each tampered log is a copy of a real run's events with one thing changed, written as a new run
(the events table is append-only); the copy unchanged passes, so the breach is the change's.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from shoal.observe import AuditReport, BreachKind, audit_run

from .audited import assert_audit_passes
from .conftest import Ran, make_run
from .logs import (
    Row,
    drop,
    duplicate,
    edit,
    event,
    index,
    move,
    move_task,
    rows,
    starts,
    write_run,
)

SHAPES = ["parallel_run", "slots_run", "waves_run", "rules_run", "retry_run", "failing_run",
          "warn_run"]
_ids = itertools.count()


def tampered(ran: Ran, change: Callable[[list[Row]], Sequence[Row]], **run: object) -> AuditReport:
    """Audit a new run holding `ran`'s events as `change` rewrote them."""
    with ran.store() as store:
        events = rows(store, ran.run_id)
        new_id = write_run(store, ran.run_id, list(change(events)),
                           new_id=f"{ran.run_id}-t{next(_ids)}", **run)  # type: ignore[arg-type]
        return audit_run(store, new_id)


def kinds(report: AuditReport) -> set[BreachKind]:
    return {b.kind for b in report.breaches}


# -- real runs pass ------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
def test_real_runs_pass(shape: str, request: pytest.FixtureRequest) -> None:
    ran: Ran = request.getfixturevalue(shape)
    report = assert_audit_passes(ran.repo, ran.run_id)
    assert report.rules == "snapshot" and report.starts == sum(
        t.attempts for t in ran.result.tasks)


@pytest.mark.parametrize("shape", SHAPES)
def test_an_unchanged_copy_passes(shape: str, request: pytest.FixtureRequest) -> None:
    report = tampered(request.getfixturevalue(shape), lambda events: events)
    assert report.ok, report.to_json()


def test_parallel_tasks_are_reported_as_overlapping(parallel_run: Ran) -> None:
    report = assert_audit_passes(parallel_run.repo, parallel_run.run_id)
    assert report.really_parallel is True and report.max_concurrent == 2
    [group] = report.groups
    assert group.tasks == ("a", "b") and group.overlapped and group.exempt is None


def test_waves_each_overlapped(waves_run: Ran) -> None:
    report = assert_audit_passes(waves_run.repo, waves_run.run_id)
    assert [(g.wave, set(g.tasks), g.overlapped) for g in report.groups] == [
        (1, {"a", "b"}, True), (2, {"c", "d"}, True)]


def test_a_fallback_to_one_at_a_time_is_no_breach(failing_run: Ran) -> None:
    assert failing_run.result.state.value == "failed"
    with failing_run.store() as store:
        assert list(store.events(failing_run.run_id, kinds=["fallback_sequential"]))
    report = assert_audit_passes(failing_run.repo, failing_run.run_id)
    assert report.slots == 2
    # f1 and f2 did run side by side before the fall-back: that wave is judged, not exempt
    [wave] = [g for g in report.groups if set(g.tasks) == {"f1", "f2"}]
    assert wave.overlapped and wave.exempt is None


def test_a_violation_merged_with_warn_is_a_note(warn_run: Ran) -> None:
    report = assert_audit_passes(warn_run.repo, warn_run.run_id)
    [note] = [n for n in report.notes if n.kind == "violation_allowed"]
    assert note.tasks == ("w",) and "stray.txt" in note.message and "warn" in note.message


def test_the_rules_run_kept_every_pair_apart(rules_run: Ran) -> None:
    """What the tampering below relies on: each pair ran one after the other."""
    assert rules_run.result.ok, rules_run.result.to_json()
    with rules_run.store() as store:
        order = starts(rows(store, rules_run.run_id))
    assert order[:2] == ["s1", "s2"] and set(order[2:4]) == {"x", "y"}
    assert set(order[4:6]) == {"r1", "r2"} and order[6:] == ["k", "g", "h", "f"]


# -- tampered logs fail, each with its breach ----------------------------------------------------
def _second_beside_first(first: str, second: str) -> Callable[[list[Row]], list[Row]]:
    return lambda ev: move(ev, event("task_started", second), after=event("task_started", first))


def _pair(ran: Ran, a: str, b: str) -> tuple[str, str]:
    with ran.store() as store:
        order = starts(rows(store, ran.run_id))
    return (a, b) if order.index(a) < order.index(b) else (b, a)


def test_start_before_a_dependency_merged(parallel_run: Ran) -> None:
    def change(ev: list[Row]) -> list[Row]:
        last_finish = max(index(ev, event("task_finished", t)) for t in "ab")
        return move_task(ev, "c", after=lambda r: r is ev[last_finish])

    report = tampered(parallel_run, change)
    assert kinds(report) == {BreachKind.DEPENDENCY}
    assert all(b.tasks[0] == "c" and b.tasks[1] in "ab" for b in report.breaches)
    assert "before its dependency" in report.breaches[0].message


@pytest.mark.parametrize("pair, kind", [
    (("s1", "s2"), BreachKind.SERIAL_PHASE),
    (("x", "y"), BreachKind.CONFLICT),
    (("r1", "r2"), BreachKind.RED),
    (("k", "g"), BreachKind.CRITICAL),
])
def test_two_tasks_that_must_not_overlap(rules_run: Ran, pair: tuple[str, str],
                                          kind: BreachKind) -> None:
    first, second = _pair(rules_run, *pair)
    report = tampered(rules_run, _second_beside_first(first, second))
    assert kinds(report) == {kind}, report.to_json()
    [breach] = report.breaches
    assert set(breach.tasks) == {first, second} and breach.time is not None


def test_a_later_phase_starting_early(rules_run: Ran) -> None:
    report = tampered(rules_run, _second_beside_first("h", "f"))
    assert kinds(report) == {BreachKind.PHASE_ORDER}
    assert report.breaches[0].tasks == ("f", "h")


def test_more_workers_than_slots(slots_run: Ran) -> None:
    first, second, third = _starts(slots_run)
    report = tampered(slots_run, _second_beside_first(second, third))
    assert kinds(report) == {BreachKind.MAX_PARALLEL}
    assert set(report.breaches[0].tasks) == {first, second, third}
    assert "3 at once" in report.breaches[0].message


def _starts(ran: Ran) -> list[str]:
    with ran.store() as store:
        return starts(rows(store, ran.run_id))


def test_a_later_wave_starting_early(waves_run: Ran) -> None:
    # b (short) merged while a (long) still ran; d, after b, starts in wave 2
    def change(ev: list[Row]) -> list[Row]:
        assert index(ev, event("merged", "b")) < index(ev, event("task_finished", "a"))
        return move(ev, event("task_started", "d"), after=event("merged", "b"))

    report = tampered(waves_run, change)
    assert kinds(report) == {BreachKind.WAVE_ORDER}
    assert report.breaches[0].tasks == ("d", "a")


def test_a_wave_executed_serially(waves_run: Ran) -> None:
    report = tampered(waves_run, lambda ev: move_task(ev, "b", after=event("merged", "a")))
    assert kinds(report) == {BreachKind.SERIAL_EXECUTION}
    assert not report.groups[0].overlapped and report.groups[1].overlapped


def test_a_parallel_plan_executed_serially(parallel_run: Ran) -> None:
    report = tampered(parallel_run, lambda ev: move_task(ev, "b", after=event("merged", "a")))
    assert kinds(report) == {BreachKind.SERIAL_EXECUTION}
    assert report.really_parallel is False and report.max_concurrent == 1


@pytest.mark.parametrize("shape, task, kind", [
    ("parallel_run", "c", "merged"),  # merged, and the log lost it
    ("failing_run", "d", "task_skipped"),
])
def test_a_task_left_unfinished(shape: str, task: str, kind: str,
                                request: pytest.FixtureRequest) -> None:
    report = tampered(request.getfixturevalue(shape), lambda ev: drop(ev, event(kind, task)))
    assert kinds(report) == {BreachKind.NOT_TERMINAL}
    assert report.breaches[0].tasks == (task,)


def test_a_merged_task_changed_paths_it_does_not_own(parallel_run: Ran) -> None:
    report = tampered(parallel_run, lambda ev: edit(ev, event("task_changes", "c"),
                                                     paths=["c.txt", "a.txt"]))
    assert kinds(report) == {BreachKind.OUTSIDE_OWNED}
    assert report.breaches[0].tasks == ("c",) and "a.txt" in report.breaches[0].message


def test_a_violation_the_policy_allowed_is_only_a_note(parallel_run: Ran) -> None:
    warned = Row("boundary_violation", "c", {"violations": [
        {"path": "a.txt", "kind": "outside-owned", "detail": "changed a.txt", "policy": "warn"}]}, 0)

    def change(ev: list[Row]) -> list[Row]:
        out = edit(ev, event("task_changes", "c"), paths=["c.txt", "a.txt"])
        at = index(out, event("task_changes", "c"))
        return [*out[:at + 1], Row(warned.kind, "c", warned.data, out[at].ts), *out[at + 1:]]

    report = tampered(parallel_run, change)
    assert report.ok and [n.kind for n in report.notes] == ["violation_allowed"]


def test_a_task_merged_twice(parallel_run: Ran) -> None:
    report = tampered(parallel_run, lambda ev: duplicate(ev, event("merged", "c")))
    assert kinds(report) == {BreachKind.MERGED_TWICE}


def test_a_finish_without_a_start(parallel_run: Ran) -> None:
    report = tampered(parallel_run, lambda ev: drop(ev, event("task_started", "a")))
    assert kinds(report) == {BreachKind.LOG}
    assert "never started" in report.breaches[0].message


def test_rules_that_cannot_be_known(parallel_run: Ran, tmp_path: Path) -> None:
    # a run whose snapshot lists no tasks (as shoal 0.1 wrote them) is judged by its plan file
    gone = tampered(parallel_run, lambda ev: ev, plan_path=str(tmp_path / "gone.yaml"),
                    snapshot={"tasks": 1})
    assert kinds(gone) == {BreachKind.UNVERIFIABLE} and "is gone" in gone.breaches[0].message
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"version": 1, "tasks": [{"id": "q", "owns": ["q.txt"]}]}))
    changed = tampered(parallel_run, lambda ev: ev, plan_path=str(other), snapshot={"tasks": 1})
    assert kinds(changed) == {BreachKind.UNVERIFIABLE}
    assert "no longer has the run's tasks" in changed.breaches[0].message


# -- rules from the run's snapshot instead of the plan file ---------------------------------------
def _snapshot(plan: Path) -> dict[str, object]:
    data = json.loads(plan.read_text())
    tasks = [{"id": t["id"], "phase": t.get("phase", "main"), "after": t.get("after", []),
              "owns": t["owns"], "risk": t.get("risk", "red" if "[R:RED]" in t.get("title", "")
                                                else "green")} for t in data["tasks"]]
    return {"tasks": tasks, "phases": data.get("phases", [{"name": "main"}])}


def test_the_engine_snapshots_the_rules_so_a_deleted_plan_changes_nothing(
        parallel_run: Ran, tmp_path: Path) -> None:
    same = tampered(parallel_run, lambda ev: ev, plan_path=str(tmp_path / "gone.yaml"))
    assert same.ok and same.rules == "snapshot", same.to_json()


def test_rules_from_a_snapshot(rules_run: Ran, tmp_path: Path) -> None:
    snap = _snapshot(rules_run.plan)
    same = tampered(rules_run, lambda ev: ev, plan_path=None, snapshot=snap)
    assert same.ok and same.rules == "snapshot", same.to_json()
    first, second = _pair(rules_run, "r1", "r2")
    red = tampered(rules_run, _second_beside_first(first, second), plan_path=None, snapshot=snap)
    assert kinds(red) == {BreachKind.RED}


def test_every_json_key_and_kind_is_documented(parallel_run: Ran) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "observe.md").read_text()
    report = tampered(parallel_run, lambda ev: drop(ev, event("merged", "c")))
    data = report.to_json()
    keys = {*data, *data["breaches"][0], *data["parallel"][0]}
    assert sorted(k for k in keys if f"`{k}`" not in doc) == []
    assert [k.value for k in BreachKind if f"`{k.value}`" not in doc] == []


def test_the_dynamic_strategy_may_serialise_a_wave_on_purpose(tmp_path: Path) -> None:
    """b may run beside a (wave 1), but it conflicts with x and y, which come after a and have
    more work behind them: the dynamic strategy holds b back, so the run is one at a time. That
    is a note, not a breach; the waves strategy, which promised a and b together, keeps it."""
    tasks = [
        {"id": "a", "owns": ["a.txt"], "run": ["echo a > a.txt"]},
        {"id": "x", "owns": ["shared.txt"], "after": ["a"], "run": ["echo x >> shared.txt"]},
        {"id": "y", "owns": ["shared.txt"], "after": ["x"], "run": ["echo y >> shared.txt"]},
        {"id": "b", "owns": ["shared.txt"], "run": ["echo b >> shared.txt"]},
    ]
    dynamic = make_run(tmp_path / "dynamic", tasks, max_parallel=2)
    with dynamic.store() as store:
        assert starts(rows(store, dynamic.run_id)) == ["a", "x", "y", "b"]
    report = assert_audit_passes(dynamic.repo, dynamic.run_id)
    assert report.max_concurrent == 1 and not report.groups[0].overlapped
    assert [n.kind for n in report.notes] == ["wave_not_overlapped"]
    waves = make_run(tmp_path / "waves", tasks, max_parallel=2, strategy="waves")
    assert assert_audit_passes(waves.repo, waves.run_id).groups[0].overlapped
