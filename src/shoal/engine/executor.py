"""Where a worker runs: behind a small interface, so a distributed executor can replace threads."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol, TypeVar

T = TypeVar("T")


class Executor(Protocol):
    """Runs jobs concurrently; ``on_done`` gets the result or the exception the job raised."""

    def submit(self, job: Callable[[], T], on_done: Callable[[T | BaseException], None]) -> None: ...

    def shutdown(self, wait: bool = True) -> None: ...


class LocalExecutor:
    """Threads on this machine: each job mostly waits on its child process."""

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="shoal-worker")

    def submit(self, job: Callable[[], T], on_done: Callable[[T | BaseException], None]) -> None:
        future: Future[T] = self._pool.submit(job)

        def done(f: Future[T]) -> None:
            exc = f.exception()
            on_done(exc if exc is not None else f.result())

        future.add_done_callback(done)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
