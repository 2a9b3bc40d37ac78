"""Attempts the supervisor runs on its own thread.

When an attempt's workspace needs no git to make, and what git its check needs is shared by the
attempts that end together (see ``WorkspaceBackend.inline_ok``), a worker thread per attempt only
adds GIL handoffs: with many short tasks, nine threads take turns at the GIL on every system
call. Instead the supervisor starts the worker itself and waits for all of them at once with its
inbox, through their pidfds (Linux >= 5.3).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .inbox import Inbox
from .worker import POLL_S, AttemptReport, AttemptSpec, Running, begin_attempt, end_attempt
from .workspace import WorkspaceBackend

Outcome = AttemptReport | BaseException  # what an attempt came to, or what broke it
Ended = tuple[AttemptSpec, Outcome]


class InlineAttempts:
    """The attempts whose workers this thread started and waits for. `finish` turns the reports
    of attempts that have all ended into the ones the supervisor gets (it adds the branch
    check, once for them all)."""

    def __init__(self, backend: WorkspaceBackend, cancel: threading.Event,
                 finish: Callable[[list[AttemptReport]], list[AttemptReport]]) -> None:
        self.backend, self.cancel, self.finish = backend, cancel, finish
        self.running: dict[str, Running] = {}
        self._next_look = 0.0

    def __bool__(self) -> bool:
        return bool(self.running)

    def begin(self, spec: AttemptSpec) -> Outcome | None:
        """Start the attempt's worker: None once it runs, else why it did not start."""
        try:
            begun = begin_attempt(spec, self.backend)
        except Exception as exc:  # noqa: BLE001 - a crashed attempt, as on a worker thread
            return exc
        if isinstance(begun, AttemptReport):
            return self.finish([begun])[0]
        self.running[spec.task.id] = begun
        return None

    def wait(self, inbox: Inbox[Any]) -> tuple[list[Any], list[Ended]]:
        """Up to POLL_S for the inbox or a worker's exit; then what the inbox holds, and the
        attempts whose worker exited or had to be stopped (time limit, flood, watchdog, cancel)."""
        fds = [fd for r in self.running.values() if (fd := r.child.pidfd) is not None]
        messages, ready = inbox.wait(POLL_S, fds)
        now = time.monotonic()
        look = now >= self._next_look  # limits and watchdogs every POLL_S, as on a thread
        if look:
            self._next_look = now + POLL_S
        over: list[Running] = []
        for begun in self.running.values():
            fd = begun.child.pidfd
            exited = fd in ready if fd is not None else begun.child.poll() is not None
            if exited or (look and begun.due(self.cancel)):
                over.append(begun)
        # All stopped first, so that one snapshot of a shared tree can cover every one of them
        # (kept in `running` until then: stop_all still reaches them if ^C comes meanwhile).
        for begun in over:
            begun.child.stop(begun.spec.grace_s)
        ended_at = time.monotonic()
        for begun in over:
            del self.running[begun.spec.task.id]
        outcomes = [self._end(begun, ended_at) for begun in over]
        reports = [o for o in outcomes if isinstance(o, AttemptReport)]
        if reports:
            try:
                finished = iter(self.finish(reports))
                outcomes = [next(finished) if isinstance(o, AttemptReport) else o for o in outcomes]
            except Exception as exc:  # noqa: BLE001 - as a crash of each of those attempts
                outcomes = [exc if isinstance(o, AttemptReport) else o for o in outcomes]
        return messages, [(begun.spec, outcome) for begun, outcome in zip(over, outcomes, strict=True)]

    def _end(self, begun: Running, ended_at: float) -> Outcome:
        try:
            return end_attempt(begun, self.backend, ended_at)
        except Exception as exc:  # noqa: BLE001
            return exc

    def stop_all(self, grace_s: float) -> None:
        """Stop every worker (Ctrl-C, a crash of the loop): TERM to all first, so that their
        grace periods overlap, then wait for each and reap it."""
        for begun in self.running.values():
            begun.child.terminate()
        for begun in self.running.values():
            begun.child.stop(grace_s)
            begun.reaped()
        self.running.clear()


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Ctrl-C held back until the block ends: a worker started in it is on record (and so
    stopped by the interrupt) before KeyboardInterrupt is raised. Only where Python delivers
    SIGINT, on the main thread with Python's own handler; elsewhere a plain block."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    held: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if held:
            raise KeyboardInterrupt
