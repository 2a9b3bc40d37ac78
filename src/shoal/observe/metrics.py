"""Seed 001's ``PARALLEL_METRICS`` for one run, measured from its event log.

    >>> m = run_metrics(store, run_id)
    >>> m.speedup, m.max_concurrent, m.to_json()["lower_bound_s"]

Durations are worker time: from ``task_started`` to ``task_finished`` of each attempt, summed
per task (retries included). Each task's time is also split into work, its own gate, the merge
queue and the plan's gate (:mod:`.timing`); the run's gate runs are counted (:mod:`.gates`).
Tokens and cost come from the agents' results stored with each attempt; they are null when no
agent reported them.
"""

from __future__ import annotations

import math

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..model import Strategy
from ..scheduler import critical_path
from ..store import AttemptRecord, RunRecord, Store
from .facts import PlanFacts, plan_facts
from .gates import NO_GATES_JSON, GateCounts
from .timeline import Span, Timeline, overlapping_tasks, replay
from .timing import TaskTiming, task_timings

_FAILED = ("failed", "timeout", "crashed")


@dataclass(frozen=True)
class AttemptSpan:
    number: int
    start_s: float  # seconds since the run started
    end_s: float | None  # None while it runs
    outcome: str | None  # succeeded, failed, timeout, crashed, interrupted; None while it runs

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "start_s": _r(self.start_s), "end_s": _r(self.end_s),
                "outcome": self.outcome}


@dataclass(frozen=True)
class TaskMetrics:
    task_id: str
    state: str | None  # the last state the log shows
    attempts: int
    duration_s: float  # worker time, every attempt
    overlapped: bool  # an attempt of it ran while another task's attempt ran
    wave: int | None  # its wave in the plan (waves strategy)
    merged_s: float | None  # when it was merged, seconds since the run started
    cost_usd: float | None
    tokens_in: int | None
    tokens_out: int | None
    turns: int | None
    session_id: str | None  # of the last attempt that reported one
    spans: tuple[AttemptSpan, ...]
    timing: TaskTiming  # work, own gate, queue, plan gate

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.task_id, "state": self.state, "attempts": self.attempts,
            "duration_s": _r(self.duration_s), "overlapped": self.overlapped, "wave": self.wave,
            "merged_s": _r(self.merged_s), **self.timing.to_json(), "cost_usd": self.cost_usd,
            "tokens_in": self.tokens_in, "tokens_out": self.tokens_out, "turns": self.turns,
            "session_id": self.session_id, "spans": [s.to_json() for s in self.spans],
        }


@dataclass(frozen=True)
class RunMetrics:
    """One run's metrics; :meth:`to_json` has the keys documented in docs/observe.md."""

    run_id: str
    state: str | None
    strategy: str
    slots: int | None  # max_parallel in effect; None when the plan cannot be read
    sequential_s: float  # sum of task durations: the run one task at a time
    estimated_sequential_s: float | None  # sum of the plan's estimates
    wall_s: float  # run start to run end (or to the last event while it runs)
    makespan_s: float  # first worker start to last worker end
    speedup: float | None  # sequential_s / wall_s
    tasks_total: int
    tasks_parallelised: int  # ran beside another task at some moment
    tasks_sequential: int  # ran, never beside another task
    tasks_not_run: int  # never started (skipped, cancelled, still pending)
    waves: int | None  # waves strategy: how many waves ran
    avg_wave_s: float | None
    max_concurrent: int
    workers_spawned: int
    workers_succeeded: int
    workers_failed: int  # failed, timed out or crashed
    workers_interrupted: int
    workers_retried: int  # attempts after a task's first
    busy_s: float  # slot time workers used (the same as sequential_s)
    idle_slot_s: float | None  # slots x makespan - busy_s
    critical_path: tuple[str, ...]  # by measured durations
    critical_path_s: float | None
    lower_bound_s: float | None  # max(critical_path_s, busy_s / slots)
    makespan_ratio: float | None  # makespan_s / lower_bound_s (1.0 is the best possible)
    cost_usd: float | None
    tokens_in: int | None
    tokens_out: int | None
    turns: int | None
    tasks: tuple[TaskMetrics, ...]
    gates: GateCounts | None = None  # None: the run logged no gates (made before they were)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "state": self.state, "strategy": self.strategy,
            "slots": self.slots,
            "sequential_s": _r(self.sequential_s),
            "estimated_sequential_s": _r(self.estimated_sequential_s),
            "wall_s": _r(self.wall_s), "makespan_s": _r(self.makespan_s),
            "speedup": _r(self.speedup),
            "tasks_total": self.tasks_total, "tasks_parallelised": self.tasks_parallelised,
            "tasks_sequential": self.tasks_sequential, "tasks_not_run": self.tasks_not_run,
            "waves": self.waves, "avg_wave_s": _r(self.avg_wave_s),
            "max_concurrent": self.max_concurrent,
            "workers_spawned": self.workers_spawned, "workers_succeeded": self.workers_succeeded,
            "workers_failed": self.workers_failed,
            "workers_interrupted": self.workers_interrupted,
            "workers_retried": self.workers_retried,
            "busy_s": _r(self.busy_s), "idle_slot_s": _r(self.idle_slot_s),
            "critical_path": list(self.critical_path),
            "critical_path_s": _r(self.critical_path_s),
            "lower_bound_s": _r(self.lower_bound_s), "makespan_ratio": _r(self.makespan_ratio),
            "cost_usd": self.cost_usd, "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out, "turns": self.turns,
            **(self.gates.to_json() if self.gates is not None else NO_GATES_JSON),
            "tasks": [t.to_json() for t in self.tasks],
        }


def run_metrics(store: Store, run_id: str, *, now: float | None = None) -> RunMetrics:
    """The metrics of run ``run_id`` (raises ``UnknownRunError``). A run still going is
    measured up to ``now`` (default: its last event)."""
    with store.snapshot():
        record = store.get_run(run_id)
        timeline = replay(store.events(run_id), run_id)
        attempts = store.attempts(run_id)
    return record_metrics(record, timeline, attempts, now=now)


def record_metrics(record: RunRecord, timeline: Timeline, attempts: Sequence[AttemptRecord], *,
                   now: float | None = None) -> RunMetrics:
    """:func:`run_metrics` on a run already read (its record, replayed log and attempts)."""
    facts, _ = plan_facts(record)
    return metrics_of(timeline, facts, attempts, strategy=str(record.options.get("strategy")
                                                               or Strategy.DYNAMIC.value), now=now,
                      gated=gates_logged(record.options))


def gates_logged(options: Mapping[str, Any]) -> bool:
    """Whether a run's gates are logged: its options name a verify policy (runs made before
    gates were logged have none, and no gate events)."""
    return "verify_policy" in (options or {})


def metrics_of(timeline: Timeline, facts: PlanFacts | None,
               attempts: Sequence[AttemptRecord] = (), *, strategy: str = "dynamic",
               now: float | None = None, gated: bool = False) -> RunMetrics:
    """:func:`run_metrics` on an already replayed log (no database needed). ``gated``: see
    :func:`gates_logged`; a log with gate events counts as gated anyway."""
    origin = timeline.started_at if timeline.started_at is not None else (
        timeline.events[0].ts if timeline.events else 0.0)
    until = now if now is not None else timeline.last_ts
    spans = timeline.attempts
    per_task: dict[str, float] = {t: 0.0 for t in timeline.tasks}
    for s in spans:
        per_task[s.task_id] = per_task.get(s.task_id, 0.0) + s.duration(until)
    busy = sum(per_task.values())
    end = timeline.ended_at if timeline.ended_at is not None else (until or origin)
    wall = max(0.0, end - origin)
    first = min((s.start for s in spans), default=origin)
    last = max((s.end if s.end is not None else (until or s.start) for s in spans), default=first)
    makespan = max(0.0, last - first)
    overlapped = overlapping_tasks(spans)
    ran = {s.task_id for s in spans}
    ids = list(dict.fromkeys([*timeline.tasks, *per_task]))
    slots = facts.slots if facts else None

    cp: tuple[str, ...] = ()
    cp_s = lower = ratio = idle = estimated = None
    wave_of: dict[str, int] = {}
    waves = avg_wave = None
    if facts is not None:
        durations = {t: per_task.get(t, 0.0) for t in facts.graph.ids}
        path, cp_s = critical_path(facts.graph, durations=durations)
        cp = tuple(path)
        lower = max(cp_s, busy / facts.slots)
        ratio = makespan / lower if lower > 0 else None
        idle = max(0.0, facts.slots * makespan - busy)
        estimated = sum(facts.graph.estimate.values())
        if strategy == Strategy.WAVES.value:
            plan_waves = facts.waves()
            wave_of = {t: w.wave_id for w in plan_waves for t in w.tasks}
            times = _wave_times(plan_waves, spans, until)
            waves = len(times)
            avg_wave = sum(times) / len(times) if times else None

    costs = _usage(attempts)
    gated = gated or bool(timeline.gates)
    timings = task_timings(timeline, until, gated=gated)
    no_time = TaskTiming(0.0, 0.0 if gated else None, 0.0, 0.0 if gated else None)
    tasks = tuple(
        TaskMetrics(
            task_id=t, state=timeline.final_state(t), attempts=len(timeline.attempts_of(t)),
            duration_s=per_task.get(t, 0.0), overlapped=t in overlapped, wave=wave_of.get(t),
            merged_s=(timeline.merges[t][-1][1] - origin) if timeline.merges.get(t) else None,
            spans=tuple(AttemptSpan(s.attempt, s.start - origin,
                                    None if s.end is None else s.end - origin, s.outcome)
                        for s in timeline.attempts_of(t)),
            timing=timings.get(t, no_time),
            **costs.get(t, _NO_USAGE),
        )
        for t in ids
    )
    return RunMetrics(
        run_id=timeline.run_id, state=timeline.run_state, strategy=strategy, slots=slots,
        sequential_s=busy, estimated_sequential_s=estimated, wall_s=wall, makespan_s=makespan,
        speedup=busy / wall if wall > 0 else None,
        tasks_total=len(ids), tasks_parallelised=len(overlapped),
        tasks_sequential=len(ran - overlapped), tasks_not_run=len(set(ids) - ran),
        waves=waves, avg_wave_s=avg_wave, max_concurrent=max_concurrent(spans),
        workers_spawned=len(spans),
        workers_succeeded=sum(1 for s in spans if s.outcome == "succeeded"),
        workers_failed=sum(1 for s in spans if s.outcome in _FAILED),
        workers_interrupted=sum(1 for s in spans if s.outcome == "interrupted"),
        workers_retried=sum(1 for s in spans if s.attempt > 1),
        busy_s=busy, idle_slot_s=idle, critical_path=cp, critical_path_s=cp_s,
        lower_bound_s=lower, makespan_ratio=ratio,
        cost_usd=_total(c["cost_usd"] for c in costs.values()),
        tokens_in=_total(c["tokens_in"] for c in costs.values()),
        tokens_out=_total(c["tokens_out"] for c in costs.values()),
        turns=_total(c["turns"] for c in costs.values()),
        tasks=tasks,
        gates=GateCounts.of(timeline.gates, timeline.bisections, until) if gated else None,
    )


def max_concurrent(spans: Sequence[Span]) -> int:
    """The most spans open at one moment, by log order."""
    points = sorted([(s.start_seq, 1) for s in spans]
                    + [(s.end_seq, -1) for s in spans if s.end_seq is not None])
    best = now = 0
    for _, step in points:
        now += step
        best = max(best, now)
    return best


def _wave_times(plan_waves: Sequence[Any], spans: Sequence[Span], until: float | None) -> list[float]:
    """Per wave that ran: first start to last end of its tasks' attempts."""
    out = []
    for wave in plan_waves:
        mine = [s for s in spans if s.task_id in wave.tasks]
        if mine:
            end = max(s.end if s.end is not None else (until or s.start) for s in mine)
            out.append(max(0.0, end - min(s.start for s in mine)))
    return out


_NO_USAGE: Mapping[str, Any] = {"cost_usd": None, "tokens_in": None, "tokens_out": None,
                                "turns": None, "session_id": None}


def _usage(attempts: Sequence[AttemptRecord]) -> dict[str, dict[str, Any]]:
    """Per task: cost, tokens and turns summed over its attempts; the last session id."""
    out: dict[str, dict[str, Any]] = {}
    for a in sorted(attempts, key=lambda a: (a.task_id, a.number)):
        result = a.result or {}
        row = out.setdefault(a.task_id, dict(_NO_USAGE))
        for key in ("cost_usd", "tokens_in", "tokens_out", "turns"):
            value = result.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                row[key] = _total((row[key], value))
        if result.get("session_id"):
            row["session_id"] = str(result["session_id"])
    return out


def _total(values: Any) -> Any:
    known = [v for v in values if v is not None]
    if not known:
        return None
    if any(isinstance(v, float) for v in known):  # dollars: no float noise in the JSON
        return round(math.fsum(known), COST_DIGITS)
    return sum(known)


COST_DIGITS = 9  # a billionth of a dollar: below any agent's price, above float noise


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


__all__ = ["AttemptSpan", "RunMetrics", "TaskMetrics", "gates_logged", "metrics_of", "record_metrics",
           "run_metrics"]
