"""`shoal init`: scaffold a plan folder with a commented example plan."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import click

from ..errors import ExitCode, ShoalError
from .commands import SUMMARIES

PLAN_NAME = "plan.yaml"


def example_plan_text(directory: str) -> str:
    text = resources.files("shoal.templates").joinpath("init", PLAN_NAME).read_text("utf-8")
    return text.replace("{dir}", directory)


@click.command("init", short_help=SUMMARIES["init"])
@click.argument("directory", default="shoal-plan", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite an existing plan.yaml.")
def init_command(directory: Path, force: bool) -> int:
    """Create DIRECTORY (default: shoal-plan) with a commented example plan.yaml.

    The example passes `shoal check` and shows phases, ownership, dependencies,
    risk tiers and the built-in script agent.
    """
    target = directory / PLAN_NAME
    if target.exists() and not force:
        raise ShoalError(f"{target} already exists", hint="pass --force to overwrite it")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        target.write_text(example_plan_text(str(directory)), encoding="utf-8")
    except OSError as exc:
        raise ShoalError(f"cannot write {target}: {exc.strerror}") from None
    click.echo(f"wrote {target}")
    click.echo(f"next: shoal check {directory}   then: shoal plan {directory}")
    return ExitCode.OK
