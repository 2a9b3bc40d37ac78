"""The scheduling decision: which tasks to start now.

Pure: the caller (the run engine, the simulator, the tests) owns the state and
the clock and passes the state in; nothing here remembers anything between calls.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from ..model import RiskTier, Strategy, TaskId
from .graph import PlanGraph
from .wave import Wave, plan_waves

_CRITICAL = RiskTier.CRITICAL
_RED = RiskTier.RED


@dataclass(frozen=True)
class Blocked:
    """A task that can never run because a dependency did not succeed."""

    task: TaskId
    dependency: TaskId  # the direct dependency that did not (or cannot) succeed
    root: TaskId  # the finished task at the origin: failed, blocked or cancelled

    @property
    def reason(self) -> str:
        if self.dependency == self.root:
            return f"depends on {self.root}, which did not succeed"
        return f"depends on {self.dependency}, which cannot run because {self.root} did not succeed"


def next_tasks(
    graph: PlanGraph,
    *,
    running: Collection[TaskId],
    succeeded: Collection[TaskId],
    finished: Collection[TaskId],
    max_parallel: int,
    strategy: Strategy = Strategy.DYNAMIC,
    waves: Sequence[Wave] | None = None,
    ready: Sequence[TaskId] | None = None,
    phase: int | None = None,
) -> tuple[TaskId, ...]:
    """The tasks to start now, most urgent first.

    ``finished`` holds every task in a terminal state (succeeded, failed,
    blocked, skipped, cancelled) and so includes ``succeeded``. A task is ready
    when it is neither running nor finished, every dependency succeeded and
    every task of the earlier phases is finished. Ready tasks are taken by
    longest remaining path while a slot is free, skipping any that conflicts
    with a running or chosen task or would be a second RED; a serial phase runs
    one task at a time; a CRITICAL task starts only when nothing runs and
    nothing starts beside it.

    Two look-aheads keep urgent work from waiting behind less urgent work
    (dynamic strategy only):

    - when the most urgent ready task is CRITICAL and something is running,
      nothing starts: the slots drain so that it runs next;
    - a ready task is held back while a more urgent task it conflicts with is
      about to be ready (every dependency succeeded, running or starting now)
      and has more work after it: started now, it would make that task, and
      the longer chain behind it, wait.

    Neither can stall a run: a held task waits for a strictly more urgent one,
    and when nothing runs the most urgent ready task always starts.

    Tasks behind a failed dependency are never ready: mark them skipped
    (see ``blocked_by_failure``), or the phase they are in never ends.

    With ``Strategy.WAVES`` only tasks of the current wave (the first with an
    unfinished task) may start; pass the waves ``plan_waves`` made once, or
    they are recomputed on every call.

    ``ready`` and ``phase`` are hints from a caller that keeps track of them (the simulator):
    every task whose dependencies all succeeded and that neither runs nor finished, most
    urgent first (by ``graph.rank``), and the first phase with an unfinished task. The answer
    is the same; it just costs no scan of the whole phase, which matters for plans of
    thousands of tasks.
    """
    if max_parallel < 1:
        raise ValueError(f"max_parallel must be at least 1, got {max_parallel}")
    running = _as_set(running)
    free = max_parallel - len(running)
    if free <= 0:
        return ()
    risk = graph.risk
    if any(risk.get(t) is _CRITICAL for t in running):
        return ()
    finished = _as_set(finished)
    if phase is None:
        phase = graph.current_phase(finished)
    elif phase >= len(graph.phase_tasks):
        phase = None
    if phase is None:
        return ()
    serial = graph.serial[phase]
    if serial and running:
        return ()
    candidates: Iterable[TaskId]
    dynamic = Strategy(strategy) is Strategy.DYNAMIC
    if dynamic and ready is not None:
        phase_of = graph.phase_of
        candidates = (t for t in ready if phase_of[t] == phase)  # lazily: _choose stops early
    elif dynamic:
        candidates = graph.phase_order[phase]
    else:
        schedule = waves if waves is not None else plan_waves(graph, max_parallel)
        candidates = _current_wave(graph, schedule, finished, phase)
    return _choose(
        graph, candidates, running, _as_set(succeeded), finished, free, serial, look_ahead=dynamic
    )


def _choose(
    graph: PlanGraph,
    candidates: Iterable[TaskId],
    running: frozenset[TaskId] | set[TaskId],
    succeeded: frozenset[TaskId] | set[TaskId],
    finished: frozenset[TaskId] | set[TaskId],
    free: int,
    serial: bool,
    *,
    look_ahead: bool,
) -> tuple[TaskId, ...]:
    # Waves never look ahead: the urgent rival may sit in a later wave, which
    # cannot start before this one ends, so holding for it would deadlock.
    risk, deps, conflicts = graph.risk, graph.deps, graph.conflicts
    kept_apart: set[TaskId] = set()
    for t in running:
        kept_apart.update(conflicts.get(t, ()))
    red = any(risk.get(t) is _RED for t in running)
    chosen: list[TaskId] = []
    most_urgent = True  # no ready task seen yet
    for t in candidates:
        if t in finished or t in running or not deps[t] <= succeeded:
            continue
        tier = risk[t]
        if tier is _CRITICAL:
            if most_urgent:
                return () if running else (t,)
            continue
        most_urgent = False
        if t in kept_apart or (red and tier is _RED):
            continue
        if look_ahead and _rival_due(graph, t, running, succeeded, finished, chosen):
            continue
        chosen.append(t)
        if serial or len(chosen) >= free:
            break
        kept_apart.update(conflicts[t])
        red = red or tier is _RED
    return tuple(chosen)


def _rival_due(
    graph: PlanGraph,
    task: TaskId,
    running: frozenset[TaskId] | set[TaskId],
    succeeded: frozenset[TaskId] | set[TaskId],
    finished: frozenset[TaskId] | set[TaskId],
    chosen: list[TaskId],
) -> bool:
    """A more urgent conflicting task, with a longer tail, is (about to be) ready.

    Of two conflicting tasks, the one with more work after it should go first:
    the other then delays only itself. Ready ones are compared too: a ready
    rival that was not started is kept out by a running task and comes next.
    """
    tail = graph.remaining[task] - graph.estimate[task]
    for u in graph.rivals[task]:
        if u in finished or u in running:
            continue
        if graph.remaining[u] - graph.estimate[u] <= tail:
            continue
        if all(d in succeeded or d in running or d in chosen for d in graph.deps[u]):
            return True
    return False


def _current_wave(
    graph: PlanGraph,
    schedule: Sequence[Wave],
    finished: frozenset[TaskId] | set[TaskId],
    phase: int,
) -> tuple[TaskId, ...]:
    # The phase barrier still holds, should a caller hand in waves that mix phases.
    for wave in schedule:
        if any(t not in finished for t in wave.tasks if t in graph.index):
            return tuple(t for t in wave.tasks if graph.phase_of.get(t) == phase)
    return ()


def blocked_by_failure(
    graph: PlanGraph,
    *,
    succeeded: Collection[TaskId],
    finished: Collection[TaskId],
) -> dict[TaskId, Blocked]:
    """Unfinished tasks that can never run, each with the dependency to blame.

    A dependency that finished without succeeding blocks its dependents, and
    they block theirs, transitively. The result is in dependency order.
    """
    succeeded = _as_set(succeeded)
    finished = _as_set(finished)
    out: dict[TaskId, Blocked] = {}
    for t in graph.topo:
        if t in finished:
            continue
        for d in sorted(graph.deps[t], key=graph.index.__getitem__):
            if d in finished and d not in succeeded:
                out[t] = Blocked(t, d, d)
                break
            if d in out:
                out[t] = Blocked(t, d, out[d].root)
                break
    return out


def _as_set(items: Collection[TaskId]) -> frozenset[TaskId] | set[TaskId]:
    return items if isinstance(items, (set, frozenset)) else frozenset(items)
