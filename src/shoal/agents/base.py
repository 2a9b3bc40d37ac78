"""The agent extension point: a small Protocol, its errors and a base for adapters.

An agent turns a task into a process to start (`prepare`, pure: it writes
nothing) and the ended process into a result (`interpret`). Agents are built
once per run and shared by concurrent attempts, so they keep no per-attempt
state: whatever `interpret` needs must be in the `ProcessOutcome` (its log,
workdir and attempt_dir).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from shoal.agents.invocation import AgentRequest, Invocation, ProcessOutcome
from shoal.agents.result import AgentResult, StructuredResult, decide
from shoal.errors import ShoalError

PROMPT_FILE_NAME = "prompt.md"


class UnknownAgentError(ShoalError):
    """A plan or command named an agent that is not registered."""


class AgentSetupError(ShoalError):
    """The agent cannot start this task as configured (bad settings, nothing to run).

    Raised by the agent's constructor or `prepare`; the engine records the
    attempt as failed with `AgentResult.setup_failed(error)`.
    """


@runtime_checkable
class Agent(Protocol):
    name: str

    def prepare(self, request: AgentRequest) -> Invocation: ...

    def interpret(self, outcome: ProcessOutcome) -> AgentResult: ...


class BaseAgent:
    """Shared plumbing so an adapter is an argv and, optionally, a structured-output reader.

    Subclasses set ``name`` (and ``install_hint``), implement `prepare`, and
    override `structured` when their CLI prints machine-readable output.
    Settings understood here: ``require_report`` (exit 0 alone is not success).
    """

    name: ClassVar[str] = ""
    install_hint: ClassVar[str | None] = None
    rate_limit: ClassVar[re.Pattern[str] | None] = None
    # For `shoal doctor`: the program an adapter runs (None: nothing to check), how to ask it
    # for its version and its help, and the flags the adapter always passes, which that help
    # must list for the installed version to work with shoal.
    executable: ClassVar[str | None] = None
    version_args: ClassVar[tuple[str, ...]] = ("--version",)
    help_args: ClassVar[tuple[str, ...]] = ("--help",)
    required_flags: ClassVar[tuple[str, ...]] = ()
    # True: a success without a worker report that also changed nothing is a failure
    # (`shoal.agents.result.unproven`, applied by the engine once it knows the changes).
    success_needs_evidence: ClassVar[bool] = False
    # True: `prepare` continues `AgentRequest.continue_session` with the CLI's own flags, and
    # an id it cannot resume ends the attempt with `ErrorKind.NO_SESSION`. False: the adapter
    # ignores `continue_session` and every attempt starts cold.
    continues_sessions: ClassVar[bool] = False

    def __init__(self, settings: Mapping[str, Any] | None = None) -> None:
        self.settings: Mapping[str, Any] = dict(settings or {})

    def options(self, request: AgentRequest) -> dict[str, Any]:
        """The agent's settings with the plan's and task's options on top."""
        return {**self.settings, **request.options}

    def prepare(self, request: AgentRequest) -> Invocation:
        raise NotImplementedError

    def structured(self, outcome: ProcessOutcome) -> StructuredResult | None:
        """The CLI's own result, read from its output; None when it prints none."""
        return None

    def session_in_log(self, log_path: Path) -> str | None:
        """The id of the session the attempt whose output is ``log_path`` started, read from
        what the CLI prints as it starts (so an attempt cut off mid-way has one too), for
        `AgentRequest.continue_session`. Reads only the head of the log. Default: None, the
        agent does not continue sessions."""
        return None

    def final_output_seen(self, tail: bytes) -> bool:
        """Whether ``tail`` (the end of the worker's log) holds the CLI's final result event.

        The engine's idle watchdog ends a worker that is still alive some time after this
        turns true (headless CLIs are known to hang after printing their result). Default:
        False, the CLI prints nothing that says it has finished.
        """
        return False

    def fatal_error_seen(self, tail: bytes) -> StructuredResult | None:
        """The failure ``tail`` (the end of a still running worker's log) already shows, when it
        is one no waiting cures: the CLI's API refused its credentials or its account (an
        `ErrorKind.AUTHENTICATION` or `ErrorKind.BILLING` result), while the CLI goes on
        retrying. The engine's watchdog stops such a worker at once; `interpret` must come to
        the same result from the log. Default: None, nothing is fatal before the CLI exits.
        """
        return None

    def interpret(self, outcome: ProcessOutcome) -> AgentResult:
        return decide(
            outcome,
            self.structured(outcome),
            install_hint=self.install_hint,
            require_report=bool(self.settings.get("require_report", False)),
            rate_limit=self.rate_limit,
        )


def prompt_file(request: AgentRequest) -> tuple[Path, bytes]:
    """Where the prompt goes for this attempt and its bytes, for `Invocation.files`."""
    return request.attempt_dir / PROMPT_FILE_NAME, request.prompt.encode("utf-8")


def shoal_env(request: AgentRequest) -> dict[str, str]:
    """Variables every worker gets, so scripts and wrappers can find their context."""
    return {
        "SHOAL_TASK_ID": str(request.task.id),
        "SHOAL_PROMPT_FILE": str(request.attempt_dir / PROMPT_FILE_NAME),
        "SHOAL_WORKDIR": str(request.workdir),
        "SHOAL_ATTEMPT_DIR": str(request.attempt_dir),
        "SHOAL_ATTEMPT": str(request.attempt),
    }
