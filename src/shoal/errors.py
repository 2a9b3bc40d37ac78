"""The one error hierarchy and the exit codes every command uses."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit codes of every `shoal` command."""

    OK = 0
    PROBLEMS = 1  # the plan or run has problems (errors found, tasks failed)
    USAGE = 2  # bad usage or unreadable input
    INTERNAL = 3  # a bug in shoal
    INTERRUPTED = 130  # Ctrl-C


class ShoalError(Exception):
    """Base of every error shoal raises on purpose.

    ``message`` says what went wrong, ``hint`` what to do about it; ``file`` and
    ``line`` locate it when it comes from a file.
    """

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        file: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.file = file
        self.line = line

    def location(self) -> str | None:
        if self.file is None:
            return None
        return f"{self.file}:{self.line}" if self.line else self.file

    def __str__(self) -> str:
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class PlanReadError(ShoalError):
    """The plan cannot be read at all: missing, not UTF-8, not parseable, no plan in a folder."""

    exit_code = ExitCode.USAGE


class PlanInvalidError(ShoalError):
    """The plan was read but has errors; ``problems`` lists every one of them."""

    exit_code = ExitCode.PROBLEMS

    def __init__(self, message: str, problems: tuple, **kwargs) -> None:  # type: ignore[type-arg]
        super().__init__(message, **kwargs)
        self.problems = problems


class UnknownTaskError(ShoalError):
    """A command named a task that the plan does not have."""

    exit_code = ExitCode.USAGE


class StoreError(ShoalError):
    """The run state database cannot be opened, read or written (or is from a newer shoal)."""

    exit_code = ExitCode.USAGE


class UnknownRunError(StoreError):
    """A run id (or a task within a run) that the state database does not have."""

    exit_code = ExitCode.USAGE


class AlreadyMergedError(StoreError):
    """A task already merged once was about to be merged, or changed, again: a bug in shoal."""

    exit_code = ExitCode.INTERNAL


class RunInProgressError(ShoalError):
    """Another `shoal run` holds this repository's run lock; ``run_id``/``pid`` name it."""

    exit_code = ExitCode.USAGE

    def __init__(
        self,
        message: str,
        *,
        run_id: str | None = None,
        pid: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.run_id = run_id
        self.pid = pid
