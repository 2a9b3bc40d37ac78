"""The live board of a run: one row per task, redrawn in place (rich), from a snapshot.

:func:`render_board` draws a :class:`~shoal.display.snapshot.RunSnapshot`; it is all `shoal run
--progress live` (:class:`LiveDisplay`) and `shoal watch` (:mod:`shoal.display.watch`) share.
Every piece of plan or worker text goes in as :class:`rich.text.Text`, never as markup, so a
worker printing ``[red]`` or escape codes cannot restyle the board.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ..model import Plan, format_duration, format_usd
from ..store import Event, Store
from .snapshot import GATING, BoardState, GateView, RunSnapshot, TaskView

if TYPE_CHECKING:
    from .source import RunReader

STYLE = {
    "pending": "dim", "running": "cyan", "merging": "blue", "succeeded": "green",
    "failed": "red", "blocked": "red", "skipped": "yellow", "cancelled": "yellow",
    "interrupted": "yellow", "queued": "blue", "gating": "magenta",
}
REFRESH_PER_SECOND = 4
EXTRAS_EVERY_S = 1.0
_ORDER = {"running": 0, "merging": 0, "failed": 1, "blocked": 1, "pending": 2}


def _duration(seconds: float | None) -> str:
    return "" if seconds is None else format_duration(seconds)


def _gate_words(g: GateView) -> str:
    how = [w for w, on in ((g.policy, bool(g.policy)), ("bisecting", g.bisect),
                           ("speculative", g.speculative)) if on]
    return f"gate #{g.gate}" + (f" ({', '.join(how)})" if how else "")


def _detail(task: TaskView, gates: dict[int, GateView]) -> Text:
    if task.state == "pending":
        style = "green" if task.waiting == "ready" else "yellow"
        return Text(task.waiting or task.note, style=style)
    if task.queue:
        gate = gates.get(task.gate) if task.gate is not None else None
        if task.queue == GATING and gate is not None:
            others = len(gate.tasks) - 1
            return Text(_gate_words(gate) + (f" with {others} other task{'s' * (others != 1)}"
                                             if others else ""), style="magenta")
        return Text("waiting in the merge queue for a gate", style="blue")
    if task.state == "running" and task.gate is not None:
        return Text(f"its own gate (#{task.gate}) runs", style="dim")
    if task.state in ("running", "merging"):
        return Text(task.last_line or ("merging" if task.state == "merging" else ""), style="dim")
    style = "red" if task.state in ("failed", "blocked") else "dim"
    return Text(task.note or task.last_line, style=style)


def _violations(task: TaskView) -> Text:
    if not task.violations:
        return Text("")
    first = task.violations[0]
    more = f" +{len(task.violations) - 1}" if len(task.violations) > 1 else ""
    return Text(f"{first}{more}", style="bold red")


def _header(snap: RunSnapshot, now: float) -> Text:
    text = Text()
    text.append(f"run {snap.run_id or '?'}", style="bold")
    text.append("  ")
    text.append(snap.state or "starting", style=STYLE.get(snap.state, "cyan"))
    elapsed = snap.elapsed(now)
    if elapsed is not None:
        text.append(f"  {_duration(elapsed)}")
    busy = snap.count("running")
    text.append(f"  slots {busy}/{snap.slots} busy")
    if snap.cost_usd is not None:
        text.append(f"  cost {format_usd(snap.cost_usd)}")
    counts = snap.counts
    if snap.gated and counts.get("merging"):  # the merge queue, split as the log shows it
        del counts["merging"]
        for t in snap.tasks:
            if t.queue:
                counts[t.queue] = counts.get(t.queue, 0) + 1
    order = ["running", "merging", "queued", "gating", "pending", "succeeded", "failed",
             "blocked", "skipped", "cancelled"]
    parts = [f"{counts[s]} {'waiting' if s == 'pending' else s}" for s in order if counts.get(s)]
    if parts:
        text.append("  ·  " + ", ".join(parts))
    return text


def _rows(snap: RunSnapshot, max_rows: int | None) -> tuple[list[TaskView], list[TaskView]]:
    tasks = list(snap.tasks)
    if max_rows is None or len(tasks) <= max_rows:
        return tasks, []
    keep = set(sorted(range(len(tasks)), key=lambda i: (_ORDER.get(tasks[i].state, 3), i))
               [:max(1, max_rows)])
    return ([t for i, t in enumerate(tasks) if i in keep],
            [t for i, t in enumerate(tasks) if i not in keep])


def render_board(snap: RunSnapshot, now: float, *, max_rows: int | None = None) -> RenderableType:
    """The board at `now`: a header with the run's totals, a table of tasks (at most `max_rows`:
    running, failed and waiting ones first), and the latest event."""
    table = Table(expand=True, pad_edge=False, show_edge=False, box=None, header_style="bold")
    table.add_column("task", no_wrap=True, overflow="ellipsis", max_width=28)
    table.add_column("phase", no_wrap=True, overflow="ellipsis", max_width=16)
    table.add_column("state", no_wrap=True)
    table.add_column("try", justify="right", no_wrap=True)
    table.add_column("time", justify="right", no_wrap=True)
    table.add_column("commits", justify="right", no_wrap=True)
    table.add_column("changed", justify="right", no_wrap=True)
    table.add_column("violations", no_wrap=True, overflow="ellipsis", max_width=30)
    table.add_column("cost", justify="right", no_wrap=True)
    table.add_column("output / why", ratio=1, no_wrap=True, overflow="ellipsis")
    shown, hidden = _rows(snap, max_rows)
    gates = {g.gate: g for g in snap.gates}
    for t in shown:
        state = t.queue or t.state
        table.add_row(
            Text(t.task_id), Text(t.phase), Text(state, style=STYLE.get(state, "")),
            str(t.attempt or ""), _duration(t.elapsed(now)),
            "" if t.commits is None else str(t.commits),
            str(len(t.changed_paths)) if t.changed_paths else "",
            _violations(t), "" if t.cost_usd is None else format_usd(t.cost_usd),
            _detail(t, gates),
        )
    parts: list[RenderableType] = [_header(snap, now), table]
    for g in snap.gates:
        parts.append(Text(f"{_gate_words(g)} on {', '.join(g.tasks)}: "
                          f"{_duration(max(0.0, now - g.started_at))}", style="magenta",
                          no_wrap=True, overflow="ellipsis"))
    if hidden:
        counts: dict[str, int] = {}
        for t in hidden:
            counts[t.state] = counts.get(t.state, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        parts.append(Text(f"... and {len(hidden)} more ({summary})", style="dim"))
    if snap.last_event:
        parts.append(Text(snap.last_event, style="dim", no_wrap=True, overflow="ellipsis"))
    return Group(*parts)


def board_rows(console: Console) -> int | None:
    """How many task rows fit on the console (None: no limit when it is not a terminal)."""
    if not console.is_terminal:
        return None
    return max(3, console.size.height - 5)


class LiveDisplay:
    """Observer for a run in this process: the events feed a :class:`BoardState`; rich redraws
    it in place at a fixed rate (no flicker), on its own thread. When the run's state database
    can be found (in `repo`, the current folder or the plan's), the board also shows what
    `shoal watch` shows: last lines of output, commits, changes so far and cost."""

    def __init__(self, plan: Plan, console: Console | None = None, *,
                 repo: Path | str | None = None,
                 refresh_per_second: float = REFRESH_PER_SECOND) -> None:
        from ..analysis import analyse

        self.plan = plan
        self.state = BoardState(plan, conflicts=analyse(plan).conflicts)
        self.console = console or Console(stderr=True)
        self._places = (Path(repo) if repo else None, Path.cwd(),
                        Path(plan.source).resolve().parent if plan.source else None)
        self._reader: RunReader | None = None
        self._looked = False  # for the state database (once: it is there or it is not)
        self._store: Store | None = None
        self._extras_at = 0.0
        self._lock = threading.Lock()
        self.live = Live(console=self.console, refresh_per_second=refresh_per_second,
                         transient=False, get_renderable=self._renderable)
        self.live.start()

    def __call__(self, events: list[Event]) -> None:
        self.state.apply(events)

    def _renderable(self) -> RenderableType:
        self._refresh_extras()
        return render_board(self.state.snapshot(), time.time(), max_rows=board_rows(self.console))

    def _refresh_extras(self) -> None:
        now = time.monotonic()
        run_id = self.state.run.run_id
        if run_id is None or now - self._extras_at < EXTRAS_EVERY_S:
            return
        with self._lock:
            self._extras_at = now
            try:
                if not self._looked:
                    self._looked = True
                    self._reader = self._find_reader(run_id)
                if self._reader is not None:
                    self.state.enrich(self._reader.extras())
            except Exception:  # noqa: BLE001 - extras are a nicety; the board goes on without
                self._reader = None

    def _find_reader(self, run_id: str) -> RunReader | None:
        from .source import RunReader, find_run_store

        found = find_run_store(run_id, self._places)
        if found is None:
            return None
        self._store, common = found
        return RunReader(self._store, run_id, common_dir=common, plan=self.plan)

    def close(self) -> None:
        self._extras_at = 0.0
        self.live.stop()  # draws the board a last time
        if not self.console.is_terminal:
            self.console.line()  # rich leaves the last line of a board printed to a file open
        with self._lock:
            self._looked, self._reader = True, None
            if self._store is not None:
                self._store.close()
                self._store = None
