"""`shoal doctor`: which agent CLIs are installed and usable, and whether git is recent enough."""

from __future__ import annotations

import click

from ..errors import ExitCode
from .commands import SUMMARIES
from .output import FORMAT_OPTION, Marks, emit_json


@click.command("doctor", short_help=SUMMARIES["doctor"])
@click.option("--agent", "agents", multiple=True, metavar="NAME",
              help="Check only this agent (repeatable); then a missing one is a problem.")
@FORMAT_OPTION
def doctor_command(agents: tuple[str, ...], fmt: str) -> int:
    """Check what a run needs: git 2.38 or later (the merge queue uses `git merge-tree
    --write-tree`), a POSIX sh, and each agent CLI shoal has an adapter for (claude, codex,
    gemini, aider, opencode): whether it is on PATH, its version, and whether its `--help`
    lists every flag shoal passes. Exit 1 when something a run needs is missing or too old;
    an agent CLI that is not installed is only noted unless named with --agent."""
    from ..agents.doctor import Status, diagnose

    report = diagnose(agents or None)
    if fmt == "json":
        emit_json(report.to_json())
        return ExitCode.OK if report.ok else ExitCode.PROBLEMS
    marks = Marks()
    mark = {Status.OK: click.style(marks.ok, fg="green"), Status.MISSING: "  -",
            Status.PROBLEM: click.style(marks.bad, fg="red")}
    for check in report.checks:
        label = check.name + (f" ({check.version})" if check.version else "")
        click.echo(f"{mark[check.status]} {label}: {check.detail}")
        if check.path:
            click.echo(f"      {check.path}")
        if check.hint and check.status is not Status.OK:
            click.echo(f"      hint: {check.hint}")
    problems = len(report.problems)
    click.echo("everything a run needs is there" if report.ok
               else f"{problems} problem{'s' if problems != 1 else ''} found")
    return ExitCode.OK if report.ok else ExitCode.PROBLEMS
