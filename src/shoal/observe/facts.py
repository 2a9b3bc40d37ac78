"""The rules a run was held to: its plan's tasks, conflicts, phases and risk tiers, its slots.

The run record's ``plan_snapshot`` is read first: when it lists the tasks (``tasks``: a list of
``{"id", "phase", "after", "owns", "forbids", "risk", "estimate_s"}``, with ``phases``,
``shared_readonly``, ``max_parallel``, ``isolation`` and optionally ``conflicts`` as pairs of
ids, and ``verify``, the plan gate's commands) the plan is rebuilt from it. Otherwise the plan file the run was started from
(``plan_path``) is loaded and analysed again, which is only right while that file is unchanged:
:func:`plan_facts` notes when its tasks differ from the run's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..analysis import analyse
from ..errors import ShoalError
from ..model import Defaults, Isolation, Phase, Plan, RiskTier, Strategy, Task, TaskId
from ..scheduler import PlanGraph, plan_waves
from ..scheduler.wave import Wave
from ..store import RunRecord

Conflicts = Mapping[TaskId, frozenset[TaskId]]


@dataclass(frozen=True)
class PlanFacts:
    plan: Plan
    conflicts: Conflicts
    slots: int  # workers allowed at once (1 with branch isolation)
    strategy: Strategy
    on_violation: str  # fail | revert | warn
    source: str  # "snapshot" or the plan file read
    verify: tuple[str, ...] | None = None  # the plan gate's commands; None: not recorded
    graph: PlanGraph = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "graph", PlanGraph.build(self.plan, self.conflicts))

    def waves(self) -> tuple[Wave, ...]:
        """The plan's waves at this run's slots: what `shoal plan` showed and `waves` runs."""
        try:
            return plan_waves(self.graph, self.slots)
        except ValueError:  # a cycle: `shoal run` refuses such plans; nothing to group
            return ()


def plan_facts(run: RunRecord) -> tuple[PlanFacts | None, str | None]:
    """The run's rules, or None with the reason they cannot be known."""
    snapshot = run.plan_snapshot or {}
    options = run.options or {}
    if isinstance(snapshot.get("tasks"), list):
        try:
            plan = _plan_from_snapshot(snapshot)
        except (KeyError, TypeError, ValueError) as exc:
            return None, f"the run's plan snapshot cannot be read: {exc!r}"
        pairs = snapshot.get("conflicts")
        conflicts = _pairs(pairs) if isinstance(pairs, list) else analyse(plan).conflicts
        verify = snapshot.get("verify")
        return _facts(plan, conflicts, options, "snapshot", tuple(str(c) for c in verify)
                      if isinstance(verify, list) else None), None
    if not run.plan_path:
        return None, "the run records neither its plan's tasks nor a plan file"
    if not Path(run.plan_path).exists():
        return None, f"the plan file of the run ({run.plan_path}) is gone"
    from .. import api  # the planfile readers are only needed on this path

    try:
        report = api.check(run.plan_path, repo=run.repo if Path(run.repo).is_dir() else None)
    except ShoalError as exc:
        return None, f"the plan file {run.plan_path} cannot be read: {exc.message}"
    if not report.schedulable:
        return None, f"the plan file {run.plan_path} no longer forms a valid plan"
    return _facts(report.plan, report.analysis.conflicts, options, run.plan_path,
                  report.plan.defaults.verify), None


def _facts(plan: Plan, conflicts: Conflicts, options: Mapping[str, Any], source: str,
           verify: tuple[str, ...] | None) -> PlanFacts:
    isolation = options.get("isolation") or plan.defaults.isolation.value
    slots = plan.effective_max_parallel(options.get("max_parallel"))
    if isolation == Isolation.BRANCH.value:
        slots = 1  # seed 002's pattern 2: the engine runs one task at a time
    return PlanFacts(
        plan=plan, conflicts=conflicts, slots=slots,
        strategy=Strategy(options.get("strategy") or Strategy.DYNAMIC.value),
        on_violation=str(options.get("on_violation") or "fail"), source=source, verify=verify,
    )


def _plan_from_snapshot(snapshot: Mapping[str, Any]) -> Plan:
    tasks = tuple(
        Task(
            id=TaskId(str(t["id"])),
            owns=tuple(t.get("owns") or ()),
            forbids=tuple(t.get("forbids") or ()),
            after=tuple(TaskId(str(d)) for d in t.get("after") or ()),
            risk=RiskTier(str(t.get("risk") or "green").lower()),
            phase=str(t.get("phase") or Task.phase),
            estimate=t.get("estimate_s"),
        )
        for t in snapshot["tasks"]
    )
    phases = tuple(Phase(str(p["name"]), bool(p.get("parallel", True)))
                   for p in snapshot.get("phases") or ()) or Plan.phases
    defaults = Defaults(
        max_parallel=snapshot.get("max_parallel"),
        isolation=Isolation(snapshot.get("isolation") or Isolation.WORKTREE.value),
        shared_readonly=tuple(snapshot.get("shared_readonly") or ()),
    )
    return Plan(tasks=tasks, name=str(snapshot.get("name") or "plan"), phases=phases,
                defaults=defaults)


def _pairs(pairs: list[Any]) -> dict[TaskId, frozenset[TaskId]]:
    out: dict[TaskId, set[TaskId]] = {}
    for a, b in pairs:
        out.setdefault(TaskId(str(a)), set()).add(TaskId(str(b)))
        out.setdefault(TaskId(str(b)), set()).add(TaskId(str(a)))
    return {t: frozenset(v) for t, v in out.items()}
