"""`shoal check`: validate and analyse a plan."""

from __future__ import annotations

from pathlib import Path

import click

from .. import api
from ..errors import ExitCode
from ..problem import Code, Problem, Severity
from .commands import SUMMARIES
from .output import FORMAT_OPTION, Marks, emit_json, print_problem

# The lines of the seed-004 style "Conflict Check", each with the codes it sums up.
_CHECK_LINES = (
    ("Schema", (Code.SCHEMA, Code.EMPTY_PLAN, Code.SHELL_SYNTAX), "valid"),
    ("Tasks", (Code.DUPLICATE_TASK, Code.UNKNOWN_TASK), "no duplicate or unknown tasks"),
    ("Dependencies", (Code.CYCLE, Code.PHASE_ORDER), "no cycles, phases in order"),
    ("Files", (Code.OWNERSHIP_OVERLAP,), "no overlap between tasks that may run together"),
    ("Read/write", (Code.READ_WRITE_HAZARD,), "no task reads what a concurrent task writes"),
    ("Boundaries", (Code.FORBIDDEN_WRITE, Code.PATH_OUTSIDE_REPO), "no forbidden writes, all paths inside the repository"),
)


@click.command("check", short_help=SUMMARIES["check"])
@click.argument("plan", type=click.Path(path_type=Path))
@click.option("--strict", is_flag=True, help="Treat ownership overlaps as errors, not warnings.")
@click.option(
    "--repo",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Repository the plan is for: also checks symlinks that leave it.",
)
@FORMAT_OPTION
def check_command(plan: Path, strict: bool, repo: Path | None, fmt: str) -> int:
    """Validate and analyse PLAN (a plan file, or a folder holding one).

    Reports every problem at once: schema errors, duplicate and unknown tasks, dependency
    cycles (named in order), overlapping owned paths of tasks that may run at the same
    time, read/write hazards, forbidden or read-only writes, paths that leave the
    repository, dependencies on later phases and `run:` commands a shell could not split
    (a YAML ` #` cut them); and lists what the risk tiers keep apart.

    Exit 0 when the plan has no errors, 1 when it has, 2 when it cannot be read.
    """
    report = api.check(plan, strict=strict, repo=repo)
    if fmt == "json":
        emit_json(report.to_json())
    else:
        _print_text(report)
    return ExitCode.OK if report.ok else ExitCode.PROBLEMS


def _print_text(report: api.CheckReport) -> None:
    marks = Marks()
    plan = report.plan
    phases = ", ".join(f"{p.name}{'' if p.parallel else ' (serial)'}" for p in plan.phases)
    click.echo(f"Analyzing plan {plan.name!r}: {len(plan.tasks)} task(s) from {plan.source}")
    click.echo(f"Phases: {phases}")
    click.echo("")
    click.echo("Conflict Check:")
    for label, codes, fine in _CHECK_LINES:
        found = [p for p in report.problems if p.code in codes]
        errors = sum(p.severity is Severity.ERROR for p in found)
        if not found:
            click.echo(f"- {label}: {marks.ok} {fine}")
        else:
            mark = marks.bad if errors else marks.warn
            click.echo(f"- {label}: {mark} {_count(found)}")
    for p in report.problems:
        if p.code is Code.RISK_SEPARATION:
            click.echo(f"- Risk tiers: {p.message}")
    listed = [p for p in report.problems if p.code is not Code.RISK_SEPARATION]
    if listed:
        click.echo("")
        click.echo("Problems:")
        for p in listed:
            print_problem(p)
    click.echo("")
    click.echo(_decision(report, marks))


def _count(found: list[Problem]) -> str:
    errors = sum(p.severity is Severity.ERROR for p in found)
    warnings = len(found) - errors
    parts = [f"{errors} error(s)" if errors else "", f"{warnings} warning(s)" if warnings else ""]
    return ", ".join(x for x in parts if x)


def _decision(report: api.CheckReport, marks: Marks) -> str:
    if not report.ok:
        return f"Decision: {marks.bad} fix the {len(report.errors)} error(s) above before running this plan."
    overlaps = len(report.analysis.overlaps)
    serialised = f"; {overlaps} overlapping pair(s) will be serialised" if overlaps else ""
    mode = report.mode.value if report.mode else "nothing to run"
    return f"Decision: {marks.ok} {mode}{serialised}. See `shoal plan` for the waves."
