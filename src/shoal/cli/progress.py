"""Choosing how a run shows its progress: a live board on a terminal, plain lines elsewhere."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..display.lines import PlainDisplay
from ..model import Plan

if TYPE_CHECKING:
    from ..display.board import LiveDisplay

PROGRESS_OPTION = click.option(
    "--progress",
    type=click.Choice(["auto", "live", "plain", "off"]),
    default="auto",
    show_default=True,
    help="live: a board updated in place; plain: one line per event (CI logs); "
    "auto: live on a terminal, else plain.",
)


def shows_board(mode: str) -> bool:
    """Whether `mode` draws the live board, which needs the plan before the run starts."""
    return mode == "live" or (mode == "auto" and sys.stderr.isatty())


@contextmanager
def progress_observer(mode: str, plan: Plan | None, fmt: str = "text", *,
                      repo: Path | None = None) -> Iterator[object]:
    """The display for `mode`; `repo` lets the live board find the run's state database (log
    lines, commits, cost) when the run is not in the current folder."""
    if mode == "auto":
        mode = "live" if shows_board(mode) and plan is not None else "plain"
    if mode == "off":
        yield None
        return
    display: PlainDisplay | LiveDisplay
    if mode == "live" and plan is not None:
        from ..display.board import LiveDisplay  # rich, only for a board

        display = LiveDisplay(plan, repo=repo)
    else:
        display = PlainDisplay(lambda line: click.echo(line, err=True))
    try:
        yield display
    finally:
        display.close()
