"""`shoal audit`: prove from a run's event log that it kept its plan's rules."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ExitCode
from ..observe import AuditReport, audit_run, open_store, pick_run
from .commands import SUMMARIES
from .output import FORMAT_OPTION, Marks, emit_json


@click.command("audit", short_help=SUMMARIES["audit"])
@click.argument("run_id", required=False)
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path),
              help="The repository (default: the one containing the current folder).")
@FORMAT_OPTION
def audit_command(run_id: str | None, repo: Path | None, fmt: str) -> int:
    """Replay a run's event log (the latest run by default) and list every breach of its plan:
    a task started before its dependencies were merged or before earlier phases finished,
    conflicting tasks or two RED tasks at once, anything beside a CRITICAL task or inside a
    serial phase, more workers than max_parallel, a task left unfinished, a merged task with
    paths outside its boundary, tasks planned to run at once that ran one after another.
    Exit 0 when there is none, 1 when there are breaches."""
    with open_store(repo) as (_, store):
        report = audit_run(store, pick_run(store, run_id).id)
    if fmt == "json":
        emit_json(report.to_json())
    else:
        _print(report)
    return ExitCode.OK if report.ok else ExitCode.PROBLEMS


def _print(report: AuditReport) -> None:
    marks = Marks()
    rules = report.rules or "unknown"
    click.echo(f"run {report.run_id} ({report.run_state}, {report.strategy}, "
               f"max_parallel {report.slots or '?'}): {report.events} events, "
               f"{report.starts} worker starts; rules from {rules}")
    for g in report.groups:
        if g.exempt:
            how = f"not judged: {g.exempt}"
        elif g.overlapped:
            how = f"ran in parallel (up to {g.max_together} at once)"
        else:
            how = "ran one after another"
        click.echo(f"  wave {g.wave} ({', '.join(g.tasks)}): {how}")
    for n in report.notes:
        click.echo(f"  {marks.warn}{n.message}")
    for b in report.breaches:
        when = f" [event {b.seq}]" if b.seq is not None else ""
        click.secho(f"  {marks.bad} {b.kind.value}{when}: {b.message}", fg="red")
    if report.ok:
        parallel = {True: "; tasks really ran in parallel", False: "; no two tasks ran at once",
                    None: ""}[report.really_parallel]
        click.secho(f"{marks.ok} audit passed: the run kept its plan's rules{parallel}",
                    fg="green")
    else:
        click.secho(f"{marks.bad} audit failed: {len(report.breaches)} breach(es)", fg="red")
