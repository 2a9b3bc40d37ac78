"""`shoal watch`: a live board of a run, from the state database, in a second terminal."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..errors import ExitCode
from ..store import RunState
from .commands import SUMMARIES


@click.command("watch", short_help=SUMMARIES["watch"])
@click.argument("run_id", required=False)
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path),
              help="The repository (default: the one containing the current folder).")
def watch_command(run_id: str | None, repo: Path | None) -> int:
    """Show a live board of a run (the latest by default) while it runs, e.g. beside `shoal run`
    in another terminal: per task its phase, state, attempt, elapsed time, commits on its branch,
    changed paths and violations so far, cost, and the last line of its output — or, for a task
    that waits, why (a dependency, an earlier phase, a conflict with a running task, its risk
    tier, the slot limit). Redrawn in place several times a second; ends when the run ends.
    A run that has ended is shown once.

    Exit 0 when the run succeeded, 1 when it did not (failed, interrupted, or its orchestrator
    is gone).
    """
    from rich.console import Console

    from ..display.snapshot import BoardState
    from ..display.source import RunReader
    from ..display.watch import watch_run
    from ..observe.database import open_store, pick_run
    from ..observe.facts import plan_facts

    with open_store(repo) as (git, store):
        record = pick_run(store, run_id)
        facts, why = plan_facts(record)
        tasks = [t.task_id for t in store.tasks(record.id)]
        if facts is not None:
            state = BoardState(facts.plan, task_ids=tasks, conflicts=facts.conflicts,
                               slots=facts.slots, strategy=facts.strategy)
        else:
            state = BoardState(task_ids=tasks)
        reader = RunReader(store, record.id, common_dir=git.common_dir(),
                           plan=facts.plan if facts else None)
        console = Console()
        if not console.is_terminal and "COLUMNS" not in os.environ:
            console = Console(width=160)  # a log file: room for the last lines of output
        if why:
            console.print(f"note: {why}; the board cannot say why tasks wait", style="yellow",
                          markup=False, highlight=False)
        end = watch_run(reader, state, console)
    run = end.run
    if end.orchestrator_gone:
        click.secho(f"run {run.id}: its orchestrator is gone (killed?); "
                    f"`shoal resume {run.id}` finishes it", fg="yellow", err=True)
        return ExitCode.PROBLEMS
    if RunState(run.state) is RunState.INTERRUPTED:
        click.echo(f"  `shoal resume {run.id}` finishes it")
    return ExitCode.OK if RunState(run.state) is RunState.SUCCEEDED else ExitCode.PROBLEMS
