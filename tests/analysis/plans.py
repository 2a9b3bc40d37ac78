"""Plan builders for the analysis tests (the dataclasses directly, no loader)."""

from __future__ import annotations

from shoal.model import Defaults, Location, Phase, Plan, RiskTier, Task, TaskId

FILE = "plan.yaml"


def task(
    tid: str,
    *,
    owns: tuple[str, ...] = (),
    reads: tuple[str, ...] = (),
    forbids: tuple[str, ...] = (),
    after: tuple[str, ...] = (),
    risk: str = "green",
    phase: str = "main",
    line: int = 1,
) -> Task:
    """A task located in plan.yaml at ``line``; its fields on the lines after it."""
    fields = ("owns", "reads", "forbids", "after", "phase")
    return Task(
        id=TaskId(tid),
        owns=owns,
        reads=reads,
        forbids=forbids,
        after=tuple(TaskId(a) for a in after),
        risk=RiskTier(risk),
        phase=phase,
        location=Location(FILE, line),
        field_lines=tuple((f, line + 1 + i) for i, f in enumerate(fields)),
    )


def plan_of(*tasks: Task, phases: tuple[Phase, ...] = (Phase("main"),), shared_readonly: tuple[str, ...] = ()
            ) -> Plan:
    return Plan(tasks=tasks, phases=phases, defaults=Defaults(shared_readonly=shared_readonly), source=FILE)
