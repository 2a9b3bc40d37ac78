"""The status files' pacing: a write reads every task, so a slow one makes them rarer."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from shoal.engine.statusfiles import MAX_SHARE, WRITE_EVERY_S, StatusWriter


def _writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cost_s: float) -> tuple[StatusWriter, list[float]]:
    writer = StatusWriter(tmp_path, plan=None, store=None, run_id="r")  # type: ignore[arg-type]
    writes: list[float] = []

    def write_taking_a_while() -> None:
        writes.append(time.monotonic())
        time.sleep(cost_s)

    monkeypatch.setattr(writer, "_write", write_taking_a_while)
    return writer, writes


def _seconds_pass(writer: StatusWriter, seconds: float) -> None:
    writer._last -= seconds  # as if that much time had gone by since the last write


def test_cheap_writes_come_once_a_second(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer, writes = _writer(tmp_path, monkeypatch, cost_s=0.0)
    writer.write()
    assert writes == []  # not in the run's first second
    _seconds_pass(writer, WRITE_EVERY_S)
    writer.write()
    writer.write()
    assert len(writes) == 1
    _seconds_pass(writer, WRITE_EVERY_S)
    writer.write()
    assert len(writes) == 2


def test_a_slow_write_makes_the_next_one_wait_longer(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    cost = 0.1  # at MAX_SHARE 5%: the next write no sooner than 2 s later
    writer, writes = _writer(tmp_path, monkeypatch, cost_s=cost)
    writer.write(force=True)
    _seconds_pass(writer, 1.5)
    writer.write()
    assert len(writes) == 1  # 1.5 s would do for a cheap write
    _seconds_pass(writer, cost / MAX_SHARE)  # 3.5 s in all: past the 2 s and what sleep overran
    writer.write()
    assert len(writes) == 2
    writer.write(force=True)  # the end of the run always writes
    assert len(writes) == 3
