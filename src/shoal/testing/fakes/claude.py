"""A fake Claude Code: ``claude -p ... --output-format stream-json --verbose [--] [PROMPT]``.

Print mode only. The prompt is the argument, else stdin. Prints the system/init event,
assistant and tool events and the final ``{"type": "result", ...}`` in the real shapes (one
compact JSON object per line; ``--output-format json`` prints only the result, ``text`` only
its text). Refuses ``stream-json`` without ``--verbose`` and unknown options as the real one.

As Claude Code 2.1.197 was seen to behave: as root it refuses ``bypassPermissions`` (and
``--dangerously-skip-permissions``) unless ``IS_SANDBOX=1``; in every other permission mode it
refuses to edit a file under a protected folder (`PROTECTED_FOLDERS`, ``.config/git``), listing
the refusal in the result's ``permission_denials``; a refused API key is retried ten times
with growing delays (``SHOAL_FAKE_RETRY_MS`` sets the first delay, default 500 ms).
``SHOAL_FAKE_EUID`` pretends to run with that user id.

``--resume <id>`` continues a session saved in this working folder (`shoal.testing.fakes.sessions`,
under ``~/.claude/projects/<folder>/``), printing the same ``session_id``; an id not saved there
fails as the real one does: "No conversation found with session ID: <id>" on stderr, a
``result`` event with subtype ``error_during_execution`` and that text in ``errors``, exit 1
(an id that is not a UUID: "--resume requires a valid session ID or session title ...").
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from .scenario import (
    VERSION_ENV,
    Fake,
    Parser,
    emit,
    files_to_modify,
    flood,
    hang,
    read_stdin,
    usage,
)
from .sessions import Session, folder_key, home

VERSION = "2.0.14 (Claude Code)"
MODES = ("acceptEdits", "bypassPermissions", "default", "dontAsk", "plan", "auto")
# Folder names under which Claude Code edits nothing but with bypassPermissions, wherever they
# appear in a path (the same facts as shoal.agents.permissions, which the tests compare).
PROTECTED_FOLDERS = frozenset({
    ".git", ".vscode", ".idea", ".claude", ".husky", ".cargo", ".devcontainer", ".yarn", ".mvn"})
PROTECTED_PAIRS = ((".config", "git"),)
ROOT_REFUSAL = "--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons"
RETRY_ENV = "SHOAL_FAKE_RETRY_MS"
EUID_ENV = "SHOAL_FAKE_EUID"
MAX_RETRIES = 10


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
    p.flag("-r", "--resume", nargs="?", const="", help="Resume a conversation by session ID, or "
           "open interactive picker with optional search term")
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
    bypass = ns.permission_mode == "bypassPermissions" or ns.dangerously_skip_permissions
    if bypass and _euid() == 0 and os.environ.get("IS_SANDBOX") != "1":
        usage(ROOT_REFUSAL, 1)
    prompt = " ".join(words) or read_stdin()
    if not prompt.strip():
        usage("Error: Input must be provided either through stdin or as a prompt argument "
              "when using --print", 1)
    earlier = None
    if ns.resume is not None:
        earlier = Session.load(session_file(ns.resume))
        if earlier is None:
            return _not_found(ns)
    session = earlier.id if earlier else ns.session_id or str(uuid.uuid4())
    fake = Fake("claude", prompt, earlier=earlier)
    fake.record(args, stdin=not words, session=session, resumed=earlier is not None)
    return _run(fake, ns, session)


def session_file(session: str, folder: Path | None = None) -> Path:
    """Where Claude Code keeps a session of the working folder."""
    folder = (folder or Path.cwd()).resolve()
    return home() / ".claude" / "projects" / folder_key(folder) / f"{session}.jsonl"


def _not_found(ns: Any) -> int:
    """As Claude Code 2.1.197 refuses a --resume id it has no session of in this folder."""
    try:
        uuid.UUID(ns.resume)
        said, session = f"No conversation found with session ID: {ns.resume}", ns.resume
    except ValueError:
        said = ("Error: --resume requires a valid session ID or session title when used with "
                "--print. Usage: claude -p --resume <session-id|title>. Provided value "
                f'"{ns.resume}" is not a UUID and does not match any session title.')
        session = str(uuid.uuid4())
    sys.stderr.write(said + "\n")
    if ns.output_format != "text":
        emit({"type": "result", "subtype": "error_during_execution", "duration_ms": 0,
              "duration_api_ms": 0, "is_error": True, "num_turns": 0, "stop_reason": None,
              "session_id": session, "total_cost_usd": 0,
              "usage": {"input_tokens": 0, "cache_creation_input_tokens": 0,
                        "cache_read_input_tokens": 0, "output_tokens": 0},
              "modelUsage": {}, "permission_denials": [], "uuid": str(uuid.uuid4()),
              "errors": [said]})
    return 1


def _version() -> str:
    return os.environ.get(VERSION_ENV) or VERSION


def _euid() -> int:
    pretend = os.environ.get(EUID_ENV)
    return int(pretend) if pretend else os.geteuid()


def protected(path: Path) -> bool:
    """Whether Claude Code refuses to edit ``path`` (absolute) unless it bypasses permissions."""
    parts = path.parts
    return bool(PROTECTED_FOLDERS.intersection(parts)) or any(
        parts[i:i + 2] == pair for pair in PROTECTED_PAIRS for i in range(len(parts) - 1))


def sensitive(path: Path) -> str:
    return f"Claude requested permissions to edit {path} which is a sensitive file."


def _run(fake: Fake, ns: Any, session: str) -> int:
    stream = ns.output_format == "stream-json"

    def event(value: dict[str, Any]) -> None:
        if stream:
            emit({**value, "session_id": session})

    def result(subtype: str, text: str | None, *, is_error: bool = False, turns: int = 3,
               denials: list[dict[str, Any]] | None = None, **more: Any) -> None:
        final = {"type": "result", "subtype": subtype, "is_error": is_error, "duration_ms": 1234,
                 "duration_api_ms": 1100, "num_turns": turns, "result": text, "session_id": session,
                 "total_cost_usd": 0.0421,
                 "usage": {"input_tokens": 120, "cache_creation_input_tokens": 2000,
                           "cache_read_input_tokens": 8000, "output_tokens": 450},
                 "permission_denials": denials or [], **more}
        if text is None:  # the error subtypes carry `errors` instead
            del final["result"]
        if ns.output_format == "text":
            print(text if text is not None else "; ".join(more.get("errors", ())), flush=True)
        else:
            emit(final)

    def says(text: str, **more: Any) -> None:
        event({"type": "assistant", "message": {"role": "assistant", "content": [
            {"type": "text", "text": text}]}, "parent_tool_use_id": None, **more})

    scenario = fake.scenario
    event({"type": "system", "subtype": "init", "cwd": str(fake.root), "model": ns.model or "claude-fake",
           "permissionMode": ns.permission_mode or "default", "tools": ["Read", "Edit", "Write", "Bash"]})
    fake.session(session).save(session_file(session, fake.root))
    if scenario == "hang":
        hang()
    if scenario == "crash":
        usage("Error: ENOENT: no such file or directory, open '/nonexistent/.claude.json'\n"
              "    at Object.openSync (node:fs:573:18)", 1)
    if scenario == "api-error":  # an older version's words, without a status
        result("success", "Invalid API key · Please run /login", is_error=True, turns=1)  # sic
        return 1
    if scenario == "rate-limit":  # retried (once here), then given up with the status
        event({"type": "system", "subtype": "api_retry", "attempt": 1, "max_retries": 10,
               "retry_delay_ms": 1.0, "error_status": 429, "error": "rate_limit",
               "uuid": str(uuid.uuid4())})
        text = ('API Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":'
                '"This request would exceed the rate limit for your organization"}}')
        says(text, error="rate_limit")
        result("success", text, is_error=True, turns=1, api_error_status=429)  # sic: success
        return 1
    if scenario == "auth-error":  # retried with growing delays, then given up (minutes)
        first = float(os.environ.get(RETRY_ENV) or 500)
        for attempt in range(1, MAX_RETRIES + 1):
            delay = min(first * 2 ** (attempt - 1), 32_000.0)
            event({"type": "system", "subtype": "api_retry", "attempt": attempt,
                   "max_retries": MAX_RETRIES, "retry_delay_ms": delay, "error_status": 401,
                   "error": "authentication_failed", "uuid": str(uuid.uuid4())})
            time.sleep(delay / 1000)
        text = "Invalid API key · Fix external API key"
        says(text, error="authentication_failed")
        result("success", text, is_error=True, turns=1, api_error_status=401)
        return 1
    if scenario == "billing-error":  # not retried
        text = "Credit balance is too low"
        says(text, error="billing_error")
        result("success", text, is_error=True, turns=1, api_error_status=400)
        return 1
    if scenario == "no-report":
        text = "I looked at the task and everything seems to be in order already."
        says(text)
        result("success", text)
        return 0
    if scenario == "flood":
        flood(lambda i: f'{{"type":"assistant","message":{{"role":"assistant","content":'
                        f'[{{"type":"text","text":"thinking out loud, line {i}"}}]}},'
                        f'"session_id":"{session}"}}')
    if scenario == "garbage":
        emit("{this is not json")
        emit("Warning: something printed on stderr")
    bypass = ns.permission_mode == "bypassPermissions" or ns.dangerously_skip_permissions
    wanted = files_to_modify(fake.prompt)
    refused = [] if bypass else [p for p in wanted if protected((fake.root / p).resolve())]
    denials: list[dict[str, Any]] = []
    for i, relative in enumerate(refused):
        path = str((fake.root / relative).resolve())
        given = {"file_path": path, "content": f"written by fake claude for {fake.task}\n"}
        denials.append({"tool_name": "Write", "tool_use_id": f"toolu_w{i}", "tool_input": given})
        event({"type": "assistant", "message": {"role": "assistant", "content": [
            {"type": "tool_use", "id": f"toolu_w{i}", "name": "Write", "input": given}]}})
        event({"type": "user", "message": {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"toolu_w{i}", "is_error": True,
             "content": sensitive(Path(path))}]}})
    for i, path in enumerate(fake.work([p for p in wanted if p not in refused])):
        event({"type": "assistant", "message": {"role": "assistant", "content": [
            {"type": "tool_use", "id": f"toolu_{i}", "name": "Edit", "input": {"file_path": path}}]}})
        event({"type": "user", "message": {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"toolu_{i}", "content": "ok"}]}})
    fake.session(session).save(session_file(session, fake.root))
    if scenario == "garbage":
        emit('{"type": "assistant", "message": {"truncated')
    if scenario == "no-result":
        event({"type": "assistant", "message": {"role": "assistant",
                                                "content": [{"type": "text", "text": "Working..."}]}})
        return 0
    if scenario == "turn-limit":  # no `result`: the reason is in `errors`; exit 1
        turns = ns.max_turns or 5
        result("error_max_turns", None, is_error=True, turns=turns, denials=denials,
               errors=[f"Reached maximum number of turns ({turns})"], stop_reason=None,
               modelUsage={})
        return 1
    status = "fail" if scenario == "fail" else "pass"
    report = fake.report(status)
    if refused:  # what the model says after the refusals, then its report
        report = " ".join(sensitive((fake.root / p).resolve()) for p in refused) + "\n\n" + report
    event({"type": "assistant", "message": {"role": "assistant", "content": [{"type": "text", "text": report}]}})
    if scenario == "denied":
        denials.append({"tool_name": "Bash", "tool_use_id": "toolu_x", "tool_input": {"command": "git push"}})
    result("success", report, denials=denials)
    if scenario == "hang-after-result":
        hang()
    return 0


if __name__ == "__main__":
    sys.exit(main())
