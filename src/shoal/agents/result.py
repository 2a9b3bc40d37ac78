"""What an attempt came to, decided the same way for every agent.

Adapters find their CLI's structured output (or None) and call `decide`, which
falls back, in order, to: the worker's fenced JSON report (seed 001), the words
``TASK COMPLETE``, a completion marker file (seed 002), and the exit code.
"""

from __future__ import annotations

import os
import re
import signal as signals
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from shoal.agents.invocation import ProcessOutcome
from shoal.agents.report import WorkerReport, find_report
from shoal.model import TaskState, format_duration

MARKER_FILES = (".claude-task-complete", ".shoal-task-complete")
COMPLETION_WORDS = "TASK COMPLETE"
# Generic signs of an API rate limit in a failed CLI's last lines.
RATE_LIMIT_PATTERN = re.compile(
    r"rate[ _-]?limit|too many requests|\b429\b|usage limit|quota exceeded", re.IGNORECASE
)
_LAST_LINES = 40
_SUMMARY_CHARS = 500


class ResultStatus(str, Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    BLOCKED = "blocked"  # the worker says it cannot go on (its report's blocker)

    @property
    def task_state(self) -> TaskState:
        return TaskState(self.value)


class ErrorKind(str, Enum):
    """Why an attempt failed, when the reason is not the task's own work."""

    CRASH = "crash"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    NOT_INSTALLED = "not_installed"
    BAD_OUTPUT = "bad_output"
    SETUP = "setup"  # the agent could not prepare the task (e.g. no run: commands)
    # The agent's API refused its credentials (HTTP 401/403) or its account (billing): no
    # attempt of any task with that agent can succeed, so the run stops (engine.limits).
    AUTHENTICATION = "authentication"
    BILLING = "billing"
    # The attempt was to continue a session (`AgentRequest.continue_session`) the CLI could
    # not resume: unknown to it, saved for another folder, or held by a process still running.
    # The CLI did no work; the engine can start the task cold.
    NO_SESSION = "no_session"


class ResultSource(str, Enum):
    """Which evidence decided the result."""

    STRUCTURED = "structured"  # the agent CLI's own JSON output
    REPORT = "json_block"  # the worker's fenced JSON report
    TASK_COMPLETE = "task_complete"
    MARKER = "marker"
    EXIT_CODE = "exit_code"
    START = "start"  # the worker never started


@dataclass(frozen=True)
class StructuredResult:
    """What an adapter read from its CLI's machine output (``ok`` None: it does not say)."""

    ok: bool | None = None
    text: str = ""  # the agent's final message; may hold the fenced JSON report
    error: ErrorKind | None = None
    message: str = ""
    session_id: str | None = None
    turns: int | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None
    permission_denials: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentResult:
    status: ResultStatus
    source: ResultSource
    summary: str = ""
    error: ErrorKind | None = None
    report: WorkerReport | None = None
    session_id: str | None = None
    turns: int | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None
    permission_denials: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # what parsing skipped or noticed, for the log

    @property
    def ok(self) -> bool:
        return self.status is ResultStatus.SUCCEEDED

    @classmethod
    def setup_failed(cls, error: BaseException | str) -> AgentResult:
        """The result for an attempt whose `prepare` raised `AgentSetupError`."""
        text = getattr(error, "message", None) or str(error)
        hint = getattr(error, "hint", None)
        return cls(ResultStatus.FAILED, ResultSource.START, text, ErrorKind.SETUP,
                   notes=(f"hint: {hint}",) if hint else ())

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "source": self.source.value,
            "summary": self.summary,
            "error": self.error.value if self.error else None,
            "report": self.report.to_json() if self.report else None,
            "session_id": self.session_id,
            "turns": self.turns,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": self.cost_usd,
            "permission_denials": list(self.permission_denials),
            "notes": list(self.notes),
        }


_NO_STRUCTURE = StructuredResult()


def decide(
    outcome: ProcessOutcome,
    structured: StructuredResult | None = None,
    *,
    install_hint: str | None = None,
    require_report: bool = False,
    rate_limit: re.Pattern[str] | None = None,
) -> AgentResult:
    """The result of one attempt from the strongest evidence available.

    A worker report beats the exit code both ways (``fail`` with exit 0 fails),
    except that a ``pass`` from a process that then crashed is a crash. A
    ``pass`` from a process stopped at its timeout stands: the work was done,
    the process merely hung afterwards. ``TASK COMPLETE`` and markers count
    only with exit code 0. With ``require_report`` a bare exit 0 is bad output.
    Marker files are removed from the workdir so they are never committed.
    """
    base = _metrics(structured)
    if outcome.start_error is not None:
        return _not_started(outcome, install_hint, base)
    tail = outcome.tail()
    marker = _consume_markers(outcome)
    report, notes = find_report(structured.text) if structured else (None, ())
    if report is None:
        report, more = find_report(tail)
        notes += more
    crashed = not outcome.timed_out and outcome.exit_code != 0
    base = _metrics(structured, report, notes)
    timeout_note = outcome.stop_note or (
        f"stopped at its time limit after {format_duration(outcome.duration_s)}")

    if structured is not None and structured.ok is False:
        kind = structured.error or (ErrorKind.TIMEOUT if outcome.timed_out else ErrorKind.CRASH)
        text = structured.message or _first_chars(structured.text) or "the agent reported an error"
        return _result(base, ResultStatus.FAILED, ResultSource.STRUCTURED, text, kind)

    if report is not None:
        status = {"pass": ResultStatus.SUCCEEDED, "fail": ResultStatus.FAILED,
                  "blocked": ResultStatus.BLOCKED}[report.status]
        summary = _report_text(report)
        if status is ResultStatus.SUCCEEDED and crashed:
            text = f"reported pass but then {_exit_text(outcome, tail)}"
            return _result(base, ResultStatus.FAILED, ResultSource.REPORT, text, ErrorKind.CRASH)
        if status is ResultStatus.SUCCEEDED and outcome.timed_out:
            base = replace(base, notes=base.notes + (f"reported pass, then {timeout_note}",))
            return _result(base, status, ResultSource.REPORT, summary)
        late = ErrorKind.TIMEOUT if outcome.timed_out and status is not ResultStatus.SUCCEEDED else None
        return _result(base, status, ResultSource.REPORT, summary, late)

    if structured is not None and structured.ok is True:
        summary = structured.message or _first_chars(structured.text)
        if crashed:
            text = f"reported success but then {_exit_text(outcome, tail)}"
            return _result(base, ResultStatus.FAILED, ResultSource.STRUCTURED, text, ErrorKind.CRASH)
        if outcome.timed_out:
            base = replace(base, notes=base.notes + (f"reported success, then {timeout_note}",))
        return _result(base, ResultStatus.SUCCEEDED, ResultSource.STRUCTURED, summary)

    if outcome.timed_out:
        return _result(base, ResultStatus.FAILED, ResultSource.EXIT_CODE,
                       f"timed out: {timeout_note}", ErrorKind.TIMEOUT)
    if outcome.exit_code == 0:
        if COMPLETION_WORDS in tail or (structured and COMPLETION_WORDS in structured.text):
            return _result(base, ResultStatus.SUCCEEDED, ResultSource.TASK_COMPLETE, "TASK COMPLETE")
        if marker is not None:
            return _result(base, ResultStatus.SUCCEEDED, ResultSource.MARKER, f"found {marker}")
        if require_report:
            text = "exited 0 without reporting a result (no ```json block, TASK COMPLETE or marker)"
            return _result(base, ResultStatus.FAILED, ResultSource.EXIT_CODE, text, ErrorKind.BAD_OUTPUT)
        return _result(base, ResultStatus.SUCCEEDED, ResultSource.EXIT_CODE, "exited with code 0")
    return _result(base, ResultStatus.FAILED, ResultSource.EXIT_CODE,
                   _exit_text(outcome, tail), _failure_kind(outcome, tail, rate_limit))


def unproven(result: AgentResult, agent: str, *, changed: bool) -> AgentResult:
    """`result` once the engine knows whether the attempt changed anything, for the agents
    whose success must show (``BaseAgent.success_needs_evidence``: the coding-agent CLIs): a
    success without a worker report that could be read, from a worker that changed nothing,
    is a failure (``<agent> finished without a report and changed nothing``), not a task done.
    Any other result stands."""
    if not result.ok or result.report is not None or changed:
        return result
    said = _first_chars(result.summary, 200)
    return replace(result, status=ResultStatus.FAILED, error=ErrorKind.BAD_OUTPUT,
                   summary=f"{agent} finished without a report and changed nothing",
                   notes=result.notes + ((f"its last word: {said}",) if said else ()))


def last_lines(text: str, count: int = _LAST_LINES) -> list[str]:
    """The last ``count`` non-blank lines of ``text``."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    return lines[-count:]


def _metrics(structured: StructuredResult | None, report: WorkerReport | None = None,
             notes: tuple[str, ...] = ()) -> AgentResult:
    s = structured or _NO_STRUCTURE
    return AgentResult(
        ResultStatus.FAILED, ResultSource.EXIT_CODE, report=report, notes=notes,
        session_id=s.session_id, turns=s.turns, tokens_in=s.tokens_in,
        tokens_out=s.tokens_out, cost_usd=s.cost_usd, permission_denials=s.permission_denials,
    )


def _result(base: AgentResult, status: ResultStatus, source: ResultSource, summary: str,
            error: ErrorKind | None = None) -> AgentResult:
    return replace(base, status=status, source=source, summary=summary, error=error)


def _not_started(outcome: ProcessOutcome, hint: str | None, base: AgentResult) -> AgentResult:
    program = outcome.argv[0] if outcome.argv else "the agent"
    text = str(outcome.start_error)
    if program not in text:  # the engine's own message may already name it
        text = f"could not start {program!r}: {text}"
    if hint:
        text += f" ({hint})"
    return _result(base, ResultStatus.FAILED, ResultSource.START, text, ErrorKind.NOT_INSTALLED)


def _consume_markers(outcome: ProcessOutcome) -> str | None:
    found = None
    workdir = os.fspath(outcome.workdir)
    for name in MARKER_FILES:
        try:
            os.unlink(os.path.join(workdir, name))  # one system call where there is no marker
        except OSError:  # none there (or a folder of that name: not a marker)
            continue
        found = found or name
    return found


def _report_text(report: WorkerReport) -> str:
    if report.status == "pass":
        return report.notes or "worker reported pass"
    detail = report.blocker or report.notes
    return f"worker reported {report.status}" + (f": {detail}" if detail else "")


def _exit_text(outcome: ProcessOutcome, tail: str) -> str:
    code = outcome.exit_code
    if code is not None and code < 0:
        try:
            name = signals.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        text = f"was killed by {name}"
    elif code == 127:
        text = "exited with code 127 (a command was not found)"
    else:
        text = f"exited with code {code}"
    lines = last_lines(tail, 1)
    return f"{text}; last output: {_first_chars(lines[0], 200)}" if lines else text


def _failure_kind(outcome: ProcessOutcome, tail: str, rate_limit: re.Pattern[str] | None) -> ErrorKind:
    if outcome.exit_code == 127:
        return ErrorKind.NOT_INSTALLED
    if rate_limit is not None and rate_limit.search("\n".join(last_lines(tail))):
        return ErrorKind.RATE_LIMITED
    return ErrorKind.CRASH


def _first_chars(text: str, limit: int = _SUMMARY_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
