"""Gated runs by hand: a run's log with task gates, plan gates and bisections, written through
the real store at explicit times (``at``), in the order the calls are made."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from shoal.model import TaskState
from shoal.store import AttemptState, EventKind, RunState, Store

T0 = 1_700_000_000.0


def snapshot(tasks: Sequence[str], *, verify: Sequence[str] | None = ("make test",),
             phase_of: dict[str, str] | None = None) -> dict[str, Any]:
    phases = list(dict.fromkeys((phase_of or {}).values())) or ["main"]
    out: dict[str, Any] = {
        "name": "gated", "phases": [{"name": p, "parallel": True} for p in phases],
        "tasks": [{"id": t, "owns": [f"{t}.txt"], "phase": (phase_of or {}).get(t, phases[0])}
                  for t in tasks]}
    if verify is not None:
        out["verify"] = list(verify)
    return out


class Gated:
    """One run; every method writes its events at ``T0 + seconds``."""

    def __init__(self, store: Store, tasks: Sequence[str], *, run_id: str = "gated",
                 policy: str | None = "batch", verify: Sequence[str] | None = ("make test",),
                 phase_of: dict[str, str] | None = None, slots: int = 4,
                 repo: str = "/nowhere") -> None:
        self.store, self.run_id = store, run_id
        options: dict[str, Any] = {"max_parallel": slots}
        if policy is not None:
            options["verify_policy"] = policy
        store.create_run(repo=repo, plan_snapshot=snapshot(tasks, verify=verify,
                                                                 phase_of=phase_of),
                         task_ids=list(tasks), options=options, run_id=run_id, at=T0)
        self._gates = itertools.count(1)

    def start(self, task: str, at: float) -> None:
        self.store.start_attempt(self.run_id, task, at=T0 + at)

    def finish(self, task: str, at: float, *, attempt: int = 1, ok: bool = True) -> None:
        self.store.finish_attempt(self.run_id, task, attempt,
                                  AttemptState.SUCCEEDED if ok else AttemptState.FAILED,
                                  task_state=None if ok else TaskState.FAILED, at=T0 + at)

    def queue(self, task: str, at: float) -> None:
        self.store.append_event(self.run_id, EventKind.MERGE_STARTED, task_id=task,
                                data={"head": "h" * 40}, at=T0 + at)

    def done(self, task: str, at: float) -> None:
        """The task's attempt succeeds and it joins the merge queue."""
        self.finish(task, at)
        self.queue(task, at)

    def ready(self, tasks: Sequence[str], start: float, at: float) -> None:
        """Every one of ``tasks`` starts at ``start``, succeeds and queues at ``at``."""
        for t in tasks:
            self.start(t, start)
        for t in tasks:
            self.done(t, at)

    def gate_start(self, tasks: Sequence[str], at: float, *, scope: str = "plan",
                   policy: str = "batch", bisect: bool = False, speculative: bool = False,
                   attempt: int | None = None) -> int:
        gate = next(self._gates)
        data: dict[str, Any] = {"gate": gate, "scope": scope, "tasks": list(tasks),
                                "policy": "task" if scope == "task" else policy,
                                "base": "b" * 40, "candidate": "c" * 40, "bisect": bisect,
                                "speculative": speculative}
        if attempt is not None:
            data["attempt"] = attempt
        self.store.append_event(self.run_id, EventKind.GATE_STARTED,
                                task_id=tasks[0] if scope == "task" else None, data=data,
                                at=T0 + at)
        return gate

    def gate_end(self, gate: int, tasks: Sequence[str], at: float, *, started: float,
                 ok: bool = True, scope: str = "plan", policy: str = "batch",
                 cancelled: bool = False) -> None:
        result = {"command": "make test", "exit_code": 0 if ok else 1, "timed_out": False,
                  "cancelled": cancelled, "duration_s": at - started,
                  "output_tail": "" if ok else "FAILED test_x"}
        self.store.append_event(self.run_id, EventKind.GATE_FINISHED,
                                task_id=tasks[0] if scope == "task" else None, data={
                                    "gate": gate, "scope": scope, "tasks": list(tasks),
                                    "policy": "task" if scope == "task" else policy, "ok": ok,
                                    "cancelled": cancelled, "duration_s": at - started,
                                    "results": [result]}, at=T0 + at)

    def gate(self, tasks: Sequence[str], start: float, end: float, *, ok: bool = True,
             **how: Any) -> int:
        """A whole gate run, started and finished before anything else is written."""
        scope, policy = how.get("scope", "plan"), how.get("policy", "batch")
        gate = self.gate_start(tasks, start, **how)
        self.gate_end(gate, tasks, end, started=start, ok=ok, scope=scope, policy=policy)
        return gate

    def merged(self, task: str, at: float) -> None:
        self.store.record_merge(self.run_id, task, task[0].ljust(40, "0"), at=T0 + at)

    def bisected(self, tasks: Sequence[str], culprits: Sequence[str], gate_runs: int,
                 landed: Sequence[str], at: float) -> None:
        self.store.append_event(self.run_id, EventKind.GATE_BISECTED, data={
            "tasks": list(tasks), "culprits": list(culprits), "gate_runs": gate_runs,
            "landed": list(landed)}, at=T0 + at)

    def fail(self, task: str, at: float, reason: str) -> None:
        self.store.set_task_state(self.run_id, task, TaskState.FAILED, reason=reason,
                                  kind=EventKind.VERIFY_FAILED, at=T0 + at)

    def end(self, at: float, state: RunState = RunState.SUCCEEDED) -> None:
        self.store.set_run_state(self.run_id, state, at=T0 + at)


def one_task(store: Store, **options: Any) -> Gated:
    """a: a 1 s attempt (0-1), 5 s in the queue (1-6), a 2 s plan gate (6-8), merged at 8."""
    run = Gated(store, ["a"], **options)
    run.ready("a", 0, 1)
    run.gate(["a"], 6, 8)
    run.merged("a", 8)
    run.end(9)
    return run


def batch_with_culprit(store: Store, **options: Any) -> Gated:
    """a, b, c end their attempts at 0.5, 1.5 and 2.5, pass their own gates (0.5 s each) and
    queue; the batch [a, b, c] fails (4-6); bisection: [a] passes (6-7), [b, c] fails (7-8),
    [b] passes (8-9), so c is the culprit; a and b land, c fails."""
    run = Gated(store, ["a", "b", "c"], **options)
    for t in "abc":
        run.start(t, 0)
    for i, t in enumerate("abc", 1):
        run.finish(t, i - 0.5)
        run.gate([t], i - 0.5, i, scope="task", attempt=1)
        run.queue(t, i)
    run.gate(["a", "b", "c"], 4, 6, ok=False)
    run.gate(["a"], 6, 7, bisect=True)
    run.gate(["b", "c"], 7, 8, ok=False, bisect=True)
    run.gate(["b"], 8, 9, bisect=True)
    run.bisected(["a", "b", "c"], ["c"], 3, ["a", "b"], 9)
    run.merged("a", 9)
    run.merged("b", 9)
    run.fail("c", 9, "the plan gate fails with it: FAILED test_x")
    run.end(10, RunState.FAILED)
    return run
