"""Estimates, priorities and the critical path."""

from __future__ import annotations

from shoal.model import Phase
from shoal.scheduler import DEFAULT_ESTIMATE_S, PlanGraph, critical_path, task_estimates

from .plans import conflicts, plan, task


def test_missing_estimate_is_the_mean_of_known_ones():
    p = plan(task("a", est=60), task("b", est=180), task("c", est=None))
    assert task_estimates(p) == {"a": 60, "b": 180, "c": 120}


def test_missing_estimates_default_to_ten_minutes():
    assert task_estimates(plan(task("a", est=None))) == {"a": DEFAULT_ESTIMATE_S} == {"a": 600}


def test_critical_path_follows_dependencies():
    p = plan(
        task("a", est=10),
        task("b", "a", est=30),
        task("c", "a", est=5),
        task("d", "b", "c", est=1),
        task("e", est=40),
    )
    assert critical_path(p) == (("a", "b", "d"), 41.0)


def test_critical_path_of_empty_plan():
    assert critical_path(plan()) == ((), 0.0)


def test_critical_path_ignores_unknown_dependencies():
    assert critical_path(plan(task("a", "ghost", est=5))) == (("a",), 5.0)


def test_priority_counts_phase_barriers():
    # b's dependent in a later phase adds nothing: it waits for the barrier anyway.
    phases = (Phase("one"), Phase("two"))
    p = plan(
        task("a", phase="one", est=20),
        task("b", phase="one", est=10),
        task("c", "b", phase="two", est=50),
        phases=phases,
    )
    g = PlanGraph.build(p)
    assert g.remaining == {"a": 70, "b": 60, "c": 50}
    assert g.phase_order == (("a", "b"), ("c",))


def test_build_tolerates_bad_input():
    # cycle, self-dependency, unknown phase, unknown conflict ids: no crash
    p = plan(task("a", "b"), task("b", "a"), task("c", "c", phase="elsewhere"))
    g = PlanGraph.build(p, {"a": frozenset({"zzz", "a"}), "zzz": frozenset({"a"})})
    assert set(g.topo) == {"a", "b", "c"}
    assert g.conflicts["a"] == frozenset()
    assert g.phase_names == ("main", "elsewhere") and g.phase_of["c"] == 1
    assert g.deps["c"] == frozenset()


def test_conflicts_are_made_symmetric():
    g = PlanGraph.build(plan(task("a"), task("b")), conflicts(("a", "b")))
    assert g.conflicts == {"a": frozenset({"b"}), "b": frozenset({"a"})}


def test_slots_default_to_plan_setting_or_task_count():
    assert PlanGraph.build(plan(task("a"), task("b"), max_parallel=1)).slots() == 1
    assert PlanGraph.build(plan(task("a"), task("b"))).slots() == 2
    assert PlanGraph.build(plan(task("a"), task("b"))).slots(5) == 5
