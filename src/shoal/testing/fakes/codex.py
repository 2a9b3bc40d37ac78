"""A fake Codex CLI: ``codex exec --json --sandbox MODE -C DIR [--] [PROMPT | -]``.

The prompt is the argument; ``-`` or none reads it from stdin. Prints the ``exec --json``
JSONL events (``thread.started``, ``turn.started``, ``item.*``, ``turn.completed`` with
usage, ``turn.failed``, ``error``) in the real shapes. ``--full-auto`` was removed upstream:
like any unknown argument it is a clap usage error, exit 2. A ``read-only`` sandbox writes
nothing.

``exec [OPTIONS] resume <id> [PROMPT | -]`` continues a thread saved under ``$CODEX_HOME``
(`shoal.testing.fakes.sessions`), from any folder, printing the same ``thread_id`` and, as
codex-cli 0.169.1 does, the whole thread's usage in ``turn.completed``. As there, ``exec``'s own
options (``--sandbox``, ``-C``, ``--profile``) after ``resume`` are a usage error (exit 2), an
unknown UUID fails "Error: thread/resume: thread/resume failed: no rollout found for thread id
<id> (code -32600)" with exit 1 and no events, and an id that is not a UUID (a thread name none
has) starts a new thread.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Any

from .scenario import VERSION_ENV, Fake, Parser, emit, flood, hang, read_stdin, usage
from .sessions import Session, home

VERSION = "codex-cli 0.46.0"
SANDBOXES = ("read-only", "workspace-write", "danger-full-access")
UNSUPPORTED = ("turn-limit", "denied")
EXEC_ONLY = ("-s", "--sandbox", "-C", "--cd", "-p", "--profile")  # refused after `resume`


def parser() -> Parser:
    p = Parser("codex exec", "clap", usage_line="codex exec [OPTIONS] [PROMPT] [COMMAND]")
    p.flag("--json", action="store_true", help="Print events to stdout as JSONL")
    p.flag("-s", "--sandbox", choices=SANDBOXES, help="Select the sandbox policy to use when "
           "executing model-generated shell commands")
    p.flag("-C", "--cd", help="Tell the agent to use the specified directory as its working root")
    p.flag("-m", "--model", help="Model the agent should use")
    p.flag("-p", "--profile", help="Configuration profile from config.toml to specify default options")
    p.flag("-c", "--config", action="append", default=[], help="Override a configuration value "
           "that would otherwise be loaded from ~/.codex/config.toml")
    p.flag("--skip-git-repo-check", action="store_true", help="Allow running Codex outside a Git repository")
    p.flag("-o", "--output-last-message", help="Specifies file where the last message from the agent "
           "should be written")
    p.flag("-h", "--help", action="store_true", help="Print help")
    return p


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] in (["--version"], ["-V"]):
        print(os.environ.get(VERSION_ENV) or VERSION)
        return 0
    if not args or args[0] not in ("exec", "e"):
        usage("fake codex: only `codex exec` is faked" if args and args[0] not in ("-h", "--help")
              else "Usage: codex [OPTIONS] [PROMPT]\n       codex [OPTIONS] <COMMAND> [ARGS]\n\n"
                   "Commands:\n  exec  Run Codex non-interactively", 0 if args else 2)
    ns, words = parser().parse_cli(args[1:])
    resume = words[:1] == ["resume"]
    if resume:
        _options_after_resume(args[1:])
        if len(words) < 2:
            usage("fake codex: `exec resume` needs a session id (no picker, no --last)")
        words = words[1:]
    thread, words = (words[0], words[1:]) if resume else (None, words)
    prompt = read_stdin() if words in ([], ["-"]) else " ".join(words)
    if not prompt.strip():
        usage("No prompt provided. Either specify one as an argument or pipe the prompt into stdin.", 1)
    root = Path(ns.cd) if ns.cd else None
    if root is not None and not root.is_dir():
        usage(f"Error: failed to change directory to {ns.cd}: No such file or directory (os error 2)", 1)
    earlier = None
    if thread is not None and _uuid(thread):
        earlier = Session.load(rollout(thread))
        if earlier is None:
            usage("Error: thread/resume: thread/resume failed: no rollout found for thread id "
                  f"{thread} (code -32600)", 1)
    session = earlier.id if earlier else str(uuid.uuid4())  # a name none has: a new thread
    fake = Fake("codex", prompt, root, earlier=earlier)
    fake.record(args, stdin=words in ([], ["-"]), session=session, resumed=earlier is not None)
    if fake.scenario in UNSUPPORTED:
        usage(f"fake codex: scenario {fake.scenario!r} has no codex equivalent")
    return _run(fake, ns, session)


def rollout(thread: str) -> Path:
    """Where codex keeps a thread, whatever the folder it ran in."""
    codex_home = Path(os.environ.get("CODEX_HOME") or home() / ".codex")
    return codex_home / "sessions" / f"rollout-{thread}.jsonl"


def _uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _options_after_resume(args: list[str]) -> None:
    head = args[: args.index("--")] if "--" in args else args
    after = head[head.index("resume") + 1:]
    for flag in after:
        if flag.split("=", 1)[0] in EXEC_ONLY:
            usage(f"error: unexpected argument '{flag}' found\n\n  tip: to pass '{flag}' as a "
                  "value, use '-- " + flag + "'\n\nUsage: codex exec resume [OPTIONS] [SESSION_ID] "
                  "[PROMPT]\n\nFor more information, try '--help'.")


def _run(fake: Fake, ns: Any, thread: str) -> int:
    scenario = fake.scenario
    if scenario == "hang":
        hang()
    if scenario == "crash":
        usage("thread 'main' panicked at codex-rs/exec/src/lib.rs:212:10:\nfailed to load "
              "configuration: invalid type: string \"high\", expected a boolean", 101)
    emit({"type": "thread.started", "thread_id": thread})
    fake.session(thread).save(rollout(thread))
    emit({"type": "turn.started"})
    if scenario in ("api-error", "rate-limit"):
        # as codex-cli 0.169.1 does: a 401 is retried five times ("Reconnecting..."), a 429 not
        message = ("unexpected status 401 Unauthorized: Incorrect API key provided: x., url: "
                   "https://api.openai.com/v1/responses"
                   if scenario == "api-error" else
                   "exceeded retry limit, last status: 429 Too Many Requests, request id: req_fake")
        if scenario == "api-error":
            for n in range(1, 6):
                emit({"type": "error", "message": f"Reconnecting... {n}/5 ({message})"})
        emit({"type": "error", "message": message})
        emit({"type": "turn.failed", "error": {"message": message}})
        return 1
    if scenario == "flood":
        flood(lambda i: f'{{"type":"item.updated","item":{{"id":"item_r","type":"reasoning",'
                        f'"text":"considering option {i}"}}}}')
    if scenario == "garbage":
        emit("{not json at all")
        emit("2025-01-01T00:00:00Z WARN codex_core: a log line on the wrong stream")
    emit({"type": "item.completed", "item": {"id": "item_0", "type": "reasoning", "text": "**Planning the edit**"}})
    paths = fake.work() if ns.sandbox != "read-only" else []
    saved = fake.session(thread)
    saved.save(rollout(thread))
    for i, path in enumerate(paths, 1):
        emit({"type": "item.completed", "item": {"id": f"item_{i}", "type": "file_change", "status": "completed",
                                                 "changes": [{"path": str(fake.root / path), "kind": "update"}]}})
    if scenario == "no-result":
        return 0
    report = fake.report("fail" if scenario == "fail" else "pass")
    emit({"type": "item.completed", "item": {"id": "item_9", "type": "agent_message", "text": report}})
    emit({"type": "turn.completed", "usage": {  # the thread's, earlier turns included
        "input_tokens": 24763 * saved.turns, "cached_input_tokens": 24448 * saved.turns,
        "output_tokens": 122 * saved.turns}})
    if scenario == "hang-after-result":
        hang()
    return 0


if __name__ == "__main__":
    sys.exit(main())
