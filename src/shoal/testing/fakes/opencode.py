"""A fake OpenCode: ``opencode run [MESSAGE..] --format json [--model P/M] [--agent A]``.

The message is the words, joined as the real one joins them (a word holding a space is put
in double quotes), then stdin when piped. Prints ``--format json`` events (``step_start``,
``tool_use``, ``text``, ``step_finish`` with cost and tokens, ``error``), each with
``timestamp`` and ``sessionID``. Unknown arguments are refused as yargs' strict mode does.

``--session <id>`` continues a session saved under ``$XDG_DATA_HOME/opencode``
(`shoal.testing.fakes.sessions`), printing the same ``sessionID``. As OpenCode 1.18.33 does, an
id it does not know prints "Error: Session not found" (in colour) on stderr and exits 1, and a
session that started in another folder is worked on in that folder while ``run`` prints nothing
and waits until it is stopped (it ends on SIGTERM).
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from .scenario import VERSION_ENV, Fake, Parser, emit, flood, hang, read_stdin, usage
from .sessions import Session, home

VERSION = "0.15.0"
UNSUPPORTED = ("turn-limit",)


def parser() -> Parser:
    p = Parser("opencode run", "yargs", usage_line="opencode run [message..]")
    p.flag("--format", choices=("default", "json"), default="default",
           help="format: default (formatted) or json (raw JSON events)")
    p.flag("-m", "--model", help="model to use in the format of provider/model")
    p.flag("--agent", help="agent to use")
    p.flag("--variant", help="model variant (provider-specific reasoning effort)")
    p.flag("-c", "--continue", action="store_true", help="continue the last session")
    p.flag("-s", "--session", help="session id to continue")
    p.flag("-f", "--file", nargs="+", action="extend", default=[], help="file(s) to attach to message")
    p.flag("--title", help="title for the session")
    p.flag("--share", action="store_true", help="share the session")
    p.flag("-h", "--help", action="store_true", help="show help")
    return p


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] in (["--version"], ["-v"]):
        print(os.environ.get(VERSION_ENV) or VERSION)
        return 0
    if not args or args[0] != "run":
        usage("fake opencode: only `opencode run` is faked", 0 if not args or args[0] in ("-h", "--help") else 1)
    ns, words = parser().parse_cli(args[1:])
    message = " ".join('"' + w.replace('"', '\\"') + '"' if " " in w else w for w in words)
    piped = read_stdin()
    if piped:
        message += "\n" + piped
    if not message.strip():
        usage("Error: You must provide a message or a command", 1)
    earlier = None
    if ns.session is not None:
        earlier = Session.load(session_file(ns.session))
        if earlier is None:
            usage("\x1b[91m\x1b[1mError: \x1b[0mSession not found", 1)
    session = earlier.id if earlier else "ses_" + uuid.uuid4().hex[:26]
    fake = Fake("opencode", message, earlier=earlier)
    fake.record(args, stdin=bool(piped), session=session, resumed=earlier is not None)
    if fake.scenario in UNSUPPORTED:
        usage(f"fake opencode: scenario {fake.scenario!r} has no opencode equivalent")
    if earlier is not None and Path(earlier.cwd) != fake.root:
        elsewhere = Fake("opencode", message, Path(earlier.cwd), earlier)
        elsewhere.work()
        elsewhere.session(session).save(session_file(session))
        while True:  # waits for the session's events in this folder, which never come
            time.sleep(3600)
    return _run(fake, ns, session)


def session_file(session: str) -> Path:
    """Where OpenCode keeps a session, whatever the folder."""
    data = Path(os.environ.get("XDG_DATA_HOME") or home() / ".local" / "share")
    return data / "opencode" / "fake-sessions" / f"{session}.json"


def _run(fake: Fake, ns: Any, session: str) -> int:
    scenario = fake.scenario

    def event(kind: str, **data: Any) -> None:
        if ns.format == "json":
            emit({"type": kind, "timestamp": int(time.time() * 1000), "sessionID": session, **data})

    def step_finish(reason: str, cost: float) -> None:
        event("step_finish", part={"type": "step-finish", "reason": reason, "cost": cost,
                                   "tokens": {"input": 1200, "output": 80, "reasoning": 20,
                                              "cache": {"read": 3000, "write": 0}}})

    def tool(name: str, status: str, **state: Any) -> None:
        event("tool_use", part={"type": "tool", "tool": name, "callID": uuid.uuid4().hex[:8],
                                "state": {"status": status, **state}})

    if scenario == "hang":
        hang()
    if scenario == "crash":
        usage("error: Unexpected end of JSON input\n    at <anonymous> (/$bunfs/root/opencode:1:2)", 1)
    event("step_start", part={"type": "step-start", "snapshot": "4b825dc"})
    fake.session(session).save(session_file(session))
    if scenario in ("api-error", "rate-limit"):
        # as OpenCode 1.18.33 prints the provider's refusal of a key (after two requests)
        error = ({"name": "APIError", "data": {
                      "message": "Incorrect API key provided: x.", "statusCode": 401,
                      "isRetryable": False, "metadata": {"url": "https://api.openai.com/v1/chat/completions"}}}
                 if scenario == "api-error" else
                 {"name": "APIError", "data": {"message": "Rate limit exceeded: 429 Too Many Requests",
                                               "statusCode": 429, "isRetryable": True}})
        event("error", error=error)
        return 1
    if scenario == "flood":
        flood(lambda i: f'{{"type":"text","sessionID":"{session}","part":{{"type":"text",'
                        f'"text":"partial thought {i}"}}}}')
    if scenario == "garbage":
        emit("{not json")
        emit("INFO  service=bus something happened")
    if scenario == "denied":
        tool("bash", "error", input={"command": "git push"},
             error="The user rejected permission to use this specific tool call.")
    for path in fake.work():
        tool("edit", "completed", input={"filePath": str(fake.root / path)}, output="")
    fake.session(session).save(session_file(session))
    step_finish("tool-calls", 0.0042)
    if scenario == "no-result":
        return 0
    event("step_start", part={"type": "step-start", "snapshot": "5c1a9e0"})
    event("text", part={"type": "text", "text": fake.report("fail" if scenario == "fail" else "pass"),
                        "time": {"start": 1, "end": 2}})
    step_finish("stop", 0.0031)
    if scenario == "hang-after-result":
        hang()
    return 0


if __name__ == "__main__":
    sys.exit(main())
