"""`shoal prompt`: the worker prompt as a worker would receive it."""

from __future__ import annotations

from pathlib import Path

import click

from .. import api
from ..errors import ExitCode
from .commands import SUMMARIES
from .output import emit_json


@click.command("prompt", short_help=SUMMARIES["prompt"])
@click.argument("plan", type=click.Path(path_type=Path))
@click.argument("task")
@click.option("--max-parallel", type=click.IntRange(min=1), help="Slots assumed for the wave context.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="The prompt as is (text) or as {\"task\", \"prompt\"} (json).",
)
def prompt_command(plan: Path, task: str, max_parallel: int | None, fmt: str) -> int:
    """Print the prompt the worker for TASK of PLAN receives, exactly as it receives it.

    The prompt comes from shoal's template (seed 001's worker prompt) or from the
    plan's own `prompt_template`.
    """
    text = api.render_prompt(plan, task, max_parallel=max_parallel)
    if fmt == "json":
        emit_json({"task": task, "prompt": text})
    else:
        click.echo(text, nl=not text.endswith("\n"))
    return ExitCode.OK
