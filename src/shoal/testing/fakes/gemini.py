"""A fake Gemini CLI: ``gemini --output-format json --approval-mode MODE --prompt=TEXT``.

The prompt is ``--prompt`` (``-p``) or positional words, with stdin put before it when
piped. Prints one pretty-printed JSON document at the end (``session_id``, ``response``,
``stats`` or ``error``) and exits with the documented codes: 1 error, 41 authentication,
53 turn limit, and 55 in a folder it was not told to trust (as 0.61.0 does). Unknown arguments are refused as yargs' strict mode does.

Sessions (`shoal.testing.fakes.sessions`) are kept per working folder, under
``~/.gemini/tmp/<folder>/chats/``, as 0.61.0 keeps them: ``--session-id <id>`` starts one with
that id (exit 42 "Error starting session: Session ID ... already exists" when it does),
``--resume <id>`` continues one, printing the same ``session_id``; with none saved for the
folder it exits 42 "Error resuming session: No previous sessions found for this project.", with
others but not that one 42 "Error resuming session: Invalid session identifier ...". The two
flags together are a usage error (exit 1).
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from .scenario import VERSION_ENV, Fake, Parser, flood, hang, read_stdin, usage
from .sessions import Session, folder_key, home

VERSION = "0.9.0"
MODES = ("default", "auto_edit", "yolo")


def parser() -> Parser:
    p = Parser("gemini", "yargs", usage_line="gemini [options]")
    p.flag("-p", "--prompt", help="Prompt. Appended to input on stdin (if any).")
    p.flag("-m", "--model", help="Model")
    p.flag("-o", "--output-format", choices=("text", "json", "stream-json"), default="text",
           help="The format of the CLI output.")
    p.flag("--approval-mode", choices=MODES, default="default",
           help="Set the approval mode: default, auto_edit, yolo")
    p.flag("--allowed-tools", nargs="+", action="extend", default=[],
           help="Tools that are allowed to run without confirmation")
    p.flag("--include-directories", nargs="+", action="extend", default=[],
           help="Additional directories to include in the workspace")
    p.flag("-y", "--yolo", action="store_true", help="Automatically accept all actions")
    p.flag("--skip-trust", action="store_true", help="Trust the current workspace for this session.")
    p.flag("-r", "--resume", help='Resume a previous session. Use "latest" for most recent or index '
           "number (e.g. --resume 5)")
    p.flag("--session-id", help="Start a new session with a manually provided UUID.")
    p.flag("-d", "--debug", action="store_true", help="Run in debug mode?")
    p.flag("-v", "--version", action="store_true", help="Show version number")
    p.flag("-h", "--help", action="store_true", help="Show help")
    return p


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    ns, words = parser().parse_cli(args, os.environ.get(VERSION_ENV) or VERSION)
    piped = read_stdin()
    prompt = "\n\n".join(part for part in (piped, ns.prompt or " ".join(words)) if part)
    if not prompt.strip():
        usage("No input provided via stdin. Input can be provided by piping data into gemini or "
              "using the --prompt option.", 1)
    if ns.resume is not None and ns.session_id is not None:
        usage(f"{parser().format_help()}\nThe flags --resume, --session-id, and --session-file are "
              "mutually exclusive. Please provide only one.", 1)
    earlier = _resumed(ns.resume) if ns.resume is not None else None
    session = earlier.id if earlier else ns.session_id or str(uuid.uuid4())
    if earlier is None and chats().joinpath(f"session-{session}.json").exists():
        usage(f'Error starting session: Session ID "{session}" already exists. Use --resume to '
              "resume it, or provide a different ID.", 42)
    fake = Fake("gemini", prompt, earlier=earlier)
    fake.record(args, stdin=bool(piped), session=session, resumed=earlier is not None)
    return _run(fake, ns, session)


def chats(folder: Path | None = None) -> Path:
    """Where Gemini CLI keeps the sessions of a working folder."""
    return home() / ".gemini" / "tmp" / folder_key((folder or Path.cwd()).resolve()) / "chats"


def _resumed(session: str) -> Session:
    saved = sorted(chats().glob("session-*.json"))
    found = Session.load(chats() / f"session-{session}.json")
    if found is not None:
        return found
    if not saved:
        usage("Error resuming session: No previous sessions found for this project.", 42)
    usage(f'Error resuming session: Invalid session identifier "{session}".\n  Searched for '
          f"sessions in {chats()}.\n  Use --list-sessions to see available sessions, then use "
          "--resume {number}, --resume {uuid}, or --resume latest.", 42)


def _stats(denied: bool = False) -> dict[str, Any]:
    decisions = {"accept": 0, "reject": 1 if denied else 0, "modify": 0, "auto_accept": 1}
    return {"models": {"gemini-2.5-pro": {
                "api": {"totalRequests": 3, "totalErrors": 0, "totalLatencyMs": 5053},
                "tokens": {"prompt": 24939, "candidates": 20, "total": 25113, "cached": 21263,
                           "thoughts": 154, "tool": 0}}},
            "tools": {"totalCalls": 2, "totalSuccess": 1, "totalFail": 1 if denied else 0,
                      "byName": {"run_shell_command": {"count": 1, "decisions": decisions}}},
            "files": {"totalLinesAdded": 1, "totalLinesRemoved": 0}}


def _run(fake: Fake, ns: Any, session: str) -> int:
    scenario = fake.scenario

    def document(**fields: Any) -> None:
        if ns.output_format == "json":
            print(json.dumps({"session_id": session, **fields}, indent=2), flush=True)
        else:
            print(fields.get("response") or fields.get("error", {}).get("message", ""), flush=True)

    def error(kind: str, message: str, code: int) -> int:
        document(error={"type": kind, "message": message, "code": code})
        return code

    print("Loaded cached credentials.", file=sys.stderr, flush=True)
    if not ns.skip_trust and os.environ.get("GEMINI_CLI_TRUST_WORKSPACE") != "true":
        # as Gemini CLI 0.61.0 does in a folder nobody trusted, headless
        if ns.approval_mode != "default":
            print('Approval mode overridden to "default" because the current folder is not '
                  "trusted.", file=sys.stderr, flush=True)
        print("Gemini CLI is not running in a trusted directory. To proceed, either use "
              "`--skip-trust`, set the `GEMINI_CLI_TRUST_WORKSPACE=true` environment variable, "
              "or trust this directory in interactive mode.", file=sys.stderr, flush=True)
        return 55
    fake.session(session).save(chats(fake.root) / f"session-{session}.json")
    if scenario == "hang":
        hang()
    if scenario == "crash":
        usage("file:///usr/lib/node_modules/@google/gemini-cli/dist/index.js:12\nTypeError: "
              "Cannot read properties of undefined (reading 'model')", 1)
    if scenario == "api-error":
        # as Gemini CLI 0.61.0 does with a key the API refuses: the API's 400 API_KEY_INVALID as
        # the error document, on stderr, and the status's low byte as the exit code
        api = {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                         "status": "INVALID_ARGUMENT", "details": [{
                             "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                             "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}}
        print(json.dumps({"session_id": session, "error": {
            "type": "Error", "message": json.dumps(api), "code": 400}}, indent=2),
            file=sys.stderr, flush=True)
        return 400 & 0xFF
    if scenario == "auth-exit":  # the documented FatalAuthenticationError exit
        return error("FatalAuthenticationError", "[API Error: API key not valid. Please pass a valid "
                     "API key.]", 41)
    if scenario == "rate-limit":
        return error("Error", "[API Error: You exceeded your current quota, please check your plan "
                     "and billing details. (Status: RESOURCE_EXHAUSTED, code 429)]", 1)
    if scenario == "flood":
        flood(lambda i: f"[DEBUG] streaming chunk {i} " + "." * 60)
    if scenario == "garbage":
        print("Data collection is disabled.\n{not json", flush=True)
    fake.work()
    fake.session(session).save(chats(fake.root) / f"session-{session}.json")
    if scenario == "turn-limit":
        return error("FatalTurnLimitedError", "Reached max session turns for this session. Increase "
                     "the number of turns by specifying maxSessionTurns in settings.json.", 53)
    if scenario == "no-result":
        return 0
    document(response=fake.report("fail" if scenario == "fail" else "pass"),
             stats=_stats(denied=scenario == "denied"))
    if scenario == "hang-after-result":
        hang()
    return 0


if __name__ == "__main__":
    sys.exit(main())
