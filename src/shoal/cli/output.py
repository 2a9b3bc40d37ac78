"""How commands print: JSON for scripts, plain text (with colour on a terminal) for people."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from ..errors import PlanInvalidError
from ..problem import Problem, Severity

FORMAT_OPTION = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output for people (text) or for scripts (json, stable keys).",
)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _can_encode(text: str) -> bool:
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


class Marks:
    """✅ / ❌ / ⚠️ as in the seeds' conflict checks, or ASCII where the terminal cannot show them."""

    def __init__(self) -> None:
        fancy = _can_encode("✅❌⚠️→")
        self.ok = "✅" if fancy else "[ok]"
        self.bad = "❌" if fancy else "[x]"
        self.warn = "⚠️ " if fancy else "[!]"
        self.arrow = "→" if fancy else "->"


def severity_style(severity: str) -> str:
    return {"error": "red", "warning": "yellow"}.get(severity, "cyan")


def print_problem(p: Problem, *, err: bool = False) -> None:
    """One problem as `shoal check` lists it: where, severity, code, task, field, message, hint."""
    where = f"{p.location()}: " if p.location() else ""
    sev = click.style(p.severity.value, fg=severity_style(p.severity.value), bold=True)
    task = f" task {', '.join(p.tasks)}" if p.tasks else ""
    field = f" field {p.field}" if p.field else ""
    click.echo(f"  {where}{sev} [{p.code.value}]{task}{field}: {p.message}", err=err)
    if p.hint:
        click.echo(f"      hint: {p.hint}", err=err)


def problems_json(problems: Sequence[Problem]) -> dict[str, Any]:
    """The keys of `shoal check --format json` that a refused plan can fill."""
    return {
        "ok": not any(p.severity is Severity.ERROR for p in problems),
        "problems": [p.to_json() for p in problems],
    }


@contextmanager
def plan_errors_shown(fmt: str, json_data: dict[str, Any] | None = None) -> Iterator[None]:
    """For commands that refuse a plan with errors (`plan`, `run`): list the errors as
    `shoal check` does (to stderr; in JSON on stdout with ``--format json``), then let the
    one-line summary follow."""
    try:
        yield
    except PlanInvalidError as exc:
        problems = tuple(exc.problems)
        if fmt == "json":
            emit_json(json_data if json_data is not None else problems_json(problems))
        else:
            for p in problems:
                if p.severity is Severity.ERROR:
                    print_problem(p, err=True)
        raise PlanInvalidError(exc.message, problems, file=exc.file, line=exc.line) from None
