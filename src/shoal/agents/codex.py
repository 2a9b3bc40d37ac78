"""The ``codex`` agent: OpenAI Codex CLI's non-interactive ``exec`` with JSONL events.

Runs ``codex exec --json --sandbox workspace-write -C <workdir> [--model M] [--profile P]
[-c key=value ...] [extra_args] [resume <id>] -- <prompt>`` (``-`` and the prompt on stdin when
it is too long for one argument). No ``--full-auto``: upstream removed it. Settings, on top of
`shoal.agents.headless`'s: ``sandbox`` (read-only, workspace-write, danger-full-access),
``profile``, ``config`` (a mapping; each entry becomes ``-c key=<value as TOML>``).

Read from the output: ``thread.started`` (the session id), ``turn.completed`` (token usage;
there is no cost field), ``turn.failed`` and ``error`` (the message), and the last
``agent_message`` item (the final message, which holds the worker's JSON report). In a git
worktree the repository's metadata lies outside the sandbox, so codex cannot commit; shoal
commits what it leaves.

Continuing a session (`AgentRequest.continue_session`), as codex-cli 0.169.1 was seen to do:
the id is ``thread.started``'s ``thread_id``, printed first, before any model call, and the
thread is saved to ``$CODEX_HOME/sessions/.../rollout-...-<id>.jsonl`` at once, each tool call
as it ends. ``exec resume <id> [prompt | -]`` continues it: ``exec``'s own options (``--json``,
``--sandbox``, ``-C``, ``--profile`` ...) must come before ``resume``, which refuses
``--sandbox`` after it; the same ``thread_id`` is printed again. It finds the thread whatever the
folder (``-C`` elsewhere adds the new folder to the conversation). An unknown UUID fails with
"Error: thread/resume: thread/resume failed: no rollout found for thread id <id>", and a thread
still held by a codex process that was not stopped with "... already has an active writer",
both exit 1 without events: `ErrorKind.NO_SESSION`. An id that is not a UUID is taken for a
thread name and, unknown, silently starts a new thread, so only a UUID is continued (anything
else starts cold). The ``turn.completed`` usage of a resumed thread counts the whole thread,
earlier attempts' calls included.
"""

from __future__ import annotations

import json
import re
import uuid
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

DEFAULT_SANDBOX = "workspace-write"
_TURN_END = ("turn.completed", "turn.failed")


@register
class CodexAgent(HeadlessAgent):
    name = "codex"
    executable = "codex"
    install_hint = ("install the Codex CLI (npm install -g @openai/codex), then `codex login` "
                    "or set OPENAI_API_KEY")
    help_args = ("exec", "--help")
    required_flags = ("--json", "--sandbox", "--cd")
    own_settings = ("sandbox", "profile", "config")
    continues_sessions = True

    def check(self, options: Mapping[str, Any]) -> None:
        super().check(options)
        text(self.name, options, "sandbox")
        text(self.name, options, "profile")
        config = options.get("config")
        if config is None:
            return
        if not isinstance(config, Mapping):
            raise AgentSetupError(f"the codex agent's config must be a mapping, got {config!r}")
        for key, value in config.items():
            if isinstance(value, Mapping) or value is None:
                raise AgentSetupError(
                    f"the codex agent's config.{key} must be a string, number, boolean or list",
                    hint="write nested keys with dots, e.g. config: {\"tools.web_search\": true}")

    def arguments(self, request: AgentRequest, options: dict[str, Any]) -> Arguments:
        args = ["exec", "--json", "--sandbox", text(self.name, options, "sandbox") or DEFAULT_SANDBOX,
                "-C", str(request.workdir)]
        if model := text(self.name, options, "model"):
            args += ["--model", model]
        if profile := text(self.name, options, "profile"):
            args += ["--profile", profile]
        for key, value in (options.get("config") or {}).items():
            args += ["-c", f"{key}={json.dumps(value)}"]  # JSON scalars and lists are TOML too
        # after extra_args: exec's options, there too, are refused after the subcommand
        resume = ["resume", session] if (session := _thread_id(request.continue_session)) else []
        if fits_argument(request.prompt):
            return Arguments(args, [*resume, "--", request.prompt])
        return Arguments(args, [*resume, "-"], stdin=request.prompt.encode("utf-8"))

    def session_in_log(self, log_path: Path) -> str | None:
        return session_at_head(log_path, "thread.started", lambda e: e.get("thread_id") if
                               e.get("type") == "thread.started" else None)

    def structured(self, outcome: ProcessOutcome) -> StructuredResult | None:
        tail = outcome.tail()
        thread = None
        tokens_in = tokens_out = None
        turns = 0
        last_turn: dict[str, Any] | None = None  # the last turn.completed or turn.failed
        errors: list[str] = []
        message = ""
        for event in reversed(list(events(tail))):  # oldest first
            kind = event.get("type")
            if kind == "thread.started" and isinstance(event.get("thread_id"), str):
                thread = event["thread_id"]
            elif kind in _TURN_END:
                turns += 1
                last_turn = event
                usage = mapping(event.get("usage"))
                tokens_in = add(tokens_in, usage.get("input_tokens"))
                tokens_out = add(tokens_out, usage.get("output_tokens"))
            elif kind == "error":
                errors.append(str(event.get("message") or "error"))
            elif kind == "item.completed" and isinstance(event.get("item"), dict):
                item = event["item"]
                if item.get("type") == "agent_message" and isinstance(item.get("text"), str):
                    message = item["text"]
                elif item.get("type") == "error":
                    errors.append(str(item.get("message") or "error"))
        metrics: dict[str, Any] = {"session_id": thread, "turns": turns or None,
                                   "tokens_in": tokens_in, "tokens_out": tokens_out}
        if last_turn is not None and last_turn["type"] == "turn.completed":
            return StructuredResult(ok=True, text=message, **metrics)
        if last_turn is not None:
            error = mapping(last_turn.get("error"))
            reason = str(error.get("message") or (errors[-1] if errors else "the turn failed"))
            return _failed(f"codex: the turn failed: {reason}", [reason, *errors], message, metrics)
        if (refused := self.fatal_error_seen(tail.encode("utf-8", "replace"))) is not None:
            return StructuredResult(ok=False, error=refused.error, message=refused.message,
                                    text=message, **metrics)  # stopped while it reconnected
        if thread is None and (resume := _RESUME_FAILED.search(tail)):
            return no_session(self.name, resume.group(0), **metrics)
        if errors and not outcome.timed_out:  # no turn at all: an error before the model ran
            return _failed(f"codex: {errors[-1]}", errors, message, metrics)
        if outcome.exit_code == 0 and not outcome.timed_out:
            last = last_line(outcome, tail)
            return StructuredResult(ok=False, error=ErrorKind.BAD_OUTPUT, text=message, **metrics,
                                    message="codex exited 0 without a turn.completed event"
                                            + (f"; last output: {last}" if last else ""))
        failed = exit_failure(self.name, outcome, tail, **metrics)
        return failed or (StructuredResult(text=message, **metrics) if thread else None)

    def final_output_seen(self, tail: bytes) -> bool:
        return any(e.get("type") in _TURN_END for e in events(tail, needle='"turn.'))

    def fatal_error_seen(self, tail: bytes) -> StructuredResult | None:
        """Refused credentials while codex still reconnects (five times, seconds apart)."""
        for event in events(tail, needle="status"):
            said = str(event.get("message") or mapping(event.get("error")).get("message") or "")
            kind = _status_kind(said)
            if kind in (ErrorKind.AUTHENTICATION, ErrorKind.BILLING):
                return _failed(f"codex: {said}", [said], "", {})
        return None


def _thread_id(session: str | None) -> str | None:
    """``session`` when codex would resume it: a UUID (anything else names a thread, and an
    unknown name silently starts a new one)."""
    try:
        return str(uuid.UUID(session)) if session else None
    except ValueError:
        return None


def _failed(message: str, texts: list[str], final: str, metrics: dict[str, Any]) -> StructuredResult:
    kind = next((k for t in texts if (k := _status_kind(t)) is not None), None)
    if kind is None and any(LIMIT_PATTERN.search(t) for t in texts):
        kind = ErrorKind.RATE_LIMITED
    if kind in (ErrorKind.AUTHENTICATION, ErrorKind.BILLING):
        message = f"{message[:400]} ({_HINTS[kind]})"
    return StructuredResult(ok=False, text=final, message=message[:600], error=kind, **metrics)


# codex prints no status field, only the HTTP status in its error text (0.169.1:
# "unexpected status 401 Unauthorized: ...", "exceeded retry limit, last status: 429 ...")
_STATUS = re.compile(r"\b(?:unexpected|last) status:? (\d{3})\b")
_RESUME_FAILED = re.compile(r"thread/resume failed: [^\n]*")
_HINTS = {ErrorKind.AUTHENTICATION: "set OPENAI_API_KEY or run `codex login`",
          ErrorKind.BILLING: "check the plan and credits of the account codex uses"}


def _status_kind(text: str) -> ErrorKind | None:
    match = _STATUS.search(text)
    return http_error_kind(int(match.group(1))) if match else None
