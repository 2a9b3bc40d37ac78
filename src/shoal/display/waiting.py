"""Why a task that has not started is waiting, in the scheduler's own terms.

Pure: the same rules as :func:`shoal.scheduler.next_tasks`, asked the other way round — not
"what starts now" but "what keeps this task from starting". The first reason that holds is
given: a dependency, an earlier phase or wave, a serial phase or CRITICAL task, a conflict with a
running task, the RED tier, the slot limit.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from ..model import RiskTier, TaskId
from ..scheduler import PlanGraph
from ..scheduler.wave import Wave

_MAX_NAMED = 3


def _names(ids: Collection[str], graph: PlanGraph) -> str:
    ordered = sorted(ids, key=lambda t: graph.index.get(TaskId(t), 0))
    shown = ", ".join(ordered[:_MAX_NAMED])
    return shown + (f" and {len(ordered) - _MAX_NAMED} more" if len(ordered) > _MAX_NAMED else "")


@dataclass(frozen=True)
class RunFacts:
    """What the scheduler knows at one moment: which tasks hold a slot, which are merging."""

    running: frozenset[str]  # holding a slot: a worker is working on it
    merging: frozenset[str]  # finished its attempt, waiting for or in the merge queue
    succeeded: frozenset[str]
    finished: frozenset[str]  # every terminal task, succeeded included
    slots: int
    sequential: bool = False  # seed 001's fallback after a failed parallel stretch
    stopping: bool = False  # --fail-fast after a failure


def why_waiting(graph: PlanGraph, task: str, facts: RunFacts,
                waves: Sequence[Wave] | None = None) -> str:
    """The reason `task` (pending) is not running now; ``"ready"`` when nothing holds it.
    ``waves``: the run's waves when it runs with the waves strategy."""
    return pending_reasons(graph, [task], facts, waves)[task]


def _reason(graph: PlanGraph, task: str, facts: RunFacts,
            wave: tuple[int | None, int | None], look_ahead: bool,
            critical_next: TaskId | None) -> str:
    t = TaskId(task)
    if t not in graph:
        return "not in the plan"
    if facts.stopping:
        return "--fail-fast: nothing new starts after a failure"
    missing = graph.deps[t] - facts.succeeded
    if missing:
        failed = [d for d in missing if d in facts.finished]
        if failed:
            return f"depends on {_names(failed, graph)}, which did not succeed"
        active = [d for d in missing if d in facts.running or d in facts.merging]
        verb = "running or merging" if active else "not started"
        return f"waits for dependency {_names(missing, graph)} ({verb})"
    phase = graph.current_phase({TaskId(t) for t in facts.finished})
    mine = graph.phase_of[t]
    if phase is not None and mine > phase:
        return f"waits for phase {graph.phase_names[phase]} to finish"
    own, current = wave
    if own is not None and current is not None and own > current:
        return f"waits for wave {current} to finish (it is in wave {own})"
    busy = facts.running | facts.merging
    critical = [r for r in busy if graph.risk.get(TaskId(r)) is RiskTier.CRITICAL]
    if critical:
        return f"risk tier: CRITICAL task {_names(critical, graph)} runs alone"
    if critical_next is not None and critical_next != t and busy:
        return (f"risk tier: CRITICAL task {critical_next} is next and must run alone; "
                f"the slots drain first")
    if graph.risk[t] is RiskTier.CRITICAL and busy:
        return f"risk tier: CRITICAL, waits until nothing else runs ({_names(busy, graph)})"
    if graph.serial[mine] and busy:
        return (f"serial phase {graph.phase_names[mine]}: one task at a time "
                f"({_names(busy, graph)} running)")
    clash = [r for r in busy if TaskId(r) in graph.conflicts.get(t, frozenset())]
    if clash:
        return f"conflicts with running {_names(clash, graph)} (owned paths overlap)"
    if graph.risk[t] is RiskTier.RED:
        red = [r for r in busy if graph.risk.get(TaskId(r)) is RiskTier.RED]
        if red:
            return f"risk tier: RED never runs beside RED {_names(red, graph)}"
    slots = 1 if facts.sequential else facts.slots
    if len(facts.running) >= slots:
        why = " (one at a time after parallel failures)" if facts.sequential else ""
        return f"slot limit: {len(facts.running)}/{slots} slots busy{why}"
    due = _rivals_due(graph, t, facts) if look_ahead else []
    if due:
        return f"held back for {_names(due, graph)}: conflicting, with more work after it"
    return "ready"


def _rivals_due(graph: PlanGraph, t: TaskId, facts: RunFacts) -> list[str]:
    """The scheduler's look-ahead (dynamic strategy): a conflicting task with a longer tail
    whose dependencies are all done or under way goes first."""
    tail = graph.remaining[t] - graph.estimate[t]
    busy = facts.running | facts.merging
    return [u for u in graph.rivals.get(t, ())
            if u not in facts.finished and u not in busy
            and graph.remaining[u] - graph.estimate[u] > tail
            and all(d in facts.succeeded or d in busy for d in graph.deps[u])]


def pending_reasons(graph: PlanGraph, pending: Sequence[str], facts: RunFacts,
                    waves: Sequence[Wave] | None = None) -> Mapping[str, str]:
    """:func:`why_waiting` for each of `pending`."""
    wave_of = {x: w.wave_id for w in waves or () for x in w.tasks}
    current = next((w.wave_id for w in waves or ()
                    if any(x not in facts.finished for x in w.tasks)), None)
    critical = _critical_next(graph, facts)
    return {t: _reason(graph, t, facts, (wave_of.get(TaskId(t)), current), waves is None,
                       critical) for t in pending}


def _critical_next(graph: PlanGraph, facts: RunFacts) -> TaskId | None:
    """The most urgent ready task, when it is CRITICAL: then nothing else may start."""
    phase = graph.current_phase({TaskId(t) for t in facts.finished})
    if phase is None:
        return None
    busy = facts.running | facts.merging
    for u in graph.phase_order[phase]:
        if u in facts.finished or u in busy or not graph.deps[u] <= facts.succeeded:
            continue
        return u if graph.risk[u] is RiskTier.CRITICAL else None
    return None
