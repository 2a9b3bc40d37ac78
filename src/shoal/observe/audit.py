"""`shoal audit`: replay a run's append-only event log and prove it kept the plan's rules.

The tasks table says where a run ended; only the log says what ran beside what. Each
``task_started`` is checked against what the log shows at that moment (see
:mod:`shoal.observe.timeline` for the spans): its dependencies merged, earlier phases (and
waves, for the waves strategy) finished, no conflicting task, second RED task, CRITICAL task
or serial-phase task busy, no more workers than slots. At the end: every task terminal (for a
finished run), every merged task's changed paths inside its boundary, every task merged at
most once, every merge covered by a passing plan gate under the run's ``verify_policy``, and
the groups the plan allowed to overlap really overlapped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..engine.boundary import check_changes
from ..gitparse import Change
from ..model import RiskTier, Strategy, TaskId, TaskState
from ..store import Store, iso
from .database import open_store, pick_run
from .facts import PlanFacts, plan_facts
from .gates import plan_gates
from .metrics import max_concurrent
from .timeline import Span, Timeline, is_terminal, replay


class BreachKind(str, Enum):
    DEPENDENCY = "started_before_dependency"  # a dependency was not merged yet
    PHASE_ORDER = "phase_order"  # a task of an earlier phase had not finished
    WAVE_ORDER = "wave_order"  # waves strategy: a task of an earlier wave had not finished
    CONFLICT = "conflicting_overlap"  # two tasks owning overlapping paths were busy together
    RED = "red_together"  # two RED tasks were busy together
    CRITICAL = "critical_not_alone"  # something was busy beside a CRITICAL task
    SERIAL_PHASE = "serial_phase_overlap"  # two tasks busy together while one is in a serial phase
    MAX_PARALLEL = "max_parallel_exceeded"  # more workers than slots (1 after a fallback)
    NOT_TERMINAL = "not_terminal"  # a finished run left a task pending or running
    OUTSIDE_OWNED = "outside_owned"  # a merged task changed a path outside its boundary
    MERGED_TWICE = "merged_twice"
    UNGATED_MERGE = "ungated_merge"  # a merge no passing plan gate covered under the policy
    SERIAL_EXECUTION = "parallel_executed_serially"  # seed 003: claimed parallel, ran serially
    LOG = "log_inconsistent"  # events that cannot follow each other
    UNVERIFIABLE = "unverifiable"  # the plan's rules cannot be known


@dataclass(frozen=True)
class Breach:
    kind: BreachKind
    tasks: tuple[str, ...]
    time: float | None  # ts of the event where it shows
    message: str
    seq: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "tasks": list(self.tasks), "time": self.time,
                "at": iso(self.time), "seq": self.seq, "message": self.message}


@dataclass(frozen=True)
class Note:
    """Something the audit saw that is allowed but worth saying (a violation `warn` merged)."""

    kind: str
    tasks: tuple[str, ...]
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "tasks": list(self.tasks), "message": self.message}


@dataclass(frozen=True)
class ParallelGroup:
    """A wave of the plan: tasks it allowed to run at once, and whether they did."""

    wave: int
    tasks: tuple[str, ...]
    ran: tuple[str, ...]  # those with at least one attempt
    max_together: int  # most of them running at one moment
    exempt: str | None = None  # why not overlapping proves nothing here

    @property
    def overlapped(self) -> bool:
        return self.max_together >= 2

    def to_json(self) -> dict[str, Any]:
        return {"wave": self.wave, "tasks": list(self.tasks), "ran": list(self.ran),
                "overlapped": self.overlapped, "max_together": self.max_together,
                "exempt": self.exempt}


@dataclass(frozen=True)
class AuditReport:
    run_id: str
    run_state: str | None
    strategy: str
    slots: int | None
    rules: str | None  # where the plan's rules came from: "snapshot" or the plan file
    events: int
    starts: int
    breaches: tuple[Breach, ...]
    notes: tuple[Note, ...] = ()
    groups: tuple[ParallelGroup, ...] = field(default=())
    max_concurrent: int = 0

    @property
    def ok(self) -> bool:
        return not self.breaches

    @property
    def really_parallel(self) -> bool | None:
        """Whether two tasks ever ran at once; None when the plan allowed no overlap."""
        if not any(g.exempt is None for g in self.groups):
            return None
        return self.max_concurrent >= 2

    def kinds(self) -> list[str]:
        return [b.kind.value for b in self.breaches]

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "ok": self.ok, "run_state": self.run_state,
            "strategy": self.strategy, "slots": self.slots, "rules": self.rules,
            "events": self.events, "starts": self.starts,
            "max_concurrent": self.max_concurrent, "really_parallel": self.really_parallel,
            "breaches": [b.to_json() for b in self.breaches],
            "notes": [n.to_json() for n in self.notes],
            "parallel": [g.to_json() for g in self.groups],
        }


def audit_run(store: Store, run_id: str) -> AuditReport:
    """Audit run ``run_id`` from its event log (raises ``UnknownRunError``)."""
    with store.snapshot():
        record = store.get_run(run_id)
        timeline = replay(store.events(run_id), run_id)
    facts, why = plan_facts(record)
    strategy = str(record.options.get("strategy") or Strategy.DYNAMIC.value)
    policy = record.options.get("verify_policy")
    return audit_timeline(timeline, facts, why, strategy=strategy,
                          verify_policy=str(policy) if policy else None)


def audit_repo(repo: str | os.PathLike[str] | None = None, run_id: str | None = None) -> AuditReport:
    """Audit a run of the repository at ``repo`` (the latest run by default)."""
    with open_store(repo) as (_, store):
        return audit_run(store, pick_run(store, run_id).id)


def audit_timeline(timeline: Timeline, facts: PlanFacts | None, why: str | None = None, *,
                   strategy: str = "dynamic", verify_policy: str | None = None) -> AuditReport:
    """:func:`audit_run` on an already replayed log and known rules (no database needed).
    ``verify_policy``: the run's recorded option; None for a run made before it was recorded."""
    out = _Audit(timeline, facts, strategy, verify_policy)
    if facts is None:
        out.breach(BreachKind.UNVERIFIABLE, (), None,
                   f"the plan's rules cannot be checked: {why or 'unknown plan'}")
    elif facts.source != "snapshot" and set(facts.plan.ids) != set(timeline.tasks):
        out.breach(BreachKind.UNVERIFIABLE, (), None,
                   f"the plan file {facts.source} no longer has the run's tasks "
                   f"(changed since the run?); its rules cannot be trusted for this run")
        facts = out.facts = None
    for odd in timeline.oddities:
        out.breach(BreachKind.LOG, (odd.task_id,) if odd.task_id else (), odd.ts, odd.message,
                   odd.seq)
    out.sweep()
    out.check_end()
    out.check_gates()
    groups = out.check_groups()
    return AuditReport(
        run_id=timeline.run_id, run_state=timeline.run_state, strategy=strategy,
        slots=facts.slots if facts else None, rules=facts.source if facts else None,
        events=len(timeline.events), starts=len(timeline.attempts),
        breaches=tuple(sorted(out.breaches, key=lambda b: (b.seq is None, b.seq or 0))),
        notes=tuple(out.notes), groups=groups, max_concurrent=max_concurrent(timeline.attempts),
    )


class _Audit:
    def __init__(self, timeline: Timeline, facts: PlanFacts | None, strategy: str,
                 verify_policy: str | None = None) -> None:
        self.tl = timeline
        self.facts = facts
        self.strategy = strategy
        self.verify_policy = verify_policy
        self.breaches: list[Breach] = []
        self.notes: list[Note] = []
        self._waves: list[frozenset[str]] | None = None

    def breach(self, kind: BreachKind, tasks: Iterable[str], ts: float | None, message: str,
               seq: int | None = None) -> None:
        self.breaches.append(Breach(kind, tuple(tasks), ts, message, seq))

    # -- at each start -------------------------------------------------------------------
    def sweep(self) -> None:
        """Walk the log once, keeping what is busy, working and unfinished at each moment, and
        check every start against it (linear in the log, not in starts x spans)."""
        tl, facts = self.tl, self.facts
        busy_from, busy_to = _by_seq(tl.busy)
        work_from, work_to = _by_seq(tl.attempts)
        changes: dict[int, list[tuple[str, str]]] = {}
        for task, history in tl.states.items():
            for seq, value in history:
                changes.setdefault(seq, []).append((task, value))
        groups: dict[str, list[set[str]]] = {"phase": [], "wave": []}
        where: dict[str, list[tuple[str, int]]] = {}
        if facts is not None:
            graph = facts.graph
            groups["phase"] = [set(tasks) for tasks in graph.phase_tasks]
            groups["wave"] = [set(w) for w in self._wave_sets()]
            for name, sets in groups.items():
                for i, tasks in enumerate(sets):
                    for t in tasks:
                        where.setdefault(t, []).append((name, i))
        state: dict[str, str] = {}
        busy: dict[tuple[str, int], Span] = {}
        working: dict[tuple[str, int], Span] = {}
        for seq in sorted({*busy_from, *busy_to, *work_from, *work_to, *changes}):
            for span in work_from.get(seq, ()):
                self.check_start(span, busy.values(), working.values(), state, groups)
            for table, ending, starting in ((busy, busy_to, busy_from),
                                            (working, work_to, work_from)):
                for span in ending.get(seq, ()):
                    table.pop((span.task_id, span.start_seq), None)
                for span in starting.get(seq, ()):
                    if span.end_seq != seq:
                        table[(span.task_id, span.start_seq)] = span
            for task, value in changes.get(seq, ()):
                state[task] = value
                for name, i in where.get(task, ()):
                    (groups[name][i].discard if is_terminal(value) else groups[name][i].add)(task)

    def check_start(self, span: Span, busy_now: Iterable[Span], working_now: Iterable[Span],
                    state: dict[str, str], unfinished: dict[str, list[set[str]]]) -> None:
        facts, t, seq, ts = self.facts, TaskId(span.task_id), span.start_seq, span.start
        if facts is None:
            return
        graph = facts.graph
        if t not in graph:
            self.breach(BreachKind.LOG, (t,), ts, f"task {t} started but is not in the plan", seq)
            return
        busy = [b for b in busy_now if b.task_id != t]
        working = [a for a in working_now if a.task_id != t]
        for d in sorted(graph.deps[t]):
            if state.get(d) != TaskState.SUCCEEDED.value:
                self.breach(BreachKind.DEPENDENCY, (t, d), ts,
                            f"{t} started (attempt {span.attempt}) before its dependency {d} "
                            f"was merged ({d} was {state.get(d) or 'not added'})", seq)
        phase = graph.phase_of[t]
        early = [u for k in range(phase) for u in sorted(unfinished["phase"][k])]
        if early:
            self.breach(BreachKind.PHASE_ORDER, (t, *early), ts,
                        f"{t} (phase {graph.phase_names[phase]}) started while "
                        f"{_names(early)} of an earlier phase had not finished", seq)
        waves = unfinished["wave"]
        mine = next((i for i, w in enumerate(self._wave_sets()) if t in w), None)
        if mine is not None:
            open_ = [u for i in range(mine) for u in sorted(waves[i])]
            if open_:
                self.breach(BreachKind.WAVE_ORDER, (t, *open_), ts,
                            f"{t} (wave {mine + 1}) started while {_names(open_)} of an "
                            "earlier wave had not finished", seq)
        risk = graph.risk
        for b in busy:
            u = TaskId(b.task_id)
            if u in graph.conflicts.get(t, ()):
                self.breach(BreachKind.CONFLICT, (t, u), ts,
                            f"{t} started while {u} was running or merging; they own "
                            f"overlapping paths and may not overlap", seq)
            if risk[t] is RiskTier.RED and risk.get(u) is RiskTier.RED:
                self.breach(BreachKind.RED, (t, u), ts,
                            f"RED task {t} started beside RED task {u}", seq)
            if RiskTier.CRITICAL in (risk[t], risk.get(u)):
                crit, other = (t, u) if risk[t] is RiskTier.CRITICAL else (u, t)
                self.breach(BreachKind.CRITICAL, (crit, other), ts,
                            f"{other} was busy beside CRITICAL task {crit}, which must run alone",
                            seq)
            serial = [x for x in (t, u) if x in graph.phase_of
                      and graph.serial[graph.phase_of[x]]]
            if serial:
                name = graph.phase_names[graph.phase_of[serial[0]]]
                self.breach(BreachKind.SERIAL_PHASE, (t, u), ts,
                            f"{t} started while {u} was busy, inside serial phase {name} "
                            "(one task at a time)", seq)
        limit = 1 if self.tl.fallback_seq is not None and self.tl.fallback_seq < seq else (
            facts.slots)
        if len(working) + 1 > limit:
            why = "after falling back to one at a time" if limit == 1 and facts.slots > 1 else (
                f"max_parallel {limit}")
            self.breach(BreachKind.MAX_PARALLEL, (t, *sorted(a.task_id for a in working)), ts,
                        f"{t} started while {len(working)} other worker(s) ran: "
                        f"{len(working) + 1} at once, {why}", seq)

    def _wave_sets(self) -> list[frozenset[str]]:
        """The waves strategy's waves as sets (empty for the dynamic strategy)."""
        if self._waves is None:
            waves = (self.facts.waves() if self.facts is not None
                     and self.strategy == Strategy.WAVES.value else ())
            self._waves = [frozenset(w.tasks) for w in waves]
        return self._waves

    # -- at the end ----------------------------------------------------------------------
    def check_end(self) -> None:
        tl = self.tl
        end_ts = tl.ended_at
        if tl.finished:
            for t in tl.tasks:
                state = tl.final_state(t)
                if not is_terminal(state):
                    self.breach(BreachKind.NOT_TERMINAL, (t,), end_ts,
                                f"the run finished ({tl.run_state}) but task {t} is {state}")
        for t, merges in tl.merges.items():
            if len(merges) > 1:
                self.breach(BreachKind.MERGED_TWICE, (t,), merges[1][1],
                            f"task {t} was merged {len(merges)} times", merges[1][0])
            self._boundary(t, merges[0])

    def _boundary(self, t: str, merge: tuple[int, float]) -> None:
        facts = self.facts
        if facts is None or t not in facts.graph:
            return
        task = facts.plan.task(t)
        parallel = not facts.graph.serial[facts.graph.phase_of[TaskId(t)]]
        found = check_changes([Change("M", p) for p in self.tl.changes.get(t, ())], task,
                              shared_readonly=facts.plan.defaults.shared_readonly,
                              parallel_phase=parallel)
        allowed = {str(v.get("path")): str(v.get("policy") or facts.on_violation)
                   for v in self.tl.violations.get(t, ()) if isinstance(v, dict)}
        for v in found:
            policy = allowed.get(v.path)
            if policy in ("warn", "revert"):
                done = "reverted before the merge" if policy == "revert" else "merged anyway"
                self.notes.append(Note("violation_allowed", (t,),
                                       f"{v.detail}: {done} (--on-violation {policy})"))
            else:
                self.breach(BreachKind.OUTSIDE_OWNED, (t,), merge[1],
                            f"task {t} was merged with a path outside its boundary: {v.detail}"
                            + (" (the violation was recorded with policy fail)" if policy else
                               " (no violation was recorded)"), merge[0])

    def check_gates(self) -> None:
        """Every merge covered by a passing plan gate (``gate_finished``, ``ok``, the task in
        its ``tasks``): for ``each`` and ``batch`` before the merge; for ``phase`` before a task
        of a later phase starts (the sync point), else by the run's end; for ``end`` by the
        run's end. A run made before gates were logged has no policy and no gate events."""
        tl, facts = self.tl, self.facts
        runs = plan_gates(tl.gates)
        if facts is None or (self.verify_policy is None and not tl.gates):
            return
        policy = self.verify_policy or "each"  # what a run did before the policy was recorded
        for b in tl.bisections:
            self.notes.append(Note("gate_bisected", b.tasks, (
                f"the gate failed on batch {_names(b.tasks)}: bisected in {b.gate_runs} more "
                f"gate run(s), culprits {_names(b.culprits) or 'none'}"
                + (f", landed {_names(b.landed)}" if b.landed else ""))))
        if facts.verify == () or (facts.verify is None and not runs):
            return  # no plan gate to cover anything (or none known and none logged)
        passed = [(g, g.end_seq or 0) for g in runs if g.passed]  # a passed run has ended
        for t, merges in tl.merges.items():
            seq, ts = merges[0]
            if policy in ("each", "batch"):
                if not any(g.covers(t) and end < seq for g, end in passed):
                    self.breach(BreachKind.UNGATED_MERGE, (t,), ts,
                                f"task {t} was merged with no passing plan gate covering it "
                                f"before its merge (verify_policy {policy})", seq)
                continue
            deadline = self._next_phase_start(t, seq) if policy == "phase" else None
            if deadline is None and not tl.finished:
                continue  # the run's last gate may still come
            if not any(g.covers(t) and (deadline is None or end < deadline) for g, end in passed):
                when = ("before the next phase started" if deadline is not None
                        else "by the end of the run")
                self.breach(BreachKind.UNGATED_MERGE, (t,), ts,
                            f"task {t} was merged and no passing plan gate covered it {when} "
                            f"(verify_policy {policy})", deadline if deadline is not None else seq)

    def _next_phase_start(self, t: str, after: int) -> int | None:
        """The seq of the first start, after ``after``, of a task in a later phase than t's."""
        graph = self.facts.graph if self.facts is not None else None
        if graph is None or TaskId(t) not in graph:
            return None
        mine = graph.phase_of[TaskId(t)]
        later = [s.start_seq for s in self.tl.attempts if s.start_seq > after
                 and graph.phase_of.get(TaskId(s.task_id), -1) > mine]
        return min(later, default=None)

    def check_groups(self) -> tuple[ParallelGroup, ...]:
        """Seed 003's "parallel but executed serially": per wave of two or more tasks.

        The waves strategy starts every wave's tasks together, so each wave must overlap. The
        dynamic strategy may order tasks otherwise (it holds a task back for a more urgent one
        it conflicts with), with one exception: when a phase starts, its first wave is what it
        starts too, unless a task of that wave conflicts with another of the phase. Those waves
        must overlap; any other wave that did not is a note.
        """
        facts, tl = self.facts, self.tl
        if facts is None or facts.slots < 2:
            return ()
        graph = facts.graph
        waves = facts.waves()
        first_of_phase = {w.phase: w.wave_id for w in reversed(waves)}
        groups = []
        for wave in waves:
            if len(wave.tasks) < 2:
                continue
            spans = [s for t in wave.tasks for s in tl.attempts_of(t)]
            ran = tuple(t for t in wave.tasks if any(s.task_id == t for s in spans))
            exempt = None
            first = min((s.start_seq for s in spans), default=0)
            last = max((s.end_seq or 1 << 62 for s in spans), default=0)
            overlapped = max_concurrent(spans) >= 2  # it did run in parallel: judged, whatever came later
            if len(ran) < 2:
                exempt = "fewer than two of its tasks ran"
            elif not overlapped and tl.fallback_seq is not None and tl.fallback_seq < last:
                exempt = "the run fell back to one task at a time"
            elif not overlapped and any(first < i < last for i in tl.interrupts):
                exempt = "the run was interrupted while it ran"
            group = ParallelGroup(wave.wave_id, wave.tasks, ran, max_concurrent(spans), exempt)
            groups.append(group)
            if group.overlapped or exempt:
                continue
            message = (f"wave {wave.wave_id} ({_names(ran)}) was planned to run at once "
                       f"(max_parallel {facts.slots}) but its tasks ran one after another")
            phase = graph.phase_tasks[graph.phase_of[wave.tasks[0]]]
            binding = self.strategy == Strategy.WAVES.value or (
                first_of_phase.get(wave.phase) == wave.wave_id
                and not any(graph.conflicts[t] & phase for t in wave.tasks))
            if binding:
                self.breach(BreachKind.SERIAL_EXECUTION, ran, None, message, first)
            else:
                self.notes.append(Note("wave_not_overlapped", ran, message + " (the dynamic "
                                       "strategy may order these tasks otherwise)"))
        return tuple(groups)


def _by_seq(spans: Iterable[Span]) -> tuple[dict[int, list[Span]], dict[int, list[Span]]]:
    """Spans by the seq they start at, and by the seq they end at."""
    starting: dict[int, list[Span]] = {}
    ending: dict[int, list[Span]] = {}
    for span in spans:
        starting.setdefault(span.start_seq, []).append(span)
        if span.end_seq is not None:
            ending.setdefault(span.end_seq, []).append(span)
    return starting, ending


def _names(tasks: Iterable[str], limit: int = 4) -> str:
    items = list(tasks)
    head = ", ".join(items[:limit])
    return head + (f" and {len(items) - limit} more" if len(items) > limit else "")
