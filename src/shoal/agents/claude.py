"""The ``claude`` agent: Claude Code in print mode with streamed JSON output.

Runs ``claude -p --output-format stream-json --verbose --permission-mode acceptEdits
--append-system-prompt <the task's boundaries> [--model M] [--resume ID] [--allowedTools T ...]
[--disallowedTools T ...] [--max-turns N] [--max-budget-usd X] [extra_args] -- <prompt>``
(the prompt on stdin instead when it is too long for one argument). Settings, on top of
`shoal.agents.headless`'s: ``permission_mode``, ``allowed_tools``, ``disallowed_tools``,
``max_turns``, ``max_budget_usd``, ``append_system_prompt`` (true: the boundaries, the
default; false: none; a string: the boundaries and that text).

Read from the output: the last ``{"type": "result"}`` event — ``subtype`` and ``is_error``
both (a failed API call can report ``subtype: "success"`` with ``is_error: true``),
``result``, ``session_id``, ``num_turns``, ``total_cost_usd``, ``usage``,
``permission_denials``. Exit 0 without a result event is bad output. The engine already
drops the markers of a Claude Code session (``CLAUDECODE``, ``CLAUDE_CODE_SESSION_ID``, ...:
`shoal.process.SESSION_MARKERS`) from every worker's environment, so a run started from inside
Claude Code starts workers of their own; credentials and settings (``CLAUDE_CODE_OAUTH_TOKEN``,
``CLAUDE_CODE_USE_BEDROCK`` ...) stay.

Continuing a session (`AgentRequest.continue_session`), as Claude Code 2.1.197 was seen to do:
the id is the ``session_id`` of the ``{"type": "system", "subtype": "init"}`` event it prints
first, before any model call; ``--resume <id>`` in print mode continues that session and
prints the same id in every event, the prompt being the next user message. Sessions are saved
per working folder (``~/.claude/projects/<the folder, each non-alphanumeric character a
'-'>/<id>.jsonl``), so only an attempt in the same folder, with the same ``HOME``, finds it.
The transcript is written lazily: killed with SIGKILL right after its init event the session
was never saved, and killed one tool call in it held only the prompt; resumed, Claude Code
adds "Continue from where you left off." and the model starts that turn over (what it had
written to files stays). An id it cannot find (another folder, never saved) prints "No
conversation found with session ID: <id>" on stderr and a ``result`` event with subtype
``error_during_execution``, that text in ``errors``, no init event, exit 1; an id that is not a
UUID nor a session title fails the same way ("--resume requires a valid session ID or session
title ..."). Both end the attempt with `ErrorKind.NO_SESSION`.
"""

from __future__ import annotations

import os
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
    boundaries,
    events,
    exit_failure,
    fits_argument,
    http_error_kind,
    last_line,
    mapping,
    money,
    no_session,
    number,
    session_at_head,
    strings,
    text,
)
from shoal.agents.invocation import AgentRequest, ProcessOutcome
from shoal.agents.registry import register
from shoal.agents.result import ErrorKind, StructuredResult

DEFAULT_PERMISSION_MODE = "acceptEdits"
BYPASS = "bypassPermissions"
BYPASS_FLAG = "--dangerously-skip-permissions"
# The `error` codes of Claude Code's stream-json (`api_retry` events, assistant messages), and
# the HTTP statuses, that say what failed; its message texts change between versions.
_AUTH_CODES = frozenset({"authentication_failed", "oauth_org_not_allowed"})
_BILLING_CODES = frozenset({"billing_error"})
_LIMIT_CODES = frozenset({"rate_limit", "overloaded"})
_LOGIN_HINT = "set ANTHROPIC_API_KEY (or CLAUDE_CODE_OAUTH_TOKEN) or log in once with `claude`"
_RESULT_KEYS = (b'"total_cost_usd":', b'"permission_denials":')
# How Claude Code 2.1.197 refuses a --resume id (in the result event's `errors`)
_NO_SESSION = re.compile(r"No conversation found with session ID|--resume requires a valid session")
_SUBTYPES = {
    "error_max_turns": "stopped at its turn limit (--max-turns)",
    "error_max_budget_usd": "stopped at its budget (--max-budget-usd)",
    "error_during_execution": "failed during execution",
}


@register
class ClaudeAgent(HeadlessAgent):
    name = "claude"
    executable = "claude"
    install_hint = ("install Claude Code (npm install -g @anthropic-ai/claude-code), then log in "
                    "once with `claude` or set ANTHROPIC_API_KEY")
    required_flags = ("--print", "--output-format", "--verbose", "--permission-mode",
                      "--append-system-prompt")
    own_settings = ("permission_mode", "allowed_tools", "disallowed_tools", "max_turns",
                    "max_budget_usd", "append_system_prompt")
    continues_sessions = True

    def check(self, options: Mapping[str, Any]) -> None:
        super().check(options)
        text(self.name, options, "permission_mode")
        strings(self.name, options, "allowed_tools")
        strings(self.name, options, "disallowed_tools")
        number(self.name, options, "max_turns", integer=True)
        number(self.name, options, "max_budget_usd")
        extra = options.get("append_system_prompt", True)
        if not isinstance(extra, (bool, str)):
            raise AgentSetupError("the claude agent's append_system_prompt must be true, false "
                                  f"or a string, got {extra!r}")

    def arguments(self, request: AgentRequest, options: dict[str, Any]) -> Arguments:
        args = ["-p", "--output-format", "stream-json", "--verbose",
                "--permission-mode", text(self.name, options, "permission_mode") or DEFAULT_PERMISSION_MODE]
        if model := text(self.name, options, "model"):
            args += ["--model", model]
        if request.continue_session:
            args += ["--resume", request.continue_session]
        # Both take several values; the `--` before the prompt ends them.
        if tools := strings(self.name, options, "allowed_tools"):
            args += ["--allowedTools", *tools]
        if tools := strings(self.name, options, "disallowed_tools"):
            args += ["--disallowedTools", *tools]
        if (turns := number(self.name, options, "max_turns", integer=True)) is not None:
            args += ["--max-turns", str(int(turns))]
        if (budget := number(self.name, options, "max_budget_usd")) is not None:
            args += ["--max-budget-usd", f"{budget:g}"]
        extra = options.get("append_system_prompt", True)
        if extra is not False:
            system = boundaries(request.task, request.plan)
            args += ["--append-system-prompt", system + (f"\n\n{extra}" if isinstance(extra, str) else "")]
        if fits_argument(request.prompt):
            return Arguments(args, ["--", request.prompt])
        return Arguments(args, stdin=request.prompt.encode("utf-8"))  # print mode reads stdin

    def extra_env(self, request: AgentRequest, options: dict[str, Any]) -> dict[str, str]:
        """``IS_SANDBOX=1`` when the plan bypasses permissions and shoal runs as root: Claude
        Code refuses bypass as root without it (exit 1), and the plan chose to bypass. A user's
        own ``IS_SANDBOX`` (in the environment or the agent's ``env``) is kept."""
        mode = text(self.name, options, "permission_mode") or DEFAULT_PERMISSION_MODE
        bypass = mode == BYPASS or BYPASS_FLAG in strings(self.name, options, "extra_args")
        if bypass and _running_as_root() and "IS_SANDBOX" not in os.environ:
            return {"IS_SANDBOX": "1"}
        return {}

    def structured(self, outcome: ProcessOutcome) -> StructuredResult | None:
        tail = outcome.tail()
        result = next((e for e in events(tail, needle='"result"') if e.get("type") == "result"), None)
        session = next((e.get("session_id") for e in events(tail, needle='"session_id"')
                        if isinstance(e.get("session_id"), str)), None)
        if result is None:
            if (fatal := _fatal(tail)) is not None:  # stopped while it retried a refusal
                return StructuredResult(ok=False, error=fatal.error, message=fatal.message,
                                        session_id=session)
            if outcome.exit_code == 0 and not outcome.timed_out:
                last = last_line(outcome, tail)
                return StructuredResult(
                    ok=False, error=ErrorKind.BAD_OUTPUT, session_id=session,
                    message="claude exited 0 without printing its result event"
                            + (f"; last output: {last}" if last else ""))
            failed = exit_failure(self.name, outcome, tail, session_id=session)
            return failed or (StructuredResult(session_id=session) if session else None)
        return _read_result(result, _last_error_code(tail))

    def fatal_error_seen(self, tail: bytes) -> StructuredResult | None:
        return _fatal(tail)

    def session_in_log(self, log_path: Path) -> str | None:
        return session_at_head(log_path, '"init"', lambda e: e.get("session_id") if (
            e.get("type"), e.get("subtype")) == ("system", "init") else None)

    def final_output_seen(self, tail: bytes) -> bool:
        if any(e.get("type") == "result" for e in events(tail, needle='"result"')):
            return True
        # A result line longer than the tail starts before it: its closing keys still show
        # (unescaped, so not inside a message that merely quotes them).
        last = tail.rstrip().rsplit(b"\n", 1)[-1]
        return last.endswith(b"}") and all(key in last for key in _RESULT_KEYS)


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _kind(status: Any, code: Any) -> ErrorKind | None:
    """What an HTTP status or an error code of Claude Code's output says failed."""
    if code in _AUTH_CODES:
        return ErrorKind.AUTHENTICATION
    if code in _BILLING_CODES:
        return ErrorKind.BILLING
    if code in _LIMIT_CODES:
        return ErrorKind.RATE_LIMITED
    return http_error_kind(status)


def _refusal(kind: ErrorKind, status: Any, code: Any, said: str = "") -> str:
    detail = " ".join(str(p) for p in (f"HTTP {status}" if isinstance(status, int) else None,
                                       code if isinstance(code, str) else None) if p)
    detail = f" ({detail})" if detail else ""
    said = f" ({said.strip()[:200]})" if said.strip() else ""
    if kind is ErrorKind.AUTHENTICATION:
        return f"claude could not authenticate{detail}{said}: {_LOGIN_HINT}"
    return (f"claude's account cannot pay for requests{detail}{said}: add credits or check "
            "the plan of the account claude is logged in with")


def _fatal(tail: str | bytes) -> StructuredResult | None:
    """An authentication or billing refusal in the log: an ``api_retry`` event with HTTP
    401/403 or such an ``error`` code (Claude Code retries those about ten times, over
    minutes), or an assistant message carrying such an ``error``."""
    for event in events(tail, needle='"error'):
        kind_of_event = event.get("type"), event.get("subtype")
        if kind_of_event == ("system", "api_retry"):
            status, code = event.get("error_status"), event.get("error")
            said = ""
        elif event.get("type") == "assistant" and isinstance(event.get("error"), str):
            status, code = None, event.get("error")
            said = _message_text(event)
        else:
            continue
        kind = _kind(status, code)
        if kind in (ErrorKind.AUTHENTICATION, ErrorKind.BILLING):
            assert kind is not None
            return StructuredResult(ok=False, error=kind, message=_refusal(kind, status, code, said))
    return None


def _last_error_code(tail: str) -> str | None:
    """The ``error`` code of the last assistant message that carries one."""
    for event in events(tail, needle='"error"'):
        if event.get("type") == "assistant" and isinstance(event.get("error"), str):
            return str(event["error"])
    return None


def _message_text(event: dict[str, Any]) -> str:
    content = mapping(event.get("message")).get("content")
    return " ".join(str(c.get("text")) for c in content if isinstance(c, dict) and c.get("text")) \
        if isinstance(content, list) else ""


def _read_result(event: dict[str, Any], code: str | None = None) -> StructuredResult:
    usage = mapping(event.get("usage"))
    tokens_in = None
    for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"):
        tokens_in = add(tokens_in, usage.get(key))
    cost = event.get("total_cost_usd")
    turns = event.get("num_turns")
    session = event.get("session_id")
    metrics: dict[str, Any] = {
        "session_id": session if isinstance(session, str) else None,
        "turns": turns if isinstance(turns, int) and not isinstance(turns, bool) else None,
        "tokens_in": tokens_in,
        "tokens_out": add(None, usage.get("output_tokens")),
        "cost_usd": money(cost),
        "permission_denials": _denials(event.get("permission_denials")),
    }
    body = event.get("result")
    body = body if isinstance(body, str) else ""
    subtype = str(event.get("subtype") or "")
    if subtype == "success" and not event.get("is_error"):
        return StructuredResult(ok=True, text=body, **metrics)
    what = _SUBTYPES.get(subtype, "reported an error")
    # error_max_turns and the like give their reason only in `errors`, with no `result`
    errors = [str(e) for e in event.get("errors") or () if str(e).strip()] \
        if isinstance(event.get("errors"), list) else []
    if refused := next((e for e in errors if _NO_SESSION.search(e)), None):
        return no_session("claude", refused, **metrics)
    status = event.get("api_error_status")
    kind = _kind(status if isinstance(status, int) and not isinstance(status, bool) else None, code)
    if kind in (ErrorKind.AUTHENTICATION, ErrorKind.BILLING):
        assert kind is not None
        return StructuredResult(ok=False, text=body, error=kind,
                                message=_refusal(kind, status, code, body), **metrics)
    if errors and not body.strip():
        message = f"claude {what}: {'; '.join(errors)[:400]}"
    else:
        message = f"claude {what} ({subtype or 'no subtype'}, is_error: {bool(event.get('is_error'))})"
        if isinstance(status, int) and not isinstance(status, bool):
            message += f" (HTTP {status})"
        if said := body.strip() or "; ".join(errors):
            message += f": {said[:400]}"
    if kind is None and LIMIT_PATTERN.search(body) is not None:  # no status: its words
        kind = ErrorKind.RATE_LIMITED
    return StructuredResult(ok=False, text=body, message=message, error=kind, **metrics)


def _denials(value: Any) -> tuple[str, ...]:
    """``Bash(git push)``-style names of the tool calls the permission mode refused."""
    names = []
    for denial in value if isinstance(value, list) else ():
        if not isinstance(denial, dict):
            continue
        name = str(denial.get("tool_name") or "tool")
        given = mapping(denial.get("tool_input"))
        detail = given.get("command") or given.get("file_path") or given.get("path")
        names.append(f"{name}({str(detail)[:80]})" if detail else name)
    return tuple(names)
