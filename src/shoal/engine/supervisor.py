"""The supervisor: one thread that owns all run state and drives the pure scheduler.

Workers and the merge queue run elsewhere and report back through one inbox; every state
change goes to the store (with its event) before anything else happens, so a crash at any
moment leaves a run that `shoal resume` can finish.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Any, cast

from .. import process
from ..agents import Agent, ErrorKind, get_agent
from ..git import Git
from ..model import Isolation, Strategy, TaskId, TaskState
from ..scheduler import PlanGraph, blocked_by_failure, next_tasks, plan_waves
from ..store import AttemptStart, AttemptState, Event, EventKind, RunRecord, RunState, TaskRecord
from . import naming
from .boundary import GIT_STATE, Violation, report_mismatch, revert_paths
from .context import RunContext
from .continuation import continuation
from .executor import Executor, LocalExecutor
from .inbox import Inbox
from .inline import InlineAttempts, interrupts_deferred
from .limits import MAX_RATE_LIMITS, Limits, reported_cost
from .merge import MergeQueue
from .messages import AttemptDone, MergeDone, Observer
from .options import ViolationPolicy
from .orphans import WorkerJournal
from .refguard import RefGuard
from .retries import Tally, WaveFallback
from .statusfiles import StatusWriter
from .worker import AttemptReport, AttemptSpec, run_attempt
from .workspace import Workspace, WorkspaceBackend, backend_for


class Supervisor:
    def __init__(self, ctx: RunContext, observer: Observer | None = None) -> None:
        self.ctx = ctx
        self.ignore_before = dict(ctx.resumed.ignore_attempts_before)
        self.merge_first = dict(ctx.resumed.merge_first)
        self.cut_off = dict(ctx.resumed.cut_off)  # popped as their first attempts start
        self.plan = ctx.plan
        self.store = ctx.store
        self.run_id = ctx.run_id
        self.observer = observer
        self.options = ctx.options
        self.isolation = self.options.isolation or self.plan.defaults.isolation
        slots = self.plan.effective_max_parallel(self.options.max_parallel)
        # Branch isolation is seed 002's pattern 2: one task at a time.
        self.slots = 1 if self.isolation is Isolation.BRANCH else slots
        self.graph = ctx.graph or PlanGraph.build(self.plan, ctx.conflicts)
        self.waves = (
            plan_waves(self.graph, self.slots) if self.options.strategy is Strategy.WAVES else None
        )
        self.inbox: Inbox[AttemptDone | MergeDone] = Inbox()
        self.inline = ctx.executor_factory is LocalExecutor and process.pidfds_work()
        self.cancel = threading.Event()
        self.halt = threading.Event()  # what workers watch: set on ^C and when the run stops
        self.run_error: str | None = None  # an agent error that stopped the run (Limits.run_stopping)
        self.states: dict[str, TaskState] = {}
        self.succeeded: set[str] = set()
        self.finished: set[str] = set()  # terminal states
        self.unreachable_stale = True  # a task ended without succeeding: look for tasks to skip
        self.executing: dict[str, AttemptSpec] = {}
        self.merging: set[str] = set()
        self.free_slots: list[int] = list(range(self.slots))
        self.tally = Tally()
        self.stopping = False  # --fail-fast: start nothing new
        self.fallback = WaveFallback(  # seed 001: a wave whose workers all failed
            (w.wave_id, w.tasks) for w in (self.waves or plan_waves(self.graph, self.slots)))
        self.sequential = False
        self.last_seq = 0
        self.final: tuple[RunRecord, list[TaskRecord]] | None = None  # the run as it ended
        self.agents: dict[str, Agent] = {}
        # the run's environment, as it was at its start
        self.base_env = {os.fsencode(k): os.fsencode(v) for k, v in process.clean_env().items()}
        # starts to make once the pass's store batch has committed
        self.deferred: list[Callable[[], None]] = []
        self.workspaces = self.options.workspaces(ctx.git.common_dir(), self.run_id)
        self.backend: WorkspaceBackend = backend_for(
            self.isolation, ctx.git, self.run_id,
            setup=self.plan.setup, copy=self.plan.copy, port_base=self.options.port_base,
            workspaces=self.workspaces, track_changes=self.options.track_changes)
        self.limits = Limits(budget_usd=self.options.budget_usd,
                             backoff_s=self.options.rate_limit_backoff)
        self.stop_reason = "not started: --fail-fast after a failure"
        self.merges = MergeQueue(ctx.git, self.run_id, ctx.integration_branch,
                                 verify=self.plan.defaults.verify, cancel=self.cancel,
                                 grace_s=self.options.grace)
        self.status = StatusWriter(ctx.run_dir, self.plan, self.store, self.run_id, git=ctx.git,
                                   integration_branch=ctx.integration_branch)
        self.journal = WorkerJournal(ctx.run_dir)  # every worker's process group: see engine.orphans
        self.guard = RefGuard(ctx.git, ctx.integration_branch, self.merges, self.workspaces)
        self.here = InlineAttempts(self.backend, self.halt, self.guard.with_refs_all)  # see engine.inline

    # -- the loop --------------------------------------------------------------------------
    def run(self) -> RunState:
        try:
            return self._run()
        finally:  # every worker is stopped and reaped by now
            self.journal.close()

    def _run(self) -> RunState:
        self._load_state()
        workers = self.ctx.executor_factory(self.slots)
        merger = self.ctx.executor_factory(1)
        messages: list[AttemptDone | MergeDone] = []
        try:
            with self.store.batch():
                for task_id, head in self.merge_first.items():
                    self._merge_again(task_id, head, merger)
            while True:
                # One transaction per pass: every report that is waiting, then the next starts.
                # With many short tasks that is one commit per batch instead of three per task.
                with self.store.batch():
                    for message in messages:
                        self._handle(message, merger)
                    if not self.stopping:
                        self._start_ready(workers)
                    self._skip_unreachable()
                self._submit_deferred()  # only what the store now holds may start
                self._publish()
                if not self.executing and not self.merging and not self._paused_work():
                    break
                messages = self._wait_for_messages()
        except BaseException:
            self.deferred.clear()
            self._interrupt(workers, merger)
            self.inbox.close()  # after the executors' shutdown: no thread can put any more
            raise
        workers.shutdown(wait=True)
        merger.shutdown(wait=True)
        self.inbox.close()
        return self._finish()

    def _wait_for_messages(self) -> list[AttemptDone | MergeDone]:
        """Every report waiting, after waiting up to half a second for the first; with the
        reports of the attempts this thread runs whose worker exited or had to be stopped."""
        if not self.here:
            return self.inbox.wait(0.5)[0]
        messages, ended = self.here.wait(self.inbox)
        return [*messages, *(AttemptDone(spec, outcome) for spec, outcome in ended)]

    def _later(self, executor: Executor, job: Callable[[], Any],
               on_done: Callable[[Any], None]) -> None:
        self.deferred.append(lambda: executor.submit(job, on_done))

    def _submit_deferred(self) -> None:
        starts, self.deferred = self.deferred, []
        with interrupts_deferred() if starts else nullcontext():  # started: on record before ^C
            for start in starts:
                start()

    def _begin_here(self, spec: AttemptSpec) -> None:
        if (outcome := self.here.begin(spec)) is not None:  # it did not start
            self.inbox.put(AttemptDone(spec, outcome))

    def _load_state(self) -> None:
        for task_id, state in self.store.task_states(self.run_id).items():
            self._set_state(task_id, TaskState(state))
        for attempt in self.store.attempts(self.run_id):
            earlier = self.ignore_before and (attempt.task_id not in self.ignore_before or
                                              attempt.number <= self.ignore_before[attempt.task_id])
            if not earlier:  # --retry-failed: the retry has a budget of its own
                self.limits.spend(reported_cost(attempt.result))
            self.tally.started(attempt.task_id, attempt.number, state=attempt.state,
                               counts=attempt.number > self.ignore_before.get(attempt.task_id, 0))
        if self.limits.budget is not None and self.limits.spent >= self.limits.budget:
            self._budget_spent()  # a resumed run whose budget was already spent

    def _set_state(self, task_id: str, state: TaskState) -> None:
        # The scheduler asks for these sets every pass: kept up to date here, not rebuilt.
        self.states[task_id] = state
        if state is TaskState.SUCCEEDED:
            self.succeeded.add(task_id)
        else:
            self.succeeded.discard(task_id)
        if state.terminal:
            self.finished.add(task_id)
            self.unreachable_stale = self.unreachable_stale or state is not TaskState.SUCCEEDED
        else:
            self.finished.discard(task_id)

    def _start_ready(self, workers: Executor) -> None:
        busy = set(self.executing) | self.merging
        succeeded, finished = self._ids()
        slots = 1 if self.sequential else self.slots
        # A task waiting for its merge holds no slot but still counts for conflicts: whatever
        # conflicts with it must start from its merged result.
        chosen = next_tasks(
            self.graph, running=cast("set[TaskId]", busy), succeeded=succeeded, finished=finished,
            max_parallel=slots + len(self.merging), strategy=self.options.strategy, waves=self.waves)
        paused = self.limits.paused()
        specs: list[AttemptSpec] = []
        for task_id in chosen:
            if len(self.executing) + len(specs) >= slots:
                break
            if paused and self._agent_name(task_id) in paused:
                continue  # its agent is rate-limited: the run waits instead of burning retries
            specs.append(self._spec(task_id))
        if specs:
            self._start(specs, workers)

    def _start(self, specs: list[AttemptSpec], workers: Executor) -> None:
        recorded = self.store.start_attempts(self.run_id, [AttemptStart(
            spec.task.id, timeout_s=spec.timeout_s, log_path=str(spec.log_path),
            branch=ws.branch if (ws := spec.continued and spec.continued.workspace)
            else naming.task_branch(self.run_id, spec.task.id, spec.attempt),
            workspace=str(ws.path if ws else self.backend.path_for(spec.task.id, spec.attempt)),
            base_commit=spec.start_commit, slot=spec.slot) for spec in specs])
        assert recorded == [spec.attempt for spec in specs], recorded
        for spec in specs:
            task_id = spec.task.id
            self.tally.started(task_id, spec.attempt)
            self._set_state(task_id, TaskState.RUNNING)
            self.executing[task_id] = spec
            self.fallback.started(task_id)
            if self.inline and self.backend.inline_ok:
                self.deferred.append(functools.partial(self._begin_here, spec))
            else:
                self._later(workers, functools.partial(self._attempt, spec),
                            functools.partial(self._attempt_ended, spec))

    def _ids(self) -> tuple[set[TaskId], set[TaskId]]:  # the store's ids are the plan's TaskIds
        return cast("tuple[set[TaskId], set[TaskId]]", (self.succeeded, self.finished))

    def _attempt_ended(self, spec: AttemptSpec, report: AttemptReport | BaseException) -> None:
        self.inbox.put(AttemptDone(spec, report))

    def _spec(self, task_id: str) -> AttemptSpec:
        """The next attempt of `task_id`, on the next free slot."""
        task = self.plan.task(task_id)
        number = self.tally.next_attempt(task_id)
        slot = self.free_slots.pop(0)
        timeout = self.tally.timeout_for(task_id, task.timeout or self.plan.defaults.timeout)
        attempt_dir = naming.attempt_dir(self.ctx.git.common_dir(), self.run_id, task_id, number)
        # The merge queue set the head before reporting the merges this task waits for; asking
        # git per task would cost a process on the supervisor's thread.
        start_commit = self.merges.head or self.ctx.git.resolve_commit(self.ctx.integration_branch)
        cut = self.cut_off.pop(task_id, None)  # only the first attempt after a resume goes on
        continued = cut and continuation(cut, self._agent(task_id), task=task, run_id=self.run_id,
                                         enabled=self.options.continue_sessions,
                                         isolation=self.isolation)
        if continued:
            start_commit = continued.workspace.base_commit
            self.store.append_event(self.run_id, "note", task_id=task_id,
                                    data={"message": continued.note})
        return AttemptSpec(
            run_id=self.run_id, plan=self.plan, task=task, attempt=number, slot=slot,
            timeout_s=timeout, start_commit=start_commit, prompt=functools.partial(self.ctx.prompts, task_id),
            agent=self._agent(task_id), agent_options={},  # settings are per agent, not per task
            attempt_dir=attempt_dir, log_path=attempt_dir / "output.log",
            env={"SHOAL_RUN_ID": self.run_id,
                 "SHOAL_PORT_BASE": str(naming.ports_for(self.options.port_base, slot))},
            base_env=self.base_env,
            grace_s=self.options.grace, max_output_bytes=self.options.max_output_bytes,
            parallel_phase=self.plan.phase(task.phase).parallel,
            idle_timeout_s=self.options.idle_timeout, result_grace_s=self.options.result_grace,
            journal=self.journal, continued=continued or None)

    def _attempt(self, spec: AttemptSpec) -> AttemptReport:
        """One attempt, on a worker thread."""
        return self.guard.with_refs(run_attempt(spec, self.backend, self.halt))

    def _agent_name(self, task_id: str) -> str:
        return self.options.agent or self.plan.task(task_id).agent or self.plan.defaults.agent

    def _agent(self, task_id: str) -> Agent:
        name = self._agent_name(task_id)
        if name not in self.agents:
            self.agents[name] = get_agent(name, self.options.agent_settings.get(name))
        return self.agents[name]

    # -- messages ----------------------------------------------------------------------------
    def _handle(self, message: AttemptDone | MergeDone, merger: Executor) -> None:
        if isinstance(message, MergeDone):
            self._merged(message)
            return
        spec = message.spec
        self.executing.pop(spec.task.id, None)
        self.free_slots.append(spec.slot)
        self.free_slots.sort()
        report = message.report
        if isinstance(report, BaseException):
            self._attempt_failed(spec, AttemptState.CRASHED, f"internal error: {report!r}", None)
            return
        if report.cancelled:
            self._note_outcome(spec.task.id, None)
            if not self.cancel.is_set():  # stopped because the run stops, not by ^C
                self._stopped_with_run(report)
            return
        if self.limits.spend(report.result.cost_usd):
            self._budget_spent()
        if stop := self.limits.run_stopping(self._agent_name(spec.task.id), report.result):
            self._stop_run(*stop)
        git_state = (*self.guard.changes(report),
                     *(v for v in report.violations if v.kind == GIT_STATE))
        limited = report.result.error is ErrorKind.RATE_LIMITED and not report.flooded
        if not limited:
            self.limits.went_through(spec.task.id)
        if git_state:
            self._git_state_changed(report, git_state)
        elif limited:
            self._rate_limited(report)
        elif report.result.ok and not report.flooded:
            self._attempt_succeeded(report, merger)
        else:
            state, reason = report.failure()
            self._attempt_failed(spec, state, reason, report)
            self._release(report.workspace)

    def _attempt_succeeded(self, report: AttemptReport, merger: Executor) -> None:
        spec, task_id = report.spec, report.task_id
        self._note_outcome(task_id, ok=True)
        head = report.head
        if report.changes:
            self.store.record_changed_paths(self.run_id, task_id, report.changed_paths, head_commit=head)
        worker = report.result.report
        if worker is not None and (report.changes or head is not None) and (mismatch := report_mismatch(
                (*worker.files_modified, *worker.files_created), report.changed_paths)):
            self.store.append_event(self.run_id, EventKind.REPORT_MISMATCH, task_id=task_id,
                                    data=mismatch)
        if report.violations:
            self.store.record_violations(
                self.run_id, task_id,
                [{"path": v.path, "kind": v.kind, "detail": v.detail,
                  "policy": self.options.on_violation.value} for v in report.violations],
            )
            if self.options.on_violation is ViolationPolicy.FAIL:
                paths = ", ".join(v.path for v in report.violations[:10])
                self.store.finish_attempt(
                    self.run_id, task_id, spec.attempt, AttemptState.FAILED,
                    exit_code=report.exit_code, result=report.result.to_json(),
                    error="boundary violation", task_state=TaskState.FAILED,
                    reason=f"boundary violation: changed {paths} outside its owned paths; "
                    f"its work is kept on branch {report.workspace.branch if report.workspace else '?'}",
                )
                self._terminal(task_id, TaskState.FAILED)
                self._release(report.workspace)
                return
            if self.options.on_violation is ViolationPolicy.REVERT and report.workspace:
                head = revert_paths(Git(report.workspace.path), report.workspace, report.violations)
        unmerged = head is None  # isolation none: nothing to merge per task
        self.store.finish_attempt(
            self.run_id, task_id, spec.attempt, AttemptState.SUCCEEDED,
            exit_code=report.exit_code, result=report.result.to_json(),
            task_state=TaskState.SUCCEEDED if unmerged else None,
            reason="no per-task merge in this isolation mode" if unmerged else None,
        )
        if head is None:
            self._terminal(task_id, TaskState.SUCCEEDED)
            self._discard(report.workspace)
            return
        self.merging.add(task_id)
        self.store.append_event(self.run_id, "merge_started", task_id=task_id, data={"head": head})
        task = spec.task
        self._later(merger, lambda: self.merges.merge(task, head),
                    lambda o: self.inbox.put(MergeDone(task_id, o, report.workspace)))

    def _merge_again(self, task_id: str, head: str, merger: Executor) -> None:
        """Resume: the worker had finished and its work is committed at `head`, but the merge
        was cut off. Queue the merge again; running the worker again would pay for it twice."""
        record = next(t for t in self.store.tasks(self.run_id) if t.task_id == task_id)
        ws = Workspace(task_id, record.attempts, Path(record.workspace), record.branch,
                       record.base_commit or head, self.isolation, self.run_id) \
            if record.workspace else None
        self._set_state(task_id, TaskState.RUNNING)
        self.merging.add(task_id)
        self.store.append_event(self.run_id, "merge_started", task_id=task_id,
                                data={"head": head, "resumed": True})
        task = self.plan.task(task_id)
        self._later(merger, lambda: self.merges.merge(task, head),
                    lambda o: self.inbox.put(MergeDone(task_id, o, ws)))

    def _paused_work(self) -> bool:
        """Whether tasks wait only for a rate-limit pause to end (the run must not end then)."""
        paused = set() if self.stopping else self.limits.paused()
        return bool(paused) and any(s is TaskState.PENDING and self._agent_name(t) in paused
                                    for t, s in self.states.items())

    def _budget_spent(self) -> None:
        if self.stopping:
            return
        budget, spent = self.limits.budget or 0.0, self.limits.spent
        self.stopping = True
        self.stop_reason = f"not started: the run's budget of ${budget:.2f} was spent (${spent:.2f})"
        self.store.append_event(self.run_id, EventKind.BUDGET_REACHED, data={
            "budget_usd": budget, "spent_usd": round(spent, 6),
            "message": f"${spent:.2f} of ${budget:.2f} spent: starting nothing new"})

    def _stop_run(self, message: str, hint: str) -> None:
        """An agent error no retry cures (`Limits.run_stopping`): one run error, nothing new
        starts, the running workers are stopped, what never started is cancelled."""
        self.stopping = True
        self.run_error = message
        self.stop_reason = f"not started: {message}"
        self.store.append_event(self.run_id, EventKind.RUN_STOPPED,
                                data={"message": message, "hint": hint})
        self.halt.set()

    def _stopped_with_run(self, report: AttemptReport) -> None:
        reason = f"stopped: {self.run_error or 'the run stopped'}"
        self.store.finish_attempt(
            self.run_id, report.task_id, report.spec.attempt, AttemptState.INTERRUPTED,
            exit_code=report.exit_code, result=report.result.to_json(), error=reason,
            task_state=TaskState.CANCELLED, reason=reason)
        self._terminal(report.task_id, TaskState.CANCELLED)
        self._release(report.workspace)

    def _rate_limited(self, report: AttemptReport) -> None:
        """The attempt does not count against the task; the agent's new starts pause so the run
        stops hammering it (see `Limits`). Too many in a row fail the attempt after all."""
        spec, task_id = report.spec, report.task_id
        agent = self._agent_name(task_id)
        pause = self.limits.rate_limited(task_id, agent)
        if pause is None:
            self._attempt_failed(spec, AttemptState.FAILED, f"rate limited {MAX_RATE_LIMITS + 1} "
                                 f"times in a row: {report.result.summary}", report)
            self._release(report.workspace)
            return
        self._note_outcome(task_id, None)
        said = report.result.summary
        reason = (f"rate limited: the {agent} agent pauses {pause:g}s, then the task runs again"
                  f" ({said if len(said) <= 160 else said[:159] + '…'})")
        self.store.finish_attempt(
            self.run_id, task_id, spec.attempt, AttemptState.RATE_LIMITED,
            exit_code=report.exit_code, result=report.result.to_json(), error="rate limited",
            task_state=TaskState.PENDING, reason=reason)
        self.store.append_event(self.run_id, EventKind.RATE_LIMITED, task_id=task_id, data={
            "agent": agent, "pause_s": pause, "in_a_row": self.limits.in_a_row[task_id],
            "message": reason})
        self._set_state(task_id, TaskState.PENDING)
        self._release(report.workspace)

    def _merged(self, message: MergeDone) -> None:
        task_id, outcome, ws = message.task_id, message.outcome, message.workspace
        self.merging.discard(task_id)
        if isinstance(outcome, BaseException):
            self._task_failed(task_id, f"merge failed: {outcome}", "merge_failed")
            self._release(ws)
            return
        verify = [v.to_json() for v in outcome.verify]
        if outcome.state == "merged":
            assert outcome.commit is not None, "a merge names its commit"
            self.store.record_merge(self.run_id, task_id, outcome.commit, verify={"gates": verify})
            self._terminal(task_id, TaskState.SUCCEEDED)
            self._discard(ws)
        elif outcome.state == "no-changes":
            self.store.set_task_state(self.run_id, task_id, TaskState.SUCCEEDED,
                                      reason="no changes to merge")
            self._terminal(task_id, TaskState.SUCCEEDED)
            self._discard(ws)
        elif outcome.state == "cancelled":
            pass  # the run is being interrupted: the task goes back to pending for `shoal resume`
        else:
            kind = "verify_failed" if outcome.state == "verify-failed" else "merge_failed"
            self._task_failed(task_id, outcome.message, kind,
                              {"conflicts": list(outcome.conflicts), "verify": verify})
            self._release(ws)

    def _attempt_failed(
        self, spec: AttemptSpec, state: AttemptState, reason: str, report: AttemptReport | None
    ) -> None:
        task_id = spec.task.id
        result, task = report.result if report else None, spec.task
        verdict = self.tally.failed(
            task_id, timed_out=state is AttemptState.TIMEOUT, timeout_s=spec.timeout_s,
            result=result, stops_run=result is not None and self.limits.stops_run(result),
            retries=task.retries if task.retries is not None else self.plan.defaults.retries,
            reason=reason)
        retry, final, reason = verdict.retry, verdict.final, verdict.reason
        self._note_outcome(task_id, ok=False)
        self.store.finish_attempt(
            self.run_id, task_id, spec.attempt, state,
            exit_code=report.exit_code if report else None,
            result=result.to_json() if result else None, error=reason,
            task_state=TaskState.PENDING if retry else final, reason=reason,
        )
        if retry:
            self._set_state(task_id, TaskState.PENDING)
        else:
            self._terminal(task_id, final)

    def _task_failed(self, task_id: str, reason: str, kind: str, data: dict[str, Any] | None = None) -> None:
        self.store.set_task_state(self.run_id, task_id, TaskState.FAILED, reason=reason,
                                  kind=kind, data=data)
        self._terminal(task_id, TaskState.FAILED)

    def _terminal(self, task_id: str, state: TaskState) -> None:
        self._set_state(task_id, state)
        if state is not TaskState.SUCCEEDED and self.options.fail_fast and not self.stopping:
            self.stopping = True
            self.store.append_event(self.run_id, "fail_fast", task_id=task_id,
                                    data={"message": f"{task_id} did not succeed: starting nothing new"})

    def _note_outcome(self, task_id: str, ok: bool | None) -> None:
        wave = self.fallback.ended(task_id, ok)
        if wave and not self.sequential and self.slots > 1:
            self.sequential = True
            self.store.append_event(
                self.run_id, "fallback_sequential", data={"wave": wave[0], "message": (
                    f"every task of wave {wave[0]} ({', '.join(wave[1])}) failed in parallel: "
                    "running the remaining tasks one at a time")})

    def _skip_unreachable(self) -> None:
        if not self.unreachable_stale:  # nothing ended without succeeding since the last look
            return
        self.unreachable_stale = False
        succeeded, finished = self._ids()
        blocked_tasks = blocked_by_failure(self.graph, succeeded=succeeded, finished=finished)
        for task_id, blocked in blocked_tasks.items():
            if task_id in self.executing or task_id in self.merging:
                continue
            self.store.set_task_state(self.run_id, task_id, TaskState.SKIPPED, reason=blocked.reason)
            self._set_state(task_id, TaskState.SKIPPED)

    def _release(self, ws: Workspace | None) -> None:
        """An attempt that will not merge gives its workspace back. A worktree of its own stays
        for inspection (``shoal cleanup`` removes it); the shared workspaces of isolation branch,
        directory and none must be freed, or the next task (or this one's retry) cannot start
        there and finds this attempt's files."""
        if self.isolation is not Isolation.WORKTREE:
            self._discard(ws)

    def _git_state_changed(self, report: AttemptReport, violations: tuple[Violation, ...]) -> None:
        spec, task_id = report.spec, report.task_id
        self.store.record_violations(
            self.run_id, task_id,
            [{"path": v.path, "kind": v.kind, "detail": v.detail, "policy": "fail"}
             for v in violations],
        )
        details = "; ".join(v.detail for v in violations[:5])
        self.store.finish_attempt(
            self.run_id, task_id, spec.attempt, AttemptState.FAILED,
            exit_code=report.exit_code, result=report.result.to_json(),
            error="changed git state", task_state=TaskState.FAILED,
            reason=f"changed git state a worker may not touch: {details}",
        )
        self._note_outcome(task_id, ok=False)
        self._terminal(task_id, TaskState.FAILED)
        self._release(report.workspace)

    def _discard(self, ws: Workspace | None) -> None:
        if ws is not None:
            try:
                self.backend.discard(ws)
            except Exception:  # noqa: BLE001 - a leftover workspace is for `shoal cleanup`
                pass

    def _publish(self, force: bool = False, *, files: bool = True) -> None:
        if self.observer:  # nobody to tell: reading the log back would be wasted
            events = list(self.store.events(self.run_id, after_seq=self.last_seq))
            if events:
                self.last_seq = events[-1].seq
                self.observer(events)
        if files:
            self.status.write(force=force)

    # -- endings -----------------------------------------------------------------------------
    def _finish(self) -> RunState:
        if self.stopping:
            for task_id, state in list(self.states.items()):
                if not state.terminal:
                    self.store.set_task_state(self.run_id, task_id, TaskState.CANCELLED,
                                              reason=self.stop_reason)
                    self._set_state(task_id, TaskState.CANCELLED)
        if self.isolation is Isolation.NONE:
            commit = self.backend.commit_shared(self.run_id)
            if commit:
                self.ctx.git.update_ref(f"refs/heads/{self.ctx.integration_branch}", commit)
        ok = all(s is TaskState.SUCCEEDED for s in self.states.values())
        run_state = RunState.SUCCEEDED if ok else RunState.FAILED
        self.store.set_run_state(self.run_id, run_state, reason=self.run_error)
        self._publish(files=False)
        self.final = self.status.finish()  # the final files, once
        return run_state

    def _interrupt(self, workers: Executor, merger: Executor) -> None:
        """Ctrl-C or a crash of the loop: stop every worker, keep what merged, stay resumable."""
        self.cancel.set()
        self.halt.set()
        self.here.stop_all(self.options.grace)
        workers.shutdown(wait=True)
        merger.shutdown(wait=True)
        for message in self.inbox.drain():
            if isinstance(message, MergeDone):
                self._merged(message)
        self.store.interrupt_run(self.run_id, reason="interrupted; `shoal resume` finishes it",
                                 at=time.time())
        self._publish(force=True)
