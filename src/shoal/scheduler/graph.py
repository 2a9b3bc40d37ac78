"""The static side of scheduling: what never changes while a plan runs.

``PlanGraph`` is built once from (plan, conflicts) so that every scheduling
decision afterwards is a handful of set lookups: the run engine asks for the
next tasks on every event, and plans have hundreds of tasks.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from ..model import Plan, RiskTier, Task, TaskId

DEFAULT_ESTIMATE_S = 600.0  # a task's duration when no task of the plan has an estimate

Conflicts = Mapping[TaskId, frozenset[TaskId]]


def task_estimates(plan: Plan) -> dict[TaskId, float]:
    """Seconds each task is expected to take.

    A task without an estimate counts as the mean of the known estimates, or
    ``DEFAULT_ESTIMATE_S`` when none is known. This is the one place that rule lives.
    """
    known = [t.estimate for t in plan.tasks if t.estimate is not None]
    fallback = sum(known) / len(known) if known else DEFAULT_ESTIMATE_S
    return {t.id: float(t.estimate) if t.estimate is not None else fallback for t in plan.tasks}


@dataclass(frozen=True, eq=False)
class PlanGraph:
    """Precomputed dependencies, phases, risk tiers, conflicts and priorities.

    Treat every mapping as read-only. A duplicate id keeps the first task (as
    the loaders do). Unknown dependency ids, unknown conflict
    ids and self-conflicts are dropped; a task in an unknown phase gets a
    parallel phase of its own after the declared ones.
    """

    ids: tuple[TaskId, ...]  # plan order
    index: Mapping[TaskId, int]  # plan position: the stable tie-break everywhere
    deps: Mapping[TaskId, frozenset[TaskId]]  # known direct dependencies
    dependents: Mapping[TaskId, tuple[TaskId, ...]]  # direct dependents, plan order
    conflicts: Mapping[TaskId, frozenset[TaskId]]  # symmetric, known ids only
    risk: Mapping[TaskId, RiskTier]
    estimate: Mapping[TaskId, float]
    phase_of: Mapping[TaskId, int]
    phase_names: tuple[str, ...]
    serial: tuple[bool, ...]  # per phase: one task at a time
    phase_tasks: tuple[frozenset[TaskId], ...]
    phase_order: tuple[tuple[TaskId, ...], ...]  # each phase's tasks, highest priority first
    topo: tuple[TaskId, ...]  # dependencies before dependents (cycle members last)
    remaining: Mapping[TaskId, float]  # longest remaining path: the priority
    rank: Mapping[TaskId, int]  # 0 = most urgent; phase first, then priority
    rivals: Mapping[TaskId, tuple[TaskId, ...]]  # conflicting, same phase, more urgent
    default_slots: int  # the plan's own max_parallel, or one slot per task

    @classmethod
    def build(cls, plan: Plan, conflicts: Conflicts | None = None) -> PlanGraph:
        ids = tuple(dict.fromkeys(t.id for t in plan.tasks))
        index = {t: i for i, t in enumerate(ids)}
        tasks: dict[TaskId, Task] = {}
        for task in plan.tasks:
            tasks.setdefault(task.id, task)  # a duplicate id keeps the first, as the loaders do

        deps = {t: frozenset(d for d in tasks[t].after if d in index and d != t) for t in ids}
        dependents: dict[TaskId, list[TaskId]] = {t: [] for t in ids}
        for t in ids:
            for d in sorted(deps[t], key=index.__getitem__):
                dependents[d].append(t)

        pairs: dict[TaskId, set[TaskId]] = {t: set() for t in ids}
        for a, others in (conflicts or {}).items():
            if a not in index:
                continue
            for b in others:
                if b in index and b != a:
                    pairs[a].add(b)
                    pairs[b].add(a)  # symmetric even if the caller gave one side

        names = [p.name for p in plan.phases]
        serial = [not p.parallel for p in plan.phases]
        for t in ids:
            if tasks[t].phase not in names:
                names.append(tasks[t].phase)
                serial.append(False)
        position = {name: i for i, name in reversed(list(enumerate(names)))}
        phase_of = {t: position[tasks[t].phase] for t in ids}

        estimate = task_estimates(plan)
        topo = _topological(ids, deps, dependents)
        remaining = _remaining(topo, dependents, estimate, phase_of, serial)
        order = sorted(ids, key=lambda t: (phase_of[t], -remaining[t], index[t]))
        phase_order = tuple(tuple(t for t in order if phase_of[t] == k) for k in range(len(names)))

        rank = {t: i for i, t in enumerate(order)}
        clash = {t: frozenset(v) for t, v in pairs.items()}
        rivals = {
            t: tuple(
                sorted(
                    (u for u in clash[t] if phase_of[u] == phase_of[t] and rank[u] < rank[t]),
                    key=rank.__getitem__,
                )
            )
            for t in ids
        }
        return cls(
            ids=ids,
            index=index,
            deps=deps,
            dependents={t: tuple(v) for t, v in dependents.items()},
            conflicts=clash,
            risk={t: tasks[t].risk for t in ids},
            estimate=estimate,
            phase_of=phase_of,
            phase_names=tuple(names),
            serial=tuple(serial),
            phase_tasks=tuple(frozenset(p) for p in phase_order),
            phase_order=phase_order,
            topo=topo,
            remaining=remaining,
            rank=rank,
            rivals=rivals,
            default_slots=plan.effective_max_parallel(),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, task: object) -> bool:
        return task in self.index

    def slots(self, max_parallel: int | None = None) -> int:
        """The slots to use: the override, else the plan's own setting."""
        value = self.default_slots if max_parallel is None else max_parallel
        if value < 1:
            raise ValueError(f"max_parallel must be at least 1, got {value}")
        return value

    def current_phase(self, finished: frozenset[TaskId] | set[TaskId]) -> int | None:
        """The first phase with an unfinished task: the only one that may start tasks."""
        for k, tasks in enumerate(self.phase_tasks):
            if not tasks <= finished:
                return k
        return None


def _topological(
    ids: tuple[TaskId, ...],
    deps: Mapping[TaskId, frozenset[TaskId]],
    dependents: Mapping[TaskId, list[TaskId]],
) -> tuple[TaskId, ...]:
    # Kahn's algorithm in plan order; tasks on a cycle cannot be ordered and
    # are appended as written, so building never fails on a bad plan.
    waiting = {t: len(deps[t]) for t in ids}
    queue = deque(t for t in ids if not waiting[t])
    out: list[TaskId] = []
    while queue:
        t = queue.popleft()
        out.append(t)
        for d in dependents[t]:
            waiting[d] -= 1
            if not waiting[d]:
                queue.append(d)
    seen = set(out)
    out.extend(t for t in ids if t not in seen)
    return tuple(out)


def _remaining(
    topo: tuple[TaskId, ...],
    dependents: Mapping[TaskId, list[TaskId]],
    estimate: Mapping[TaskId, float],
    phase_of: Mapping[TaskId, int],
    serial: list[bool],
) -> dict[TaskId, float]:
    """Longest remaining path of each task, counting phase barriers as edges.

    Every task of phase k precedes every task of phase k+1, so after a task
    comes the longest chain of its same-phase dependents and then, in any case,
    the rest of the plan. Within a phase this orders tasks exactly like "estimate
    plus longest chain of dependents"; a dependent in a later phase adds nothing,
    since it waits for the barrier anyway.
    """
    phases = len(serial)
    by_phase: list[list[TaskId]] = [[] for _ in range(phases)]
    for t in topo:
        by_phase[phase_of[t]].append(t)
    rem: dict[TaskId, float] = {}
    tail = 0.0  # longest path from the start of the phase after the current one
    for k in reversed(range(phases)):
        for t in reversed(by_phase[k]):
            after = [rem[d] for d in dependents[t] if d in rem and phase_of[d] == k]
            rem[t] = estimate[t] + max(after, default=tail)
        head = max((rem[t] for t in by_phase[k]), default=tail)
        if serial[k]:  # one at a time: the phase lasts at least its total work
            head = max(head, sum(estimate[t] for t in by_phase[k]) + tail)
        tail = head
    return rem


def as_graph(plan: Plan | PlanGraph, conflicts: Conflicts | None = None) -> PlanGraph:
    """The graph of a plan; a graph passes through (its conflicts are built in)."""
    if isinstance(plan, PlanGraph):
        if conflicts is not None:
            raise ValueError("conflicts belong to PlanGraph.build, not beside a built graph")
        return plan
    return PlanGraph.build(plan, conflicts)


def critical_path(
    plan: Plan | PlanGraph, *, durations: Mapping[TaskId, float] | None = None
) -> tuple[tuple[TaskId, ...], float]:
    """The longest chain of dependencies by estimate, and its length in seconds.

    Dependencies only: phases, slots, conflicts and risk tiers are not counted.
    Ties go to the task written first.
    """
    graph = as_graph(plan)
    if not graph.ids:
        return (), 0.0
    cost = durations if durations is not None else graph.estimate
    longest: dict[TaskId, float] = {}
    follow: dict[TaskId, TaskId | None] = {}
    for t in reversed(graph.topo):
        best: TaskId | None = None
        for d in graph.dependents[t]:
            if d in longest and (best is None or longest[d] > longest[best]):
                best = d
        longest[t] = cost[t] + (longest[best] if best is not None else 0.0)
        follow[t] = best
    start = min(graph.ids, key=lambda t: (-longest[t], graph.index[t]))
    path = [start]
    seen = {start}
    nxt = follow[start]
    while nxt is not None and nxt not in seen:  # `seen` guards against cycles
        path.append(nxt)
        seen.add(nxt)
        nxt = follow[nxt]
    return tuple(path), longest[start]
