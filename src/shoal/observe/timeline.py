"""The event log of one run, replayed: worker spans, busy spans, task states and findings.

Pure: :func:`replay` takes the run's events (``seq`` order) and reads no clock and no database.
The order of the log (``seq``) decides what happened before what; timestamps (``ts``) only say
when. One supervisor thread writes every event, so the two agree on a real run, and an order
argument holds even when two events share a timestamp.

Two kinds of span, as the supervisor counts them:

- an **attempt** span runs from ``task_started`` to that attempt's ``task_finished``: a worker
  holding a slot (what ``max_parallel`` limits);
- a **busy** span runs from ``task_started`` until the task stops counting as running for the
  scheduler: at a ``task_finished`` that did not succeed, else when the task is merged or
  changes state (merge or verify failed, succeeded without a merge), or the run is interrupted.
  Conflicts, risk tiers and serial phases are judged on busy spans: a task waiting for its
  merge holds no slot but still keeps conflicting tasks out.

Gate runs (``gate_started`` to ``gate_finished``) and bisections are read by
:class:`~shoal.observe.gates.GateReader` in the same pass.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..model import TaskState
from ..store import Event, EventKind
from .gates import Bisection, GateReader, GateRun

_K = EventKind
_TERMINAL = {s.value for s in TaskState if s.terminal}


@dataclass(frozen=True)
class Span:
    """One stretch of a task's life; ``end_seq``/``end`` are None while it is still open."""

    task_id: str
    attempt: int
    start_seq: int
    start: float
    end_seq: int | None = None
    end: float | None = None
    outcome: str | None = None  # task_finished's outcome (attempt spans)
    slot: int | None = None

    def overlaps(self, other: Span) -> bool:
        """Whether the two were open at one moment, by log order (``seq``)."""
        mine = self.end_seq if self.end_seq is not None else math.inf
        theirs = other.end_seq if other.end_seq is not None else math.inf
        return self.start_seq < theirs and other.start_seq < mine

    def open_at(self, seq: int) -> bool:
        """Open just before event ``seq``: started earlier, not yet ended."""
        return self.start_seq < seq and (self.end_seq is None or self.end_seq >= seq)

    def duration(self, until: float | None = None) -> float:
        end = self.end if self.end is not None else until
        return 0.0 if end is None else max(0.0, end - self.start)


@dataclass(frozen=True)
class Oddity:
    """An event that does not fit the log around it (finished without a start, ...)."""

    seq: int
    ts: float
    task_id: str | None
    message: str


@dataclass(frozen=True)
class Timeline:
    run_id: str
    events: tuple[Event, ...]
    tasks: tuple[str, ...]  # from tasks_added, in plan order
    attempts: tuple[Span, ...]  # worker spans, in start order
    busy: tuple[Span, ...]  # scheduler spans, in start order
    states: Mapping[str, tuple[tuple[int, str], ...]]  # task -> (seq, state) changes
    merges: Mapping[str, tuple[tuple[int, float], ...]]  # task -> (seq, ts) of each merged event
    changes: Mapping[str, tuple[str, ...]]  # task -> paths of its last task_changes
    violations: Mapping[str, tuple[Any, ...]]  # task -> its last boundary_violation list
    fallback_seq: int | None  # first fallback_sequential
    interrupts: tuple[int, ...]  # seqs of run_interrupted
    started_at: float | None  # run_started
    ended_at: float | None  # the last run_finished, when the log ends with the run finished
    finished: bool
    run_state: str | None  # from the last run_* event
    oddities: tuple[Oddity, ...] = field(default=())
    by_task: Mapping[str, tuple[Span, ...]] = field(default_factory=dict)  # attempt spans
    gates: tuple[GateRun, ...] = ()  # plan and task gate runs, in start order
    bisections: tuple[Bisection, ...] = ()

    @property
    def last_ts(self) -> float | None:
        return self.events[-1].ts if self.events else None

    def state_at(self, task_id: str, seq: int) -> str | None:
        """The task's state just before event ``seq`` (None before it was added)."""
        state = None
        for at, value in self.states.get(task_id, ()):
            if at >= seq:
                break
            state = value
        return state

    def final_state(self, task_id: str) -> str | None:
        changes = self.states.get(task_id, ())
        return changes[-1][1] if changes else None

    def attempts_of(self, task_id: str) -> tuple[Span, ...]:
        return self.by_task.get(task_id, ())


def state_of(event: Event) -> str | None:
    """The task state an event moves its task to, if it does."""
    if event.kind == _K.MERGED:
        return TaskState.SUCCEEDED.value
    state = event.data.get("state") if event.task_id is not None else None
    return str(state) if state is not None else None


def replay(events: Iterable[Event], run_id: str = "") -> Timeline:
    """Replay a run's events (sorted by ``seq`` here, whatever order they come in)."""
    log = tuple(sorted(events, key=lambda e: e.seq))
    tasks: dict[str, None] = {}
    states: dict[str, list[tuple[int, str]]] = {}
    attempts: list[Span] = []
    busy: list[Span] = []
    open_attempt: dict[str, int] = {}  # task -> index in attempts
    open_busy: dict[str, int] = {}  # task -> index in busy
    merges: dict[str, list[tuple[int, float]]] = {}
    changes: dict[str, tuple[str, ...]] = {}
    violations: dict[str, tuple[Any, ...]] = {}
    oddities: list[Oddity] = []
    fallback: int | None = None
    interrupts: list[int] = []
    started_at: float | None = None
    ended_at: float | None = None
    run_state: str | None = None
    gates = GateReader()

    def close_busy(task: str, e: Event) -> None:
        if task in open_busy:
            i = open_busy.pop(task)
            busy[i] = _closed(busy[i], e)

    def odd(e: Event, message: str) -> None:
        oddities.append(Oddity(e.seq, e.ts, e.task_id, message))

    for e in log:
        kind, task = e.kind, e.task_id
        gate_oddity = gates.read(e)
        if gate_oddity:
            odd(e, gate_oddity)
        if kind == _K.RUN_STARTED:
            started_at = e.ts if started_at is None else started_at
            run_state = "running"
        elif kind == _K.TASKS_ADDED:
            for t in e.data.get("tasks", ()):
                tasks.setdefault(str(t), None)
                states.setdefault(str(t), []).append((e.seq, TaskState.PENDING.value))
        elif kind == _K.TASK_STARTED and task is not None:
            if task not in tasks:
                odd(e, f"task {task} started but was never added to the run")
            if task in open_attempt:
                odd(e, f"task {task} started again while attempt "
                       f"{attempts[open_attempt[task]].attempt} still ran")
            close_busy(task, e)
            number = int(e.data.get("attempt") or len([s for s in attempts if s.task_id == task]) + 1)
            span = Span(task, number, e.seq, e.ts, slot=e.data.get("slot"))
            open_attempt[task] = len(attempts)
            attempts.append(span)
            open_busy[task] = len(busy)
            busy.append(span)
            states.setdefault(task, []).append((e.seq, TaskState.RUNNING.value))
        elif kind == _K.TASK_FINISHED and task is not None:
            outcome = str(e.data.get("outcome"))
            if task not in open_attempt:
                odd(e, f"task {task} finished an attempt that never started")
            else:
                i = open_attempt.pop(task)
                attempts[i] = _closed(attempts[i], e, outcome)
            if outcome != "succeeded":
                close_busy(task, e)
        elif kind == _K.TASK_CHANGES and task is not None:
            changes[task] = tuple(str(p) for p in e.data.get("paths", ()))
        elif kind == _K.BOUNDARY_VIOLATION and task is not None:
            violations[task] = tuple(e.data.get("violations", ()))
        elif kind == _K.FALLBACK_SEQUENTIAL:
            fallback = e.seq if fallback is None else fallback
        elif kind in (_K.RUN_INTERRUPTED, _K.RUN_FINISHED, _K.RUN_RESUMED):
            run_state = str(e.data.get("state") or run_state)
            if kind == _K.RUN_INTERRUPTED:
                interrupts.append(e.seq)
                for t in e.data.get("requeued", ()):
                    states.setdefault(str(t), []).append((e.seq, TaskState.PENDING.value))
            if kind != _K.RUN_RESUMED:
                gates.stop(e)
                for t in list(open_busy):
                    if t not in open_attempt:  # waiting for a merge that will not come now
                        close_busy(t, e)
            ended_at = e.ts if kind == _K.RUN_FINISHED else None
        if kind == _K.MERGED and task is not None:
            merges.setdefault(task, []).append((e.seq, e.ts))
        state = state_of(e)
        if state is not None and task is not None and kind != _K.TASK_STARTED:
            states.setdefault(task, []).append((e.seq, state))
            if task not in open_attempt:
                close_busy(task, e)
    return Timeline(
        run_id=run_id or (log[0].run_id if log else ""),
        events=log,
        tasks=tuple(tasks),
        attempts=tuple(attempts),
        busy=tuple(busy),
        states={t: tuple(v) for t, v in states.items()},
        merges={t: tuple(v) for t, v in merges.items()},
        changes=changes,
        violations=violations,
        fallback_seq=fallback,
        interrupts=tuple(interrupts),
        started_at=started_at,
        ended_at=ended_at,
        finished=ended_at is not None,
        run_state=run_state,
        oddities=tuple(oddities),
        by_task=_group(attempts),
        gates=tuple(sorted(gates.runs, key=lambda g: g.start_seq)),
        bisections=tuple(gates.bisections),
    )


def _group(spans: Iterable[Span]) -> dict[str, tuple[Span, ...]]:
    out: dict[str, list[Span]] = {}
    for span in spans:
        out.setdefault(span.task_id, []).append(span)
    return {t: tuple(v) for t, v in out.items()}


def overlapping_tasks(spans: Iterable[Span]) -> set[str]:
    """Tasks with a span open while another task's span was (one sweep, by log order)."""
    items = list(spans)
    points = sorted([(s.start_seq, 1, i) for i, s in enumerate(items)]
                    + [(s.end_seq, 0, i) for i, s in enumerate(items) if s.end_seq is not None])
    active: dict[int, str] = {}
    out: set[str] = set()
    for _, starting, i in points:
        if not starting:
            active.pop(i, None)
            continue
        task = items[i].task_id
        others = {t for t in active.values() if t != task}
        if others:
            out.update(others)
            out.add(task)
        active[i] = task
    return out


def _closed(span: Span, e: Event, outcome: str | None = None) -> Span:
    return Span(span.task_id, span.attempt, span.start_seq, span.start, e.seq, e.ts,
                outcome if outcome is not None else span.outcome, span.slot)


def is_terminal(state: str | None) -> bool:
    return state in _TERMINAL
