"""The supervisor's inbox: reports from worker and merge threads, waited on together with the
worker processes the supervisor runs itself."""

from __future__ import annotations

import os
import queue
import select
from collections.abc import Iterable
from typing import Generic, TypeVar

T = TypeVar("T")


class Inbox(Generic[T]):
    """A queue whose :meth:`wait` also wakes when one of some given descriptors (the pidfds
    of running workers) becomes readable. Each :meth:`put` writes a byte to a pipe the wait
    polls, so one ``poll`` covers threads and processes alike."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[T] = queue.SimpleQueue()
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    def put(self, item: T) -> None:
        self._queue.put(item)
        try:
            os.write(self._write, b"\0")
        except BlockingIOError:  # the pipe is full of wake-ups already: one more is not needed
            pass

    def wait(self, timeout: float, fds: Iterable[int] = ()) -> tuple[list[T], set[int]]:
        """Up to `timeout` seconds until an item arrives or one of `fds` is readable; then every
        item waiting and the readable `fds`."""
        poll = select.poll()
        poll.register(self._read, select.POLLIN)
        for fd in fds:
            poll.register(fd, select.POLLIN)
        ready = {fd for fd, _ in poll.poll(max(0.0, timeout) * 1000)}
        if self._read in ready:
            ready.discard(self._read)
            try:
                while os.read(self._read, 4096):
                    pass
            except BlockingIOError:
                pass
        return self.drain(), ready

    def drain(self) -> list[T]:
        """Every item waiting, without waiting."""
        items = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items

    def close(self) -> None:
        """Close the wake-up pipe; call it once no thread can put any more (a put after it
        would write to whatever file got the descriptor's number next)."""
        for fd in (self._read, self._write):
            try:
                os.close(fd)
            except OSError:
                pass
