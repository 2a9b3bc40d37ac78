"""What the store hands back: frozen records, the run and attempt states, the event kinds.

Records are snapshots of rows; JSON columns come back decoded (``dict``/``tuple``).
Treat the dicts inside them as read-only: they are not copied.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from enum import Enum
from typing import Any

from shoal.model import TaskId, TaskState


class RunState(str, Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # the orchestrator stopped (Ctrl-C or crash); resumable
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED)


class AttemptState(str, Enum):
    """How one worker process ended. A crashed worker is not a failed task: the engine decides."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the worker reported failure or exited non-zero
    TIMEOUT = "timeout"
    CRASHED = "crashed"  # killed by a signal, missing executable, unparseable end
    INTERRUPTED = "interrupted"  # the orchestrator stopped while it ran
    RATE_LIMITED = "rate_limited"  # the agent's API refused it for now: retried, not a failure


class EventKind(str, Enum):
    """Names of events in the log, spelled once for every writer and reader.

    The database does not restrict kinds, so a newer shoal may write kinds an older
    one does not know; readers get those as plain strings.
    """

    RUN_STARTED = "run_started"
    RUN_FINISHED = "run_finished"
    RUN_INTERRUPTED = "run_interrupted"
    RUN_RESUMED = "run_resumed"
    TASKS_ADDED = "tasks_added"
    TASK_READY = "task_ready"
    TASK_STARTED = "task_started"
    TASK_OUTPUT = "task_output"
    TASK_FINISHED = "task_finished"
    TASK_RETRY = "task_retry"
    TASK_SKIPPED = "task_skipped"
    TASK_BLOCKED = "task_blocked"
    TASK_STATE = "task_state"  # any other task state change (succeeded, failed, cancelled, ...)
    TASK_CHANGES = "task_changes"  # changed paths recorded
    TASK_RESULT = "task_result"  # parsed worker result recorded
    BOUNDARY_VIOLATION = "boundary_violation"
    MERGE_STARTED = "merge_started"
    MERGED = "merged"
    MERGE_FAILED = "merge_failed"
    VERIFY_FAILED = "verify_failed"
    # A gate run (verify commands) on a candidate: the plan's gate on a batch of merges, or a
    # task's own gate in its workspace. data: gate (a run-unique number), scope ("plan" |
    # "task"), tasks (the ids it covers), policy, base and candidate (commits), bisect
    # (part of finding culprits), speculative; gate_finished adds ok, cancelled, duration_s
    # and results (each command's exit code, duration and output tail).
    GATE_STARTED = "gate_started"
    GATE_FINISHED = "gate_finished"
    # A failed batch split until its culprits were found. data: tasks (the batch), culprits,
    # gate_runs (the gates the search took), landed (the tasks that landed after all)
    GATE_BISECTED = "gate_bisected"
    FALLBACK_SEQUENTIAL = "fallback_sequential"
    RATE_LIMITED = "rate_limited"  # an agent hit its API's rate limit: its new starts pause
    BUDGET_REACHED = "budget_reached"  # the run's cost reached its budget: nothing new starts
    FAIL_FAST = "fail_fast"
    RUN_STOPPED = "run_stopped"  # an agent error no retry cures (credentials, billing): the run stops
    REPORT_MISMATCH = "report_mismatch"  # the worker's JSON report and git disagree on its files


def kind_of(text: str) -> EventKind | str:
    try:
        return EventKind(text)
    except ValueError:
        return text


def _load(text: str | None, default: Any = None) -> Any:
    if text is None:
        return default
    return [] if text == "[]" else json.loads(text)  # most list columns are empty


def _tuple(text: str | None) -> tuple[Any, ...]:
    return tuple(_load(text, []))


@dataclass(frozen=True)
class RunRecord:
    id: str
    plan_path: str | None
    plan_format: str | None
    plan_snapshot: dict[str, Any]  # enough to rebuild the plan on resume; shape is the engine's
    repo: str
    base_commit: str | None
    integration_branch: str | None
    state: RunState
    options: dict[str, Any]  # strategy, max_parallel, isolation, agent, fail_fast, on_violation
    pid: int | None
    host: str | None
    started_at: float
    ended_at: float | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> RunRecord:
        return cls(
            id=row["id"],
            plan_path=row["plan_path"],
            plan_format=row["plan_format"],
            plan_snapshot=_load(row["plan_snapshot"], {}),
            repo=row["repo"],
            base_commit=row["base_commit"],
            integration_branch=row["integration_branch"],
            state=RunState(row["state"]),
            options=_load(row["options"], {}),
            pid=row["pid"],
            host=row["host"],
            started_at=row["started_at"],
            ended_at=row["ended_at"],
        )


@dataclass(frozen=True)
class TaskRecord:
    run_id: str
    task_id: TaskId
    position: int  # order in the plan
    state: TaskState
    attempts: int  # how many attempts have started
    branch: str | None
    workspace: str | None
    base_commit: str | None
    head_commit: str | None
    merged_commit: str | None
    changed_paths: tuple[str, ...]
    violations: tuple[Any, ...]  # JSON values as the boundary check wrote them
    result: dict[str, Any] | None  # parsed worker result: status, files_modified, notes, ...
    reason: str | None  # why it failed, was skipped or blocked
    log_path: str | None
    started_at: float | None  # start of the first attempt
    ended_at: float | None

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return max(0.0, self.ended_at - self.started_at)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> TaskRecord:
        return cls(
            run_id=row["run_id"],
            task_id=TaskId(row["task_id"]),
            position=row["position"],
            state=TaskState(row["state"]),
            attempts=row["attempts"],
            branch=row["branch"],
            workspace=row["workspace"],
            base_commit=row["base_commit"],
            head_commit=row["head_commit"],
            merged_commit=row["merged_commit"],
            changed_paths=_tuple(row["changed_paths"]),
            violations=_tuple(row["violations"]),
            result=_load(row["result"]),
            reason=row["reason"],
            log_path=row["log_path"],
            started_at=row["started_at"],
            ended_at=row["ended_at"],
        )


@dataclass(frozen=True)
class AttemptStart:
    """One attempt for :meth:`~shoal.store.Store.start_attempts` to start."""

    task_id: str
    timeout_s: float | None = None
    log_path: str | None = None
    workspace: str | None = None
    branch: str | None = None
    base_commit: str | None = None
    slot: int | None = None


@dataclass(frozen=True)
class AttemptRecord:
    run_id: str
    task_id: TaskId
    number: int  # 1, 2, ... per task
    state: AttemptState
    started_at: float
    ended_at: float | None
    exit_code: int | None
    timeout_s: float | None
    log_path: str | None
    workspace: str | None
    result: dict[str, Any] | None
    error: str | None

    @property
    def duration_s(self) -> float | None:
        return None if self.ended_at is None else max(0.0, self.ended_at - self.started_at)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> AttemptRecord:
        return cls(
            run_id=row["run_id"],
            task_id=TaskId(row["task_id"]),
            number=row["number"],
            state=AttemptState(row["state"]),
            started_at=row["started_at"],
            ended_at=row["ended_at"],
            exit_code=row["exit_code"],
            timeout_s=row["timeout_s"],
            log_path=row["log_path"],
            workspace=row["workspace"],
            result=_load(row["result"]),
            error=row["error"],
        )


@dataclass(frozen=True)
class MergeRecord:
    run_id: str
    task_id: TaskId
    commit: str  # the commit on the integration branch that brought the task in
    tree: str | None
    merged_at: float
    verify: dict[str, Any] | None  # outcome of the verify commands, as the engine wrote it

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> MergeRecord:
        return cls(
            run_id=row["run_id"],
            task_id=TaskId(row["task_id"]),
            commit=row["commit_sha"],
            tree=row["tree"],
            merged_at=row["merged_at"],
            verify=_load(row["verify"]),
        )


@dataclass(frozen=True)
class Event:
    seq: int  # increases across the whole database; tail with ``after_seq``
    run_id: str
    ts: float
    kind: EventKind | str
    task_id: TaskId | None
    data: dict[str, Any]

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Event:
        task_id = row["task_id"]
        return cls(
            seq=row["seq"],
            run_id=row["run_id"],
            ts=row["ts"],
            kind=kind_of(row["kind"]),
            task_id=None if task_id is None else TaskId(task_id),
            data=_load(row["data"], {}),
        )
