"""The ``aider`` agent: Aider in scripting mode, one message from a file.

Runs ``aider --message-file <prompt> --yes-always --no-stream --no-pretty --no-check-update
--no-show-release-notes --no-analytics --analytics-log <attempt>/aider-analytics.jsonl
--no-gitignore --input-history-file <attempt>/... --chat-history-file <attempt>/...
[--model M] [--edit-format F] [--map-tokens N] [--no-auto-commits] [--read PATH ...]
[extra_args] -- <owned files>``. The task's owned paths are the files to edit (globs expanded
to the files that exist), its ``reads`` are ``--read`` files. Aider's own commits are kept.
Its history files go to the attempt folder and ``--no-gitignore`` keeps it from editing
``.gitignore``, so nothing of aider's lands in the workspace except its tag cache, which is
removed. Settings, on top of `shoal.agents.headless`'s: ``auto_commits`` (default true),
``edit_format``, ``map_tokens``.

Read from the analytics log: ``message_send`` events (``prompt_tokens``,
``completion_tokens``, ``total_cost``; their number as turns) and
``message_send_exception``. Aider exits 0 even when every call to the model failed (it
prints the error, retries rate limits itself for about a minute, then gives up), so exit 0
without any ``message_send`` event is a failure, with aider's last error line.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shoal.agents.base import PROMPT_FILE_NAME
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
from shoal.agents.invocation import AgentRequest, ProcessOutcome
from shoal.agents.registry import register
from shoal.agents.result import AgentResult, ErrorKind, StructuredResult, last_lines

ANALYTICS_LOG = "aider-analytics.jsonl"
TAG_CACHES = ".aider.tags.cache.v*"
# litellm's exception names as aider prints them, and aider's own explanations of them
_ERROR_LINE = re.compile(r"litellm\.\w+Error|\b\w+Error:|The API provider|servers are down")


@register
class AiderAgent(HeadlessAgent):
    name = "aider"
    executable = "aider"
    install_hint = ("install Aider (python -m pip install aider-install && aider-install) and set "
                    "the API key of your model's provider, e.g. ANTHROPIC_API_KEY")
    required_flags = ("--message-file", "--yes-always", "--no-stream", "--no-pretty",
                      "--no-check-update", "--analytics-log", "--read", "--no-gitignore",
                      "--input-history-file", "--chat-history-file")
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
                "--input-history-file", str(attempt / "aider.input.history"),
                "--chat-history-file", str(attempt / "aider.chat.history.md")]
        if model := text(self.name, options, "model"):
            args += ["--model", model]
        if edit_format := text(self.name, options, "edit_format"):
            args += ["--edit-format", edit_format]
        if options.get("map_tokens") is not None:
            args += ["--map-tokens", str(int(options["map_tokens"]))]
        if not flag(self.name, options, "auto_commits", True):
            args.append("--no-auto-commits")
        for path in expand(request.workdir, request.task.reads):
            args += ["--read", path]
        return Arguments(args, ["--", *expand(request.workdir, request.task.owns)])

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
        if outcome.exit_code != 0 or outcome.timed_out:
            failed = exit_failure(self.name, outcome, tail, **metrics)
            return failed or (StructuredResult(**metrics) if sends else None)
        if log is None or sends:
            return StructuredResult(**metrics) if sends else None
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
        return super().interpret(outcome)


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
