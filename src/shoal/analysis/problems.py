"""Building and ordering the problems the analysis reports."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..model import Plan, Task
from ..problem import Code, Problem, Severity

_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def at_task(
    task: Task,
    code: Code,
    severity: Severity,
    message: str,
    *,
    field: str | None = None,
    tasks: Sequence[str] | None = None,
    paths: Sequence[str] = (),
    hint: str | None = None,
) -> Problem:
    """A problem located at ``task``'s ``field`` (or the task itself)."""
    loc = task.location
    return Problem(
        code=code,
        severity=severity,
        message=message,
        tasks=tuple(tasks) if tasks is not None else (task.id,),
        paths=tuple(paths),
        file=loc.file if loc else None,
        line=task.line_of(field) if field else (loc.line if loc else None),
        field=field,
        hint=hint,
    )


def at_plan(plan: Plan, code: Code, severity: Severity, message: str, *, field: str | None = None,
            paths: Sequence[str] = (), tasks: Sequence[str] = (), hint: str | None = None) -> Problem:
    return Problem(code=code, severity=severity, message=message, tasks=tuple(tasks),
                   paths=tuple(paths), file=plan.source, field=field, hint=hint)


def ordered(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    """Errors first, then warnings, then infos; within each by file, line and tasks."""
    return tuple(sorted(problems, key=lambda p: (
        _RANK[p.severity], p.file or "", p.line or 0, p.tasks, p.code.value, p.message)))


def names(ids: Sequence[str], limit: int = 8) -> str:
    """``a``, ``b`` and ``c``, or the first few and how many more."""
    quoted = [f"`{i}`" for i in ids[:limit]]
    if len(ids) > limit:
        return ", ".join(quoted) + f" and {len(ids) - limit} more"
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


def anchor_note(texts: Sequence[str]) -> str:
    """A hint sentence for ``**/name`` (``**/Makefile``, ``**/build/``): it matches at any
    depth, which a plan may not mean."""
    loose = [t for t in texts if t.startswith("**/") and "/" not in t[3:].rstrip("/")
             and not any(c in t[3:] for c in "*?[")]
    if not loose:
        return ""
    name = loose[0]
    return (f" Note: `{name}` matches at any depth; "
            f"write `{name[3:]}` for the one at the repository root only.")
