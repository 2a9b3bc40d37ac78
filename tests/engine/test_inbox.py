"""The supervisor's inbox: items from threads and readable descriptors wake one wait."""

from __future__ import annotations

import os
import threading
import time

from shoal.engine.inbox import Inbox


def test_an_item_put_from_another_thread_ends_the_wait_at_once() -> None:
    inbox: Inbox[str] = Inbox()
    timer = threading.Timer(0.1, inbox.put, ["done"])
    started = time.monotonic()
    timer.start()

    items, ready = inbox.wait(10.0)

    assert items == ["done"] and ready == set()
    assert time.monotonic() - started < 5
    inbox.close()


def test_a_readable_descriptor_ends_the_wait_and_is_named() -> None:
    inbox: Inbox[str] = Inbox()
    quiet_r, quiet_w = os.pipe()
    loud_r, loud_w = os.pipe()
    os.write(loud_w, b"x")

    items, ready = inbox.wait(10.0, [quiet_r, loud_r])

    assert items == [] and ready == {loud_r}
    for fd in (quiet_r, quiet_w, loud_r, loud_w):
        os.close(fd)
    inbox.close()


def test_items_put_before_the_wait_are_all_returned_and_the_next_wait_times_out() -> None:
    inbox: Inbox[int] = Inbox()
    for i in range(70_000):  # more wake-ups than a pipe holds (64 KiB): dropped, never blocked on
        inbox.put(i)

    items, _ = inbox.wait(10.0)
    started = time.monotonic()
    again, ready = inbox.wait(0.2)

    assert items == list(range(70_000))
    assert again == [] and ready == set() and time.monotonic() - started >= 0.15
    inbox.close()
