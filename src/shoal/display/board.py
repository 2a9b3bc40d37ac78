"""A live board of a run on a terminal: one row per task, updated in place (rich)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.console import Console
from rich.live import Live
from rich.table import Table

from ..model import Plan
from ..store import Event
from .lines import describe_event

_STYLE = {
    "pending": "dim", "running": "cyan", "merging": "blue", "succeeded": "green",
    "failed": "red", "blocked": "red", "skipped": "yellow", "cancelled": "yellow",
}


@dataclass
class _Row:
    state: str = "pending"
    attempt: int = 0
    started: float | None = None
    ended: float | None = None
    note: str = ""


@dataclass
class Board:
    """The board's state, built from events alone (so `watch` can rebuild it from the log)."""

    plan: Plan
    rows: dict[str, _Row] = field(default_factory=dict)
    last: str = ""

    def __post_init__(self) -> None:
        for task in self.plan.tasks:
            self.rows.setdefault(task.id, _Row())

    def apply(self, event: Event) -> None:
        kind = str(getattr(event.kind, "value", event.kind))
        line = describe_event(event)
        if line:
            self.last = line
        row = self.rows.get(event.task_id or "")
        if row is None:
            return
        d = event.data
        if kind == "task_started":
            row.state, row.attempt, row.started, row.ended = "running", int(d.get("attempt") or 1), event.ts, None
        elif kind == "merge_started":
            row.state = "merging"
        elif kind == "merged":
            row.state, row.ended, row.note = "succeeded", event.ts, "merged"
        elif kind in ("task_state", "task_skipped", "task_blocked", "task_retry", "merge_failed", "verify_failed"):
            row.state = str(d.get("state") or row.state)
            if row.state not in ("pending", "running"):
                row.ended = event.ts
            row.note = str(d.get("reason") or "")
        elif kind == "task_finished" and d.get("error"):
            row.note = str(d["error"])

    def render(self, now: float) -> Table:
        table = Table(expand=True, title=self.last or None, title_justify="left")
        for name in ("task", "phase", "state", "try", "time", "note"):
            table.add_column(name, no_wrap=name != "note", overflow="ellipsis")
        for task in self.plan.tasks:
            row = self.rows[task.id]
            elapsed = ""
            if row.started:
                elapsed = f"{(row.ended or now) - row.started:.0f}s"
            table.add_row(task.id, task.phase, f"[{_STYLE.get(row.state, '')}]{row.state}[/]",
                          str(row.attempt or ""), elapsed, row.note[:80])
        return table


class LiveDisplay:
    """Observer that redraws the board in place; no flicker (rich.Live), 4 times a second."""

    def __init__(self, plan: Plan, console: Console | None = None) -> None:
        self.board = Board(plan)
        self.console = console or Console(stderr=True)
        self.live = Live(self.board.render(time.time()), console=self.console,
                         refresh_per_second=4, transient=False)
        self.live.start()

    def __call__(self, events: list[Event]) -> None:
        for event in events:
            self.board.apply(event)
        self.live.update(self.board.render(time.time()))

    def close(self) -> None:
        self.live.update(self.board.render(time.time()))
        self.live.stop()
