"""`shoal plan`: the schedule preview."""

from __future__ import annotations

from pathlib import Path

import click

from .. import api, planfile
from ..errors import ExitCode, ShoalError
from ..model import PlanFormat, Strategy, format_duration
from ..scheduler import execution_strategy
from .commands import SUMMARIES
from .output import FORMAT_OPTION, emit_json, plan_errors_shown


@click.command("plan", short_help=SUMMARIES["plan"])
@click.argument("plan", type=click.Path(path_type=Path))
@click.option(
    "--strategy",
    type=click.Choice([s.value for s in Strategy]),
    default=Strategy.DYNAMIC.value,
    show_default=True,
    help="dynamic: start each task as soon as it may; waves: each wave finishes before the next.",
)
@click.option("--max-parallel", type=click.IntRange(min=1), help="Slots (default: the plan's max_parallel).")
@click.option(
    "--write-strategy",
    is_flag=True,
    help="Write seed 001's execution_strategy into the plan's tasks.json.",
)
@FORMAT_OPTION
def plan_command(
    plan: Path, strategy: str, max_parallel: int | None, write_strategy: bool, fmt: str
) -> int:
    """Show how PLAN would run: execution mode, waves with their rationale, critical
    path, and the predicted makespan and speedup of both strategies.

    Nothing is executed. A plan with errors is refused (exit 1), its errors listed as
    `shoal check` lists them.
    """
    report = api.check(plan)
    with plan_errors_shown(fmt, report.to_json()):
        sched = api.schedule(report, strategy=strategy, max_parallel=max_parallel)
    if write_strategy:
        _write_strategy(sched)
    if fmt == "json":
        emit_json(sched.to_json())
    else:
        _print_text(sched)
    return ExitCode.OK


def _write_strategy(sched: api.Schedule) -> None:
    loaded = sched.plan
    if loaded.format is not PlanFormat.TASKS_JSON or not loaded.source:
        raise ShoalError(
            "--write-strategy writes into a seed 001 tasks.json, and this plan is not one",
            hint="use --format json to get the strategy for another format",
        )
    source = Path(loaded.source)
    target = source / "tasks.json" if source.is_dir() else source
    strategy = execution_strategy(loaded, sched.report.analysis.conflicts, sched.max_parallel)
    planfile.write_execution_strategy(target, strategy)
    click.echo(f"wrote execution_strategy to {target}", err=True)


def _print_text(sched: api.Schedule) -> None:
    plan = sched.plan
    click.echo(
        f"Plan {plan.name!r}: {len(plan.tasks)} task(s), mode {sched.mode.value}, "
        f"{sched.max_parallel} slot(s)"
    )
    for p in sched.report.warnings:
        click.secho(f"  warning [{p.code.value}]: {p.message}", fg="yellow")
    click.echo("")
    click.echo("Waves:")
    width = max((len(", ".join(w.tasks)) for w in sched.waves), default=0)
    width = min(width, 60)
    for w in sched.waves:
        tasks = ", ".join(w.tasks)
        click.echo(f"  wave {w.wave_id:<3} {tasks:<{width}}  {w.rationale}")
    path = " -> ".join(sched.critical_path) or "(none)"
    click.echo("")
    click.echo(f"Critical path ({format_duration(sched.critical_length)}): {path}")
    click.echo("")
    click.echo(f"Predicted makespan at {sched.max_parallel} slot(s):")
    for strategy, sim in sched.simulations.items():
        chosen = " (chosen)" if strategy is sched.strategy else ""
        click.echo(
            f"  {strategy.value:<8} {format_duration(sim.makespan):>8}   "
            f"speedup {sim.speedup:.2f}x over sequential {format_duration(sim.sequential)}{chosen}"
        )
    any_sim = next(iter(sched.simulations.values()))
    click.echo(f"  lower bound {format_duration(any_sim.lower_bound)} = max(critical path, work / slots)")
