"""Static analysis of a plan, behind `shoal check`: every problem at once, and what the
scheduler must keep apart.

    analysis = analyse(plan, strict=False, repo=Path("."))
    analysis.problems           # sorted: errors, warnings, infos; by file, line, task
    analysis.conflicts[task]    # tasks never to run beside it (overlapping ownership)
    analysis.may_run_together(a, b)

Two tasks *may run at the same time* when they are different tasks in the same phase,
that phase is parallel, and neither waits for the other, directly or not. Tasks of a
dependency cycle wait for each other, so they never may. Tasks of a phase the plan does
not declare (the loaders report those) count as one more parallel phase each.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from ..model import Plan, TaskId
from ..problem import Code, Problem, Severity
from .boundaries import PathReader, own_forbids, read_shared_readonly, read_task_paths
from .commands import run_problems
from .dependencies import dependency_problems
from .graph import DependencyGraph
from .ownership import Hazard, Overlap, check_ownership
from .paths import normalise
from .pattern import covers, overlap, parse_pattern
from .problems import at_plan, ordered
from .reach import Reachability
from .risk import RiskGroup, risk_separation

__all__ = [
    "Analysis",
    "DependencyGraph",
    "Hazard",
    "Overlap",
    "RiskGroup",
    "analyse",
    "covers",
    "dependency_closure",
    "dependents",
    "normalise",
    "overlap",
    "parse_pattern",
    "topological_order",
]


@dataclass(frozen=True)
class Analysis:
    problems: tuple[Problem, ...]
    # symmetric; every task of the plan is a key (an empty set when it conflicts with none)
    conflicts: Mapping[TaskId, frozenset[TaskId]]
    overlaps: tuple[Overlap, ...]
    hazards: tuple[Hazard, ...]
    # CRITICAL tasks (each runs alone) and groups of RED tasks (none beside another)
    risk_pairs: tuple[RiskGroup, ...]
    graph: DependencyGraph = field(repr=False, compare=False)
    _reach: Reachability = field(repr=False, compare=False)
    _phase_of: tuple[int, ...] = field(repr=False, compare=False)
    _parallel: tuple[bool, ...] = field(repr=False, compare=False)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)

    def may_run_together(self, a: str, b: str) -> bool:
        """Whether tasks ``a`` and ``b`` may run at the same time as far as phases and
        dependencies go (ownership conflicts and risk tiers aside)."""
        index = self.graph.index
        if a == b or a not in index or b not in index:
            return False
        ia, ib = index[a], index[b]
        phase = self._phase_of[ia]
        if phase != self._phase_of[ib] or not self._parallel[phase]:
            return False
        return not self._reach.ordered(ia, ib)

    def topological_order(self) -> tuple[TaskId, ...]:
        return self.graph.topological_order()


def analyse(plan: Plan, *, strict: bool = False, repo: Path | None = None) -> Analysis:
    """Every problem of ``plan``; ``strict`` makes ownership overlaps errors; with
    ``repo``, also follows symlinks in literal paths to see whether they leave it."""
    # The analysis builds millions of small objects and no reference cycles; left on, the
    # cyclic garbage collector rescans them all again and again, which makes large plans
    # cost more than linearly. It is paused for the call and restored after.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _analyse(plan, strict, repo)
    finally:
        if paused:
            gc.enable()


def _analyse(plan: Plan, strict: bool, repo: Path | None) -> Analysis:
    problems: list[Problem] = []
    if not plan.tasks:
        problems.append(at_plan(plan, Code.EMPTY_PLAN, Severity.WARNING, "the plan has no tasks",
                                field="tasks", hint="add tasks under `tasks:`"))
    graph = DependencyGraph(plan)
    phase_of, parallel, declared = _phases(plan)
    problems.extend(dependency_problems(plan, graph, phase_of, declared))
    problems.extend(run_problems(plan))

    reader = PathReader(repo)
    paths = read_task_paths(plan, reader, problems)
    readonly = read_shared_readonly(plan, reader, problems)
    for task, task_paths in zip(plan.tasks, paths):
        if task_paths.forbids and task_paths.owns:
            problems.extend(own_forbids(task, task_paths))

    reach = Reachability(graph)
    owned = check_ownership(plan, paths, readonly, phase_of, parallel, reach, strict)
    problems.extend(owned.problems)
    groups, risk_problems = risk_separation(plan, reach, phase_of, parallel)
    problems.extend(risk_problems)

    empty: frozenset[TaskId] = frozenset()
    conflicts = {t.id: empty for t in plan.tasks}
    conflicts.update({k: frozenset(v) for k, v in owned.conflicts.items()})
    return Analysis(
        problems=ordered(problems),
        conflicts=MappingProxyType(conflicts),
        overlaps=tuple(owned.overlaps),
        hazards=tuple(owned.hazards),
        risk_pairs=tuple(groups),
        graph=graph,
        _reach=reach,
        _phase_of=tuple(phase_of),
        _parallel=tuple(parallel),
    )


def _phases(plan: Plan) -> tuple[list[int], list[bool], int]:
    """Each task's phase position, whether each phase is parallel, and how many phases
    the plan declares (undeclared ones are numbered after them, parallel)."""
    position: dict[str, int] = {}
    for i, p in enumerate(plan.phases):
        position.setdefault(p.name, i)
    parallel = [p.parallel for p in plan.phases]
    declared = len(parallel)
    phase_of: list[int] = []
    for task in plan.tasks:
        if task.phase not in position:
            position[task.phase] = len(parallel)
            parallel.append(True)
        phase_of.append(position[task.phase])
    return phase_of, parallel, declared


def topological_order(plan: Plan) -> tuple[TaskId, ...]:
    """Every task once, each after all it waits for (a cycle's tasks together, in plan
    order); ties are broken by plan order."""
    return DependencyGraph(plan).topological_order()


def dependency_closure(plan: Plan, task_id: str) -> frozenset[TaskId]:
    """Every task ``task_id`` waits for, directly or not."""
    graph = DependencyGraph(plan)
    return frozenset(graph.ids[v] for v in graph.ancestors(graph.index[task_id]))


def dependents(plan: Plan, task_id: str) -> frozenset[TaskId]:
    """Every task that waits for ``task_id``, directly or not."""
    graph = DependencyGraph(plan)
    return frozenset(graph.ids[v] for v in graph.descendants(graph.index[task_id]))
