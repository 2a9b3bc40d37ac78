"""What the risk tiers keep apart (seed 004): a CRITICAL task runs alone, and RED tasks
never run beside each other. These are scheduling constraints, reported as information,
one line per CRITICAL task and one per group of RED tasks (never a list of all pairs)."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Plan, RiskTier, TaskId
from ..problem import Code, Problem, Severity
from .problems import at_task, names
from .reach import Reachability


@dataclass(frozen=True)
class RiskGroup:
    """Tasks the risk tiers keep apart: one CRITICAL task (it runs alone), or the RED
    tasks of a parallel phase that could otherwise run together (no two side by side)."""

    tier: RiskTier
    phase: str
    tasks: tuple[TaskId, ...]


def risk_separation(plan: Plan, reach: Reachability, phase_of: list[int],
                    parallel: list[bool]) -> tuple[list[RiskGroup], list[Problem]]:
    groups: list[RiskGroup] = []
    problems: list[Problem] = []
    reds: dict[int, list[int]] = {}
    for i, task in enumerate(plan.tasks):
        if task.risk is RiskTier.CRITICAL:
            groups.append(RiskGroup(RiskTier.CRITICAL, task.phase, (task.id,)))
            problems.append(at_task(
                task, Code.RISK_SEPARATION, Severity.INFO,
                f"`{task.id}` is CRITICAL: it runs alone, with no other task beside it",
                hint="lower its risk tier if it can safely share the machine"))
        elif task.risk is RiskTier.RED and parallel[phase_of[i]]:
            reds.setdefault(phase_of[i], []).append(i)
    for members in reds.values():
        apart = sorted(reach.with_unordered_partner(members))
        if len(apart) < 2:
            continue
        ids = tuple(plan.tasks[i].id for i in apart)
        first = plan.tasks[apart[0]]
        groups.append(RiskGroup(RiskTier.RED, first.phase, ids))
        problems.append(at_task(
            first, Code.RISK_SEPARATION, Severity.INFO,
            f"RED tasks {names(ids)} (phase `{first.phase}`) never run side by side",
            tasks=ids, hint="two RED tasks at once compound risk (seed 004); order them with "
                            "`after` or lower a tier if they are safe together"))
    return groups, problems
