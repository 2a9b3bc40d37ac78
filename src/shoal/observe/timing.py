"""Where each task's time went: its work, its own gate, the merge queue, the plan's gate.

Pure: read from a replayed :class:`~shoal.observe.timeline.Timeline`. A task's time from first
start to merge used to read as one figure, its queue wait included (a 3 s task showed 27 s);
the split says which part was the task's.

- ``work_s``: its attempts (``task_started`` to ``task_finished``), less any of its own gate
  runs inside them;
- ``task_gate_s``: its own gate runs (``scope: task``);
- ``queue_s``: from each ``merge_started`` until the first plan gate covering it starts, or
  until its merge (or failure) when no gate comes first;
- ``gate_s``: the plan gate runs that covered it, bisection and speculative runs included.

The gate figures are None for a run that logged no gates (made before gates were logged): its
verify ran inside what now counts as queue time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..store import EventKind
from .gates import PLAN, GateRun, plan_gates, scope_of, task_gates, tasks_of
from .timeline import Span, Timeline, state_of

_K = EventKind


@dataclass(frozen=True)
class TaskTiming:
    work_s: float
    task_gate_s: float | None
    queue_s: float
    gate_s: float | None

    def to_json(self) -> dict[str, Any]:
        return {"work_s": _r(self.work_s), "task_gate_s": _r(self.task_gate_s),
                "queue_s": _r(self.queue_s), "gate_s": _r(self.gate_s)}


def task_timings(timeline: Timeline, until: float | None = None, *,
                 gated: bool = False) -> dict[str, TaskTiming]:
    """Per task of the run. ``gated``: the run's gates are logged even if it has none (its
    options name a ``verify_policy``); a log with gate events is gated anyway."""
    gated = gated or bool(timeline.gates)
    until = until if until is not None else timeline.last_ts
    own: dict[str, list[GateRun]] = {}
    for g in task_gates(timeline.gates):
        for t in g.tasks:
            own.setdefault(t, []).append(g)
    plan = plan_gates(timeline.gates)
    queue = _queue_waits(timeline, until)
    ids = dict.fromkeys([*timeline.tasks, *timeline.by_task, *own, *queue])
    out = {}
    for t in ids:
        mine = own.get(t, [])
        work = sum(_less(s, mine, until) for s in timeline.attempts_of(t))
        out[t] = TaskTiming(
            work_s=work,
            task_gate_s=sum((g.duration(until) for g in mine), 0.0) if gated else None,
            queue_s=queue.get(t, 0.0),
            gate_s=sum((g.duration(until) for g in plan if g.covers(t)), 0.0) if gated else None)
    return out


def _less(span: Span, gates: Iterable[GateRun], until: float | None) -> float:
    """The span's length without the stretches its task's own gates ran inside it (an engine
    may end the attempt before or after the task gate: either way the gate is not work)."""
    end = span.end if span.end is not None else until
    if end is None:
        return 0.0
    inside = 0.0
    for g in gates:
        g_end = g.end if g.end is not None else until
        if g_end is not None:
            inside += max(0.0, min(end, g_end) - max(span.start, g.start))
    return max(0.0, end - span.start - inside)


def _queue_waits(timeline: Timeline, until: float | None) -> dict[str, float]:
    """Seconds each task waited in the merge queue, summed over its trips through it."""
    waiting: dict[str, float] = {}  # task -> when it joined
    out: dict[str, float] = {}

    def leave(task: str, at: float) -> None:
        joined = waiting.pop(task, None)
        if joined is not None:
            out[task] = out.get(task, 0.0) + max(0.0, at - joined)

    for e in timeline.events:
        task = e.task_id
        if e.kind == _K.MERGE_STARTED and task is not None:
            leave(task, e.ts)  # joined again without leaving: count the first stay up to here
            waiting[task] = e.ts
            out.setdefault(task, 0.0)
        elif e.kind == _K.GATE_STARTED and scope_of(e) == PLAN:
            for t in tasks_of(e):
                leave(t, e.ts)
        elif e.kind in (_K.RUN_INTERRUPTED, _K.RUN_FINISHED):
            for t in list(waiting):
                leave(t, e.ts)
        elif task is not None and state_of(e) is not None:
            leave(task, e.ts)
    for t in list(waiting):
        if until is not None:
            leave(t, until)
    return out


def timing_json(timings: Mapping[str, TaskTiming]) -> dict[str, dict[str, Any]]:
    return {t: v.to_json() for t, v in timings.items()}


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


__all__ = ["TaskTiming", "task_timings", "timing_json"]
