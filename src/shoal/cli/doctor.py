"""`shoal doctor`: which agent CLIs are installed and usable, and whether git is recent enough."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from ..engine.options import WORKSPACE_ROOT_ENV
from ..errors import ExitCode
from .commands import SUMMARIES
from .output import FORMAT_OPTION, Marks, emit_json


@click.command("doctor", short_help=SUMMARIES["doctor"])
@click.option("--agent", "agents", multiple=True, metavar="NAME",
              help="Check only this agent (repeatable); then a missing one is a problem.")
@click.option("--plan", type=click.Path(path_type=Path),
              help="Check the agents this plan uses, with its agent settings and workspace root.")
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path),
              help="The repository whose workspaces are checked (default: the current one).")
@FORMAT_OPTION
def doctor_command(agents: tuple[str, ...], plan: Path | None, repo: Path | None, fmt: str) -> int:
    """Check what a run needs: git 2.38 or later (the merge queue uses `git merge-tree
    --write-tree`), a POSIX sh, and each agent CLI shoal has an adapter for (claude, codex,
    gemini, aider, opencode): whether it is on PATH, its version, whether its `--help`
    lists every flag shoal passes, and, inside a repository, whether it will edit files in
    the folder the run's workspaces go in with the plan's settings (Claude Code, for one,
    refuses every edit under a folder named .git or .claude). Exit 1 when something a run
    needs is missing or too old; an agent CLI that is not installed is only noted unless
    named with --agent or used by --plan."""
    from ..agents.doctor import Status, diagnose

    settings: dict[str, Any] = {}
    root_setting: str | None = os.environ.get(WORKSPACE_ROOT_ENV)
    if plan is not None:
        from .. import api

        loaded = api.load_plan(plan)
        settings = {name: dict(values) for name, values in loaded.agents.items()}
        root_setting = root_setting or loaded.defaults.workspace_root
        if not agents:
            agents = tuple(sorted({t.agent or loaded.defaults.agent for t in loaded.tasks}
                                  - {"script", "command"}))
    workspaces = _workspaces(repo, root_setting)
    report = diagnose(agents or None, settings=settings, workspaces=workspaces)
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


def _workspaces(repo: Path | None, setting: str | None) -> Path | None:
    """Where a run in this repository would put its workspaces; None outside a repository."""
    from ..engine.workspace import workspace_root
    from ..git import Git, NotARepository

    try:
        return workspace_root(Git(repo or Path.cwd()), setting, create=False)
    except NotARepository:
        return None
