"""`shoal status`: where a run stands."""

from __future__ import annotations

from pathlib import Path

import click

from .. import engine
from ..errors import ExitCode
from ..model import TaskState
from .output import FORMAT_OPTION, emit_json

_COLOUR = {"succeeded": "green", "failed": "red", "blocked": "red", "skipped": "yellow",
           "cancelled": "yellow", "running": "cyan"}


def _value(state: object) -> str:
    return str(getattr(state, "value", state))


def print_summary(result: engine.RunResult) -> None:
    run = result.run
    click.echo("")
    click.echo(f"run {run.id}: {_value(run.state)}   integration branch: {result.integration_branch}")
    for t in result.tasks:
        state = click.style(f"{_value(t.state):<10}", fg=_COLOUR.get(_value(t.state)))
        took = f"{t.duration_s:.1f}s" if t.duration_s is not None else ""
        line = f"  {t.task_id:<24} {state} attempts {t.attempts}  {took}"
        if t.reason and TaskState(t.state) is not TaskState.SUCCEEDED:
            line += f"\n      {t.reason}"
        if t.violations:
            line += "\n      violations: " + ", ".join(str(v.get("path")) for v in t.violations[:5])
        click.echo(line)
    counts: dict[str, int] = {}
    for t in result.tasks:
        key = _value(t.state)
        counts[key] = counts.get(key, 0) + 1
    click.echo("  " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    click.echo(f"  files: {result.run_dir}")
    here = Path.cwd().resolve()
    repo = Path(run.repo).resolve()
    where = "" if here == repo or repo in here.parents else f" --repo {repo}"
    if result.ok:
        click.echo(f"  land it with: shoal merge {run.id}{where}")
    elif _value(run.state) == "failed":
        click.echo(f"  retry the failed tasks with: shoal run --retry-failed {run.id}{where}")


@click.command("status")
@click.argument("run_id", required=False)
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path),
              help="The repository (default: the one containing the current folder).")
@FORMAT_OPTION
def status_command(run_id: str | None, repo: Path | None, fmt: str) -> int:
    """Show a run (the latest by default): per task its state, attempts, duration, branch,
    changed paths, violations, result notes and log."""
    result = engine.load_result(run_id, repo=repo)
    if fmt == "json":
        emit_json(result.to_json())
    else:
        print_summary(result)
    return ExitCode.OK
