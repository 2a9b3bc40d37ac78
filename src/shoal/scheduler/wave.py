"""Waves: groups of tasks that can all run at once (seed 001's execution model).

Waves are what ``shoal plan`` shows and what the ``waves`` strategy runs: every
wave finishes before the next one starts.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from ..model import ExecutionMode, Plan, RiskTier, TaskId
from .graph import Conflicts, PlanGraph, as_graph

_MAX_NAMED = 3  # names listed in a rationale before "and N more"


@dataclass(frozen=True)
class Wave:
    wave_id: int  # 1-based, in running order
    tasks: tuple[TaskId, ...]  # highest priority first
    rationale: str  # one short human sentence: why these tasks, why not more
    phase: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "wave_id": self.wave_id,
            "tasks": list(self.tasks),
            "rationale": self.rationale,
            "phase": self.phase,
        }


def waves(
    plan: Plan | PlanGraph,
    conflicts: Conflicts | None = None,
    max_parallel: int | None = None,
) -> tuple[Wave, ...]:
    """Pack the plan into waves, greedily by longest remaining path.

    In a wave no two tasks conflict, depend on each other, are both RED, or sit
    beside a CRITICAL task; a wave holds one phase only, one task in a serial
    phase, at most ``max_parallel`` tasks (default: the plan's own setting), and
    every dependency of its tasks is in an earlier wave.

    Raises ``ValueError`` when tasks cannot be placed at all: a dependency
    cycle, or a dependency on a task of a later phase (``shoal check`` reports
    both first).
    """
    graph = as_graph(plan, conflicts)
    return plan_waves(graph, graph.slots(max_parallel))


def plan_waves(graph: PlanGraph, max_parallel: int) -> tuple[Wave, ...]:
    """``waves`` for an already built graph."""
    if max_parallel < 1:
        raise ValueError(f"max_parallel must be at least 1, got {max_parallel}")
    named_phases = sum(1 for tasks in graph.phase_tasks if tasks) > 1
    rank = graph.rank
    missing = {t: len(graph.deps[t]) for t in graph.ids}  # dependencies not yet placed
    out: list[Wave] = []
    for k, tasks in enumerate(graph.phase_order):
        # a heap of ready tasks by rank: a wave pops only what it looks at,
        # which keeps long chains and wide phases near-linear
        ready = [(rank[t], t) for t in tasks if not missing[t]]
        heapq.heapify(ready)
        left = len(tasks)
        while left:
            if not ready:
                unplaced = [t for t in tasks if missing[t]]
                raise ValueError(
                    f"cannot order tasks {_names(unplaced)}: "
                    "a dependency cycle or a dependency on a later phase"
                )
            chosen, notes, waiting = _pack(graph, ready, max_parallel, graph.serial[k])
            phase = graph.phase_names[k]
            rationale = _rationale(
                graph, chosen, notes, waiting, phase if named_phases else None, k, max_parallel
            )
            out.append(Wave(len(out) + 1, tuple(chosen), rationale, phase))
            left -= len(chosen)
            for t in chosen:  # only now: a wave never holds a task and its dependency
                for d in graph.dependents[t]:
                    missing[d] -= 1
                    if not missing[d] and graph.phase_of[d] == k:
                        heapq.heappush(ready, (rank[d], d))
    return tuple(out)


def execution_mode(schedule: Sequence[Wave]) -> ExecutionMode:
    """Seed 001's mode: sequential when no wave holds two tasks, fully parallel
    when one wave holds every task, parallel waves otherwise."""
    if all(len(w.tasks) <= 1 for w in schedule):
        return ExecutionMode.SEQUENTIAL
    if len(schedule) == 1:
        return ExecutionMode.FULLY_PARALLEL
    return ExecutionMode.PARALLEL_WAVES


# A note says why a ready task was left out of a wave: (kind, task, other task).
_Note = tuple[str, TaskId, TaskId | None]


def _pack(
    graph: PlanGraph, ready: list[tuple[int, TaskId]], max_parallel: int, serial: bool
) -> tuple[list[TaskId], list[_Note], int]:
    """Take the next wave off the ``ready`` heap; the rest goes back on it.

    Returns the wave, why ready tasks were left out, and how many more ready
    tasks were not looked at because the wave was full.
    """
    chosen: list[TaskId] = []
    position: dict[TaskId, int] = {}  # chosen task -> its place, to test conflicts in O(conflicts)
    notes: list[_Note] = []
    passed: list[tuple[int, TaskId]] = []
    red: TaskId | None = None
    while ready and len(chosen) < max_parallel:
        item = heapq.heappop(ready)
        t = item[1]
        tier = graph.risk[t]
        if tier is RiskTier.CRITICAL:
            if not chosen:  # the most urgent task: it gets its wave to itself
                chosen, notes = [t], [("critical", t, None)]
                break
            notes.append(("critical-waits", t, None))
        elif serial:
            chosen, notes = [t], [("serial", t, None)]
            break
        elif hits := [c for c in graph.conflicts[t] if c in position]:
            notes.append(("conflict", t, min(hits, key=position.__getitem__)))
        elif tier is RiskTier.RED and red is not None:
            notes.append(("red", t, red))
        else:
            position[t] = len(chosen)
            chosen.append(t)
            if tier is RiskTier.RED:
                red = t
            continue
        passed.append(item)
    waiting = len(ready) if len(chosen) >= max_parallel else 0
    for item in passed:
        heapq.heappush(ready, item)
    return chosen, notes, waiting


def _rationale(
    graph: PlanGraph,
    chosen: list[TaskId],
    notes: list[_Note],
    waiting: int,
    phase: str | None,
    k: int,
    max_parallel: int,
) -> str:
    kinds = {kind for kind, _, _ in notes}
    if "critical" in kinds:
        return f"CRITICAL task {chosen[0]} runs alone"
    if "serial" in kinds:
        return f"serial phase {graph.phase_names[k]}: one task at a time"
    where = f" of phase {phase}" if phase else ""
    if len(chosen) == 1 and not notes and not waiting:
        parts = [f"{chosen[0]} is the only task{where} ready"]
    elif len(chosen) == 1:
        parts = [f"1 task{where}"]
    else:
        parts = [f"{len(chosen)} independent tasks{where}"]
    taken = set(chosen)
    after = sorted({d for t in chosen for d in graph.deps[t]} - taken, key=graph.index.__getitem__)
    if after:
        parts[0] += f", after {_names(after)}"
    apart = [
        f"{t} and {o} kept apart: " + ("overlapping paths" if kind == "conflict" else "both RED")
        for kind, t, o in notes
        if kind in ("conflict", "red")
    ]
    if len(apart) > _MAX_NAMED:
        apart = apart[:_MAX_NAMED] + [f"{len(apart) - _MAX_NAMED} more pairs kept apart"]
    parts.extend(apart)
    parts.extend(
        f"CRITICAL task {t} waits to run alone" for kind, t, _ in notes if kind == "critical-waits"
    )
    if waiting:
        plural = "s wait" if waiting > 1 else " waits"
        parts.append(f"{waiting} more ready task{plural} for a slot (max_parallel {max_parallel})")
    return "; ".join(parts)


def _names(tasks: Sequence[TaskId]) -> str:
    if len(tasks) <= _MAX_NAMED:
        return ", ".join(tasks)
    return ", ".join(tasks[:_MAX_NAMED]) + f" and {len(tasks) - _MAX_NAMED} more"
