"""The run's limits that come from agents' APIs: rate-limit pauses per agent, the budget, and
the errors that stop the whole run.

Pure bookkeeping (no store, no processes), kept by the supervisor: seed 001's "retry with
backoff" for rate limits, the plan's ``budget_usd``, and the refusals no retry cures (an
agent's credentials or account): the run stops at the first, with one error.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ..agents import AgentResult, ErrorKind

# An agent whose API refuses its credentials or its account fails every attempt the same way,
# each after minutes of the CLI's own retries: the run stops at the first.
RUN_STOPPING = {
    ErrorKind.AUTHENTICATION: "could not authenticate",
    ErrorKind.BILLING: "was refused for billing",
}
RUN_STOPPING_HINTS = {
    ErrorKind.AUTHENTICATION: "give the agent valid credentials (its API key in the environment, "
                              "or log in with the CLI once), then `shoal run --retry-failed`",
    ErrorKind.BILLING: "check the account's credits or plan, then `shoal run --retry-failed`",
}

MAX_RATE_LIMITS = 5  # rate limits in a row before a task's attempt counts as failed
MAX_BACKOFF_S = 600.0


def reported_cost(result: Mapping[str, Any] | None) -> float:
    """The cost in an attempt's stored result, 0 when the agent reported none."""
    value = (result or {}).get("cost_usd")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


class Limits:
    def __init__(self, *, budget_usd: float | None, backoff_s: float) -> None:
        self.budget, self.backoff_s = budget_usd, backoff_s
        self.spent = 0.0  # US dollars the agents reported, over every attempt of the run
        self.paused_until: dict[str, float] = {}  # agent name -> end of its pause (monotonic)
        self.in_a_row: dict[str, int] = {}  # task -> rate limits in a row
        self.stopped_by: tuple[str, str] | None = None  # the run-stopping error and its hint

    def spend(self, cost: float | None) -> bool:
        """Add an attempt's cost; True the first time the budget is reached."""
        before = self.spent
        self.spent += cost or 0.0
        return self.budget is not None and before < self.budget <= self.spent

    def rate_limited(self, task_id: str, agent: str) -> float | None:
        """Count a rate limit of `task_id`: the pause its agent now takes (doubling, capped), or
        None when the task has had too many in a row and the attempt counts as failed."""
        count = self.in_a_row[task_id] = self.in_a_row.get(task_id, 0) + 1
        if count > MAX_RATE_LIMITS:
            del self.in_a_row[task_id]
            return None
        pause = min(MAX_BACKOFF_S, self.backoff_s * 2 ** (count - 1))
        self.paused_until[agent] = max(self.paused_until.get(agent, 0.0), time.monotonic() + pause)
        return pause

    def run_stopping(self, agent: str, result: AgentResult) -> tuple[str, str] | None:
        """The run's error and a hint when ``result`` means no attempt of `agent` can succeed
        (`RUN_STOPPING`): the run fails now, its task without a retry, nothing new starts and
        the running workers stop. Given once; None for every other result (and later ones)."""
        if result.error not in RUN_STOPPING:
            return None
        if self.stopped_by is not None:
            return None
        said, what = result.summary or "no message", RUN_STOPPING[result.error]
        self.stopped_by = (said if what in said else f"the {agent} agent {what}: {said}",
                           RUN_STOPPING_HINTS[result.error])
        return self.stopped_by

    @staticmethod
    def stops_run(result: AgentResult) -> bool:
        """Whether `result` is one that stops the run (and so is never retried)."""
        return result.error in RUN_STOPPING

    def went_through(self, task_id: str) -> None:
        self.in_a_row.pop(task_id, None)

    def paused(self, now: float | None = None) -> set[str]:
        """Agents whose new starts wait for the end of a rate-limit pause."""
        now = time.monotonic() if now is None else now
        return {agent for agent, until in self.paused_until.items() if until > now}
