"""Checks on a plan's commands: items that cannot be split into words.

The usual cause is YAML, not the shell: in a plain (unquoted) YAML string, `` #`` starts a
comment, so ``- printf 'a #b' > x`` reaches the shell as ``printf 'a``, which fails at run
time with "Unterminated quoted string". shoal cannot see the comment, but it can see the
unterminated quote (or a trailing backslash) it leaves behind. The script agent's ``run:``
items go to a shell (a warning: the shell may still make sense of some); ``verify`` and
``setup`` commands are split without one, and a run refuses one it cannot split (an error).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from ..model import Plan
from ..problem import Code, Problem, Severity
from .problems import at_plan, at_task

_SHOWN = 60  # characters of a command quoted in the message


def run_problems(plan: Plan) -> list[Problem]:
    out: list[Problem] = []
    for task in plan.tasks:
        for n, command in enumerate(task.run, start=1):
            reason = _unsplittable(command)
            if reason is None:
                continue
            shown = command if len(command) <= _SHOWN else command[:_SHOWN] + "…"
            out.append(at_task(
                task, Code.SHELL_SYNTAX, Severity.WARNING,
                f"task `{task.id}`: `run` item {n} does not split as a shell would "
                f"({reason.lower()}): `{shown}`",
                field="run",
                hint="in a plain YAML string ` #` starts a comment and cuts the command there; "
                     "quote the whole item in the YAML (`- \"printf 'a #b' > x\"`), or use a "
                     "block (`- |`)"))
        out.extend(_unsplit(task.verify, f"task `{task.id}`: `verify`", "verify",
                            lambda m, f, h: at_task(task, Code.SHELL_SYNTAX, Severity.ERROR, m,
                                                    field=f, hint=h)))
    for name, commands in (("defaults.verify", plan.defaults.verify), ("setup", plan.setup)):
        out.extend(_unsplit(commands, f"`{name}`", name,
                            lambda m, f, h: at_plan(plan, Code.SHELL_SYNTAX, Severity.ERROR, m,
                                                    field=f, hint=h)))
    return out


def _unsplit(commands: tuple[str, ...], where: str, field: str,
             problem: Callable[[str, str, str], Problem]) -> list[Problem]:
    """Commands split like a shell would but run without one: quoting must close."""
    out = []
    for n, command in enumerate(commands, start=1):
        try:
            shlex.split(command)
        except ValueError as exc:
            shown = command if len(command) <= _SHOWN else command[:_SHOWN] + "…"
            out.append(problem(
                f"{where} item {n} cannot be split into words ({str(exc).lower()}): `{shown}`",
                field, "these run without a shell, split as a shell would; close the quote, "
                "and quote the whole item in the YAML if it holds ` #` (a YAML comment)"))
    return out


def _unsplittable(command: str) -> str | None:
    """Why a POSIX shell could not split ``command`` into words, or None when it can.

    Shell comments are skipped as a shell skips them; heredoc bodies are not shell words, so
    commands with one are not judged."""
    if "<<" in command:
        return None
    try:
        shlex.split(command, comments=True)
    except ValueError as exc:
        return str(exc)
    return None
