"""What the adapters of real agent CLIs share: checked settings, how the prompt travels, the
task's boundaries as text, and reading JSON events from the end of a log.

Settings every such adapter understands (the plan's ``agents: {NAME: {...}}``)::

    executable: /opt/bin/claude      # the program (default: the CLI's usual name on PATH)
    model: sonnet                    # the CLI's --model
    extra_args: ["--foo", "bar"]     # appended to the argument list as they are
    env: {SOME_VAR: value}           # added to the worker's environment
    require_report: false            # exit 0 alone is not success when true

Each adapter adds its own (``permission_mode``, ``max_turns`` ...). A setting an adapter does
not know, or of the wrong type, is refused when the agent is built (before any attempt),
naming the ones it knows, so a setting meant for one CLI is never silently dropped.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from shoal.agents.base import AgentSetupError, BaseAgent, prompt_file, shoal_env
from shoal.agents.invocation import AgentRequest, Invocation, ProcessOutcome
from shoal.agents.output import json_lines, read_head
from shoal.agents.result import ErrorKind, StructuredResult, last_lines
from shoal.analysis.paths import normalise
from shoal.model import Plan, Task

MAX_PROMPT_ARG_BYTES = 100_000  # Linux caps one argument at 128 KiB
COMMON_SETTINGS = ("executable", "model", "extra_args", "env", "require_report")
# Rate limits and overloads as the five CLIs word them (HTTP 429 and 529, Anthropic's
# overloaded_error, Google's RESOURCE_EXHAUSTED, subscription usage limits).
LIMIT_PATTERN = re.compile(
    r"rate[ _-]?limit|too many requests|\b429\b|\b529\b|overloaded|resource[ _]exhausted"
    r"|usage limit|quota exceeded|exceeded your current quota|hit your limit|limit reached",
    re.IGNORECASE,
)
_GLOB_CHARS = re.compile(r"[*?\[]")


class HeadlessAgent(BaseAgent):
    """Base of the adapters for agent CLIs driven through their documented headless mode.

    Subclasses set ``name``, ``executable``, ``own_settings`` and implement `arguments`
    (the argument list after the program) and, usually, `structured` and `final_output_seen`.
    """

    own_settings: ClassVar[tuple[str, ...]] = ()
    rate_limit = LIMIT_PATTERN
    success_needs_evidence = True  # a coding agent that neither reports nor edits did nothing

    def __init__(self, settings: Mapping[str, Any] | None = None) -> None:
        super().__init__(settings)
        self.check(self.settings)  # fail once, when the agent is built, not in every attempt

    # -- settings --------------------------------------------------------------------------
    def check(self, options: Mapping[str, Any]) -> None:
        """Refuse unknown settings and settings of the wrong type, with a readable message."""
        known = (*COMMON_SETTINGS, *self.own_settings)
        for key in options:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise AgentSetupError(
                    f"the {self.name} agent has no setting {key!r}",
                    hint=hint + f"its settings: {', '.join(sorted(known))}",
                )
        text(self.name, options, "executable")
        text(self.name, options, "model")
        strings(self.name, options, "extra_args")
        env = options.get("env")
        if env is not None and not isinstance(env, Mapping):
            raise AgentSetupError(f"the {self.name} agent's env must be a mapping, got {env!r}")

    def checked(self, request: AgentRequest) -> dict[str, Any]:
        """The settings for this request (the task's options on top), checked."""
        options = self.options(request)
        self.check(options)
        return options

    def program(self, options: Mapping[str, Any]) -> str:
        return str(options.get("executable") or self.executable or self.name)

    # -- building the invocation -----------------------------------------------------------
    def arguments(self, request: AgentRequest, options: dict[str, Any]) -> Arguments:
        """The arguments after the program: options, then (after ``extra_args``) the tail,
        such as the prompt, and what to feed on stdin (None: nothing)."""
        raise NotImplementedError

    def extra_env(self, request: AgentRequest, options: dict[str, Any]) -> dict[str, str]:
        return {}

    def prepare(self, request: AgentRequest) -> Invocation:
        options = self.checked(request)
        args = self.arguments(request, options)
        argv = (self.program(options), *args.options, *strings(self.name, options, "extra_args"),
                *args.tail)
        path, data = prompt_file(request)  # kept with the attempt even when passed otherwise
        env = {**shoal_env(request), **self.extra_env(request, options),
               **{str(k): str(v) for k, v in (options.get("env") or {}).items()}}
        return Invocation(argv=argv, env=env, stdin=args.stdin, files={path: data})


@dataclass(frozen=True)
class Arguments:
    """What `HeadlessAgent.arguments` returns: the CLI's options, what comes after the
    ``extra_args`` (the prompt, a ``--``, files), and the bytes for stdin, if any."""

    options: list[str]
    tail: list[str] = field(default_factory=list)
    stdin: bytes | None = None


# -- setting readers (each raises AgentSetupError naming the agent and the setting) -----------
def text(agent: str, options: Mapping[str, Any], key: str) -> str | None:
    value = options.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise AgentSetupError(f"the {agent} agent's {key} must be a non-empty string, got {value!r}")
    return value


def strings(agent: str, options: Mapping[str, Any], key: str) -> list[str]:
    """A list of strings; one string is a list of one."""
    value = options.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise AgentSetupError(f"the {agent} agent's {key} must be a list of strings, got {value!r}")
    return list(value)


def number(agent: str, options: Mapping[str, Any], key: str, *, integer: bool = False) -> float | None:
    value = options.get(key)
    if value is None:
        return None
    wrong = isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0
    if wrong or (integer and not isinstance(value, int)):
        kind = "a positive whole number" if integer else "a positive number"
        raise AgentSetupError(f"the {agent} agent's {key} must be {kind}, got {value!r}")
    return value


def flag(agent: str, options: Mapping[str, Any], key: str, default: bool) -> bool:
    value = options.get(key, default)
    if not isinstance(value, bool):
        raise AgentSetupError(f"the {agent} agent's {key} must be true or false, got {value!r}")
    return value


# -- the prompt and the task -------------------------------------------------------------------
def fits_argument(prompt: str) -> bool:
    """Whether the prompt can go as one argument (under the kernel's limit, not option-like)."""
    return len(prompt.encode("utf-8")) <= MAX_PROMPT_ARG_BYTES and not prompt.startswith("-")


def boundaries(task: Task, plan: Plan) -> str:
    """The task's paths as instructions, for CLIs that take extra system-prompt text."""
    lines = [(f"You are one of several workers changing this repository at the same time; "
              f"you work on task {task.id} only, in a workspace of your own.")]
    if task.owns:
        lines.append("Change only these paths: " + ", ".join(task.owns) + ".")
    else:
        lines.append("Do not change any file.")
    if task.reads:
        lines.append("You may read, but must not change: " + ", ".join(task.reads) + ".")
    frozen = (*task.forbids, *plan.defaults.shared_readonly)
    if frozen:
        lines.append("Never change: " + ", ".join(frozen) + ".")
    lines.append("Do not commit, switch branches, stash or reset: shoal commits your work when "
                 "you finish. End with the fenced ```json report the task asks for.")
    return "\n".join(lines)


def expand(workdir: Path, patterns: tuple[str, ...], *, limit: int = 200) -> list[str]:
    """Files (relative) for patterns, for CLIs that take a list of files: a literal file path
    as it is (it may not exist yet), a folder or a glob as the files in ``workdir`` under or
    matching it; at most ``limit``."""
    found: list[str] = []
    for raw in patterns:
        pattern = normalise(raw)  # plan paths are anchored at the root: "/x" is "x"
        if pattern in ("", ".", "/"):
            continue
        literal = workdir / pattern
        if not _GLOB_CHARS.search(pattern) and not literal.is_dir():
            if not pattern.endswith("/"):
                found.append(pattern)
            continue
        matches = literal.rglob("*") if literal.is_dir() else workdir.glob(pattern)
        for path in sorted(matches):
            relative = path.relative_to(workdir).as_posix()
            if path.is_file() and relative != ".git" and not relative.startswith(".git/"):
                found.append(relative)
    return list(dict.fromkeys(found))[:limit]


# -- reading output ----------------------------------------------------------------------------
def events(text_or_bytes: str | bytes, *, needle: str | None = None) -> Iterator[dict[str, Any]]:
    """JSON objects on lines of a log, last first; lines without ``needle`` are not parsed."""
    return json_lines(text_or_bytes, newest_first=True, needle=needle)


def session_at_head(log_path: Path, needle: str, pick: Callable[[dict[str, Any]], Any]) -> str | None:
    """The first session id ``pick`` finds in the JSON events (lines holding ``needle``) at
    the head of a log; lines cut off or not JSON are skipped."""
    for event in json_lines(read_head(log_path), needle=needle):
        found = pick(event)
        if isinstance(found, str) and found.strip():
            return found
    return None


def no_session(agent: str, said: str, **metrics: Any) -> StructuredResult:
    """The failure of an attempt whose CLI could not resume the session it was to continue."""
    return StructuredResult(ok=False, error=ErrorKind.NO_SESSION, message=(
        f"{agent} could not continue the earlier session: {said.strip()[:300]}"), **metrics)


def last_line(outcome: ProcessOutcome, tail: str | None = None) -> str:
    """The last non-blank line of the log that is not a JSON event, for messages."""
    for line in reversed(last_lines(outcome.tail() if tail is None else tail, 40)):
        if not line.lstrip().startswith("{"):
            return line.strip()[:300]
    return ""


_ERROR_WORD = re.compile(r"\berror\b|\bpanicked\b|\bexception\b", re.IGNORECASE)


def exit_failure(agent: str, outcome: ProcessOutcome, tail: str, **metrics: Any) -> StructuredResult | None:
    """For a CLI that exited non-zero without its structured result: a failure whose message
    is the CLI's own error line (the first of its last lines that says error, not the last
    line of a stack trace). None when it did not exit that way (a signal, a timeout, 127)."""
    code = outcome.exit_code
    if code is None or code <= 0 or code == 127 or outcome.timed_out:
        return None
    lines = [line.strip() for line in last_lines(tail, 40) if not line.lstrip().startswith("{")]
    said = next((line for line in lines if _ERROR_WORD.search(line)), lines[-1] if lines else "")
    limited = any(LIMIT_PATTERN.search(line) for line in lines)
    return StructuredResult(ok=False, message=f"{agent} exited with code {code}"
                            + (f": {said[:300]}" if said else ""),
                            error=ErrorKind.RATE_LIMITED if limited else None, **metrics)


def http_error_kind(status: Any) -> ErrorKind | None:
    """What an API's HTTP status says failed: the credentials (401, 403), the account (402),
    or a limit that waiting cures (429, 529). None for any other status or none."""
    if isinstance(status, bool) or not isinstance(status, int):
        return None
    if status in (401, 403):
        return ErrorKind.AUTHENTICATION
    if status == 402:
        return ErrorKind.BILLING
    if status in (429, 529):
        return ErrorKind.RATE_LIMITED
    return None


def mapping(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one: output fields may be missing."""
    return value if isinstance(value, dict) else {}


def money(value: Any) -> float | None:
    """A cost in USD from a JSON number (not a boolean), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def add(total: int | None, value: Any) -> int | None:
    """``total + value`` for token counts, where either may be missing."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return total
    return (total or 0) + int(value)
