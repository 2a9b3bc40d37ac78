"""Every subcommand, in the order `shoal --help` lists them, imported only when used.

Loading on demand keeps `shoal check` from importing the run engine, rich and Jinja2.
"""

from __future__ import annotations

import importlib

import click

# name -> (module, attribute)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "demo_command"),
    "init": ("init", "init_command"),
    "check": ("check", "check_command"),
    "plan": ("plan", "plan_command"),
    "prompt": ("prompt", "prompt_command"),
    "schema": ("schema", "schema_command"),
    "run": ("run", "run_command"),
    "resume": ("run", "resume_command"),
    "status": ("status", "status_command"),
    "watch": ("watch", "watch_command"),
    "audit": ("audit", "audit_command"),
    "report": ("report", "report_command"),
    "merge": ("land", "merge_command"),
    "cleanup": ("land", "cleanup_command"),
    "doctor": ("doctor", "doctor_command"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name]
        command: click.Command = getattr(importlib.import_module(f"{__package__}.{module}"), attribute)
        return command
