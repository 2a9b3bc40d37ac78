"""Seed 003: ``BOUNDARIES.json`` — ``{task: {can_modify, cannot_modify, dependencies, parallel_safe}}``.

Next to a plan (or inside a plan folder) its entries are merged into the tasks
of the same id: ``can_modify`` adds to ``owns``, ``cannot_modify`` to
``forbids``, ``dependencies`` (paths) to ``reads``; ``parallel_safe`` is
copied. Alone, it is a plan whose tasks are its keys. Seed 003 writes paths
from the repository root with a leading ``/`` (``/src/features/trading/``):
that slash is removed, so the path is the usual repository-relative one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from shoal.model import Plan, PlanFormat, Task
from shoal.planfile.canonical import PlanParts
from shoal.planfile.convert import Problems, did_you_mean
from shoal.planfile.document import describe, read_document
from shoal.planfile.tasks import TaskReader
from shoal.problem import Severity

BOUNDARIES = "BOUNDARIES.json"
FIELDS = ("owns", "reads", "forbids", "parallel_safe")
ALIASES = {
    "owns": ("can_modify",),
    "forbids": ("cannot_modify",),
    "reads": ("dependencies",),
}


def boundaries_next_to(folder: Path) -> Path | None:
    path = folder / BOUNDARIES
    return path if path.is_file() else None


def from_root(path: str) -> str:
    """Seed 003's ``/common/types`` means ``common/types`` in the repository."""
    stripped = path.lstrip("/")
    return stripped or "."


def _read(path: Path, problems: Problems, *, titles: bool) -> list[Task]:
    doc = read_document(path, "json")
    reader = TaskReader(
        problems,
        path.parent,
        None,
        strict=False,
        known=FIELDS,
        aliases_for=lambda _raw: ALIASES,
    )
    for key, raw in doc.data.items():
        lines = doc.lines.get(key)
        if not isinstance(raw, Mapping):
            problems.add(
                f"{BOUNDARIES}: entry `{key}` is {describe(raw)}, not a mapping; it is ignored",
                file=doc.file,
                line=lines.line,
                task=str(key),
                severity=Severity.WARNING,
                hint='write it like `"task-id": {"can_modify": ["src/x/"]}`',
            )
            continue
        extra = {"title": str(key)} if titles else None
        reader.read(raw, lines, doc.file, key_id=str(key), extra=extra)
    for key, first, again in doc.lines.duplicates:
        problems.add(
            f"{BOUNDARIES}: `{key}` is given twice (lines {first} and {again}); the first is used",
            file=doc.file,
            line=again,
            task=str(key),
            hint="merge the two entries",
        )
    return [_strip(task) for task in reader.tasks]


def _strip(task: Task) -> Task:
    return replace(
        task,
        owns=tuple(from_root(p) for p in task.owns),
        reads=tuple(from_root(p) for p in task.reads),
        forbids=tuple(from_root(p) for p in task.forbids),
    )


def load_boundaries(path: Path, source: str) -> tuple[Plan, Problems]:
    """A lone BOUNDARIES.json: one task per key."""
    problems = Problems()
    tasks = _read(path, problems, titles=True)
    parts = PlanParts(name=Path(path).resolve().parent.name or "plan")
    return parts.plan(tasks, PlanFormat.BOUNDARIES, source, path.parent), problems


def merge_boundaries(plan: Plan, path: Path, problems: Problems) -> Plan:
    """The plan with the entries of ``path`` merged into its tasks."""
    entries = {task.id: task for task in _read(path, problems, titles=False)}
    ids = [task.id for task in plan.tasks]
    for key, entry in entries.items():
        if key not in ids:
            problems.add(
                f"{BOUNDARIES}: `{key}` names no task of the plan",
                file=str(path),
                line=entry.location.line if entry.location else None,
                task=key,
                hint=did_you_mean(key, ids) or f"tasks are: {', '.join(ids[:20])}",
            )
    merged = [
        _merge(task, entries[task.id], problems) if task.id in entries else task
        for task in plan.tasks
    ]
    return replace(plan, tasks=tuple(merged))


def _union(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*first, *second)))


def _merge(task: Task, entry: Task, problems: Problems) -> Task:
    safe: Any = task.parallel_safe
    if entry.parallel_safe is not None:
        if safe is not None and safe != entry.parallel_safe:
            problems.add(
                f"task `{task.id}`: `parallel_safe` is {str(safe).lower()} in the plan but "
                f"{str(entry.parallel_safe).lower()} in {BOUNDARIES}; false is assumed",
                file=entry.location.file if entry.location else None,
                line=entry.line_of("parallel_safe"),
                task=task.id,
                field="parallel_safe",
                hint="make them agree, or set it in one place only",
            )
            safe = False
        else:
            safe = entry.parallel_safe
    return replace(
        task,
        owns=_union(task.owns, entry.owns),
        reads=_union(task.reads, entry.reads),
        forbids=_union(task.forbids, entry.forbids),
        parallel_safe=safe,
    )
