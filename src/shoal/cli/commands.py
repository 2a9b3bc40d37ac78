"""Every subcommand, in the order `shoal --help` lists them, imported only when used.

Loading on demand keeps `shoal check` from importing the run engine, rich and Jinja2, and
`shoal --help` from importing any command at all: the one-line summaries it lists live here,
and each command takes its ``short_help`` from :data:`SUMMARIES`.
"""

from __future__ import annotations

import importlib

import click

# name -> (module, attribute, summary shown by `shoal --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("demo", "demo_command", "Run an eight-task example plan in a throwaway repository."),
    "init": ("init", "init_command", "Create a folder with a commented example plan."),
    "check": ("check", "check_command", "Validate and analyse a plan."),
    "plan": ("plan", "plan_command", "Show the waves, critical path and predicted makespan of a plan."),
    "prompt": ("prompt", "prompt_command", "Print the prompt one task's worker receives."),
    "schema": ("schema", "schema_command", "Print the JSON Schema of the plan format."),
    "run": ("run", "run_command", "Run a plan's tasks in parallel and merge them into shoal/<run-id>."),
    "resume": ("run", "resume_command", "Finish an interrupted run without redoing merged work."),
    "status": ("status", "status_command", "Show where a run stands, task by task."),
    "watch": ("watch", "watch_command", "Show a live board of a run while it runs."),
    "audit": ("audit", "audit_command", "Replay a run's event log and list every breach of its plan."),
    "report": ("report", "report_command", "Write a report of a run: timeline, graph, metrics and results."),
    "merge": ("land", "merge_command", "Land a run's integration branch on your branch."),
    "cleanup": ("land", "cleanup_command", "Remove the worktrees and task branches of finished runs."),
    "doctor": ("doctor", "doctor_command", "Check git, sh and the agent CLIs a run needs."),
}

SUMMARIES: dict[str, str] = {name: summary for name, (_, _, summary) in COMMANDS.items()}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[name]
        command: click.Command = getattr(importlib.import_module(f"{__package__}.{module}"), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # the summaries, not the commands: importing every command costs about half a second
        with formatter.section("Commands"):
            formatter.write_dl(list(SUMMARIES.items()))
