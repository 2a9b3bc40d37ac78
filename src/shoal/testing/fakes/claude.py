"""A fake Claude Code: ``claude -p ... --output-format stream-json --verbose [--] [PROMPT]``.

Print mode only. The prompt is the argument, else stdin. Prints the system/init event,
assistant and tool events and the final ``{"type": "result", ...}`` in the real shapes (one
compact JSON object per line; ``--output-format json`` prints only the result, ``text`` only
its text). Refuses ``stream-json`` without ``--verbose`` and unknown options as the real one.
"""

from __future__ import annotations

import os
import sys
import uuid
from typing import Any

from .scenario import VERSION_ENV, Fake, Parser, emit, flood, hang, read_stdin, usage

VERSION = "2.0.14 (Claude Code)"
MODES = ("acceptEdits", "bypassPermissions", "default", "dontAsk", "plan")


def parser() -> Parser:
    p = Parser("claude", "commander", usage_line="claude [options] [command] [prompt]")
    p.flag("-p", "--print", action="store_true", help="Print response and exit (useful for pipes)")
    p.flag("--output-format", choices=("text", "json", "stream-json"), default="text",
           help='Output format (only works with --print): "text", "json" or "stream-json"')
    p.flag("--verbose", action="store_true", help="Override verbose mode setting from config")
    p.flag("--permission-mode", choices=MODES, help="Permission mode to use for the session")
    p.flag("--allowedTools", "--allowed-tools", nargs="+", action="extend", default=[],
           help='Comma or space-separated list of tool names to allow (e.g. "Bash(git:*) Edit")')
    p.flag("--disallowedTools", "--disallowed-tools", nargs="+", action="extend", default=[],
           help="Comma or space-separated list of tool names to deny")
    p.flag("--max-turns", type=int, help="Maximum number of agentic turns in print mode")
    p.flag("--max-budget-usd", type=float, help="Maximum dollar amount to spend on API calls")
    p.flag("--append-system-prompt", help="Append a system prompt to the default system prompt")
    p.flag("--model", help="Model for the current session")
    p.flag("--session-id", help="Use a specific session ID for the conversation")
    p.flag("--dangerously-skip-permissions", action="store_true", help="Bypass all permission checks")
    p.flag("-v", "--version", action="store_true", help="Output the version number")
    p.flag("-h", "--help", action="store_true", help="Display help for command")
    return p


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    ns, words = parser().parse_cli(args, _version())
    if not ns.print:
        usage("fake claude: only print mode (-p) is faked", 1)
    if ns.output_format == "stream-json" and not ns.verbose:
        usage("Error: When using --print, --output-format=stream-json requires --verbose", 1)
    prompt = " ".join(words) or read_stdin()
    if not prompt.strip():
        usage("Error: Input must be provided either through stdin or as a prompt argument "
              "when using --print", 1)
    fake = Fake("claude", prompt)
    fake.record(args, stdin=not words)
    return _run(fake, ns)


def _version() -> str:
    return os.environ.get(VERSION_ENV) or VERSION


def _run(fake: Fake, ns: Any) -> int:
    session = str(uuid.uuid4())
    stream = ns.output_format == "stream-json"

    def event(value: dict[str, Any]) -> None:
        if stream:
            emit({**value, "session_id": session})

    def result(subtype: str, text: str, *, is_error: bool = False, turns: int = 3,
               denials: list[dict[str, Any]] | None = None) -> None:
        final = {"type": "result", "subtype": subtype, "is_error": is_error, "duration_ms": 1234,
                 "duration_api_ms": 1100, "num_turns": turns, "result": text, "session_id": session,
                 "total_cost_usd": 0.0421,
                 "usage": {"input_tokens": 120, "cache_creation_input_tokens": 2000,
                           "cache_read_input_tokens": 8000, "output_tokens": 450},
                 "permission_denials": denials or []}
        if ns.output_format == "text":
            print(text, flush=True)
        else:
            emit(final)

    scenario = fake.scenario
    event({"type": "system", "subtype": "init", "cwd": str(fake.root), "model": ns.model or "claude-fake",
           "permissionMode": ns.permission_mode or "default", "tools": ["Read", "Edit", "Write", "Bash"]})
    if scenario == "hang":
        hang()
    if scenario == "crash":
        usage("Error: ENOENT: no such file or directory, open '/nonexistent/.claude.json'\n"
              "    at Object.openSync (node:fs:573:18)", 1)
    if scenario in ("api-error", "rate-limit"):
        text = ("Invalid API key · Please run /login" if scenario == "api-error" else
                'API Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":'
                '"This request would exceed the rate limit for your organization"}}')
        result("success", text, is_error=True, turns=1)  # sic: subtype success, is_error true
        return 1
    if scenario == "flood":
        flood(lambda i: f'{{"type":"assistant","message":{{"role":"assistant","content":'
                        f'[{{"type":"text","text":"thinking out loud, line {i}"}}]}},'
                        f'"session_id":"{session}"}}')
    if scenario == "garbage":
        emit("{this is not json")
        emit("Warning: something printed on stderr")
    for i, path in enumerate(fake.work()):
        event({"type": "assistant", "message": {"role": "assistant", "content": [
            {"type": "tool_use", "id": f"toolu_{i}", "name": "Edit", "input": {"file_path": path}}]}})
        event({"type": "user", "message": {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"toolu_{i}", "content": "ok"}]}})
    if scenario == "garbage":
        emit('{"type": "assistant", "message": {"truncated')
    if scenario == "no-result":
        event({"type": "assistant", "message": {"role": "assistant",
                                                "content": [{"type": "text", "text": "Working..."}]}})
        return 0
    if scenario == "turn-limit":
        result("error_max_turns", "", turns=ns.max_turns or 5)
        return 0
    status = "fail" if scenario == "fail" else "pass"
    report = fake.report(status)
    event({"type": "assistant", "message": {"role": "assistant", "content": [{"type": "text", "text": report}]}})
    denials = ([{"tool_name": "Bash", "tool_use_id": "toolu_x", "tool_input": {"command": "git push"}}]
               if scenario == "denied" else None)
    result("success", report, denials=denials)
    if scenario == "hang-after-result":
        hang()
    return 0


if __name__ == "__main__":
    sys.exit(main())
