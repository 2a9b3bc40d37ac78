"""The ``aider`` agent: Aider in scripting mode, one message from a file.

Runs ``aider --message-file <prompt> --yes-always --no-stream --no-pretty --no-check-update
--no-show-release-notes --no-analytics --analytics-log <attempt>/aider-analytics.jsonl
--no-gitignore --input-history-file <attempt>/... --chat-history-file <attempt>/...
[--model M] --edit-format F [--map-tokens N] [--no-auto-commits] [--read PATH ...]
[extra_args] -- <owned files>``. The task's owned paths are the files to edit (globs expanded
to the files that exist), its ``reads`` are ``--read`` files. Aider's own commits are kept.
Its history files go to the attempt folder and ``--no-gitignore`` keeps it from editing
``.gitignore``, so nothing of aider's lands in the workspace except its tag cache, which is
removed. Settings, on top of `shoal.agents.headless`'s: ``auto_commits`` (default true),
``edit_format`` (default ``diff``, not aider's choice for the model), ``map_tokens``.

The edit format is chosen on purpose because it decides what aider does with the worker's
fenced ```json report: the search/replace and unified-diff formats leave it alone, but the
``whole`` formats read every fenced block of a reply as a file's content (the report becomes
a file named after the line above it, or the edit fails with "No filename provided before ```
in file listing"). For those, the message aider gets (``prompt.md``) ends with a note asking
for the report as a ``shoal-report:`` line instead (`shoal.agents.report`).

Read from the analytics log: ``message_send`` events (``prompt_tokens``,
``completion_tokens``, ``total_cost``; their number as turns) and
``message_send_exception``. Aider exits 0 even when every call to the model failed (it
prints the error, retries rate limits itself for about a minute, then gives up), so exit 0
without any ``message_send`` event is a failure, with aider's last error line.

Read from the chat history file: the model's replies, raw (on stdout aider wraps lines at 80
columns and, in the ``whole`` format, re-renders each fenced block as a diff, so a report
printed there may not parse or not be found), and aider's own messages: the files it applied
edits to and its edit errors. The worker's report is taken from the last reply of this
attempt's session that holds one; when the model's edits could not be applied ("The LLM did
not conform to the edit format", then "No filename provided ...", "SEARCH/REPLACE block
failed to match", ...) and nothing was applied, the attempt fails with aider's error unless
the worker itself reported fail or blocked.

Aider does not continue sessions (``continues_sessions`` is false: `AgentRequest.continue_session`
is ignored and every attempt starts cold). Its session is one message and one reply (then its
own reflections on failed edits), and the reply is written to the chat history only once it
has all come: aider 0.86.2 cut off mid-request left only the message (``#### `` lines) there.
``--restore-chat-history`` would send that message again with the new one, paying for it
twice and saving nothing, while the edits the cut-off attempt applied are in its files for a
cold start to see.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from shoal.agents.base import PROMPT_FILE_NAME, prompt_file
from shoal.agents.headless import (
    LIMIT_PATTERN,
    Arguments,
    HeadlessAgent,
    add,
    exit_failure,
    expand,
    flag,
    mapping,
    money,
    number,
    text,
)
from shoal.agents.invocation import AgentRequest, Invocation, ProcessOutcome
from shoal.agents.registry import register
from shoal.agents.report import find_report
from shoal.agents.result import AgentResult, ErrorKind, StructuredResult, last_lines

ANALYTICS_LOG = "aider-analytics.jsonl"
CHAT_HISTORY = "aider.chat.history.md"
INPUT_HISTORY = "aider.input.history"
TAG_CACHES = ".aider.tags.cache.v*"
# Aider's own choice for a model it has no settings for is "whole", which eats fenced reports.
DEFAULT_EDIT_FORMAT = "diff"
# The edit formats that read every fenced block of a reply as the whole content of a file.
WHOLE_FORMATS = frozenset({"whole", "editor-whole"})
REPORT_NOTE = """

## Your report, in aider's {edit_format} edit format

In this edit format every fenced block of your reply (```) is read as the whole new content of
a file, so a fenced ```json report would be written into a file or make your edits fail. Give
the report asked for above without any fence: as the last line of your reply, the words
`shoal-report:` followed by the same JSON object, on that one line. For example:

    shoal-report: {{"status": "pass|fail|blocked", "files_modified": ["path/to/file"], \
"files_created": [], "test_results": {{"ran": 5, "passed": 5, "failed": 0}}, "blocker": null, \
"notes": "Implementation summary"}}
"""
# litellm's exception names as aider prints them, and aider's own explanations of them
_ERROR_LINE = re.compile(r"litellm\.\w+Error|\b\w+Error:|The API provider|servers are down")
# How aider says the model's edits could not be applied, on stdout (when there is no history)
_EDIT_ERROR_LINE = re.compile(r"No filename provided before|block(s)? failed to match|"
                              r"Failed to apply edit|Error parsing patch|"
                              r"Exception while updating files")
_NOT_CONFORMING = ("The LLM did not conform to the edit format", "Exception while updating files")
_SESSION_START = "# aider chat started at "
_JSON_BLOCK = re.compile(r"^```[ \t]*json[ \t]*\n(.*?)\n```", re.MULTILINE | re.DOTALL | re.IGNORECASE)
_MAX_REPORT_CHARS = 100_000


@register
class AiderAgent(HeadlessAgent):
    name = "aider"
    executable = "aider"
    install_hint = ("install Aider (python -m pip install aider-install && aider-install) and set "
                    "the API key of your model's provider, e.g. ANTHROPIC_API_KEY")
    required_flags = ("--message-file", "--yes-always", "--no-stream", "--no-pretty",
                      "--no-check-update", "--analytics-log", "--read", "--no-gitignore",
                      "--input-history-file", "--chat-history-file", "--edit-format")
    own_settings = ("auto_commits", "edit_format", "map_tokens")

    def check(self, options: Mapping[str, Any]) -> None:
        super().check(options)
        flag(self.name, options, "auto_commits", True)
        text(self.name, options, "edit_format")
        tokens = options.get("map_tokens")
        if tokens != 0:
            number(self.name, options, "map_tokens", integer=True)

    def arguments(self, request: AgentRequest, options: dict[str, Any]) -> Arguments:
        attempt = request.attempt_dir
        args = ["--message-file", str(attempt / PROMPT_FILE_NAME), "--yes-always", "--no-stream",
                "--no-pretty", "--no-check-update", "--no-show-release-notes", "--no-analytics",
                "--analytics-log", str(attempt / ANALYTICS_LOG), "--no-gitignore",
                "--input-history-file", str(attempt / INPUT_HISTORY),
                "--chat-history-file", str(attempt / CHAT_HISTORY)]
        if model := text(self.name, options, "model"):
            args += ["--model", model]
        args += ["--edit-format", edit_format(options)]
        if options.get("map_tokens") is not None:
            args += ["--map-tokens", str(int(options["map_tokens"]))]
        if not flag(self.name, options, "auto_commits", True):
            args.append("--no-auto-commits")
        for path in expand(request.workdir, request.task.reads):
            args += ["--read", path]
        return Arguments(args, ["--", *expand(request.workdir, request.task.owns)])

    def prepare(self, request: AgentRequest) -> Invocation:
        invocation = super().prepare(request)
        chosen = edit_format(self.options(request))
        if chosen not in WHOLE_FORMATS:
            return invocation
        path, data = prompt_file(request)  # the message aider gets, as kept with the attempt
        note = REPORT_NOTE.format(edit_format=chosen).encode("utf-8")
        return replace(invocation, files={**invocation.files, path: data + note})

    def structured(self, outcome: ProcessOutcome) -> StructuredResult | None:
        log = _analytics(outcome)
        sends = [e for e in log or () if e.get("event") == "message_send"]
        props = [mapping(e.get("properties")) for e in sends]
        tokens_in = tokens_out = None
        for p in props:
            tokens_in = add(tokens_in, p.get("prompt_tokens"))
            tokens_out = add(tokens_out, p.get("completion_tokens"))
        cost = props[-1].get("total_cost") if props else None
        metrics: dict[str, Any] = {"turns": len(sends) or None, "tokens_in": tokens_in,
                                   "tokens_out": tokens_out, "cost_usd": money(cost)}
        tail = outcome.tail()
        chat = read_chat(outcome, tail)
        if outcome.exit_code != 0 or outcome.timed_out:
            failed = exit_failure(self.name, outcome, tail, **metrics)
            said = sends or chat.reply
            return failed or (StructuredResult(text=chat.reply, **metrics) if said else None)
        if log is None or sends:
            if not sends and not chat.reply:
                return None
            report = find_report(chat.reply or tail)[0]
            # the worker's own fail or blocked stands: nothing of it is merged either way
            worker_gave_up = report is not None and report.status != "pass"
            if not worker_gave_up and (eaten := _report_written(chat, outcome.workdir)):
                return StructuredResult(
                    ok=False, text=chat.reply, error=ErrorKind.BAD_OUTPUT,
                    message=(f"aider wrote the worker's ```json report into {eaten} (its "
                             f"whole edit format takes every fenced block for a file's content)"),
                    **metrics)
            if chat.edit_errors and not chat.applied and not worker_gave_up:
                return StructuredResult(
                    ok=False, text=chat.reply, error=ErrorKind.BAD_OUTPUT,
                    message=f"aider applied none of the model's edits: {chat.edit_errors[-1]}",
                    **metrics)
            return StructuredResult(text=chat.reply, message="" if report else NO_REPORT, **metrics)
        errors = [line.strip() for line in last_lines(tail, 200) if _ERROR_LINE.search(line)]
        errors += [str((e.get("properties") or {}).get("exception")) for e in log
                   if e.get("event") == "message_send_exception" and isinstance(e.get("properties"), dict)]
        reason = errors[-1][:400] if errors else "it exited without a reply from the model"
        limited = any(LIMIT_PATTERN.search(e) for e in errors)
        return StructuredResult(ok=False, message=f"aider got no reply from the model: {reason}",
                                error=ErrorKind.RATE_LIMITED if limited else None, **metrics)

    def interpret(self, outcome: ProcessOutcome) -> AgentResult:
        for cache in outcome.workdir.glob(TAG_CACHES):  # aider's repo-map cache, not the task's work
            if cache.is_dir() and not cache.is_symlink():
                shutil.rmtree(cache, ignore_errors=True)
        result = super().interpret(outcome)
        if result.report is None and result.error is None:  # a result that does not say why
            result = replace(result, notes=(*result.notes, NO_REPORT))
        return result


NO_REPORT = ("no worker report in aider's reply (neither a ```json block nor a shoal-report: "
             "line)")


def edit_format(options: Mapping[str, Any]) -> str:
    """The edit format aider is told to use: the setting, else `DEFAULT_EDIT_FORMAT`."""
    return str(options.get("edit_format") or DEFAULT_EDIT_FORMAT)


@dataclass(frozen=True)
class Chat:
    """What one attempt's aider session said: the model's replies, raw, and aider's messages."""

    replies: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()  # aider's own ("> " in the history), without the marker
    edit_errors: tuple[str, ...] = ()  # its errors about the model's edits, one line each

    @property
    def reply(self) -> str:
        """The last reply that holds a worker report, else the last reply ("" for none)."""
        for reply in reversed(self.replies):
            if find_report(reply)[0] is not None:
                return reply
        return self.replies[-1] if self.replies else ""

    @property
    def applied(self) -> tuple[str, ...]:
        """The files aider says it applied edits to."""
        return tuple(m.removeprefix("Applied edit to ").strip() for m in self.messages
                     if m.startswith("Applied edit to "))


def read_chat(outcome: ProcessOutcome, tail: str | None = None) -> Chat:
    """The last session of this attempt's chat history; without one, what the log shows
    (its lines as aider's messages, no replies: aider's stdout is not the raw reply)."""
    history = outcome.attempt_dir / CHAT_HISTORY if outcome.attempt_dir is not None else None
    try:
        text = history.read_text(encoding="utf-8", errors="replace") if history else None
    except OSError:
        text = None
    if text is not None and _SESSION_START in text:
        return parse_chat_history(text)
    lines = last_lines(outcome.tail() if tail is None else tail, 200)
    return Chat(messages=tuple(line.strip() for line in lines if line.startswith("Applied edit to ")),
                edit_errors=tuple(_one_line(line) for line in lines if _EDIT_ERROR_LINE.search(line)))


def parse_chat_history(text: str) -> Chat:
    """The last session (from its ``# aider chat started at`` line) of an aider chat history.

    Aider appends to the file: the user's message as ``#### `` lines, each reply raw after a
    blank line, and its own messages as ``> `` followed by the message, whose last line ends
    in two spaces (a message of several lines has ``> `` on its first line only). A ``> ``
    line right after a blank line that does not end so is taken for a quote in a reply.
    """
    start = text.rfind("\n" + _SESSION_START)
    session = text[start + 1:] if start >= 0 else text
    replies: list[str] = []
    messages: list[str] = []
    reply: list[str] = []
    message: list[str] | None = None
    after_entry = True  # the previous line ended one of aider's entries (or the session began)

    def end_reply() -> None:
        if "\n".join(reply).strip():
            replies.append("\n".join(reply).strip())
        reply.clear()

    for line in session.splitlines()[1:]:
        if message is not None:  # inside a message of several lines
            message.append(line)
            if line.endswith("  "):
                messages.append("\n".join(message).strip())
                message, after_entry = None, True
            continue
        entry = line.endswith("  ")
        if line.startswith("#### ") and entry:
            end_reply()
            after_entry = True
            continue
        if line.startswith(">") and (entry or after_entry):
            end_reply()
            if entry:
                messages.append(line[1:].strip())
                after_entry = True
            else:
                message = [line[1:]]
            continue
        after_entry = False
        reply.append(line)
    end_reply()
    if message is not None:
        messages.append("\n".join(message).strip())
    return Chat(tuple(replies), tuple(messages), _edit_errors(messages))


def _edit_errors(messages: list[str]) -> tuple[str, ...]:
    """Aider's errors about the model's edits: what follows "The LLM did not conform to the
    edit format" (and the link it prints after it), or "Failed to apply edit ..."."""
    found = []
    for i, message in enumerate(messages):
        if message.startswith(_NOT_CONFORMING):
            after = [m for m in messages[i + 1:i + 3] if not m.startswith("http")]
            found.append(_one_line(after[0]) if after else message)
        elif message.startswith("Failed to apply edit"):
            found.append(_one_line(message))
    return tuple(found)


def _report_written(chat: Chat, workdir: Path) -> str | None:
    """The file aider applied an edit to whose content is a fenced ```json block of the
    reply: the whole formats write a fenced report into the one file in the chat."""
    bodies = {body.strip() for body in _JSON_BLOCK.findall(chat.reply)}
    if not bodies:
        return None
    for path in chat.applied:
        try:
            with open(workdir / path, encoding="utf-8", errors="replace") as handle:
                content = handle.read(_MAX_REPORT_CHARS + 1)
        except OSError:
            continue
        if content.strip() in bodies:
            return path
    return None


def _one_line(message: str, limit: int = 300) -> str:
    """The first two lines of one of aider's messages, joined, without markdown headings."""
    lines = [line.strip().lstrip("#").strip() for line in message.splitlines()]
    text = " ".join([line for line in lines if line][:2])
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _analytics(outcome: ProcessOutcome) -> list[dict[str, Any]] | None:
    """The events of this attempt's analytics log; None when aider wrote none."""
    if outcome.attempt_dir is None:
        return None
    path: Path = outcome.attempt_dir / ANALYTICS_LOG
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    found = []
    for line in lines:
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found
