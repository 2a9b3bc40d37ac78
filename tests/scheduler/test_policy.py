"""One test per scheduling rule of next_tasks, plus failure propagation."""

from __future__ import annotations

from shoal.model import Phase, Strategy
from shoal.scheduler import Blocked, PlanGraph, blocked_by_failure, next_tasks, simulate

from .plans import conflicts, plan, task


def start(graph, running=(), succeeded=(), finished=None, max_parallel=8, **kw):
    finished = set(succeeded) if finished is None else set(finished)
    return next_tasks(
        graph,
        running=set(running),
        succeeded=set(succeeded),
        finished=finished,
        max_parallel=max_parallel,
        **kw,
    )


def test_independent_tasks_all_start():
    g = PlanGraph.build(plan(task("a"), task("b"), task("c")))
    assert set(start(g)) == {"a", "b", "c"}


def test_dependency_must_succeed_first():
    g = PlanGraph.build(plan(task("a"), task("b", "a")))
    assert start(g) == ("a",)
    assert start(g, running={"a"}) == ()
    assert start(g, succeeded={"a"}) == ("b",)


def test_failed_dependency_is_never_ready():
    g = PlanGraph.build(plan(task("a"), task("b", "a")))
    assert start(g, finished={"a"}) == ()


def test_unknown_dependency_is_ignored():
    g = PlanGraph.build(plan(task("a", "nowhere")))
    assert start(g) == ("a",)


def test_max_parallel_counts_running_tasks():
    g = PlanGraph.build(plan(*(task(f"t{i}") for i in range(6))))
    assert len(start(g, max_parallel=4)) == 4
    assert len(start(g, running={"t0", "t1", "t2"}, max_parallel=4)) == 1
    assert start(g, running={"t0", "t1", "t2", "t3"}, max_parallel=4) == ()


def test_conflicting_tasks_never_side_by_side():
    g = PlanGraph.build(plan(task("a"), task("b"), task("c")), conflicts(("a", "b")))
    assert start(g) == ("a", "c")  # b conflicts with a, chosen in the same call
    assert start(g, running={"a"}) == ("c",)
    assert start(g, succeeded={"a", "c"}) == ("b",)


def test_conflicts_given_on_one_side_only_are_symmetric():
    g = PlanGraph.build(plan(task("a"), task("b")), {"b": frozenset({"a"})})
    assert start(g, running={"a"}) == ()


def test_two_red_never_together():
    g = PlanGraph.build(
        plan(task("r1", risk="red"), task("r2", risk="red"), task("y", risk="yellow"))
    )
    assert start(g) == ("r1", "y")
    assert start(g, running={"r1"}) == ("y",)
    assert start(g, succeeded={"r1"}) == ("r2", "y")


def test_critical_starts_only_when_nothing_runs():
    g = PlanGraph.build(plan(task("c", est=500, risk="critical"), task("a"), task("b")))
    assert start(g) == ("c",)  # most urgent, nothing running: alone
    assert start(g, running={"a"}) == ()  # most urgent: drain the slots for it


def test_nothing_starts_beside_a_running_critical():
    g = PlanGraph.build(plan(task("c", risk="critical"), task("a"), task("b")))
    assert start(g, running={"c"}) == ()


def test_less_urgent_critical_waits_while_others_run():
    g = PlanGraph.build(plan(task("a", est=500), task("c", est=10, risk="critical"), task("b")))
    assert start(g) == ("a", "b")
    assert start(g, succeeded={"a", "b"}) == ("c",)


def test_serial_phase_runs_one_at_a_time():
    phases = (Phase("arch", parallel=False), Phase("impl"))
    g = PlanGraph.build(plan(task("x", phase="arch"), task("y", phase="arch"), phases=phases))
    assert len(start(g)) == 1
    assert start(g, running={"x"}) == ()
    assert start(g, succeeded={"x"}) == ("y",)


def test_phase_barrier():
    phases = (Phase("one"), Phase("two"))
    g = PlanGraph.build(
        plan(
            task("a", phase="one"),
            task("b", phase="one", est=600),
            task("c", phase="two"),
            phases=phases,
        )
    )
    assert set(start(g)) == {"a", "b"}
    assert start(g, running={"b"}, succeeded={"a"}) == ()  # c waits for all of phase one
    assert start(g, succeeded={"a"}, finished={"a", "b"}) == ("c",)  # failed counts as finished


def test_priority_is_longest_remaining_path():
    # Written in a misleading order: the chain a->b->c is the critical path.
    p = plan(
        task("x", est=10),
        task("y", est=10),
        task("z", est=10),
        task("a", est=10),
        task("b", "a", est=10),
        task("c", "b", est=10),
    )
    g = PlanGraph.build(p)
    assert start(g, max_parallel=2) == ("a", "x")
    assert g.remaining["a"] == 30 and g.remaining["x"] == 10


def test_long_chain_first_is_strictly_better():
    p = plan(
        task("x", est=10),
        task("y", est=10),
        task("z", est=10),
        task("a", est=10),
        task("b", "a", est=10),
        task("c", "b", est=10),
    )
    assert simulate(p, max_parallel=2).makespan == 30
    # First-come order (x, y, z, then the chain) would need 40: the chain would
    # start at 10 and end at 40. Longest-path-first reaches the lower bound.
    assert simulate(p, max_parallel=2).lower_bound == 30


def test_ties_are_broken_by_plan_order():
    g = PlanGraph.build(plan(task("b"), task("a"), task("c")))
    assert start(g, max_parallel=2) == ("b", "a")


def test_finished_and_running_tasks_are_not_started_again():
    g = PlanGraph.build(plan(task("a"), task("b")))
    assert start(g, running={"a"}, succeeded={"b"}) == ()


def test_waves_strategy_starts_only_the_current_wave():
    p = plan(task("a", est=10), task("b", est=100), task("c", "a", est=10))
    g = PlanGraph.build(p)
    # dynamic: c may start as soon as a is done, beside b
    assert start(g, running={"b"}, succeeded={"a"}) == ("c",)
    # waves: c is in wave 2 and waits for b, the rest of wave 1
    assert start(g, running={"b"}, succeeded={"a"}, strategy=Strategy.WAVES) == ()
    assert start(g, succeeded={"a", "b"}, strategy=Strategy.WAVES) == ("c",)
    assert start(g, succeeded={"a", "b"}, strategy="waves") == ("c",)


def test_blocked_by_failure_is_transitive_with_root_cause():
    g = PlanGraph.build(plan(task("a"), task("b", "a"), task("c", "b"), task("d")))
    out = blocked_by_failure(g, succeeded=set(), finished={"a"})
    assert out == {"b": Blocked("b", "a", "a"), "c": Blocked("c", "b", "a")}
    assert "which did not succeed" in out["b"].reason
    assert "b" in out["c"].reason and "a" in out["c"].reason


def test_blocked_by_failure_ignores_finished_and_succeeded():
    g = PlanGraph.build(plan(task("a"), task("b", "a"), task("c", "b")))
    assert blocked_by_failure(g, succeeded={"a"}, finished={"a"}) == {}
    # once b is marked skipped, c is blamed on b, the dependency that did not succeed
    assert blocked_by_failure(g, succeeded=set(), finished={"a", "b"}) == {
        "c": Blocked("c", "b", "b")
    }


def test_accepts_lists_and_rejects_zero_slots():
    g = PlanGraph.build(plan(task("a")))
    assert next_tasks(g, running=[], succeeded=[], finished=[], max_parallel=1) == ("a",)
    try:
        next_tasks(g, running=[], succeeded=[], finished=[], max_parallel=0)
    except ValueError:
        pass
    else:
        raise AssertionError("max_parallel=0 must be refused")


def test_task_is_held_for_a_more_urgent_conflicting_task_about_to_be_ready():
    # u is on the critical path a -> u -> v and conflicts with t. Started at 0,
    # t would make u (and v behind it) wait until 50.
    p = plan(task("a", est=10), task("u", "a", est=100), task("v", "u", est=100), task("t", est=50))
    g = PlanGraph.build(p, conflicts(("u", "t")))
    assert start(g) == ("a",)  # u's dependency starts now: t holds back
    assert start(g, running={"a"}) == ()
    assert start(g, succeeded={"a"}) == ("u",)
    assert start(g, running={"u"}, succeeded={"a"}) == ()  # kept apart while u runs
    assert simulate(g, max_parallel=4).makespan == 210  # the critical path: optimal
    assert simulate(g, max_parallel=4, strategy=Strategy.WAVES).makespan == 250


def test_task_is_not_held_when_the_rival_has_no_more_work_after_it():
    # Here t first is better: u then ends at 150; u first would end t at 160.
    p = plan(task("a", est=10), task("u", "a", est=100), task("t", est=50))
    g = PlanGraph.build(p, conflicts(("u", "t")))
    assert start(g) == ("a", "t")
    assert simulate(g, max_parallel=4).makespan == 150
