"""The library API: what every `shoal` command does, callable from Python.

    >>> import shoal
    >>> report = shoal.check("examples/canonical/plan.yaml")
    >>> report.ok, report.mode
    >>> sched = shoal.schedule(report.plan, max_parallel=4)
    >>> print(shoal.render_prompt(report.plan, "auth"))

Functions accept a loaded :class:`~shoal.model.Plan` or a path to a plan file or folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import planfile
from .analysis import Analysis, analyse
from .errors import PlanInvalidError
from .model import ExecutionMode, Plan, Strategy, TaskId
from .problem import Code, Problem, Severity
from .prompt import ParallelContext
from .prompt import render_prompt as _render
from .scheduler import (
    PlanGraph, Simulation, Wave, critical_path, execution_mode, plan_waves, simulate, waves,
)

PlanLike = Plan | str | os.PathLike[str]

# Problems that leave the dependency graph unusable for scheduling: a cycle, or a task
# waiting for a task of a later phase, can never be ordered.
_GRAPH_BREAKING = {Code.CYCLE, Code.UNKNOWN_TASK, Code.PHASE_ORDER}


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read a plan file or folder; raise :class:`PlanInvalidError` listing every error."""
    return planfile.load_plan(path)


def _read(plan: PlanLike) -> tuple[Plan, tuple[Problem, ...]]:
    if isinstance(plan, Plan):
        return plan, ()
    loaded = planfile.read_plan(plan)
    return loaded.plan, loaded.problems


@dataclass(frozen=True)
class CheckReport:
    """The result of `shoal check`: every problem, and the execution mode when it can be known."""

    plan: Plan
    problems: tuple[Problem, ...]
    analysis: Analysis
    mode: ExecutionMode | None
    strict: bool = False

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def schedulable(self) -> bool:
        return not any(p.code in _GRAPH_BREAKING for p in self.problems)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "plan": plan_summary(self.plan),
            "mode": self.mode.value if self.mode else None,
            "problems": [p.to_json() for p in self.problems],
        }


def plan_summary(plan: Plan) -> dict[str, Any]:
    return {
        "name": plan.name,
        "source": plan.source,
        "format": plan.format.value,
        "tasks": len(plan.tasks),
        "phases": [{"name": p.name, "parallel": p.parallel} for p in plan.phases],
        "max_parallel": plan.defaults.max_parallel,
        "owned_paths": sum(len(t.owns) for t in plan.tasks),
    }


def check(plan: PlanLike, *, strict: bool = False, repo: str | os.PathLike[str] | None = None) -> CheckReport:
    """Validate and analyse a plan, reporting every problem (see `shoal check --help`)."""
    loaded, load_problems = _read(plan)
    analysis = analyse(loaded, strict=strict, repo=Path(repo) if repo else None)
    problems = tuple(load_problems) + tuple(analysis.problems)
    problems = tuple(sorted(problems, key=_problem_order))
    mode = None
    if loaded.tasks and not any(p.code in _GRAPH_BREAKING for p in problems):
        mode = execution_mode(waves(loaded, analysis.conflicts, loaded.effective_max_parallel()))
    return CheckReport(loaded, problems, analysis, mode, strict)


_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def _problem_order(p: Problem) -> tuple[Any, ...]:
    return (_SEVERITY_ORDER[p.severity], p.file or "", p.line or 0, p.code.value, p.tasks)


@dataclass(frozen=True)
class Schedule:
    """The result of `shoal plan`: waves, critical path and predicted makespans."""

    report: CheckReport
    strategy: Strategy
    max_parallel: int
    mode: ExecutionMode
    waves: tuple[Wave, ...]
    critical_path: tuple[TaskId, ...]
    critical_length: float
    simulations: dict[Strategy, Simulation]

    @property
    def plan(self) -> Plan:
        return self.report.plan

    def to_json(self) -> dict[str, Any]:
        return {
            "plan": plan_summary(self.plan),
            "mode": self.mode.value,
            "strategy": self.strategy.value,
            "max_parallel": self.max_parallel,
            "waves": [
                {"wave_id": w.wave_id, "tasks": list(w.tasks), "rationale": w.rationale}
                for w in self.waves
            ],
            "critical_path": {"tasks": list(self.critical_path), "length_s": self.critical_length},
            "predictions": {
                s.value: {
                    "makespan_s": sim.makespan,
                    "sequential_s": sim.sequential,
                    "speedup": sim.speedup,
                    "lower_bound_s": sim.lower_bound,
                }
                for s, sim in self.simulations.items()
            },
            "problems": [p.to_json() for p in self.report.problems],
        }


def schedule(
    plan: PlanLike | CheckReport,
    *,
    strategy: Strategy | str = Strategy.DYNAMIC,
    max_parallel: int | None = None,
) -> Schedule:
    """How the plan would run; raises :class:`PlanInvalidError` when it has errors.

    ``plan`` may be the report of :func:`check` on it, to check it only once."""
    report = plan if isinstance(plan, CheckReport) else check(plan)
    if not report.ok:
        raise PlanInvalidError(
            f"the plan has {len(report.errors)} error(s); it cannot be scheduled",
            report.problems,
            hint="run `shoal check` on it to see them",
        )
    loaded = report.plan
    slots = loaded.effective_max_parallel(max_parallel)
    conflicts = report.analysis.conflicts
    plan_waves = waves(loaded, conflicts, slots)
    path, length = critical_path(loaded)
    sims = {s: simulate(loaded, conflicts, slots, s) for s in Strategy}
    return Schedule(
        report, Strategy(strategy), slots, execution_mode(plan_waves), plan_waves, path, length, sims
    )


def parallel_context(sched: Schedule, task_id: str) -> ParallelContext:
    """What the prompt tells a worker about the tasks it may run beside."""
    return _contexts(sched.report, sched.waves)(task_id)


def parallel_contexts(report: CheckReport, graph: PlanGraph,
                      max_parallel: int | None = None) -> Callable[[str], ParallelContext]:
    """`parallel_context` for every task of a checked plan, from its waves alone: what a run
    needs for its prompts, without simulating the whole schedule."""
    return _contexts(report, plan_waves(graph, graph.slots(max_parallel)))


def _contexts(report: CheckReport, waves: Sequence[Wave]) -> Callable[[str], ParallelContext]:
    wave_of = {t: w for w in waves for t in w.tasks}
    conflicts = report.analysis.conflicts
    hazards = {t for p in report.problems if p.code is Code.READ_WRITE_HAZARD for t in p.tasks}

    def context(task_id: str) -> ParallelContext:
        wave = wave_of.get(TaskId(task_id))
        if conflicts.get(TaskId(task_id)):
            risk = "high (overlapping paths with " + ", ".join(sorted(conflicts[TaskId(task_id)])) + "; serialised)"
        elif task_id in hazards:
            risk = "medium (reads paths another concurrent task writes)"
        else:
            risk = "low"
        concurrent = tuple(t for t in wave.tasks if t != task_id) if wave else ()
        return ParallelContext(wave.wave_id if wave else None, concurrent, risk)

    return context


def render_prompt(plan: PlanLike, task_id: str, *, max_parallel: int | None = None) -> str:
    """The worker prompt of ``task_id`` exactly as a worker would receive it."""
    loaded, _ = _read(plan)
    try:
        context = parallel_context(schedule(loaded, max_parallel=max_parallel), task_id)
    except PlanInvalidError:
        context = ParallelContext(conflict_risk="unknown (the plan has errors)")
    return _render(loaded, task_id, context)
