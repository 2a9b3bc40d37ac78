"""One attempt of one task, start to end: workspace, agent process, result, boundary check.

Runs on an executor thread. It reports what happened and never decides what happens next:
retries, merges and state belong to the supervisor.
"""

from __future__ import annotations

import os
import threading
import time
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import process
from ..agents import (
    Agent, AgentRequest, AgentResult, AgentSetupError, BaseAgent, ErrorKind, ProcessOutcome,
    StructuredResult,
)
from ..agents.result import unproven
from ..errors import ShoalError
from ..gitparse import Change
from ..model import Plan, Task
from ..store import AttemptState
from .boundary import MARKER_FILES, Violation, check_changes
from .continuation import Continued
from .options import DEFAULTS
from .orphans import WorkerJournal
from .workspace import GitStateChanged, Workspace, WorkspaceBackend

POLL_S = 0.2  # how often a waiting worker looks at cancel, flood and timeout
STDIN_FILE = "stdin"  # in the attempt folder: what the agent asked to get on its stdin


@dataclass(frozen=True)
class AttemptSpec:
    """Everything one attempt needs, fixed when the supervisor starts it."""

    run_id: str
    plan: Plan
    task: Task
    attempt: int
    slot: int
    timeout_s: float
    start_commit: str
    prompt: str | Callable[[], str]  # rendered on the worker's thread, off the supervisor's
    agent: Agent
    agent_options: Mapping[str, Any]
    attempt_dir: Path
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    # the run's cleaned environment, computed and encoded once: cleaning os.environ and
    # encoding it for exec cost more per task than the rest of spawning
    base_env: Mapping[bytes, bytes] | None = None
    grace_s: float = DEFAULTS.grace
    max_output_bytes: int = DEFAULTS.max_output_bytes
    parallel_phase: bool = True
    idle_timeout_s: float | None = None  # no output this long: stopped
    result_grace_s: float = DEFAULTS.result_grace  # still alive this long after its final result: stopped
    journal: WorkerJournal | None = None  # where the run notes its workers (see engine.orphans)
    continued: Continued | None = None  # resume: the cut-off attempt's session and workspace


@dataclass(frozen=True)
class AttemptReport:
    """What one attempt did. ``result`` is the agent's verdict on its own work; the
    boundary and git checks come on top of it."""

    spec: AttemptSpec
    result: AgentResult
    workspace: Workspace | None = None
    head: str | None = None
    changes: tuple[Change, ...] = ()
    violations: tuple[Violation, ...] = ()
    timed_out: bool = False
    cancelled: bool = False
    flooded: bool = False
    idled: bool = False  # stopped by the idle watchdog: no output for idle_timeout_s
    lingered: bool = False  # stopped result_grace_s after printing its final result
    exit_code: int | None = None
    duration_s: float = 0.0
    error: str | None = None  # shoal could not run or inspect the attempt
    refs: Mapping[str, str] | None = None  # every branch -> commit, read when the attempt ended
    refs_stamp: tuple | None = None  # type: ignore[type-arg]  # boundary.refs_stamp before `refs`

    def failure(self) -> tuple[AttemptState, str]:
        """How an attempt that did not succeed ended, and why, in words."""
        spec = self.spec
        if self.flooded:
            reason = (f"flooded its output: more than {spec.max_output_bytes} bytes of output, "
                      f"so it was stopped (see {spec.log_path})")
        elif self.idled:
            reason = (f"no output for {spec.idle_timeout_s or 0:g}s, so it was stopped "
                      f"(idle timeout; see {spec.log_path})")
        else:
            reason = self.result.summary or self.error or "the worker failed"
        if self.timed_out:
            return AttemptState.TIMEOUT, reason
        crashed = self.result.error is ErrorKind.CRASH or self.flooded
        return (AttemptState.CRASHED if crashed else AttemptState.FAILED), reason

    @property
    def task_id(self) -> str:
        return self.spec.task.id

    @property
    def changed_paths(self) -> tuple[str, ...]:
        paths: list[str] = []
        for c in self.changes:
            if c.old_path:
                paths.append(c.old_path)
            paths.append(c.path)
        return tuple(dict.fromkeys(paths))


def run_attempt(spec: AttemptSpec, backend: WorkspaceBackend, cancel: threading.Event) -> AttemptReport:
    """The whole attempt on the calling thread: begin it, wait for its worker, end it."""
    begun = begin_attempt(spec, backend)
    if isinstance(begun, AttemptReport):
        return begun
    try:
        while begun.child.wait(POLL_S) is None and not begun.due(cancel):
            pass
    except BaseException:  # ^C on this thread: never leave the worker running
        begun.child.stop(spec.grace_s)
        raise
    return end_attempt(begun, backend)


@dataclass
class Running:
    """An attempt whose worker process is running; :func:`end_attempt` finishes it. Whoever
    holds it waits for ``child`` (its ``pidfd`` wakes a poll when it exits) and asks
    :meth:`due` now and then whether it must be stopped early."""

    spec: AttemptSpec
    workspace: Workspace
    argv: tuple[str, ...]
    child: process.Child
    watch: _Watchdog
    started: float
    timed_out: bool = False
    cancelled: bool = False
    flooded: bool = False

    def reaped(self) -> None:
        """Its worker is stopped and reaped: the run's journal no longer counts it as running."""
        if self.spec.journal is not None:
            self.spec.journal.ended(self.child.pid)

    def due(self, cancel: threading.Event) -> bool:
        """Whether the worker must be stopped now: the run is cancelled, or it ran past its time
        limit, flooded its log, or a watchdog fired."""
        if cancel.is_set():
            self.cancelled = True
        elif time.monotonic() >= self.started + self.spec.timeout_s:
            self.timed_out = True
        elif self.child.output_size() > self.spec.max_output_bytes:
            self.flooded = True
        elif not self.watch.fired():
            return False
        return True


def begin_attempt(spec: AttemptSpec, backend: WorkspaceBackend) -> Running | AttemptReport:
    """Workspace, agent invocation, worker process: the attempt's worker is running, or the
    report of why it could not start."""
    started = time.monotonic()
    spec.attempt_dir.mkdir(parents=True, exist_ok=True)
    try:
        if spec.continued is not None and spec.continued.workspace.path.is_dir():
            workspace = backend.reopen(spec.continued.workspace)
        else:  # its workspace went away since: start cold
            spec = replace(spec, continued=None)
            workspace = backend.create(spec.task, spec.attempt, spec.start_commit)
    except ShoalError as exc:
        return _failed(spec, f"cannot prepare the workspace: {exc.message}", started)
    try:
        return _spawn_in(spec, workspace, started)
    except GitStateChanged as exc:  # the worker broke its worktree: a boundary break
        return replace(_failed(spec, exc.message, started, workspace), violations=exc.violations)
    except ShoalError as exc:
        return _failed(spec, exc.message, started, workspace)


def end_attempt(running: Running, backend: WorkspaceBackend, ended_at: float | None = None) -> AttemptReport:
    """Stop and reap the worker (at once if it already exited), read its result, and check what
    it changed: the attempt's report. `ended_at`: when the caller had already stopped it."""
    spec, workspace = running.spec, running.workspace
    try:
        return _end(running, backend, ended_at)
    except GitStateChanged as exc:
        return replace(_failed(spec, exc.message, running.started, workspace), violations=exc.violations)
    except ShoalError as exc:
        return _failed(spec, exc.message, running.started, workspace)


def _spawn_in(spec: AttemptSpec, workspace: Workspace, started: float) -> Running | AttemptReport:
    request = AgentRequest(
        task=spec.task,
        plan=spec.plan,
        prompt=spec.continued.prompt if spec.continued else
        spec.prompt() if callable(spec.prompt) else spec.prompt,
        workdir=workspace.path,
        attempt_dir=spec.attempt_dir,
        options=spec.agent_options,
        attempt=spec.attempt,
        continue_session=spec.continued.session if spec.continued else None,
    )
    try:
        invocation = spec.agent.prepare(request)
    except AgentSetupError as exc:
        return AttemptReport(spec, AgentResult.setup_failed(exc), workspace, error=exc.message,
                             duration_s=time.monotonic() - started)
    invocation.write_files()
    overlay = {**spec.env, **invocation.env}
    env = process.clean_env(overlay) if spec.base_env is None else {
        **spec.base_env, **{os.fsencode(k): os.fsencode(v) for k, v in overlay.items()}}
    stdin_path = None
    if invocation.stdin is not None:
        stdin_path = spec.attempt_dir / STDIN_FILE
        stdin_path.write_bytes(invocation.stdin)
    try:
        child = process.spawn(invocation.argv, cwd=workspace.path, env=env, log_path=spec.log_path,
                              stdin_path=stdin_path)
    except process.ExecutableNotFound as exc:
        outcome = ProcessOutcome.not_started(
            exc.message, log_path=spec.log_path, workdir=workspace.path,
            argv=invocation.argv, attempt_dir=spec.attempt_dir,
        )
        return AttemptReport(spec, spec.agent.interpret(outcome), workspace,
                             error=exc.message, duration_s=time.monotonic() - started)
    try:
        if spec.journal is not None:
            spec.journal.started(child.pid, spec.task.id, spec.attempt)
    except BaseException:
        child.stop(spec.grace_s)
        raise
    return Running(spec, workspace, tuple(invocation.argv), child, _Watchdog(spec, child), started)


def _end(running: Running, backend: WorkspaceBackend, ended_at: float | None) -> AttemptReport:
    spec, workspace, child, watch = running.spec, running.workspace, running.child, running.watch
    exit_code = child.stop(spec.grace_s)
    running.reaped()
    cancelled = running.cancelled
    # A worker can write far past the limit between two polls and exit: a flood all the same
    # (otherwise whether it fails would depend on timing).
    flooded = running.flooded or (not cancelled and child.output_size() > spec.max_output_bytes)
    duration = time.monotonic() - running.started
    # Stopped by a watchdog counts as stopped at a limit: a result it printed before stands.
    outcome = ProcessOutcome(
        exit_code=exit_code, log_path=spec.log_path, workdir=workspace.path, duration_s=duration,
        timed_out=running.timed_out or watch.idled or watch.lingered or watch.fatal is not None,
        attempt_dir=spec.attempt_dir,
        argv=running.argv, log_start=child.start_size, stop_note=watch.note(),
    )
    result = spec.agent.interpret(outcome)
    if cancelled or flooded or not result.ok:
        return AttemptReport(spec, result, workspace, timed_out=running.timed_out,
                             cancelled=cancelled, flooded=flooded, idled=watch.idled,
                             lingered=watch.lingered, exit_code=exit_code, duration_s=duration)
    _remove_markers(workspace.path)
    collected = backend.collect(workspace, spec.task, ended_at)
    if getattr(spec.agent, "success_needs_evidence", False) and getattr(backend, "track_changes", True):
        result = unproven(result, spec.agent.name, changed=bool(collected.changes))
        if not result.ok:
            return AttemptReport(spec, result, workspace, head=collected.head, exit_code=exit_code,
                                 timed_out=running.timed_out, idled=watch.idled,
                                 lingered=watch.lingered, duration_s=time.monotonic() - running.started)
    violations = check_changes(
        collected.changes, spec.task,
        shared_readonly=spec.plan.defaults.shared_readonly, parallel_phase=spec.parallel_phase,
    )
    return AttemptReport(spec, result, workspace, head=collected.head, changes=tuple(collected.changes),
                         violations=tuple(violations), timed_out=running.timed_out,
                         idled=watch.idled, lingered=watch.lingered, exit_code=exit_code,
                         duration_s=time.monotonic() - running.started)


TAIL_BYTES = 64 * 1024  # of the log, for the agent to look for its final result in


class _Watchdog:
    """Ends a worker that hangs: no output for ``idle_timeout_s``, or still alive
    ``result_grace_s`` after its CLI printed its final result (a known failure of headless
    agent CLIs); and, at once, one whose log shows a failure no waiting cures (the agent's
    ``fatal_error_seen``: refused credentials, which the CLI would retry for minutes). Looks
    at the log only when it has grown."""

    def __init__(self, spec: AttemptSpec, child: process.Child) -> None:
        self.spec, self.child = spec, child
        # an agent that cannot tell (the base's answer is always no) costs no log reads
        self.final_seen = _own(spec.agent, "final_output_seen")
        self.fatal_seen = _own(spec.agent, "fatal_error_seen")
        self.size, self.changed = 0, time.monotonic()
        self.result_at: float | None = None
        self.idled = self.lingered = False
        self.fatal: StructuredResult | None = None

    def fired(self) -> bool:
        if self.spec.idle_timeout_s is None and self.final_seen is None and self.fatal_seen is None:
            return False
        now, size = time.monotonic(), self.child.output_size()
        if size != self.size:
            self.size, self.changed = size, now
            tail = self._tail() if self.final_seen or self.fatal_seen else b""
            if self.final_seen is not None and self.result_at is None and self.final_seen(tail):
                self.result_at = now
            if self.fatal_seen is not None and self.fatal is None:
                self.fatal = self.fatal_seen(tail)
        if self.result_at is not None and now - self.result_at >= self.spec.result_grace_s:
            self.lingered = True
        elif self.spec.idle_timeout_s is not None and now - self.changed >= self.spec.idle_timeout_s:
            self.idled = True
        return self.idled or self.lingered or self.fatal is not None

    def note(self) -> str | None:
        if self.fatal is not None:
            return f"stopped at once: {self.fatal.message}"
        if self.lingered:
            return f"stopped {self.spec.result_grace_s:g}s after printing its final result"
        if self.idled:
            return f"stopped after {self.spec.idle_timeout_s:g}s without output (idle timeout)"
        return None

    def _tail(self) -> bytes:
        try:
            with open(self.child.log_path, "rb") as log:
                log.seek(max(self.child.start_size, self.size + self.child.start_size - TAIL_BYTES))
                return log.read(TAIL_BYTES)
        except OSError:
            return b""


def _own(agent: Agent, hook: str) -> Callable[[bytes], Any] | None:
    """The agent's own `hook` (``final_output_seen``, ``fatal_error_seen``), bound; None when it
    is the base's, which never finds anything."""
    own = getattr(type(agent), hook, None)
    if own is None or own is getattr(BaseAgent, hook):
        return None
    return types.MethodType(own, agent)


def _remove_markers(workdir: Path) -> None:
    # Completion markers signal shoal; they are not part of the task's work.
    folder = os.fspath(workdir)
    for name in MARKER_FILES:
        try:
            os.unlink(os.path.join(folder, name))
        except FileNotFoundError:
            pass


def _failed(
    spec: AttemptSpec, message: str, started: float, workspace: Workspace | None = None
) -> AttemptReport:
    return AttemptReport(spec, AgentResult.setup_failed(message), workspace, error=message,
                         duration_s=time.monotonic() - started)
