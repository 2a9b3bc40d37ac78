"""The retry and fall-back policy of seed 001 (`shoal.engine.retries`), on its own."""

from __future__ import annotations

import pytest

from shoal.agents import AgentResult, ErrorKind, ResultStatus
from shoal.agents.result import ResultSource
from shoal.engine.retries import Tally, WaveFallback, after_failure
from shoal.model import TaskState


def _result(status: ResultStatus = ResultStatus.FAILED, error: ErrorKind | None = None) -> AgentResult:
    return AgentResult(status=status, source=ResultSource.EXIT_CODE, error=error)


@pytest.mark.parametrize("result, failures, retries, retry, final", [
    (_result(), 1, 1, True, TaskState.FAILED),  # a failing exit is retried, as the docs say
    (_result(), 2, 1, False, TaskState.FAILED),
    (_result(), 1, 0, False, TaskState.FAILED),
    (_result(ResultStatus.BLOCKED), 1, 3, False, TaskState.BLOCKED),  # never retried
    (_result(error=ErrorKind.SETUP), 1, 3, False, TaskState.FAILED),
    (_result(error=ErrorKind.NOT_INSTALLED), 1, 3, False, TaskState.FAILED),
    (None, 1, 1, True, TaskState.FAILED),  # an internal error: retried like a crash
])
def test_failures_follow_the_table(result: AgentResult | None, failures: int, retries: int,
                                   retry: bool, final: TaskState) -> None:
    verdict = after_failure(timed_out=False, timeout_s=10, result=result, timeouts=0,
                            failures=failures, retries=retries, stops_run=False, reason="why")
    assert (verdict.retry, verdict.final, verdict.reason) == (retry, final, "why")


def test_a_session_that_could_not_go_on_starts_cold_without_counting() -> None:
    tally = Tally()
    verdict = tally.failed("t", timed_out=False, timeout_s=10, retries=0, stops_run=False,
                           result=_result(error=ErrorKind.NO_SESSION), reason="no such session")
    assert verdict.retry and "cold" in verdict.reason
    assert tally.failures == {}


def test_an_error_that_stops_the_run_is_not_retried() -> None:
    verdict = after_failure(timed_out=False, timeout_s=10, result=_result(), timeouts=0,
                            failures=1, retries=5, stops_run=True, reason="bad key")
    assert not verdict.retry


def test_a_timeout_is_retried_once_longer_whatever_retries_says() -> None:
    tally = Tally()
    first = tally.failed("t", timed_out=True, timeout_s=10, result=None, retries=0,
                         stops_run=False, reason="")
    assert first.retry and "1.5x longer" in first.reason
    assert tally.timeout_for("t", 10) == 15
    second = tally.failed("t", timed_out=True, timeout_s=15, result=None, retries=9,
                          stops_run=False, reason="")
    assert (second.retry, second.final) == (False, TaskState.BLOCKED)


def test_the_tally_rebuilt_from_the_store_skips_what_retry_failed_leaves_behind() -> None:
    tally = Tally()
    tally.started("t", 1, state="failed", counts=False)
    tally.started("t", 2, state="crashed")
    tally.started("t", 3, state="timeout")
    assert tally.next_attempt("t") == 4
    assert (tally.failures, tally.timeouts) == ({"t": 1}, {"t": 1})


def test_a_wave_whose_parallel_workers_all_failed_falls_back() -> None:
    fallback = WaveFallback([(1, ("a", "b")), (2, ("c",))])
    fallback.started("a")
    fallback.started("b")
    assert fallback.ended("a", False) is None
    assert fallback.ended("b", False) == (1, ("a", "b"))
    fallback.started("a")  # its retry: the wave already fell back
    assert fallback.ended("a", False) is None


def test_unrelated_failures_do_not_fall_back() -> None:
    """The case that fell back before: failures in a row, but each wave had a success."""
    fallback = WaveFallback([(1, ("f1", "ok1", "f2")), (2, ("f3", "ok2", "ok3"))])
    for t in ("f1", "ok1", "f2"):
        fallback.started(t)
    assert fallback.ended("f1", False) is None
    fallback.started("f3")
    assert fallback.ended("f2", False) is None
    assert fallback.ended("f3", False) is None
    assert fallback.ended("ok1", True) is None
    fallback.started("ok2")
    fallback.started("ok3")
    assert fallback.ended("ok2", True) is None


def test_a_wave_that_ran_one_at_a_time_or_had_no_verdict_does_not_fall_back() -> None:
    alone = WaveFallback([(1, ("a", "b"))])
    alone.started("a")
    alone.ended("a", False)
    alone.started("b")
    assert alone.ended("b", False) is None  # never side by side
    cut = WaveFallback([(1, ("a", "b"))])
    cut.started("a")
    cut.started("b")
    assert cut.ended("a", None) is None  # cancelled, rate limited
    assert cut.ended("b", False) is None
