"""The run settings as flags: generated from `shoal.engine.options.SETTINGS`, the same for
`shoal run`, `shoal run --retry-failed` and `shoal resume`.

Every flag defaults to None, meaning "not given", so the plan's defaults and a resumed run's
recorded settings show through; what was given is recorded as coming from the command line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..engine.options import DEFAULTS, SETTINGS, Setting, plain
from ..model import parse_duration

F = TypeVar("F", bound=Callable[..., Any])
ORIGIN = "command line"


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None
    if seconds <= 0:
        raise click.BadParameter(f"must be more than zero, got {value!r}", param=param)
    return seconds


def _option(name: str, setting: Setting) -> Callable[[F], F]:
    flag = "--" + name.replace("_", "-")
    kw: dict[str, Any] = {"default": None, "help": setting.help + _default(name, setting)}
    if setting.kind == "flag":
        return click.option(f"{flag}/--no-{name.replace('_', '-')}", name, **kw)
    if setting.kind == "count":
        kw["type"] = click.IntRange(min=1)
    elif setting.kind == "port":
        kw["type"] = click.IntRange(min=1024, max=65535)
    elif setting.kind == "money":
        kw["type"] = click.FloatRange(min=0, min_open=True)
    elif setting.kind == "choice":
        kw["type"] = click.Choice(setting.choices)
    elif setting.kind == "duration":
        kw.update(callback=_duration, metavar="DURATION")
    elif setting.kind == "path":
        kw["type"] = click.Path(file_okay=False)
    return click.option(flag, name, **kw)


def _default(name: str, setting: Setting) -> str:
    value = getattr(DEFAULTS, name)
    if value is None or setting.kind == "flag":
        return ""
    shown = f"{value:g}s" if setting.kind == "duration" else plain(value)
    return f"  [default: {shown}]"


def settings_options(command: F) -> F:
    """Add a flag per run setting (and --agent-command) to `command`."""
    command = click.option(
        "--agent-command", help="For --agent command: the argument list as JSON, "
        'e.g. \'["my-agent", "--prompt-file", "{prompt_file}"]\'.')(command)
    for name, setting in reversed(SETTINGS.items()):
        if setting.cli:
            command = _option(name, setting)(command)
    return command


def given_settings(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take the settings' values out of a command's keyword arguments: those given only."""
    given = {name: kwargs.pop(name) for name, s in SETTINGS.items() if s.cli}
    command = kwargs.pop("agent_command")
    if command is not None:
        try:
            given["agent_settings"] = {"command": {"command": json.loads(command)}}
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--agent-command") from None
    return {name: value for name, value in given.items() if value is not None}
