"""The ``gemini`` agent: Gemini CLI in headless mode with one JSON document as output.

Runs ``gemini --output-format json --approval-mode auto_edit --skip-trust [--model M]
[--allowed-tools=T ...] [--include-directories=D ...] (--session-id NEW | --resume ID)
[extra_args] --prompt=<prompt>``; when
the prompt is too long for one argument it goes on stdin, which Gemini CLI reads and puts
before a short ``--prompt``. Settings, on top of `shoal.agents.headless`'s:
``approval_mode`` (default, auto_edit, yolo), ``allowed_tools``, ``include_directories``,
``trust_workspace`` (default true: ``--skip-trust``). Gemini CLI 0.61 trusts no folder it was
not told to, and each attempt's workspace is a new folder: untrusted, it drops
``--approval-mode`` to ``default`` and then exits 55 in headless mode, so no task could run.
Gemini CLI has no turn-limit flag: ``model.maxSessionTurns`` in ``.gemini/settings.json``
sets one, and reaching it exits with code 53.

Read from the output: the final JSON document's ``session_id``, ``response`` (the final
message), ``error`` (``type``, ``message``, ``code``) and ``stats`` (per model
``tokens.prompt`` and ``tokens.candidates``, ``api.totalRequests`` as turns; tool calls the
user side rejected as permission denials). Documented exit codes: 0 success, 1 error,
42 bad input, 53 turn limit.

Continuing a session (`AgentRequest.continue_session`), as Gemini CLI 0.61.0 was seen to do:
``--output-format json`` prints the session id only in its final document, so an attempt cut
off mid-way never shows it. shoal therefore chooses it: each new attempt gets ``--session-id
<a new UUID>``, which it also writes to ``gemini-session-id`` in the attempt folder (beside the
engine's ``output.log``), where `session_in_log` reads it. Gemini CLI saves the session at once
(``~/.gemini/tmp/<project>/chats/session-<time>-<first 8 of the id>.jsonl``, each message as it
goes), so a resumed one goes on from the last tool call saved. ``--resume <UUID>`` continues it
(it also takes ``latest`` or an index), printing the same ``session_id``; it is exclusive with
``--session-id``, so a continued attempt passes only ``--resume`` (and records that id). A
``--session-id`` already used fails "Error starting session: Session ID ... already exists"
(exit 42), hence a new UUID each time. Sessions are kept per project folder: from another
folder, or for an id never saved, it prints "Error resuming session: No previous sessions found
for this project." or "Error resuming session: Invalid session identifier ..." and exits 42
without a document: `ErrorKind.NO_SESSION`. With ``--session-id``, ``--resume`` or
``--session-file`` in ``extra_args`` shoal adds neither.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from shoal.agents.headless import (
    LIMIT_PATTERN,
    Arguments,
    HeadlessAgent,
    add,
    exit_failure,
    fits_argument,
    flag,
    http_error_kind,
    last_line,
    mapping,
    no_session,
    strings,
    text,
)
from shoal.agents.invocation import AgentRequest, Invocation, ProcessOutcome
from shoal.agents.output import read_head
from shoal.agents.registry import register
from shoal.agents.result import ErrorKind, StructuredResult

DEFAULT_APPROVAL_MODE = "auto_edit"
TURN_LIMIT_EXIT = 53
AUTH_EXIT = 41  # FatalAuthenticationError: no attempt can succeed until the credentials are fixed
STDIN_PROMPT = "Carry out the task given above (read from standard input)."
UNTRUSTED_EXIT = 55
_EXIT_MEANING = {AUTH_EXIT: "authentication failed", 42: "bad input (prompt or arguments)",
                 UNTRUSTED_EXIT: "refused an untrusted folder (set trust_workspace: true)",
                 TURN_LIMIT_EXIT: "reached its session turn limit (model.maxSessionTurns)"}
_KEYS = ("response", "error", "stats", "session_id")
SESSION_FILE = "gemini-session-id"  # in the attempt folder: the session this attempt runs in
_SESSION_FLAGS = ("--session-id", "--resume", "-r", "--session-file")
_NO_SESSION = "Error resuming session:"
_MAX_TRIES = 200


@register
class GeminiAgent(HeadlessAgent):
    name = "gemini"
    executable = "gemini"
    install_hint = ("install Gemini CLI (npm install -g @google/gemini-cli), then log in once with "
                    "`gemini` or set GEMINI_API_KEY")
    required_flags = ("--prompt", "--output-format", "--approval-mode", "--session-id")
    own_settings = ("approval_mode", "allowed_tools", "include_directories", "trust_workspace")
    continues_sessions = True

    def check(self, options: Mapping[str, Any]) -> None:
        super().check(options)
        text(self.name, options, "approval_mode")
        flag(self.name, options, "trust_workspace", True)
        strings(self.name, options, "allowed_tools")
        strings(self.name, options, "include_directories")

    def arguments(self, request: AgentRequest, options: dict[str, Any]) -> Arguments:
        args = ["--output-format", "json",
                "--approval-mode", text(self.name, options, "approval_mode") or DEFAULT_APPROVAL_MODE]
        if flag(self.name, options, "trust_workspace", True):
            args.append("--skip-trust")  # the workspace is a copy of the user's own repository
        if model := text(self.name, options, "model"):
            args += ["--model", model]
        # `--name=value` for list options: a bare value after them would be taken as one more
        args += [f"--allowed-tools={t}" for t in strings(self.name, options, "allowed_tools")]
        args += [f"--include-directories={d}" for d in strings(self.name, options, "include_directories")]
        extra = strings(self.name, options, "extra_args")
        if not any(a.split("=", 1)[0] in _SESSION_FLAGS for a in extra):
            args += (["--resume", request.continue_session] if request.continue_session
                     else ["--session-id", str(uuid.uuid4())])
        if fits_argument(request.prompt):
            return Arguments(args, [f"--prompt={request.prompt}"])
        return Arguments(args, [f"--prompt={STDIN_PROMPT}"], stdin=request.prompt.encode("utf-8"))

    def prepare(self, request: AgentRequest) -> Invocation:
        invocation = super().prepare(request)
        argv = invocation.argv
        flags = [i for i, a in enumerate(argv[:-1]) if a in ("--session-id", "--resume")]
        if not flags:
            return invocation
        session = argv[flags[0] + 1].encode("utf-8")
        return replace(invocation, files={**invocation.files, request.attempt_dir / SESSION_FILE: session})

    def session_in_log(self, log_path: Path) -> str | None:
        """The id shoal gave the attempt (`SESSION_FILE` beside its log), else the one in the
        final document, when the head of the log holds it."""
        try:
            chosen = (log_path.parent / SESSION_FILE).read_text(encoding="utf-8").strip()
        except OSError:
            chosen = ""
        doc = None if chosen else final_document(read_head(log_path))
        found = doc.get("session_id") if doc is not None else chosen
        return found if isinstance(found, str) and found else None

    def structured(self, outcome: ProcessOutcome) -> StructuredResult | None:
        tail = outcome.tail()
        doc = final_document(tail)
        code = outcome.exit_code
        if doc is None:
            last = last_line(outcome, tail)
            if refused := next((line for line in tail.splitlines() if _NO_SESSION in line), None):
                return no_session(self.name, refused.split(_NO_SESSION, 1)[1])
            if code in _EXIT_MEANING:
                return _failed(f"gemini {_EXIT_MEANING[code]} (exit {code})"
                               + (f"; last output: {last}" if last else ""), {}, last, code=code)
            if code == 0 and not outcome.timed_out:
                return StructuredResult(ok=False, error=ErrorKind.BAD_OUTPUT,
                                        message="gemini exited 0 without printing its JSON result"
                                                + (f"; last output: {last}" if last else ""))
            return exit_failure(self.name, outcome, tail)
        metrics = _metrics(doc)
        error = doc.get("error")
        if error or code == TURN_LIMIT_EXIT:
            detail = error.get("message") if isinstance(error, dict) else error
            what = _EXIT_MEANING.get(code or 0, "reported an error")
            message = f"gemini {what}" + (f" (exit {code})" if code else "")
            message += f": {str(detail).strip()[:400]}" if detail else ""
            status = error.get("code") if isinstance(error, dict) else None
            return _failed(message, metrics, str(detail or ""), code=code, status=status)
        response = doc.get("response")
        return StructuredResult(ok=True, text=response if isinstance(response, str) else "", **metrics)

    def final_output_seen(self, tail: bytes) -> bool:
        text_ = tail.decode("utf-8", "replace")
        if final_document(text_) is not None:
            return True
        # a document longer than the tail: its last top-level key and closing brace show
        end = text_.rstrip()
        return end.endswith("\n}") and any(f'\n  "{key}": ' in end[-4096:] for key in _KEYS)


def final_document(text_: str) -> dict[str, Any] | None:
    """The last JSON object that starts a line and has a key of gemini's result; it may be
    pretty-printed over many lines and followed by other output (warnings on stderr)."""
    decoder = json.JSONDecoder()
    text_ = "\n" + text_
    end = len(text_)
    for _ in range(_MAX_TRIES):
        end = text_.rfind("\n{", 0, end)
        if end < 0:
            return None
        try:
            value, _stop = decoder.raw_decode(text_, end + 1)
        except ValueError:
            continue
        if isinstance(value, dict) and any(key in value for key in _KEYS):
            return value
    return None


def _metrics(doc: dict[str, Any]) -> dict[str, Any]:
    stats = mapping(doc.get("stats"))
    tokens_in = tokens_out = turns = None
    models = mapping(stats.get("models"))
    for model in models.values():
        if not isinstance(model, dict):
            continue
        tokens = mapping(model.get("tokens"))
        api = mapping(model.get("api"))
        tokens_in = add(tokens_in, tokens.get("prompt"))
        tokens_out = add(tokens_out, tokens.get("candidates"))
        turns = add(turns, api.get("totalRequests"))
    denials = []
    tools = mapping(stats.get("tools"))
    by_name = mapping(tools.get("byName"))
    for tool, info in by_name.items():
        decisions = info.get("decisions") if isinstance(info, dict) else None
        if isinstance(decisions, dict) and (decisions.get("reject") or 0) > 0:
            denials.append(str(tool))
    session = doc.get("session_id")
    return {"session_id": session if isinstance(session, str) else None, "turns": turns,
            "tokens_in": tokens_in, "tokens_out": tokens_out, "permission_denials": tuple(denials)}


def _failed(message: str, metrics: dict[str, Any], detail: str = "", *,
            code: int | None = None, status: Any = None) -> StructuredResult:
    """A failure, its kind from the API's status in the error document (Gemini CLI 0.61.0 exits
    with that status's low byte: 144 for 400, 173 for 429) or from the documented exit 41. The
    Gemini API answers a bad key with 400 and the reason API_KEY_INVALID, not with 401."""
    kind = http_error_kind(status)
    if kind is None and status == 400 and "API_KEY_INVALID" in detail:
        kind = ErrorKind.AUTHENTICATION
    if kind in (ErrorKind.AUTHENTICATION, ErrorKind.BILLING):
        return StructuredResult(ok=False, error=kind, **metrics, message=(
            f"{message[:400]} (set GEMINI_API_KEY or log in once with `gemini`)"
            if kind is ErrorKind.AUTHENTICATION else message))
    if kind is ErrorKind.RATE_LIMITED:
        return StructuredResult(ok=False, message=message, error=kind, **metrics)
    if code == AUTH_EXIT:  # the documented exit status, not the words
        return StructuredResult(ok=False, message=message, error=ErrorKind.AUTHENTICATION, **metrics)
    limited = LIMIT_PATTERN.search(detail or message) is not None
    return StructuredResult(ok=False, message=message,
                            error=ErrorKind.RATE_LIMITED if limited else None, **metrics)
