"""The ``opencode`` agent: OpenCode's non-interactive ``run`` with JSON events.

Runs ``opencode run <prompt> --format json [--model provider/model] [--agent A]
[--variant V] [--session ID] [extra_args]``, with ``OPENCODE_DISABLE_AUTOUPDATE=1`` and, when the
``permission`` setting is given, ``OPENCODE_PERMISSION`` (its JSON: OpenCode's own permission
config, e.g. ``{"edit": "allow", "bash": "allow"}``; ``run`` rejects whatever would need a
question). OpenCode joins its message arguments and quotes one that holds spaces, so a
prompt that is too long for one argument, or starts with ``-``, goes on stdin, which
``run`` appends to the message. Settings, on top of `shoal.agents.headless`'s: ``agent``,
``variant``, ``permission``.

Read from the output: ``sessionID``; ``step_finish`` events (``part.cost`` summed,
``part.tokens`` input, output, reasoning and cache summed, one turn each; a ``part.reason``
other than ``tool-calls``, usually ``stop``, ends the run); the last ``text`` part (the
final message); ``error`` events (``error.name``, ``error.data.message``); tool calls
rejected for want of permission.

Continuing a session (`AgentRequest.continue_session`), as OpenCode 1.18.33 was seen to do:
the id (``ses_...``) is the ``sessionID`` of every event, the first of which (``step_start``)
comes when the model's first answer begins: an attempt cut off before that shows none, and
starts cold. ``run --session <id>`` continues it, tool calls made so far included, printing
the same ``sessionID``. Only from the same folder: ``run`` finds the session from any folder
(another repository's too) but works on in the folder the session started in, and then waits
for ever, printing nothing, until it is stopped (it ends on SIGTERM): the engine must continue
it only where it ran before. An id it
does not know prints "Error: Session not found" (in colour) on stderr, no events, exit 1:
`ErrorKind.NO_SESSION`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shoal.agents.base import AgentSetupError
from shoal.agents.headless import (
    LIMIT_PATTERN,
    Arguments,
    HeadlessAgent,
    add,
    events,
    exit_failure,
    fits_argument,
    http_error_kind,
    last_line,
    mapping,
    no_session,
    session_at_head,
    text,
)
from shoal.agents.invocation import AgentRequest, ProcessOutcome
from shoal.agents.registry import register
from shoal.agents.result import ErrorKind, StructuredResult

_MORE = "tool-calls"  # a step_finish with this reason is followed by another step
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
_NO_SESSION = "Session not found"


@register
class OpenCodeAgent(HeadlessAgent):
    name = "opencode"
    executable = "opencode"
    install_hint = ("install OpenCode (npm install -g opencode-ai), then `opencode auth login` "
                    "for your model's provider")
    help_args = ("run", "--help")
    required_flags = ("--format",)
    own_settings = ("agent", "variant", "permission")
    continues_sessions = True

    def check(self, options: Mapping[str, Any]) -> None:
        super().check(options)
        text(self.name, options, "agent")
        text(self.name, options, "variant")
        permission = options.get("permission")
        if permission is not None and not isinstance(permission, (Mapping, str)):
            raise AgentSetupError(
                f"the opencode agent's permission must be a mapping or a string, got {permission!r}",
                hint='e.g. permission: {edit: allow, bash: allow}')

    def arguments(self, request: AgentRequest, options: dict[str, Any]) -> Arguments:
        inline = fits_argument(request.prompt)
        args = ["run", *([request.prompt] if inline else []), "--format", "json"]
        if model := text(self.name, options, "model"):
            args += ["--model", model]
        if agent := text(self.name, options, "agent"):
            args += ["--agent", agent]
        if variant := text(self.name, options, "variant"):
            args += ["--variant", variant]
        if request.continue_session:
            args += ["--session", request.continue_session]
        return Arguments(args, stdin=None if inline else request.prompt.encode("utf-8"))

    def extra_env(self, request: AgentRequest, options: dict[str, Any]) -> dict[str, str]:
        env = {"OPENCODE_DISABLE_AUTOUPDATE": "1"}
        permission = options.get("permission")
        if permission is not None:
            env["OPENCODE_PERMISSION"] = (permission if isinstance(permission, str)
                                          else json.dumps(dict(permission)))
        return env

    def structured(self, outcome: ProcessOutcome) -> StructuredResult | None:
        tail = outcome.tail()
        session = None
        cost: float | None = None
        tokens_in = tokens_out = None
        steps = 0
        state = "none"  # what the last event said: "running", "done" or "error"
        error = ""
        failure: ErrorKind | None = None
        final = ""
        denials: list[str] = []
        for event in reversed(list(events(tail))):  # oldest first
            session = event.get("sessionID") if isinstance(event.get("sessionID"), str) else session
            kind = event.get("type")
            part = mapping(event.get("part"))
            if kind == "step_start":
                state = "running"
            elif kind == "step_finish":
                steps += 1
                if isinstance(part.get("cost"), (int, float)):
                    cost = (cost or 0.0) + float(part["cost"])
                tokens = mapping(part.get("tokens"))
                cache = mapping(tokens.get("cache"))
                for value in (tokens.get("input"), cache.get("read"), cache.get("write")):
                    tokens_in = add(tokens_in, value)
                for value in (tokens.get("output"), tokens.get("reasoning")):
                    tokens_out = add(tokens_out, value)
                state = "running" if part.get("reason") == _MORE else "done"
            elif kind == "text" and isinstance(part.get("text"), str):
                final = part["text"]
            elif kind == "tool_use":
                denials += _denial(part)
            elif kind == "error":
                state, error = "error", _error_text(event.get("error"))
                failure = _error_kind(event.get("error"))
        metrics: dict[str, Any] = {"session_id": session, "turns": steps or None, "cost_usd": cost,
                                   "tokens_in": tokens_in, "tokens_out": tokens_out,
                                   "permission_denials": tuple(denials)}
        if state == "done":
            return StructuredResult(ok=True, text=final, **metrics)
        if state == "error":
            if failure is None and LIMIT_PATTERN.search(error) is not None:  # no status: words
                failure = ErrorKind.RATE_LIMITED
            return StructuredResult(ok=False, text=final, message=f"opencode: {error}"[:600],
                                    error=failure, **metrics)
        if outcome.exit_code == 0 and not outcome.timed_out:
            last = last_line(outcome, tail)
            return StructuredResult(ok=False, error=ErrorKind.BAD_OUTPUT, text=final, **metrics,
                                    message="opencode exited 0 before its last step finished"
                                            + (f"; last output: {last}" if last else ""))
        if session is None and outcome.exit_code == 1:
            said = [_COLOUR.sub("", line) for line in tail.splitlines() if _NO_SESSION in line]
            if said:
                return no_session(self.name, said[-1], **metrics)
        failed = exit_failure(self.name, outcome, tail, **metrics)
        return failed or (StructuredResult(text=final, **metrics) if session else None)

    def session_in_log(self, log_path: Path) -> str | None:
        return session_at_head(log_path, '"sessionID"', lambda e: e.get("sessionID"))

    def final_output_seen(self, tail: bytes) -> bool:
        for event in events(tail, needle='"type"'):
            kind = event.get("type")
            if kind == "error":
                return True
            if kind in ("step_finish", "step_start", "text", "tool_use"):
                part = mapping(event.get("part"))
                return kind == "step_finish" and part.get("reason") != _MORE
        return False


def _error_kind(error: Any) -> ErrorKind | None:
    """What an error event's name and HTTP status (``data.statusCode``) say failed."""
    error = mapping(error)
    if error.get("name") == "ProviderAuthError":
        return ErrorKind.AUTHENTICATION
    return http_error_kind(mapping(error.get("data")).get("statusCode"))


def _error_text(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error or "error")
    data = mapping(error.get("data"))
    name = str(error.get("name") or "Error")
    message = data.get("message") or error.get("message")
    return f"{name}: {message}" if message else name


def _denial(part: dict[str, Any]) -> list[str]:
    state = mapping(part.get("state"))
    problem = str(state.get("error") or "")
    if state.get("status") == "error" and "permission" in problem.lower():
        return [str(part.get("tool") or "tool")]
    return []
