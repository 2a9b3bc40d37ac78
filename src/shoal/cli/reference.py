"""Generate docs/cli.md from the click commands: `python -m shoal.cli.reference > docs/cli.md`."""

from __future__ import annotations

import click

from .main import EXIT_CODES_HELP, cli


def _command_help(name: str, command: click.Command, parent: click.Context) -> str:
    ctx = click.Context(command, info_name=name, parent=parent)
    usage = " ".join(command.collect_usage_pieces(ctx))
    lines = [f"## `shoal {name}`", "", "```text", f"shoal {name} {usage}".rstrip(), "```", ""]
    lines += [inspect_help(command), ""]
    # options only: whether click lists arguments here differs between click versions
    rows = [r for p in command.get_params(ctx)
            if isinstance(p, click.Option) and (r := p.get_help_record(ctx))]
    if rows:
        lines += ["| option | meaning |", "|---|---|"]
        for opt, text in rows:
            lines.append(f"| `{opt}` | {text.replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines)


def inspect_help(command: click.Command) -> str:
    text = (command.help or "").strip()
    return "\n".join(line.strip() for line in text.splitlines())


def render() -> str:
    root = click.Context(cli, info_name="shoal", **cli.context_settings)
    parts = [
        "# Command reference",
        "",
        "Generated from the code by `python -m shoal.cli.reference > docs/cli.md`;",
        "a test fails when this file is stale.",
        "",
        "```text",
        EXIT_CODES_HELP.replace("\b\n", "").rstrip(),
        "```",
        "",
    ]
    for name in cli.list_commands(root):
        command = cli.get_command(root, name)
        assert command is not None, name  # list_commands names only registered commands
        parts.append(_command_help(name, command, root))
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":
    click.echo(render(), nl=False)
