"""A fake Aider: ``aider --message-file FILE --yes-always --no-stream ... [--] FILE ...``.

Edits the files it is given (else those the prompt lists), prints the reply and aider's
``Tokens: ... Cost: ...`` line, commits its edits itself unless ``--no-auto-commits``, and
writes ``--analytics-log`` events (``launched``, ``message_send`` with tokens and cost,
``exit``). Like the real one it leaves a ``.aider.tags.cache.v4`` folder in the repository,
adds ``.aider*`` to ``.gitignore`` unless ``--no-gitignore``, writes its history files in the
repository unless told where, and exits 0 when the model cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .scenario import VERSION_ENV, Fake, Parser, flood, hang, usage

VERSION = "aider 0.86.1"
UNSUPPORTED = ("turn-limit", "denied")
SWITCHES = ("stream", "pretty", "check-update", "show-release-notes", "analytics", "gitignore",
            "auto-commits")


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
    p.flag("--edit-format", help="Specify what edit format the LLM should use")
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

    def event(name: str, **properties: Any) -> None:
        if ns.analytics_log:
            with open(ns.analytics_log, "a", encoding="utf-8") as handle:
                if scenario == "garbage":
                    handle.write("{half a line\n")
                handle.write(json.dumps({"event": name, "properties": properties,
                                         "user_id": "fake", "time": int(time.time())}) + "\n")

    event("launched")
    print(f"Aider v{VERSION.split()[-1]}\nMain model: {ns.model or 'fake/model'} with "
          f"{ns.edit_format or 'diff'} edit format\nGit repo: .git", flush=True)
    if ns.gitignore:
        with open(root / ".gitignore", "a", encoding="utf-8") as handle:
            handle.write(".aider*\n")
        print("Added .aider* to .gitignore", flush=True)
    if ns.map_tokens != 0:
        (root / ".aider.tags.cache.v4").mkdir(exist_ok=True)
        (root / ".aider.tags.cache.v4" / "cache.db").write_bytes(b"fake tags cache")
    history = Path(ns.chat_history_file or root / ".aider.chat.history.md")
    with open(history, "a", encoding="utf-8") as handle:
        handle.write(f"# aider chat started\n\n#### {fake.prompt[:200]}\n")
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
        print("\n".join(lines), flush=True)
        event("exit", reason="Completed --message-file")
        return 0  # sic: aider exits 0 after giving up on the model
    if scenario == "flood":
        flood(lambda i: f"Thinking about the change, step {i}")
    if scenario == "garbage":
        print("\x1b[31m{not json\x1b[0m", flush=True)
    changed = fake.work(files or None)
    reply = ("I changed the files." if scenario == "no-result"
             else fake.report("fail" if scenario == "fail" else "pass"))
    print(reply, flush=True)
    for path in changed:
        print(f"Applied edit to {path}", flush=True)
    if changed and ns.auto_commits:
        _commit(root, changed, fake.task)
    print("Tokens: 2.3k sent, 150 received. Cost: $0.0120 message, $0.0120 session.", flush=True)
    event("message_send", main_model=ns.model or "fake/model", edit_format=ns.edit_format or "diff",
          prompt_tokens=2300, completion_tokens=150, total_tokens=2450, cost=0.012, total_cost=0.012)
    event("exit", reason="Completed --message-file")
    if scenario == "hang-after-result":
        hang()
    return 0


def _commit(root: Path, paths: list[str], task: str) -> None:
    git = ["git", "-c", "user.name=Fake Aider (aider)", "-c", "user.email=aider@shoal.invalid"]
    subprocess.run([*git, "add", "--", *paths], cwd=root, check=True, capture_output=True)
    done = subprocess.run([*git, "commit", "-q", "-m", f"feat: {task} by fake aider", "--", *paths],
                          cwd=root, capture_output=True, text=True, check=False)
    print(f"Commit {'done' if done.returncode == 0 else 'failed: ' + done.stderr.strip()}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
