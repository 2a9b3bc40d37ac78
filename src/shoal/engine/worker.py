"""One attempt of one task, start to end: workspace, agent process, result, boundary check.

Runs on an executor thread. It reports what happened and never decides what happens next:
retries, merges and state belong to the supervisor.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import process
from ..agents import Agent, AgentRequest, AgentResult, AgentSetupError, ProcessOutcome
from ..errors import ShoalError
from ..gitparse import Change
from ..model import Plan, Task
from .boundary import MARKER_FILES, Violation, check_changes
from .workspace import Workspace, WorkspaceBackend

POLL_S = 0.2  # how often a waiting worker looks at cancel, flood and timeout


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
    prompt: str
    agent: Agent
    agent_options: Mapping[str, Any]
    attempt_dir: Path
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    grace_s: float = 5.0
    max_output_bytes: int = 1 << 30
    parallel_phase: bool = True


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
    exit_code: int | None = None
    duration_s: float = 0.0
    error: str | None = None  # shoal could not run or inspect the attempt

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
    started = time.monotonic()
    try:
        workspace = backend.create(spec.task, spec.attempt, spec.start_commit)
    except ShoalError as exc:
        return _failed(spec, f"cannot prepare the workspace: {exc.message}", started)
    try:
        return _run_in(spec, backend, workspace, cancel, started)
    except ShoalError as exc:
        return _failed(spec, exc.message, started, workspace)


def _run_in(
    spec: AttemptSpec,
    backend: WorkspaceBackend,
    workspace: Workspace,
    cancel: threading.Event,
    started: float,
) -> AttemptReport:
    request = AgentRequest(
        task=spec.task,
        plan=spec.plan,
        prompt=spec.prompt,
        workdir=workspace.path,
        attempt_dir=spec.attempt_dir,
        options=spec.agent_options,
        attempt=spec.attempt,
    )
    try:
        invocation = spec.agent.prepare(request)
    except AgentSetupError as exc:
        return AttemptReport(spec, AgentResult.setup_failed(exc), workspace, error=exc.message,
                             duration_s=time.monotonic() - started)
    invocation.write_files()
    env = process.clean_env({**spec.env, **invocation.env})
    try:
        child = process.spawn(invocation.argv, cwd=workspace.path, env=env, log_path=spec.log_path)
    except process.ExecutableNotFound as exc:
        outcome = ProcessOutcome.not_started(
            exc.message, log_path=spec.log_path, workdir=workspace.path,
            argv=invocation.argv, attempt_dir=spec.attempt_dir,
        )
        return AttemptReport(spec, spec.agent.interpret(outcome), workspace,
                             error=exc.message, duration_s=time.monotonic() - started)
    timed_out = cancelled = flooded = False
    deadline = started + spec.timeout_s
    with child:
        while child.wait(POLL_S) is None:
            if cancel.is_set():
                cancelled = True
            elif time.monotonic() >= deadline:
                timed_out = True
            elif child.output_size() > spec.max_output_bytes:
                flooded = True
            else:
                continue
            break
        exit_code = child.stop(spec.grace_s)
    duration = time.monotonic() - started
    outcome = ProcessOutcome(
        exit_code=exit_code, log_path=spec.log_path, workdir=workspace.path, duration_s=duration,
        timed_out=timed_out, attempt_dir=spec.attempt_dir, argv=invocation.argv,
    )
    result = spec.agent.interpret(outcome)
    report = AttemptReport(spec, result, workspace, timed_out=timed_out, cancelled=cancelled,
                           flooded=flooded, exit_code=exit_code, duration_s=duration)
    if cancelled or not result.ok:
        return report
    _remove_markers(workspace.path)
    collected = backend.collect(workspace, spec.task)
    violations = check_changes(
        collected.changes, spec.task,
        shared_readonly=spec.plan.defaults.shared_readonly, parallel_phase=spec.parallel_phase,
    )
    return AttemptReport(
        spec, result, workspace, head=collected.head, changes=tuple(collected.changes),
        violations=tuple(violations), timed_out=timed_out, flooded=flooded,
        exit_code=exit_code, duration_s=time.monotonic() - started,
    )


def _remove_markers(workdir: Path) -> None:
    # Completion markers signal shoal; they are not part of the task's work.
    for name in MARKER_FILES:
        try:
            (workdir / name).unlink()
        except FileNotFoundError:
            pass


def _failed(
    spec: AttemptSpec, message: str, started: float, workspace: Workspace | None = None
) -> AttemptReport:
    return AttemptReport(spec, AgentResult.setup_failed(message), workspace, error=message,
                         duration_s=time.monotonic() - started)
