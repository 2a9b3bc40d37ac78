"""What flows between the engine and an agent: the request, the invocation, the outcome.

The engine builds an `AgentRequest`, asks the agent to `prepare` it into an
`Invocation`, writes the invocation's files, spawns ``argv`` (own process group,
``cwd=workdir``, stdout and stderr into the log file, stdin closed unless given),
then hands the agent a `ProcessOutcome` to `interpret`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from shoal.agents.output import DEFAULT_TAIL_BYTES, read_tail
from shoal.model import Plan, Task


def _frozen(mapping: Mapping[Any, Any] | None) -> Mapping[Any, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, eq=False)
class AgentRequest:
    """Everything an agent needs to start one attempt of one task.

    ``attempt_dir`` belongs to shoal (outside the workspace) and holds the prompt
    file and anything else the agent wants kept apart from the work it does.
    ``options`` are the agent settings from the plan and the task (``model``,
    ``permission_mode``, ``extra_args``, ``command`` ...); they override the
    settings the agent was built with. ``continue_session`` is the id of an earlier
    attempt's session (`BaseAgent.session_in_log`) for an agent that `continues_sessions`
    to continue instead of starting cold; ``prompt`` is then the message sent on in it.
    """

    task: Task
    plan: Plan
    prompt: str
    workdir: Path
    attempt_dir: Path
    options: Mapping[str, Any] = field(default_factory=dict)
    attempt: int = 1
    continue_session: str | None = None

    def __post_init__(self) -> None:
        for name in ("workdir", "attempt_dir"):
            path = getattr(self, name)
            path = path if isinstance(path, Path) else Path(path)
            if not path.is_absolute():
                raise ValueError(f"AgentRequest.{name} must be absolute, got {path}")
            object.__setattr__(self, name, path)
        object.__setattr__(self, "options", _frozen(self.options))


@dataclass(frozen=True, eq=False)
class Invocation:
    """A process to start: never a shell line, always an argument list.

    ``env`` holds only the variables to add to the engine's cleaned environment.
    ``stdin`` is fed to the process then closed; None means closed from the start.
    ``files`` maps absolute paths to contents the engine writes before starting.
    """

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    stdin: bytes | None = None
    files: Mapping[Path, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        argv = tuple(self.argv)
        if not argv or not all(isinstance(a, str) for a in argv):
            raise ValueError(f"Invocation.argv must be a non-empty list of strings, got {argv!r}")
        object.__setattr__(self, "argv", argv)
        object.__setattr__(self, "env", _frozen({str(k): str(v) for k, v in self.env.items()}))
        # per attempt, with the whole prompt in it: no copies of what is right already
        files = {p if isinstance(p, Path) else Path(p): c if type(c) is bytes else bytes(c)
                 for p, c in self.files.items()}
        for path in files:
            if not path.is_absolute():
                raise ValueError(f"Invocation file paths must be absolute, got {path}")
        object.__setattr__(self, "files", _frozen(files))

    @property
    def executable(self) -> str:
        return self.argv[0]

    def write_files(self) -> None:
        """Write ``files`` (parents created, private to the user): the engine calls this."""
        for path, content in self.files.items():
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            except FileNotFoundError:  # its folder is not there yet (checked only then: per task)
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                view = memoryview(content)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)


@dataclass(frozen=True)
class ProcessOutcome:
    """How the worker process ended, as the engine saw it.

    ``exit_code`` is negative when a signal ended the process and None when it
    never started; then ``start_error`` is a readable sentence saying why (the
    message of the engine's ExecutableNotFound: "cannot run 'claude': no such program"). ``timed_out`` means the engine stopped it at
    its time limit. ``argv`` is what was started, for messages. ``log_start`` is
    the log's size when this attempt started, when the engine appends attempts
    to one log, so an earlier attempt's report is never read as this one's.
    ``stop_note`` says why a watchdog stopped it (``timed_out`` is then true as well: a
    result it printed before stands), e.g. "stopped 30s after its final result".
    """

    exit_code: int | None
    log_path: Path
    workdir: Path
    duration_s: float = 0.0
    timed_out: bool = False
    start_error: str | None = None
    attempt_dir: Path | None = None
    argv: tuple[str, ...] = ()
    log_start: int = 0
    stop_note: str | None = None  # why the engine stopped it, when not at its time limit

    @classmethod
    def not_started(
        cls,
        error: str,
        *,
        log_path: Path,
        workdir: Path,
        argv: tuple[str, ...] = (),
        attempt_dir: Path | None = None,
    ) -> ProcessOutcome:
        return cls(
            exit_code=None,
            log_path=log_path,
            workdir=workdir,
            start_error=error,
            argv=tuple(argv),
            attempt_dir=attempt_dir,
        )

    @property
    def signal(self) -> int | None:
        """The signal number that ended the process, if one did."""
        if self.exit_code is not None and self.exit_code < 0:
            return -self.exit_code
        return None

    def tail(self, max_bytes: int = DEFAULT_TAIL_BYTES) -> str:
        """The last ``max_bytes`` of the log as text; never the whole of a huge log."""
        return read_tail(self.log_path, max_bytes, start=self.log_start)
