"""The run's API limits as pure bookkeeping: budget, and rate-limit pauses per agent."""

from __future__ import annotations

import time

from shoal.engine.limits import MAX_BACKOFF_S, MAX_RATE_LIMITS, Limits, reported_cost


def test_budget_is_reached_once() -> None:
    limits = Limits(budget_usd=1.0, backoff_s=1.0)
    assert [limits.spend(c) for c in (0.4, None, 0.5, 0.2, 3.0)] == [False, False, False, True, False]
    assert round(limits.spent, 6) == 4.1
    assert Limits(budget_usd=None, backoff_s=1).spend(100.0) is False


def test_rate_limit_pauses_double_up_to_the_cap_then_give_up() -> None:
    limits = Limits(budget_usd=None, backoff_s=100.0)
    pauses = [limits.rate_limited("t", "claude") for _ in range(MAX_RATE_LIMITS)]
    assert pauses == [min(MAX_BACKOFF_S, 100.0 * 2 ** i) for i in range(MAX_RATE_LIMITS)]
    assert limits.paused() == {"claude"}
    assert limits.rate_limited("t", "claude") is None  # one too many: the attempt fails
    assert limits.rate_limited("t", "claude") == 100.0  # and the count starts again


def test_success_resets_the_count_and_pauses_end() -> None:
    limits = Limits(budget_usd=None, backoff_s=0.05)
    assert limits.rate_limited("t", "codex") == 0.05
    assert limits.rate_limited("u", "codex") == 0.05  # counted per task, paused per agent
    limits.went_through("t")
    assert limits.rate_limited("t", "codex") == 0.05
    assert limits.paused(time.monotonic() + 1) == set()


def test_reported_cost_reads_only_numbers() -> None:
    assert [reported_cost(r) for r in (None, {}, {"cost_usd": 0.25}, {"cost_usd": "1"},
                                       {"cost_usd": True})] == [0.0, 0.0, 0.25, 0.0, 0.0]


def test_refused_credentials_or_account_stop_the_run_once() -> None:
    from shoal.agents import AgentResult, ErrorKind, ResultSource, ResultStatus

    def failed(kind: ErrorKind | None, summary: str) -> AgentResult:
        return AgentResult(ResultStatus.FAILED, ResultSource.STRUCTURED, summary, kind)

    limits = Limits(budget_usd=None, backoff_s=1.0)
    for kind in (None, ErrorKind.CRASH, ErrorKind.RATE_LIMITED, ErrorKind.BAD_OUTPUT):
        assert limits.run_stopping("claude", failed(kind, "x")) is None
        assert not limits.stops_run(failed(kind, "x"))
    auth = failed(ErrorKind.AUTHENTICATION, "gemini authentication failed (exit 41)")
    assert limits.stops_run(auth)
    message, hint = limits.run_stopping("gemini", auth) or ("", "")
    assert message == "the gemini agent could not authenticate: gemini authentication failed (exit 41)"
    assert "credentials" in hint
    assert limits.run_stopping("gemini", auth) is None  # one run error
    assert limits.stops_run(failed(ErrorKind.BILLING, "no credit"))  # never retried either
