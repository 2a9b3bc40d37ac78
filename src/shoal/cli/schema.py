"""`shoal schema`: the JSON Schema of the canonical plan format."""

from __future__ import annotations

import click

from .. import planfile
from ..errors import ExitCode
from .commands import SUMMARIES
from .output import emit_json


@click.command("schema", short_help=SUMMARIES["schema"])
@click.option(
    "--format", "fmt", type=click.Choice(["json", "md"]), default="json", show_default=True,
    help="JSON Schema, or the Markdown reference kept in docs/plan-schema.md.",
)
def schema_command(fmt: str) -> int:
    """Print the JSON Schema of the canonical plan format (plan.yaml / .json / .toml)."""
    if fmt == "md":
        click.echo(planfile.render_schema_markdown(), nl=False)
    else:
        emit_json(planfile.plan_json_schema())
    return ExitCode.OK
