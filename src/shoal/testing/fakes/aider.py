"""A fake Aider: ``aider --message-file FILE --yes-always --no-stream ... [--] FILE ...``.

Plays the model and aider, as aider 0.86.2 was seen to behave against a mock model. The
"model" replies with an edit of each file it is given (else those the prompt lists) in the
``--edit-format`` (aider's own choice for an unknown model, ``whole``, without one), then the
worker's report: a fenced ```json block, or a ``shoal-report:`` line when the message asks for
one. "Aider" then applies the edits: in the ``whole`` formats as aider does, each fenced block
of the reply being a file's content named by the line above it, so a fenced report after a
blank line fails with "No filename provided before ``` in file listing" when several files
are in the chat (nothing applied, three "reflections" that fail the same way) and overwrites
the file when there is one. It writes the raw reply to the chat history file in aider's format
(``# aider chat started at``, ``#### `` for the message, ``> `` for its own messages), while
stdout shows the reply wrapped at 80 columns and, in the ``whole`` formats, each fenced block
re-rendered as a ``diff`` block (``+`` before each line). It prints ``Tokens: ...``,
``Applied edit to ...``, commits its edits itself unless ``--no-auto-commits``, and writes
``--analytics-log`` events (``launched``, ``message_send`` with tokens and cost per call,
``exit``). Like the real one it leaves a ``.aider.tags.cache.v4`` folder in the repository,
adds ``.aider*`` to ``.gitignore`` unless ``--no-gitignore``, writes its history files in the
repository unless told where, and exits 0 when the model cannot be reached.

``SHOAL_FAKE_AIDER_REPORT`` sets the status the report gives (``pass``, ``fail``,
``blocked``), over the scenario's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from .scenario import VERSION_ENV, Fake, Parser, files_to_modify, flood, hang, usage

VERSION = "aider 0.86.1"
UNSUPPORTED = ("turn-limit", "denied")
SWITCHES = ("stream", "pretty", "check-update", "show-release-notes", "analytics", "gitignore",
            "auto-commits")
EDIT_FORMATS = ("diff", "diff-fenced", "whole", "udiff", "udiff-simple", "patch", "architect",
                "editor-diff", "editor-whole", "editor-diff-fenced", "ask", "help", "context")
WHOLE_FORMATS = ("whole", "editor-whole")
MAX_REFLECTIONS = 3
REPORT_ENV = "SHOAL_FAKE_AIDER_REPORT"


def parser() -> Parser:
    p = Parser("aider", "argparse", usage_line="aider [-h] [--model MODEL] ... [FILE ...]")
    p.flag("--message-file", "-f", help="Specify a file containing the message to send the LLM, "
           "process reply, then exit (disables chat mode)")
    p.flag("--message", "--msg", "-m", help="Specify a single message to send the LLM")
    p.flag("--yes-always", action="store_true", help="Always say yes to every confirmation")
    for name in SWITCHES:
        p.flag(f"--{name}", f"--no-{name}", action=argparse.BooleanOptionalAction, default=True,
               help=f"Enable/disable {name.replace('-', ' ')} (default: True)")
    p.flag("--analytics-log", help="Specify a file to log analytics events")
    p.flag("--input-history-file", help="Specify the chat input history file")
    p.flag("--chat-history-file", help="Specify the chat history file")
    p.flag("--model", help="Specify the model to use for the main chat")
    p.flag("--edit-format", "--chat-mode", metavar="EDIT_FORMAT", choices=EDIT_FORMATS,
           help="Specify what edit format the LLM should use (default depends on model)")
    p.flag("--map-tokens", type=int, help="Suggested number of tokens to use for repo map")
    p.flag("--read", action="append", default=[], help="Specify a read-only file (can be used "
           "multiple times)")
    p.flag("--version", action="store_true", help="Show the version number and exit")
    p.flag("-h", "--help", action="store_true", help="show this help message and exit")
    return p


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    ns, files = parser().parse_cli(args, os.environ.get(VERSION_ENV) or VERSION)
    if ns.message_file:
        try:
            prompt = Path(ns.message_file).read_text(encoding="utf-8")
        except OSError as exc:
            usage(f"Error reading message file: {exc}", 1)
    else:
        prompt = ns.message or ""
    if not prompt.strip():
        usage("fake aider: only --message / --message-file (scripting mode) is faked", 1)
    fake = Fake("aider", prompt)
    fake.record(args, files=files)
    if fake.scenario in UNSUPPORTED:
        usage(f"fake aider: scenario {fake.scenario!r} has no aider equivalent")
    return _run(fake, ns, files)


def _run(fake: Fake, ns: Any, files: list[str]) -> int:
    root, scenario = fake.root, fake.scenario
    edit_format = ns.edit_format or "whole"  # aider's choice for a model it does not know
    model = ns.model or "fake/model"
    history = Path(ns.chat_history_file or root / ".aider.chat.history.md")

    def event(name: str, **properties: Any) -> None:
        if ns.analytics_log:
            with open(ns.analytics_log, "a", encoding="utf-8") as handle:
                if scenario == "garbage":
                    handle.write("{half a line\n")
                handle.write(json.dumps({"event": name, "properties": properties,
                                         "user_id": "fake", "time": int(time.time())}) + "\n")

    def say(*lines: str) -> None:  # aider's own messages: on stdout and, quoted, in the history
        print("\n".join(lines), flush=True)
        with open(history, "a", encoding="utf-8") as handle:
            handle.write("".join(f"> {line.strip()}  \n" for line in lines if line.strip()))

    event("launched")
    with open(history, "a", encoding="utf-8") as handle:
        handle.write(f"\n# aider chat started at {time.strftime('%Y-%m-%d %H:%M:%S')}\n\n")
    say(f"Aider v{VERSION.split()[-1]}", f"Main model: {model} with {edit_format} edit format",
        "Git repo: .git")
    if ns.gitignore:
        with open(root / ".gitignore", "a", encoding="utf-8") as handle:
            handle.write(".aider*\n")
        say("Added .aider* to .gitignore")
    if ns.map_tokens != 0:
        (root / ".aider.tags.cache.v4").mkdir(exist_ok=True)
        (root / ".aider.tags.cache.v4" / "cache.db").write_bytes(b"fake tags cache")
    chat_files = files or files_to_modify(fake.prompt)
    for path in chat_files:
        say(f"Added {path} to the chat.")
    with open(history, "a", encoding="utf-8") as handle:
        handle.write("\n" + "  \n".join(f"#### {line}" for line in fake.prompt.splitlines())
                     + "  \n")
    if scenario == "hang":
        hang()
    if scenario == "crash":
        usage("Traceback (most recent call last):\n  File \"aider/main.py\", line 1052, in main\n"
              "ModuleNotFoundError: No module named 'litellm'", 1)
    if scenario in ("api-error", "rate-limit"):
        if scenario == "api-error":
            lines = [('litellm.AuthenticationError: AnthropicException - {"type":"error","error":'
                      '{"type":"authentication_error","message":"invalid x-api-key"}}'),
                     "The API provider is not able to authenticate you. Check your API key."]
        else:
            lines = [('litellm.RateLimitError: AnthropicException - {"type":"error","error":'
                      '{"type":"rate_limit_error","message":"Number of request tokens has exceeded '
                      'your per-minute rate limit"}}'),
                     "The API provider has rate limited you. Try again later or check your quotas."]
            print("\n".join(lines) + "\nRetrying in 0.2 seconds...", flush=True)
        say(*lines)
        event("exit", reason="Completed --message-file")
        return 0  # sic: aider exits 0 after giving up on the model
    if scenario == "flood":
        flood(lambda i: f"Thinking about the change, step {i}")
    if scenario == "garbage":
        print("\x1b[31m{not json\x1b[0m", flush=True)

    new = {path: _read(root / path) + f"written by fake aider for {fake.task}\n" for path in chat_files
           if (root / path).resolve().is_relative_to(root)}
    status = os.environ.get(REPORT_ENV) or ("fail" if scenario == "fail" else "pass")
    reply = _reply(fake, edit_format, new, None if scenario == "no-result" else status)
    whole = edit_format in WHOLE_FORMATS
    for reflection in range(MAX_REFLECTIONS + 1):
        try:
            edits, error = (_whole_edits(reply, chat_files) if whole else new), None
        except ValueError as exc:
            edits, error = {}, str(exc)
        # the whole format shows each listing as a diff, unless the reply does not parse
        print(_rendered(reply) if whole and error is None else _wrapped(reply), flush=True)
        with open(history, "a", encoding="utf-8") as handle:
            handle.write("\n" + reply.strip() + "\n\n")
        say("Tokens: 2.3k sent, 150 received. Cost: $0.0120 message, $0.0120 session.")
        cost = 0.012 * (reflection + 1)
        event("message_send", main_model=model, edit_format=edit_format, prompt_tokens=2300,
              completion_tokens=150, total_tokens=2450, cost=0.012, total_cost=round(cost, 4))
        if error is not None:
            say("The LLM did not conform to the edit format.",
                "https://aider.chat/docs/troubleshooting/edit-errors.html", error)
            if reflection == MAX_REFLECTIONS:
                say(f"Only {MAX_REFLECTIONS} reflections allowed, stopping.")
            continue  # the mock model answers the reflection with the same reply
        for path, content in edits.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
            fake.changed.append(path)
            say(f"Applied edit to {path}")
        if edits and ns.auto_commits:
            say(_commit(root, list(edits), fake.task))
        break
    event("exit", reason="Completed --message-file")
    if scenario == "hang-after-result":
        hang()
    return 0


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def _reply(fake: Fake, edit_format: str, new: dict[str, str], status: str | None) -> str:
    """What the model says: each file's edit in the edit format, then the report (in the form
    the message asks for)."""
    parts = [f"I changed {', '.join(new) or 'nothing'}."]
    for path, content in new.items():
        old = _read(fake.root / path)
        if edit_format in WHOLE_FORMATS:
            parts.append(f"{path}\n```\n{content}```")
        elif edit_format in ("udiff", "udiff-simple"):
            added = content[len(old):].splitlines()
            parts.append(f"```diff\n--- {path}\n+++ {path}\n@@ ... @@\n"
                         + "".join(f"+{line}\n" for line in added) + "```")
        else:
            parts.append(f"{path}\n```\n<<<<<<< SEARCH\n{old}=======\n{content}>>>>>>> REPLACE\n```")
    if status is None:
        return "\n\n".join(parts) + "\n"
    block = {"status": status, "files_modified": list(new), "files_created": [],
             "test_results": {"ran": 1, "passed": 1 if status == "pass" else 0,
                              "failed": 0 if status == "pass" else 1},
             "blocker": None if status == "pass" else f"the fake was told to report {status}",
             "notes": f"fake aider ({fake.scenario}, {edit_format} edit format) on {fake.task}"}
    if "shoal-report:" in fake.prompt:
        parts.append(f"shoal-report: {json.dumps(block)}")
    else:
        parts.append(f"```json\n{json.dumps(block, indent=2)}\n```")
    if status == "pass":
        parts.append("TASK COMPLETE")
    return "\n\n".join(parts) + "\n"


def _fenced(reply: str) -> list[tuple[str, list[str]]]:
    """The fenced blocks of a reply with the line above each, as aider's whole format sees
    them (any line starting with ``` opens or closes one)."""
    blocks: list[tuple[str, list[str]]] = []
    lines = reply.splitlines()
    body: list[str] | None = None
    for i, line in enumerate(lines):
        if line.startswith("```"):
            if body is None:
                body = []
                name = lines[i - 1].strip().strip("*").rstrip(":").strip("`").lstrip("#").strip() if i else ""
            else:
                blocks.append((name, body))
                body = None
        elif body is not None:
            body.append(line)
    return blocks


def _whole_edits(reply: str, chat_files: list[str]) -> dict[str, str]:
    """The files aider's whole format writes for ``reply``, a named listing first."""
    named: dict[str, str] = {}
    unnamed: dict[str, str] = {}
    for name, body in _fenced(reply):
        content = "".join(line + "\n" for line in body)
        if name:
            named.setdefault(name, content)
        elif len(chat_files) == 1:
            unnamed.setdefault(chat_files[0], content)
        else:
            raise ValueError("No filename provided before ``` in file listing")
    return {**unnamed, **named}


def _rendered(reply: str) -> str:
    """The reply as aider prints it in the whole format: each fenced block as a diff."""
    out: list[str] = []
    body: list[str] | None = None
    for line in reply.splitlines():
        if line.startswith("```"):
            if body is None:
                body = []
            else:
                out += ["```diff", "@@ -1 +1 @@", *(f"+{b}" for b in body), "```"]
                body = None
        elif body is not None:
            body.append(line)
        else:
            out.append(line)
    return _wrapped("\n".join(out))


def _wrapped(text: str) -> str:
    """Lines broken at 80 columns, as aider's console does when stdout is not a terminal."""
    return "\n".join("\n".join(textwrap.wrap(line, 80, break_long_words=False,
                                              break_on_hyphens=False)) or ""
                     for line in text.splitlines())


def _commit(root: Path, paths: list[str], task: str) -> str:
    git = ["git", "-c", "user.name=Fake Aider (aider)", "-c", "user.email=aider@shoal.invalid"]
    subprocess.run([*git, "add", "--", *paths], cwd=root, check=True, capture_output=True)
    done = subprocess.run([*git, "commit", "-q", "-m", f"feat: {task} by fake aider", "--", *paths],
                          cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return f"Commit failed: {done.stderr.strip()}"
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                          text=True, check=False).stdout.strip()
    return f"Commit {head} feat: {task} by fake aider"


if __name__ == "__main__":
    sys.exit(main())
