"""Gate runs as a run's log records them: the plan's gate on a batch of merges, a task's own gate.

Pure, like :mod:`.timeline`, whose replay feeds every event to a :class:`GateReader`. A run
made before gates were logged has none; everything built on them then shows nothing new.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..store import Event, EventKind

_K = EventKind
PLAN, TASK = "plan", "task"  # a gate's scope


@dataclass(frozen=True)
class GateRun:
    """One run of a gate; ``end``/``ok`` are None while it runs or when the run stopped under it."""

    gate: int  # unique in the run
    scope: str  # PLAN or TASK
    tasks: tuple[str, ...]  # the tasks it covers
    policy: str | None  # batch | each | phase | end; "task" for a task gate
    start_seq: int
    start: float
    base: str | None = None
    candidate: str | None = None
    bisect: bool = False  # a run made while finding culprits
    speculative: bool = False  # on top of a candidate still being gated
    attempt: int | None = None  # task gates: the attempt it gated
    end_seq: int | None = None
    end: float | None = None
    ok: bool | None = None
    cancelled: bool = False
    duration_s: float | None = None  # as gate_finished recorded it
    results: tuple[Mapping[str, Any], ...] = ()

    @property
    def passed(self) -> bool:
        return self.ok is True and not self.cancelled

    @property
    def failed(self) -> bool:
        """Finished and not passed, for a reason other than being cancelled."""
        return self.ok is False and not self.cancelled

    def covers(self, task: str) -> bool:
        return task in self.tasks

    def duration(self, until: float | None = None) -> float:
        """The recorded duration; else start to end (or to ``until`` while it runs)."""
        if self.duration_s is not None:
            return max(0.0, self.duration_s)
        end = self.end if self.end is not None else until
        return 0.0 if end is None else max(0.0, end - self.start)


@dataclass(frozen=True)
class Bisection:
    """A failed batch split until its culprits were found (``gate_bisected``)."""

    seq: int
    ts: float
    tasks: tuple[str, ...]  # the batch
    culprits: tuple[str, ...]
    gate_runs: int  # gate runs the search took, beyond the batch's first
    landed: tuple[str, ...]


def _ids(value: Any) -> tuple[str, ...]:
    return tuple(str(t) for t in value) if isinstance(value, (list, tuple)) else ()


def scope_of(e: Event) -> str:
    scope = e.data.get("scope")
    return str(scope) if scope else (TASK if e.task_id is not None else PLAN)


def tasks_of(e: Event) -> tuple[str, ...]:
    """The tasks a gate event covers (a task gate covers its own task when it names none)."""
    tasks = _ids(e.data.get("tasks"))
    return tasks or ((str(e.task_id),) if e.task_id is not None else ())


def _number(e: Event) -> int:
    try:
        return int(e.data["gate"])
    except (KeyError, TypeError, ValueError):
        return -e.seq  # unnumbered: unique all the same, and never matched by a finish


def _started(e: Event) -> GateRun:
    d = e.data
    attempt = d.get("attempt")
    return GateRun(
        gate=_number(e), scope=scope_of(e), tasks=tasks_of(e),
        policy=str(d["policy"]) if d.get("policy") is not None else None,
        start_seq=e.seq, start=e.ts, base=d.get("base"), candidate=d.get("candidate"),
        bisect=bool(d.get("bisect")), speculative=bool(d.get("speculative")),
        attempt=int(attempt) if isinstance(attempt, int) else None)


def _finished(run: GateRun, e: Event) -> GateRun:
    d = e.data
    duration = d.get("duration_s")
    results = d.get("results")
    return replace(
        run, end_seq=e.seq, end=e.ts, ok=bool(d.get("ok")), cancelled=bool(d.get("cancelled")),
        duration_s=float(duration) if isinstance(duration, (int, float)) else None,
        results=tuple(r for r in results if isinstance(r, Mapping))
        if isinstance(results, list) else ())


class GateReader:
    """Collects gate runs and bisections from events given in log order."""

    def __init__(self) -> None:
        self.runs: list[GateRun] = []
        self.bisections: list[Bisection] = []
        self._open: dict[int, int] = {}  # gate number -> index in runs

    def read(self, e: Event) -> str | None:
        """Take in one event; returns what is odd about it, if anything."""
        if e.kind == _K.GATE_STARTED:
            run = _started(e)
            self._open[run.gate] = len(self.runs)
            self.runs.append(run)
        elif e.kind == _K.GATE_FINISHED:
            i = self._open.pop(_number(e), None)
            if i is None:
                started = _started(e)  # its times are the finish's: all the log knows
                self.runs.append(_finished(started, e))
                return f"gate {e.data.get('gate')} finished but never started"
            self.runs[i] = _finished(self.runs[i], e)
        elif e.kind == _K.GATE_BISECTED:
            gate_runs = e.data.get("gate_runs")
            self.bisections.append(Bisection(
                e.seq, e.ts, _ids(e.data.get("tasks")), _ids(e.data.get("culprits")),
                gate_runs if isinstance(gate_runs, int) else 0, _ids(e.data.get("landed"))))
        return None

    def stop(self, e: Event) -> None:
        """The run stopped (interrupted or finished): gates still open ended there, unfinished."""
        for i in self._open.values():
            self.runs[i] = replace(self.runs[i], end_seq=e.seq, end=e.ts)
        self._open.clear()


def plan_gates(runs: Iterable[GateRun]) -> list[GateRun]:
    return [g for g in runs if g.scope == PLAN]


def task_gates(runs: Iterable[GateRun]) -> list[GateRun]:
    return [g for g in runs if g.scope == TASK]


@dataclass(frozen=True)
class GateCounts:
    """What a run's gates cost; ``to_json`` keys are documented in docs/observe.md."""

    plan_runs: int
    plan_failed: int
    plan_s: float
    task_runs: int
    task_failed: int
    task_s: float
    speculative_runs: int
    bisections: int
    bisect_runs: int  # the gate runs bisections took, beyond each batch's first
    culprits: tuple[str, ...]

    @classmethod
    def of(cls, runs: Iterable[GateRun], bisections: Iterable[Bisection],
           until: float | None) -> GateCounts:
        runs = list(runs)
        plan, task, found = plan_gates(runs), task_gates(runs), list(bisections)
        return cls(
            plan_runs=len(plan), plan_failed=sum(g.failed for g in plan),
            plan_s=sum((g.duration(until) for g in plan), 0.0),
            task_runs=len(task), task_failed=sum(g.failed for g in task),
            task_s=sum((g.duration(until) for g in task), 0.0),
            speculative_runs=sum(g.speculative for g in plan),
            bisections=len(found), bisect_runs=sum(b.gate_runs for b in found),
            culprits=tuple(dict.fromkeys(c for b in found for c in b.culprits)))

    def to_json(self) -> dict[str, Any]:
        return {
            "plan_gate_runs": self.plan_runs, "plan_gates_failed": self.plan_failed,
            "plan_gate_s": round(self.plan_s, 3), "task_gate_runs": self.task_runs,
            "task_gates_failed": self.task_failed, "task_gate_s": round(self.task_s, 3),
            "speculative_gate_runs": self.speculative_runs, "bisections": self.bisections,
            "bisect_gate_runs": self.bisect_runs, "culprits": list(self.culprits),
        }


NO_GATES_JSON: Mapping[str, Any] = {key: None for key in GateCounts(
    0, 0, 0.0, 0, 0, 0.0, 0, 0, 0, ()).to_json()}  # a run that logged no gates


__all__ = [
    "NO_GATES_JSON",
    "PLAN",
    "TASK",
    "Bisection",
    "GateCounts",
    "GateReader",
    "GateRun",
    "plan_gates",
    "scope_of",
    "task_gates",
    "tasks_of",
]
