"""``python -m shoal.testing.mockmodel``: serve the mock model and say how to reach it."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import Any

from .clients import CLIS, agent_settings_for, args_for, env_for
from .server import MockModel

DESCRIPTION = """\
A local mock model server for rehearsing a shoal plan with the real agent CLIs (Claude Code,
codex, Gemini CLI, OpenCode, aider) with no API key and no spending. It speaks the Anthropic
Messages API, the OpenAI Responses and Chat Completions APIs and Gemini's generateContent,
and answers as a scripted worker: for a shoal worker prompt it reads each file listed under
"Files to Modify", appends a line "edited by <task>", and reports seed 001's JSON block
followed by TASK COMPLETE. It prints, for each CLI, the environment, flags and plan settings
that point it here, then serves until interrupted."""

EPILOG = """\
script (JSON or YAML): task ids to entries, "*" for any task, e.g.
  {"b": {"status": "blocked", "blocker": "needs a"},
   "c": {"error": "rate_limit", "error_times": 2},
   "d": {"actions": [{"append": "d.txt", "line": "hi"}, {"run": "echo hi"}],
         "usage": {"input_tokens": 500, "output_tokens": 40}, "delay": 1}}
error kinds: auth, billing, rate_limit, overloaded, server (or an HTTP status);
status: complete, blocked, failed."""


def describe(mock: MockModel) -> str:
    lines = [f"mock model serving at {mock.url}", ""]
    for cli in CLIS:
        env = env_for(cli, mock.url)
        lines.append(f"## {cli}")
        for key, value in env.items():
            lines.append(f"export {key}={shlex.quote(value)}")
        if args := args_for(cli, mock.url):
            lines.append(f"flags: {shlex.join(args)}")
        settings: dict[str, Any] = {"agents": {cli: agent_settings_for(cli, mock.url)}}
        lines.append(f"plan: {json.dumps(settings)}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shoal.testing.mockmodel", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--script", help="JSON or YAML script of what to do per task id")
    parser.add_argument("--log", help="append every request served to this JSONL file")
    options = parser.parse_args(argv)
    try:
        mock = MockModel(options.script, log=options.log, port=options.port)
    except (OSError, ValueError) as exc:
        print(f"mockmodel: {exc}", file=sys.stderr)
        return 2
    print(describe(mock), flush=True)
    try:
        mock.serve_forever()
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
