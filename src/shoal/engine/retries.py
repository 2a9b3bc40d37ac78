"""What a failed attempt leads to, and when a run falls back to one task at a time: the retry
and fall-back policy of seed 001, in one pure module (no store, no processes).

| the attempt | the task |
|---|---|
| timed out | retried once with a 1.5x longer limit, then `blocked` (whatever `retries` says) |
| reported `blocked` | `blocked`, never retried |
| failed, crashed, reported `fail` | retried up to `retries` times, then `failed` |
| failed to set up, agent not installed, an error that stops the run | `failed` at once |
| could not continue its cut-off session (`no_session`) | started again cold; does not count |

Seed 001's graceful degradation: when *every* worker of a wave fails, the rest of the run
goes one task at a time. A wave is one of the plan's (`shoal.scheduler.plan_waves`, also what
`shoal plan` shows and `shoal audit` judges, whichever strategy runs it); it falls back when
each of its tasks has failed an attempt, none has succeeded, and two of them ran at the same
moment. Failures in different waves, or in a wave with a success, or of tasks that ran alone,
say nothing against running in parallel.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..agents import AgentResult, ErrorKind, ResultStatus
from ..model import TaskState

TIMEOUT_GROWTH = 1.5  # seed 001: retry a timeout once with a longer limit
TIMEOUT_RETRIES = 1
_NEVER_RETRIED = (ErrorKind.SETUP, ErrorKind.NOT_INSTALLED)  # fails the same way every time


@dataclass(frozen=True)
class Verdict:
    retry: bool
    final: TaskState  # the task's state when it is not retried
    reason: str


def after_failure(*, timed_out: bool, timeout_s: float, result: AgentResult | None,
                  timeouts: int, failures: int, retries: int, stops_run: bool,
                  reason: str) -> Verdict:
    """The verdict on a failed attempt. `timeouts` and `failures` count this task's attempts
    that timed out or failed so far, this one included; `retries` is the task's setting;
    `stops_run` says the agent's error stops the whole run (`Limits.stops_run`)."""
    if timed_out:
        retry = timeouts <= TIMEOUT_RETRIES
        return Verdict(retry, TaskState.BLOCKED, f"timed out after {timeout_s:g}s" + (
            f"; retrying once with a {TIMEOUT_GROWTH:g}x longer limit" if retry else "; gave up"))
    if result is not None and result.status is ResultStatus.BLOCKED:
        return Verdict(False, TaskState.BLOCKED, reason)
    if result is not None and result.error is ErrorKind.NO_SESSION:  # it did no work
        return Verdict(True, TaskState.FAILED, f"{reason}; starting it again cold")
    curable = result is None or (result.error not in _NEVER_RETRIED and not stops_run)
    return Verdict(failures <= retries and curable, TaskState.FAILED, reason)


@dataclass
class Tally:
    """Per task: the last attempt's number, and the timeouts and failures that count against
    its retries (rebuilt from the store when a run resumes)."""

    attempts: dict[str, int] = field(default_factory=dict)
    timeouts: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)

    def started(self, task_id: str, number: int, *, state: str | None = None,
                counts: bool = True) -> None:
        """An attempt began, or (`state`, an `AttemptState` value) one recorded earlier ended;
        `counts` False for attempts a `--retry-failed` leaves behind."""
        self.attempts[task_id] = max(self.attempts.get(task_id, 0), number)
        if counts and state == "timeout":
            self.timeouts[task_id] = self.timeouts.get(task_id, 0) + 1
        elif counts and state in ("failed", "crashed"):
            self.failures[task_id] = self.failures.get(task_id, 0) + 1

    def next_attempt(self, task_id: str) -> int:
        return self.attempts.get(task_id, 0) + 1

    def timeout_for(self, task_id: str, limit: float) -> float:
        """Each timeout so far makes the limit 1.5x longer."""
        return limit * TIMEOUT_GROWTH ** self.timeouts.get(task_id, 0)

    def failed(self, task_id: str, *, timed_out: bool, timeout_s: float,
               result: AgentResult | None, retries: int, stops_run: bool, reason: str) -> Verdict:
        """Count a failed attempt and judge it (`after_failure`)."""
        if timed_out:
            self.timeouts[task_id] = self.timeouts.get(task_id, 0) + 1
        elif result is None or (result.status is not ResultStatus.BLOCKED
                                and result.error is not ErrorKind.NO_SESSION):
            self.failures[task_id] = self.failures.get(task_id, 0) + 1
        return after_failure(timed_out=timed_out, timeout_s=timeout_s, result=result,
                             timeouts=self.timeouts.get(task_id, 0),
                             failures=self.failures.get(task_id, 0), retries=retries,
                             stops_run=stops_run, reason=reason)


class WaveFallback:
    """Seed 001's fall-back rule (see the module's docstring), fed the attempts as they start
    and end. `waves` are the plan's (`shoal.scheduler.plan_waves`) as (wave id, tasks)."""

    def __init__(self, waves: Iterable[tuple[int, Iterable[str]]]) -> None:
        self.tasks: dict[int, frozenset[str]] = {w: frozenset(ts) for w, ts in waves}
        self.wave_of = {t: w for w, ts in self.tasks.items() for t in ts}
        self.running: dict[int, set[str]] = {}
        self.parallel: set[int] = set()  # waves two of whose attempts ran at one moment
        self.failed: dict[int, set[str]] = {}
        self.succeeded: set[int] = set()  # waves with a task that succeeded

    def started(self, task_id: str) -> None:
        wave = self.wave_of.get(task_id)
        if wave is None:
            return
        running = self.running.setdefault(wave, set())
        if running - {task_id}:
            self.parallel.add(wave)
        running.add(task_id)

    def ended(self, task_id: str, ok: bool | None) -> tuple[int, tuple[str, ...]] | None:
        """`ok` None: it ended with no verdict (cancelled, rate limited). Returns the wave and
        its tasks when this made every task of a wave that ran in parallel a failure."""
        wave = self.wave_of.get(task_id)
        if wave is None:
            return None
        self.running.get(wave, set()).discard(task_id)
        if ok:
            self.succeeded.add(wave)
        elif ok is False:
            failed = self.failed.setdefault(wave, set())
            before = len(failed)
            failed.add(task_id)
            tasks = self.tasks[wave]
            if (len(failed) > before and failed == tasks and len(tasks) > 1
                    and wave in self.parallel and wave not in self.succeeded):
                return wave, tuple(sorted(tasks))
        return None
