"""Predict a run: drive ``next_tasks`` on a virtual clock with the estimates as durations.

Event-driven (no sleeping): time jumps from one task end to the next. Both
strategies go through the same decision function as a real run, so the
prediction and the run cannot disagree about the rules.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..model import Plan, Strategy, TaskId
from .graph import Conflicts, PlanGraph, as_graph, critical_path
from .policy import next_tasks
from .wave import Wave, plan_waves

_TIE = 1e-9  # tasks ending within this (relative) time of each other end together


@dataclass(frozen=True)
class Span:
    task: TaskId
    start: float  # seconds from the start of the run
    end: float


@dataclass(frozen=True)
class Simulation:
    strategy: Strategy
    max_parallel: int
    spans: tuple[Span, ...]  # in start order
    makespan: float  # seconds until the last task ends
    sequential: float  # sum of the durations: one task at a time
    lower_bound: float  # max(critical path, total work / slots)
    critical_path: tuple[TaskId, ...]
    critical_path_seconds: float

    @property
    def speedup(self) -> float:
        return self.sequential / self.makespan if self.makespan > 0 else 1.0

    def span(self, task: str) -> Span:
        for s in self.spans:
            if s.task == task:
                return s
        raise KeyError(task)

    def to_json(self) -> dict[str, object]:
        return {
            "strategy": self.strategy.value,
            "max_parallel": self.max_parallel,
            "makespan_s": self.makespan,
            "sequential_s": self.sequential,
            "speedup": self.speedup,
            "lower_bound_s": self.lower_bound,
            "critical_path": list(self.critical_path),
            "critical_path_s": self.critical_path_seconds,
            "tasks": [{"id": s.task, "start_s": s.start, "end_s": s.end} for s in self.spans],
        }


def simulate(
    plan: Plan | PlanGraph,
    conflicts: Conflicts | None = None,
    max_parallel: int | None = None,
    strategy: Strategy = Strategy.DYNAMIC,
    *,
    durations: Mapping[TaskId, float] | None = None,
    waves: Sequence[Wave] | None = None,
) -> Simulation:
    """Simulate a run in which every task succeeds and takes its estimate.

    ``durations`` overrides the estimates as durations (e.g. past durations);
    priorities still come from the graph's estimates, as in a real run. The lower bound
    ignores phases, conflicts and risk tiers, so it is loose for plans that
    have many of them. Raises ``ValueError`` when the plan cannot finish (a
    dependency cycle or a dependency on a later phase).
    """
    graph = as_graph(plan, conflicts)
    slots = graph.slots(max_parallel)
    strategy = Strategy(strategy)
    cost = {t: float((durations or {}).get(t, graph.estimate[t])) for t in graph.ids}
    if strategy is Strategy.WAVES and waves is None:
        waves = plan_waves(graph, slots)

    now = 0.0
    running: set[TaskId] = set()
    succeeded: set[TaskId] = set()
    ends: list[tuple[float, int, TaskId]] = []
    starts: dict[TaskId, float] = {}
    # Kept here so that each decision costs no scan of the whole phase (see next_tasks).
    waiting = {t: len(graph.deps[t]) for t in graph.ids}
    by_rank = graph.rank.__getitem__
    ready = sorted((t for t, n in waiting.items() if n == 0), key=by_rank)
    left = [len(tasks) for tasks in graph.phase_tasks]
    phase = 0
    schedule = list(waves or ())
    wave_of = {t: i for i, w in enumerate(schedule) for t in w.tasks if t in graph.index}
    wave_left = [sum(1 for t in w.tasks if t in graph.index) for w in schedule]
    wave = 0
    while True:
        while phase < len(left) and left[phase] == 0:
            phase += 1
        while wave < len(wave_left) and wave_left[wave] == 0:
            wave += 1  # finished waves are left out: the same decision, without rescanning them
        for t in next_tasks(
            graph,
            running=running,
            succeeded=succeeded,
            finished=succeeded,  # nothing fails here: finished and succeeded coincide
            max_parallel=slots,
            strategy=strategy,
            waves=schedule[wave:] if waves is not None else None,
            ready=ready,
            phase=phase,
        ):
            starts[t] = now
            running.add(t)
            ready.remove(t)
            heapq.heappush(ends, (now + cost[t], graph.rank[t], t))
        if not ends:
            break
        now = ends[0][0]
        while ends and ends[0][0] <= now + _TIE * max(1.0, now):
            _, _, t = heapq.heappop(ends)
            running.discard(t)
            succeeded.add(t)
            left[graph.phase_of[t]] -= 1
            if t in wave_of:
                wave_left[wave_of[t]] -= 1
            for u in graph.dependents[t]:
                waiting[u] -= 1
                if waiting[u] == 0:
                    bisect.insort(ready, u, key=by_rank)

    if len(succeeded) < len(graph.ids):
        stuck = [t for t in graph.ids if t not in succeeded]
        raise ValueError(
            f"the plan cannot finish: {', '.join(stuck[:3])}"
            f"{f' and {len(stuck) - 3} more' if len(stuck) > 3 else ''} never become ready "
            "(a dependency cycle or a dependency on a later phase)"
        )
    spans = tuple(
        Span(t, starts[t], starts[t] + cost[t])
        for t in sorted(starts, key=lambda t: (starts[t], graph.rank[t]))
    )
    makespan = max((s.end for s in spans), default=0.0)
    total = sum(cost.values())
    path, path_seconds = critical_path(graph, durations=cost)
    return Simulation(
        strategy=strategy,
        max_parallel=slots,
        spans=spans,
        makespan=makespan,
        sequential=total,
        lower_bound=max(path_seconds, total / slots),
        critical_path=path,
        critical_path_seconds=path_seconds,
    )
