"""`shoal watch`: the board of a run, read from the state database, from another terminal.

The event log is tailed a few times a second and the extras (log tails, git) read once a
second; rich redraws the board at a fixed rate on its own thread, so elapsed times tick and
nothing flickers. The watch ends when the run does — or when its orchestrator is gone (the run
lock is free while the run still says ``running``: killed, `shoal resume` finishes it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.live import Live

from ..engine.result import orchestrator_gone as run_orchestrator_gone
from ..store import RunRecord, RunState
from .board import REFRESH_PER_SECOND, board_rows, render_board
from .snapshot import BoardState
from .source import RunReader

POLL_S = 0.25
EXTRAS_EVERY_S = 1.0
LOCK_EVERY_S = 2.0


@dataclass(frozen=True)
class WatchEnd:
    run: RunRecord  # as it was when the watch ended
    orchestrator_gone: bool  # the run says running, but nothing runs it


def orchestrator_gone(reader: RunReader) -> bool:
    """Whether the run is `running` in the database but no live process holds the run lock."""
    return run_orchestrator_gone(reader.common_dir, reader.run_id,
                                 lambda: RunState(reader.run().state))


def watch_run(reader: RunReader, state: BoardState, console: Console, *,
              poll_s: float = POLL_S, refresh_per_second: float = REFRESH_PER_SECOND,
              clock: Callable[[], float] = time.monotonic,
              sleep: Callable[[float], None] = time.sleep) -> WatchEnd:
    """Show the run's board until it ends; a run that has ended is shown once."""
    state.apply(reader.events())
    state.enrich(reader.extras())
    record = reader.run()

    def draw():  # type: ignore[no-untyped-def]
        return render_board(state.snapshot(), time.time(), max_rows=board_rows(console))

    if RunState(record.state) is not RunState.RUNNING:
        console.print(draw())
        return WatchEnd(record, False)
    gone = False
    extras_at = lock_at = clock()
    with Live(console=console, refresh_per_second=refresh_per_second, transient=False,
              get_renderable=draw, redirect_stdout=False, redirect_stderr=False) as live:
        while True:
            state.apply(reader.events())
            record = reader.run()
            if RunState(record.state) is not RunState.RUNNING:
                break
            now = clock()
            if now - extras_at >= EXTRAS_EVERY_S:
                state.enrich(reader.extras())
                extras_at = now
            if now - lock_at >= LOCK_EVERY_S:
                lock_at = now
                if orchestrator_gone(reader):
                    gone = True
                    break
            sleep(poll_s)
        state.apply(reader.events())  # the run's last events, written with its end
        state.enrich(reader.extras())
        live.refresh()
    if not console.is_terminal:
        console.line()  # rich leaves the last line of a board printed to a file open
    return WatchEnd(reader.run(), gone)
