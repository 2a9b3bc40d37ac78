"""Property tests on random plans: waves and simulated runs keep every rule."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal.model import RiskTier, Strategy, TaskId
from shoal.scheduler import (
    PlanGraph,
    blocked_by_failure,
    next_tasks,
    plan_waves,
    simulate,
)

from .plans import random_plans

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def transitive_deps(graph: PlanGraph) -> dict[TaskId, set[TaskId]]:
    out: dict[TaskId, set[TaskId]] = {}
    for t in graph.topo:
        out[t] = set(graph.deps[t]).union(*(out[d] for d in graph.deps[t]))
    return out


def assert_may_run_together(graph: PlanGraph, group: set[TaskId], max_parallel: int) -> None:
    """The rules for any set of tasks running at the same moment."""
    assert len(group) <= max_parallel
    tiers = [graph.risk[t] for t in group]
    assert tiers.count(RiskTier.RED) <= 1, f"two RED together: {group}"
    if RiskTier.CRITICAL in tiers:
        assert len(group) == 1, f"something beside a CRITICAL task: {group}"
    for t in group:
        assert not (graph.conflicts[t] & group), f"conflicting tasks together: {group}"
    phases = {graph.phase_of[t] for t in group}
    assert len(phases) <= 1, f"phases mixed: {group}"
    if phases and graph.serial[phases.pop()]:
        assert len(group) == 1, f"two tasks of a serial phase together: {group}"


def held_for_rival(graph, t, running, succeeded, finished) -> bool:
    def tail(u):
        return graph.remaining[u] - graph.estimate[u]

    return any(
        graph.rank[u] < graph.rank[t]
        and graph.phase_of[u] == graph.phase_of[t]
        and u not in finished
        and u not in running
        and tail(u) > tail(t)
        and graph.deps[u] <= succeeded | running
        for u in graph.conflicts[t]
    )


@SETTINGS
@given(st.one_of(random_plans(), random_plans(min_tasks=8, conflict_density=3)))
def test_waves_keep_every_rule_and_cover_every_task_once(case):
    p, clash, max_parallel = case
    graph = PlanGraph.build(p, clash)
    ws = plan_waves(graph, max_parallel)
    placed = [t for w in ws for t in w.tasks]
    assert sorted(placed) == sorted(graph.ids)  # every task exactly once
    assert [w.wave_id for w in ws] == list(range(1, len(ws) + 1))
    before = transitive_deps(graph)
    seen: set[TaskId] = set()
    last_phase = 0
    for w in ws:
        group = set(w.tasks)
        assert w.tasks and w.rationale
        assert_may_run_together(graph, group, max_parallel)
        for t in w.tasks:
            assert graph.deps[t] <= seen, f"{t} before its dependencies"
            assert not (before[t] & group), f"{t} beside something it depends on"
            assert graph.phase_names[graph.phase_of[t]] == w.phase
        phase = graph.phase_of[w.tasks[0]]
        assert phase >= last_phase, "phases out of order"
        last_phase = phase
        seen |= group


@SETTINGS
@given(
    st.one_of(random_plans(), random_plans(min_tasks=8, conflict_density=3)),
    st.sampled_from(Strategy),
    st.data(),
)
def test_driven_run_keeps_every_rule_and_never_deadlocks(case, strategy, data):
    p, clash, max_parallel = case
    graph = PlanGraph.build(p, clash)
    ws = plan_waves(graph, max_parallel) if strategy is Strategy.WAVES else None
    running: set[TaskId] = set()
    succeeded: set[TaskId] = set()
    finished: set[TaskId] = set()
    skipped: dict[TaskId, TaskId] = {}
    failed: set[TaskId] = set()

    def ready(t: TaskId) -> bool:
        earlier_done = all(
            u in finished for u in graph.ids if graph.phase_of[u] < graph.phase_of[t]
        )
        return (
            t not in running and t not in finished and graph.deps[t] <= succeeded and earlier_done
        )

    for _ in range(4 * len(graph.ids) + 4):
        started = next_tasks(
            graph,
            running=running,
            succeeded=succeeded,
            finished=finished,
            max_parallel=max_parallel,
            strategy=strategy,
            waves=ws,
        )
        assert len(set(started)) == len(started)
        hinted = next_tasks(  # the caller's own bookkeeping as hints: the same answer
            graph, running=running, succeeded=succeeded, finished=finished,
            max_parallel=max_parallel, strategy=strategy, waves=ws,
            ready=sorted((t for t in graph.ids if t not in running and t not in finished
                          and graph.deps[t] <= succeeded), key=graph.rank.__getitem__),
            phase=graph.current_phase(finished) if graph.current_phase(finished) is not None
            else len(graph.phase_tasks),
        )
        assert hinted == started
        for t in started:
            assert ready(t), f"{t} started before it was ready"
        if ws is not None and started:
            current = next(w for w in ws if any(u not in finished for u in w.tasks))
            assert set(started) <= set(current.tasks), "started outside the current wave"
        running |= set(started)
        assert_may_run_together(graph, running, max_parallel)

        waiting = [t for t in graph.ids if ready(t)]
        if not running:
            assert not waiting, f"deadlock: {waiting} ready, nothing runs or starts"
            break
        if strategy is Strategy.DYNAMIC and not any(
            graph.risk[t] is RiskTier.CRITICAL for t in waiting
        ):
            # work-conserving: a ready task left out could not start now, or
            # is held for a more urgent conflicting task that is about to be ready
            for t in waiting:
                try:
                    assert_may_run_together(graph, running | {t}, max_parallel)
                except AssertionError:
                    continue
                assert held_for_rival(graph, t, running, succeeded, finished), (
                    f"{t} could have started beside {running}"
                )

        # one running task ends, in an order the test chooses; some fail
        done = data.draw(st.sampled_from(sorted(running)))
        running.discard(done)
        finished.add(done)
        if data.draw(st.integers(0, 5)) == 0:
            failed.add(done)
        else:
            succeeded.add(done)
        for t, why in blocked_by_failure(graph, succeeded=succeeded, finished=finished).items():
            assert why.dependency in graph.deps[t]
            assert why.root in failed
            skipped[t] = why.root
            finished.add(t)  # the supervisor marks it skipped
    else:
        raise AssertionError("the run did not end")

    assert finished == set(graph.ids)
    assert finished == succeeded | failed | set(skipped)
    if not failed:
        assert succeeded == set(graph.ids)


@SETTINGS
@given(
    st.one_of(random_plans(max_tasks=25), random_plans(min_tasks=8, conflict_density=3)),
    st.sampled_from(Strategy),
)
def test_simulation_is_consistent(case, strategy):
    p, clash, max_parallel = case
    graph = PlanGraph.build(p, clash)
    sim = simulate(graph, max_parallel=max_parallel, strategy=strategy)
    assert sorted(s.task for s in sim.spans) == sorted(graph.ids)
    # the simulator's own bookkeeping (ready tasks, phase, wave) changes no decision
    assert {s.task: s.start for s in sim.spans} == _naive_simulation(graph, max_parallel, strategy)
    assert sim.makespan >= sim.lower_bound - 1e-6
    assert sim.makespan <= sim.sequential + 1e-6
    end = {s.task: s.end for s in sim.spans}
    for s in sim.spans:
        assert all(end[d] <= s.start + 1e-6 for d in graph.deps[s.task])
        # the tasks running just after this one starts keep the rules
        # (a zero-length task ends before the next one starts at the same instant)
        now = {o.task for o in sim.spans if o.start <= s.start < o.end}
        assert_may_run_together(graph, now, max_parallel)


def _naive_simulation(graph: PlanGraph, slots: int, strategy: Strategy) -> dict[TaskId, float]:
    """Start times from asking next_tasks without hints after every event (the definition)."""
    ws = plan_waves(graph, slots) if strategy is Strategy.WAVES else None
    now, running, done, starts, ends = 0.0, set(), set(), {}, []
    while True:
        for t in next_tasks(graph, running=running, succeeded=done, finished=done,
                            max_parallel=slots, strategy=strategy, waves=ws):
            starts[t] = now
            running.add(t)
            ends.append((now + graph.estimate[t], graph.rank[t], t))
        if not ends:
            return starts
        ends.sort()
        now = ends[0][0]
        while ends and ends[0][0] <= now + 1e-9 * max(1.0, now):
            running.discard(ends[0][2])
            done.add(ends.pop(0)[2])
