"""Status files for tools that read files rather than the database.

Everything here is built from store records and written with ``atomic_write_json``, so a
reader sees the old file or the new one, never half of one. Times are ISO-8601 UTC
(``2024-01-10T10:00:00Z``), as in the seeds.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from shoal.errors import PlanReadError
from shoal.model import Plan, TaskState
from shoal.store.records import AttemptRecord, RunRecord, TaskRecord


def iso(ts: float | None) -> str | None:
    """``2024-01-10T10:00:00Z`` (whole seconds, UTC), or ``None``."""
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))  # datetime's is 4x slower


def atomic_write_json(path: Path | str, data: Any, *, indent: int | None = 2) -> None:
    """Replace ``path`` with ``data`` as JSON, all at once.

    Serialised before any file is touched (a ``TypeError`` leaves the old file as it
    was); then a temp file in the same folder (``os.replace`` is atomic only within one
    file system), fsync, rename, fsync of the folder. The temp file never survives.
    An existing file keeps its permissions; a new one gets 0644.
    """
    path = Path(path)
    text = json.dumps(data, indent=indent, ensure_ascii=False) + "\n"
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    # makes the rename itself durable; some file systems refuse fsync on a folder
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# Seed 003's status words. A cancelled task did not complete: it is reported as skipped.
_SEED_STATUS = {
    TaskState.PENDING: "pending",
    TaskState.RUNNING: "in_progress",
    TaskState.SUCCEEDED: "completed",
    TaskState.FAILED: "failed",
    TaskState.BLOCKED: "blocked",
    TaskState.SKIPPED: "skipped",
    TaskState.CANCELLED: "skipped",
}


def _plan_task(plan: Plan | None, task_id: str) -> Any:
    if plan is None:
        return None
    try:
        return plan.task(task_id)
    except KeyError:
        return None


def parallel_status(
    run: RunRecord, tasks: Sequence[TaskRecord], phase: str, plan: Plan | None = None
) -> dict[str, Any]:
    """Seed 003's ``PARALLEL_STATUS.json``.

    ``{"execution_id", "phase", "started", "tasks": [{"id", "name", "agent", "status",
    "paths", "started"?, "completed"?}]}``; ``status`` is one of pending, in_progress,
    completed, failed, blocked, skipped. Names, agents and paths (owned) come from
    ``plan`` when given; otherwise the id, the run's agent option and no paths.
    """
    out_tasks = []
    for t in tasks:
        spec = _plan_task(plan, t.task_id)
        agent = (spec.agent if spec is not None else None) or (
            plan.defaults.agent if plan is not None else run.options.get("agent")
        )
        entry: dict[str, Any] = {
            "id": t.task_id,
            "name": (spec.title if spec is not None else "") or t.task_id,
            "agent": agent,
            "status": _SEED_STATUS[t.state],
            "paths": list(spec.owns) if spec is not None else [],
        }
        if t.started_at is not None:
            entry["started"] = iso(t.started_at)
        if t.ended_at is not None and t.state.terminal:
            entry["completed"] = iso(t.ended_at)
        out_tasks.append(entry)
    return {
        "execution_id": run.id,
        "phase": phase,
        "started": iso(run.started_at),
        "tasks": out_tasks,
    }


def resource_locks(tasks: Iterable[TaskRecord], plan: Plan | None = None) -> dict[str, Any]:
    """Seed 003's ``RESOURCE_LOCKS.json``: the owned paths of every running task.

    ``{"locks": [{"agent_id": task id, "locked_paths": [...], "lock_time": start}]}``;
    tasks that are not running hold no lock and are left out.
    """
    locks = []
    for t in tasks:
        if t.state is not TaskState.RUNNING:
            continue
        spec = _plan_task(plan, t.task_id)
        locks.append(
            {
                "agent_id": t.task_id,
                "locked_paths": list(spec.owns) if spec is not None else [],
                "lock_time": iso(t.started_at),
            }
        )
    return {"locks": locks}


# Seed 001 writes "pass" for a passing task and "blocked" for anything else; a plain
# failure is told apart as "fail" (the worker result's own word for it).
_TASKS_JSON_STATUS = {
    TaskState.SUCCEEDED: "pass",
    TaskState.FAILED: "fail",
    TaskState.BLOCKED: "blocked",
    TaskState.SKIPPED: "blocked",
    TaskState.CANCELLED: "blocked",
}


def update_tasks_json(path: Path | str, results: Iterable[TaskRecord]) -> int:
    """Write seed 001's result fields into an existing ``tasks.json``; returns how many.

    For each finished task found in ``tasks[]`` by ``id``: ``status`` (pass / fail /
    blocked), ``completed_at`` (ISO time when it passed, else null), ``duration_minutes``
    (rounded) and ``blocker`` (the reason when it did not pass; null when it did, if
    the key was there). Every other key, and the order of all keys, is kept; tasks
    still pending or running, and ids not in the file, are left alone.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PlanReadError(f"cannot update {path}: {exc}", file=str(path)) from exc
    entries = doc.get("tasks") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise PlanReadError(
            f'cannot update {path}: it has no "tasks" list',
            file=str(path),
            hint='seed 001\'s tasks.json is an object with a "tasks" array',
        )
    by_id = {e.get("id"): e for e in entries if isinstance(e, dict)}
    updated = 0
    for rec in results:
        entry = by_id.get(rec.task_id)
        status = _TASKS_JSON_STATUS.get(rec.state)
        if entry is None or status is None:
            continue
        entry["status"] = status
        entry["completed_at"] = iso(rec.ended_at) if status == "pass" else None
        if rec.duration_s is not None:
            entry["duration_minutes"] = round(rec.duration_s / 60)
        if status != "pass":
            entry["blocker"] = rec.reason or rec.state.value
        elif "blocker" in entry:
            entry["blocker"] = None
        updated += 1
    if updated:
        atomic_write_json(path, doc)
    return updated


def status_json(
    run: RunRecord, tasks: Sequence[TaskRecord], attempts: Sequence[AttemptRecord] = ()
) -> dict[str, Any]:
    """What ``shoal status --format json`` prints. Stable keys:

    - ``run``: ``id``, ``state`` (running / succeeded / failed / interrupted / cancelled),
      ``integration_branch``, ``base_commit``, ``plan`` (path), ``plan_format``,
      ``started_at``, ``ended_at`` (ISO-8601 UTC or null), ``duration_s``, ``options``.
    - ``tasks`` (plan order): ``id``, ``state`` (a ``TaskState`` value), ``attempts``
      (how many started), ``duration_s`` (first start to end; null until it ends),
      ``started_at``, ``ended_at``, ``branch``, ``head_commit``, ``merged_commit``,
      ``changed_paths``, ``violations``, ``result`` (parsed worker result or null),
      ``reason``, ``log_path`` and ``attempt_history``: ``[{number, state, started_at,
      ended_at, duration_s, exit_code, log_path, error}]``; from the event log,
      :func:`with_timings` adds where the time went (``TIMING_KEYS``, see there).
    - ``totals``: a count for every ``TaskState`` value (zeros included) and ``total``.
    """
    history: dict[str, list[dict[str, Any]]] = {}
    for a in sorted(attempts, key=lambda a: (a.task_id, a.number)):
        history.setdefault(a.task_id, []).append(
            {
                "number": a.number,
                "state": a.state.value,
                "started_at": iso(a.started_at),
                "ended_at": iso(a.ended_at),
                "duration_s": _round(a.duration_s),
                "exit_code": a.exit_code,
                "log_path": a.log_path,
                "error": a.error,
            }
        )
    totals: dict[str, int] = {s.value: 0 for s in TaskState}
    out_tasks = []
    for t in tasks:
        totals[t.state.value] += 1
        out_tasks.append(
            {
                "id": t.task_id,
                "state": t.state.value,
                "attempts": t.attempts,
                "duration_s": _round(t.duration_s),
                "started_at": iso(t.started_at),
                "ended_at": iso(t.ended_at),
                "branch": t.branch,
                "head_commit": t.head_commit,
                "merged_commit": t.merged_commit,
                "changed_paths": list(t.changed_paths),
                "violations": list(t.violations),
                "result": t.result,
                "reason": t.reason,
                "log_path": t.log_path,
                "attempt_history": history.get(t.task_id, []),
            }
        )
    totals["total"] = len(out_tasks)
    run_duration = None if run.ended_at is None else max(0.0, run.ended_at - run.started_at)
    return {
        "run": {
            "id": run.id,
            "state": run.state.value,
            "integration_branch": run.integration_branch,
            "base_commit": run.base_commit,
            "plan": run.plan_path,
            "plan_format": run.plan_format,
            "started_at": iso(run.started_at),
            "ended_at": iso(run.ended_at),
            "duration_s": _round(run_duration),
            "options": run.options,
        },
        "tasks": out_tasks,
        "totals": totals,
    }


# Each task's time split, as `shoal.observe.timing` measures it: work_s (its attempts, less its
# own gate), task_gate_s (its own gate runs), queue_s (waiting in the merge queue for a gate or
# its merge), gate_s (the plan gate runs that covered it). The gate keys are null for a run
# that logged no gates.
TIMING_KEYS = ("work_s", "task_gate_s", "queue_s", "gate_s")


def with_timings(data: dict[str, Any], timings: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``data`` (a :func:`status_json` document) with each task's ``TIMING_KEYS`` set from
    ``timings`` (task id -> those keys; null for a task it does not have)."""
    for entry in data["tasks"]:
        split = timings.get(entry["id"]) or {}
        entry.update({key: split.get(key) for key in TIMING_KEYS})
    return data


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


__all__ = [
    "atomic_write_json",
    "iso",
    "parallel_status",
    "resource_locks",
    "status_json",
    "update_tasks_json",
    "with_timings",
]
