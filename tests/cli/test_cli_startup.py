"""What a command imports before it does anything: `shoal --help` lists every command without
loading one, and the commands that only read a run do not load the plan reader (pydantic) or
rich. Each check runs in a fresh interpreter, since this test process has imported everything."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from shoal.cli.commands import COMMANDS, SUMMARIES
from shoal.cli.main import cli

HEAVY = ("pydantic", "rich", "jinja2", "shoal.api", "shoal.planfile", "shoal.engine.supervisor")


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running `code`."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY)


def test_help_lists_every_command_without_importing_any() -> None:
    modules = loaded_after("from shoal.cli import main\nmain(['--help'])")
    commands = {f"shoal.cli.{module}" for module, _, _ in COMMANDS.values()}
    assert not commands & modules, sorted(commands & modules)
    assert heavy(modules) == []


def test_help_shows_each_summary() -> None:
    done = subprocess.run([sys.executable, "-m", "shoal", "--help"], capture_output=True, text=True,
                          check=True)
    listed = done.stdout.split("Commands:")[1]
    flat = " ".join(listed.split())  # a long summary wraps onto an indented second line
    for name, summary in SUMMARIES.items():
        assert f"\n  {name} " in listed, name
        assert f"{name} {summary}" in flat, name


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_takes_its_summary_from_the_registry(name: str) -> None:
    ctx = click.Context(cli)
    command = cli.get_command(ctx, name)
    assert command is not None and command.name == name
    assert command.short_help == SUMMARIES[name]
    assert len(SUMMARIES[name]) <= 72, "one line in an 80-column terminal"


def test_reading_a_run_does_not_load_the_plan_reader_or_rich() -> None:
    modules = loaded_after("import shoal.cli.status, shoal.cli.land\n"
                           "from shoal import engine\nengine.load_result, engine.RunResult")
    assert heavy(modules) == []


def test_plain_progress_does_not_load_rich() -> None:
    modules = loaded_after("from shoal.cli.progress import progress_observer\n"
                           "with progress_observer('plain', None) as d:\n"
                           "    assert type(d).__name__ == 'PlainDisplay'")
    assert not any(m.split(".")[0] == "rich" for m in modules)
    modules = loaded_after("from shoal.cli.progress import progress_observer\n"
                           "from shoal.model import Plan, Task\n"
                           "plan = Plan(tasks=(Task(id='a'),))\n"
                           "with progress_observer('live', plan) as d:\n"
                           "    assert type(d).__name__ == 'LiveDisplay'")
    assert "rich" in modules


def test_the_display_package_still_exports_its_names() -> None:
    from shoal import display

    for name in display.__all__:
        assert getattr(display, name) is not None
    with pytest.raises(AttributeError):
        display.nothing_here  # noqa: B018
