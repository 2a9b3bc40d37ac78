"""What a board shows at one moment: a frozen :class:`RunSnapshot`, and the state it comes from.

Two feeds build the same snapshot, so `shoal run --progress live` and `shoal watch` show the
same board: the run applies the events its supervisor publishes, `watch` applies the events it
tails from the state database. Both add :class:`TaskExtra` — what no event carries: the last line
of a worker's output, the commits on its branch, its changes so far, its cost — from a
:class:`~shoal.display.source.RunReader`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..model import Isolation, Plan, Strategy, TaskId
from ..scheduler import PlanGraph, plan_waves
from ..scheduler.wave import Wave
from ..store import Event
from .lines import describe_event
from .waiting import RunFacts, pending_reasons

_TERMINAL = frozenset({"succeeded", "failed", "blocked", "skipped", "cancelled"})


@dataclass(frozen=True)
class TaskExtra:
    """What the database, the log files and git add to a task's row (None: not known)."""

    last_line: str = ""
    commits: int | None = None
    cost_usd: float | None = None
    changed_paths: tuple[str, ...] | None = None  # so far, while it runs
    violations: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TaskView:
    task_id: str
    title: str
    phase: str
    state: str  # a task state, or "merging"
    attempt: int
    first_started: float | None
    started_at: float | None  # start of the current (or last) attempt
    ended_at: float | None
    last_line: str
    commits: int | None
    changed_paths: tuple[str, ...]
    violations: tuple[str, ...]
    cost_usd: float | None
    waiting: str  # why a pending task waits; "" otherwise
    note: str  # reason of a failure, skip or block; "merged as ..."
    queue: str = ""  # a merging task of a gated run: QUEUED for a gate, or GATING in one
    gate: int | None = None  # the plan gate run it is in (GATING), or its own gate running

    def elapsed(self, now: float) -> float | None:
        """Running: time in the current attempt; ended: first start to end."""
        if self.started_at is None:
            return None
        if self.ended_at is None:
            return max(0.0, now - self.started_at)
        return max(0.0, self.ended_at - (self.first_started or self.started_at))


QUEUED, GATING = "queued", "gating"


@dataclass(frozen=True)
class GateView:
    """A plan gate run going on, as its ``gate_started`` recorded it."""

    gate: int
    tasks: tuple[str, ...]
    started_at: float
    policy: str
    bisect: bool
    speculative: bool


@dataclass(frozen=True)
class RunSnapshot:
    run_id: str | None
    state: str  # running, succeeded, failed, interrupted, cancelled
    started_at: float | None
    ended_at: float | None
    slots: int
    tasks: tuple[TaskView, ...]
    last_event: str
    gates: tuple[GateView, ...] = ()  # plan gate runs going on, in start order
    gated: bool = False  # the run logs its gates: merging tasks show QUEUED or GATING

    def count(self, state: str) -> int:
        return sum(1 for t in self.tasks if t.state == state)

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.tasks:
            out[t.state] = out.get(t.state, 0) + 1
        return out

    @property
    def cost_usd(self) -> float | None:
        known = [t.cost_usd for t in self.tasks if t.cost_usd is not None]
        return sum(known) if known else None

    def elapsed(self, now: float) -> float | None:
        if self.started_at is None:
            return None
        return max(0.0, (self.ended_at or now) - self.started_at)


@dataclass
class _Row:
    state: str = "pending"
    attempt: int = 0
    first_started: float | None = None
    started: float | None = None
    ended: float | None = None
    note: str = ""
    changed: tuple[str, ...] = ()
    violations: tuple[str, ...] = ()
    gate: int | None = None  # its own gate, while it runs


@dataclass
class _Run:
    run_id: str | None = None
    state: str = ""
    started: float | None = None
    ended: float | None = None
    options: dict[str, Any] = field(default_factory=dict)
    sequential: bool = False
    stopping: bool = False
    last: str = ""
    gates: dict[int, GateView] = field(default_factory=dict)  # plan gate runs going on
    gated: bool = False


def _violation_path(item: Any) -> str:
    return str(item.get("path")) if isinstance(item, Mapping) else str(item)


class BoardState:
    """A run's board, built from its events (and extras); safe to feed from one thread and
    read from another (the rich refresh thread)."""

    def __init__(self, plan: Plan | None = None, *, task_ids: Sequence[str] = (),
                 conflicts: Mapping[TaskId, frozenset[TaskId]] | None = None,
                 slots: int | None = None, strategy: Strategy | None = None) -> None:
        self.plan = plan
        self._tasks = {t.id: t for t in plan.tasks} if plan is not None else {}
        ids = list(dict.fromkeys([*(plan.ids if plan else ()), *task_ids]))
        self.rows: dict[str, _Row] = {t: _Row() for t in ids}
        self.extras: dict[str, TaskExtra] = {}
        self.graph = PlanGraph.build(plan, conflicts) if plan is not None else None
        self._slots = slots
        self._strategy = strategy
        self._waves: tuple[Wave, ...] | None = None
        self.run = _Run()
        self.seq = 0  # the last event applied
        self._lock = threading.Lock()

    # -- feeding ---------------------------------------------------------------------------
    def apply(self, events: Iterable[Event]) -> None:
        with self._lock:
            for event in events:
                if event.seq and event.seq <= self.seq:
                    continue  # seen already (a reader that re-reads overlaps)
                self.seq = max(self.seq, event.seq)
                self._apply(event)

    def enrich(self, extras: Mapping[str, TaskExtra]) -> None:
        with self._lock:
            self.extras.update(extras)

    def _apply(self, event: Event) -> None:
        kind = str(getattr(event.kind, "value", event.kind))
        line = describe_event(event)
        if line:
            self.run.last = line
        d, run = event.data, self.run
        if kind == "run_started":
            run.run_id, run.started, run.state = event.run_id, event.ts, "running"
            run.options = dict(d.get("options") or {})
            run.gated = run.gated or "verify_policy" in run.options
        elif kind in ("gate_started", "gate_finished"):
            self._gate(event, kind == "gate_started")
            return
        elif kind in ("run_resumed", "run_finished", "run_interrupted"):
            run.gates.clear()  # whatever gate ran stopped with the run
            for r in self.rows.values():
                r.gate = None
            run.run_id = run.run_id or event.run_id
            run.state = str(d.get("state") or run.state)
            run.ended = None if kind == "run_resumed" else event.ts
            if kind == "run_interrupted":
                for t in d.get("requeued", ()):
                    if str(t) in self.rows:
                        self.rows[str(t)].state = "pending"
        elif kind == "tasks_added":
            for t in d.get("tasks", ()):
                self.rows.setdefault(str(t), _Row())
        elif kind == "fallback_sequential":
            run.sequential = True
        elif kind == "fail_fast":
            run.stopping = True
        if event.task_id is None:
            return
        row = self.rows.setdefault(event.task_id, _Row())
        if kind == "task_started":
            row.state, row.attempt = "running", int(d.get("attempt") or row.attempt + 1)
            row.started, row.ended, row.note = event.ts, None, ""
            row.gate = None
            row.first_started = row.first_started or event.ts
            row.changed, row.violations = (), ()
            self.extras.pop(event.task_id, None)
        elif kind == "task_finished":
            if d.get("error"):
                row.note = str(d["error"])
        elif kind == "task_changes":
            row.changed = tuple(str(p) for p in d.get("paths", ()))
        elif kind == "boundary_violation":
            row.violations = tuple(_violation_path(v) for v in d.get("violations", ()))
        elif kind == "merge_started":
            row.state, row.gate = "merging", None
        elif kind == "merged":
            row.state, row.ended, row.gate = "succeeded", event.ts, None
            row.note = f"merged as {str(d.get('commit') or '')[:12]}"
        elif d.get("state") is not None and kind != "run_started":
            row.state = str(d["state"])
            row.ended = event.ts if row.state in _TERMINAL else None
            row.note = str(d.get("reason") or "")
            row.gate = None

    def _gate(self, event: Event, started: bool) -> None:
        """A gate run began or ended: the tasks it covers are in it until it ends."""
        d, run = event.data, self.run
        run.gated = True
        try:
            number = int(d["gate"])
        except (KeyError, TypeError, ValueError):
            return
        tasks = tuple(str(t) for t in d.get("tasks") or ()) or (
            (event.task_id,) if event.task_id else ())
        plan = str(d.get("scope") or ("task" if event.task_id else "plan")) == "plan"
        if plan and started:
            run.gates[number] = GateView(number, tasks, event.ts, str(d.get("policy") or ""),
                                         bool(d.get("bisect")), bool(d.get("speculative")))
        elif plan:
            run.gates.pop(number, None)
        else:  # a task's own gate, in its workspace
            row = self.rows.get(tasks[0]) if tasks else None
            if row is not None and (started or row.gate == number):
                row.gate = number if started else None

    # -- reading ---------------------------------------------------------------------------
    @property
    def slots(self) -> int:
        if self._slots is not None:
            return self._slots
        options = self.run.options
        if self.plan is None:
            return int(options.get("max_parallel") or max(1, len(self.rows)))
        isolation = options.get("isolation") or self.plan.defaults.isolation.value
        if isolation == Isolation.BRANCH.value:
            return 1
        return self.plan.effective_max_parallel(options.get("max_parallel"))

    def _wave_plan(self) -> tuple[Wave, ...] | None:
        strategy = self._strategy or Strategy(self.run.options.get("strategy") or "dynamic")
        if strategy is not Strategy.WAVES or self.graph is None:
            return None
        if self._waves is None:
            try:
                self._waves = plan_waves(self.graph, self.slots)
            except ValueError:
                self._waves = ()
        return self._waves

    def snapshot(self) -> RunSnapshot:
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> RunSnapshot:
        rows = self.rows
        facts = RunFacts(
            running=frozenset(t for t, r in rows.items() if r.state == "running"),
            merging=frozenset(t for t, r in rows.items() if r.state == "merging"),
            succeeded=frozenset(t for t, r in rows.items() if r.state == "succeeded"),
            finished=frozenset(t for t, r in rows.items() if r.state in _TERMINAL),
            slots=self.slots, sequential=self.run.sequential, stopping=self.run.stopping,
        )
        pending = [t for t, r in rows.items() if r.state == "pending"]
        reasons: Mapping[str, str] = {}
        if self.graph is not None and self.run.state in ("running", ""):
            reasons = pending_reasons(self.graph, pending, facts, self._wave_plan())
        gating: dict[str, int] = {}  # task -> the earliest plan gate run covering it
        for g in reversed(self.run.gates.values()):
            gating.update(dict.fromkeys(g.tasks, g.gate))
        views = []
        for task_id, row in rows.items():
            extra = self.extras.get(task_id, TaskExtra())
            task = self._tasks.get(TaskId(task_id))
            live = row.state == "running"
            merging = row.state == "merging" and self.run.gated
            views.append(TaskView(
                task_id=task_id,
                title=task.title if task is not None else "",
                phase=task.phase if task is not None else "",
                state=row.state, attempt=row.attempt, first_started=row.first_started,
                started_at=row.started, ended_at=row.ended if not live else None,
                last_line=extra.last_line, commits=extra.commits,
                changed_paths=(extra.changed_paths if live and extra.changed_paths is not None
                               else row.changed),
                violations=(extra.violations if live and extra.violations is not None
                            else row.violations),
                cost_usd=extra.cost_usd, waiting=reasons.get(task_id, ""), note=row.note,
                queue=(GATING if task_id in gating else QUEUED) if merging else "",
                gate=gating.get(task_id) if merging else row.gate,
            ))
        run = self.run
        return RunSnapshot(run_id=run.run_id, state=run.state, started_at=run.started,
                           ended_at=run.ended, slots=self.slots, tasks=tuple(views),
                           last_event=run.last, gates=tuple(run.gates.values()),
                           gated=run.gated)
