"""What the fake CLIs share: picking a scenario, doing the work, the worker's report,
misbehaving (hanging, flooding), strict flag parsing in each real CLI's style, and a record of
every call for tests to read. Standard library only: a fake starts in a few tens of ms.

Environment variables (the wrapper written by `install_fake_cli` sets them):

    SHOAL_FAKE_SCENARIO    "ok", or entries "DEFAULT,TASK=NAME,TASK@ATTEMPT=NAME"
                           (task and attempt from SHOAL_TASK_ID and SHOAL_ATTEMPT)
    SHOAL_FAKE_HIDE_FLAGS  comma-separated flags this "version" does not have
    SHOAL_FAKE_VERSION     what --version prints
    SHOAL_FAKE_FLOOD_MB    megabytes the flood scenario prints (default 4)
    SHOAL_FAKE_CALLS       a file each call appends one JSON line to: cli, argv, cwd, prompt
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from .sessions import Session

SCENARIOS = {
    "ok": "do the work, print the final result with a passing report",
    "fail": "do the work, print a final result whose report says fail",
    "api-error": "the CLI's own error, as for invalid credentials",
    "auth-exit": "gemini: the documented exit 41 (FatalAuthenticationError)",
    "rate-limit": "the CLI's rate-limit error",
    "turn-limit": "stop at the turn limit",
    "denied": "do the work, with a tool call refused by the permission mode",
    "no-result": "print some events, exit 0 without the final result",
    "garbage": "invalid JSON lines among the events, then a normal result",
    "hang": "print nothing and never exit (ignores TERM)",
    "hang-after-result": "like ok, then never exit (ignores TERM)",
    "flood": "print SHOAL_FAKE_FLOOD_MB megabytes of events, then like ok",
    "crash": "an error on stderr, exit 1, no result",
    "auth-error": "the API refuses the credentials (HTTP 401): retry events, retrying for minutes "
                  "(claude)",
    "billing-error": "the API refuses the account (credit balance too low) (claude)",
    "no-report": "a final message without any report, nothing edited (claude)",
}
SCENARIO_ENV = "SHOAL_FAKE_SCENARIO"
HIDE_ENV = "SHOAL_FAKE_HIDE_FLAGS"
VERSION_ENV = "SHOAL_FAKE_VERSION"
FLOOD_ENV = "SHOAL_FAKE_FLOOD_MB"
CALLS_ENV = "SHOAL_FAKE_CALLS"
_GLOB = re.compile(r"[*?\[]")


def choose(spec: str | None, task: str, attempt: str) -> str:
    """The scenario for this task and attempt from a SHOAL_FAKE_SCENARIO value."""
    chosen = "ok"
    by_task: dict[str, str] = {}
    for entry in (spec or "").split(","):
        key, sep, value = entry.strip().partition("=")
        if not sep:
            chosen = key or chosen
        else:
            by_task[key.strip()] = value.strip()
    return by_task.get(f"{task}@{attempt}") or by_task.get(task) or chosen


def files_to_modify(prompt: str) -> list[str]:
    """The paths listed under the prompt's "Files to Modify" heading (globs skipped)."""
    paths, inside = [], False
    for line in prompt.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            inside = stripped.lstrip("#").strip().lower() == "files to modify"
        elif inside and stripped.startswith(("- ", "* ")):
            path = stripped[2:].strip().strip("`")
            if path and not _GLOB.search(path) and not path.endswith("/") and " " not in path:
                paths.append(path)
    return paths


class Fake:
    """One call of a fake CLI: where it works, its prompt, its scenario, what it changed.

    Continuing an ``earlier`` session, the prompt is every message of it and this one, and
    the files it changed are not changed again."""

    def __init__(self, cli: str, prompt: str, root: Path | None = None,
                 earlier: Session | None = None) -> None:
        self.cli = cli
        self.message = prompt
        self.earlier = earlier
        self.prompt = "\n\n".join([*earlier.prompts, prompt]) if earlier else prompt
        self.done: list[str] = list(earlier.changed) if earlier else []
        self.root = (root or Path.cwd()).resolve()
        self.task = os.environ.get("SHOAL_TASK_ID", "task")
        self.scenario = choose(os.environ.get(SCENARIO_ENV), self.task,
                               os.environ.get("SHOAL_ATTEMPT", "1"))
        self.changed: list[str] = []
        if self.scenario not in SCENARIOS:
            usage(f"fake {cli}: unknown scenario {self.scenario!r}; one of {', '.join(SCENARIOS)}")

    def record(self, argv: Sequence[str], **more: Any) -> None:
        path = os.environ.get(CALLS_ENV)
        if path:
            entry = {"cli": self.cli, "argv": list(argv), "cwd": str(self.root),
                     "prompt": self.prompt, "scenario": self.scenario, **more}
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")

    def work(self, paths: Iterable[str] | None = None) -> list[str]:
        """Append a line to each file (the prompt's "Files to Modify" unless given)."""
        for relative in dict.fromkeys(files_to_modify(self.prompt) if paths is None else paths):
            path = (self.root / relative).resolve()
            if not path.is_relative_to(self.root) or relative in self.done:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(f"written by fake {self.cli} for {self.task}\n")
            self.changed.append(relative)
        return self.changed

    def report(self, status: str = "pass") -> str:
        """The final message: prose, the seed 001 JSON block and, on pass, TASK COMPLETE."""
        block = {"status": status, "files_modified": [*self.done, *self.changed], "files_created": [],
                 "test_results": {"ran": 1, "passed": 1 if status == "pass" else 0,
                                  "failed": 0 if status == "pass" else 1},
                 "blocker": None if status == "pass" else "the fake was told to fail",
                 "notes": f"fake {self.cli} ({self.scenario}) on {self.task}"}
        text = f"Done with task {self.task}.\n\n```json\n{json.dumps(block, indent=2)}\n```\n"
        return text + ("\nTASK COMPLETE" if status == "pass" else "")

    def session(self, session_id: str) -> Session:
        """The session this call is in, as it stands now (to save)."""
        earlier = self.earlier or Session(session_id, str(self.root))
        return Session(session_id, earlier.cwd, [*earlier.prompts, self.message],
                       [*self.done, *self.changed], earlier.turns + 1)


def emit(value: dict[str, Any] | str) -> None:
    """One line on stdout, flushed: a compact JSON object as Node's and serde's, or raw text."""
    sys.stdout.write((value if isinstance(value, str) else json.dumps(value, separators=(",", ":")))
                     + "\n")
    sys.stdout.flush()


def hang() -> NoReturn:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # like a stuck child: only KILL ends it
    while True:
        time.sleep(3600)


def flood(line: Callable[[int], str]) -> None:
    """Print ``line(i)`` until SHOAL_FAKE_FLOOD_MB megabytes are out."""
    remaining = int(float(os.environ.get(FLOOD_ENV) or 4) * 1024 * 1024)
    out, i = [], 0
    while remaining > 0:
        text = line(i) + "\n"
        out.append(text)
        remaining -= len(text)
        i += 1
        if len(out) >= 1000:
            sys.stdout.write("".join(out))
            out.clear()
    sys.stdout.write("".join(out))
    sys.stdout.flush()


def usage(message: str, code: int = 2) -> NoReturn:
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()
    raise SystemExit(code)


def read_stdin() -> str:
    if sys.stdin is None or sys.stdin.isatty():
        return ""
    try:
        return sys.stdin.read()
    except OSError:
        return ""


class Parser(argparse.ArgumentParser):
    """argparse that fails the way a given real CLI does (message and exit code), leaves out
    the flags in SHOAL_FAKE_HIDE_FLAGS (an older version) and returns positional words apart.

    ``style`` is one of "commander" (Node, Claude Code), "clap" (Rust, Codex), "yargs" (Node,
    Gemini CLI and OpenCode) and "argparse" (Python, Aider).
    """

    def __init__(self, prog: str, style: str, *, usage_line: str = "") -> None:
        super().__init__(prog=prog, add_help=False, allow_abbrev=False)
        self.style = style
        self.usage_line = usage_line or f"{prog} [options]"
        self.hidden = {f.strip() for f in os.environ.get(HIDE_ENV, "").split(",") if f.strip()}

    def flag(self, *names: str, **kwargs: Any) -> None:
        if not self.hidden.intersection(names):
            self.add_argument(*names, **kwargs)

    def parse(self, argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
        """Options before a ``--``; words (positional arguments) before and after it."""
        argv = list(argv)
        head, tail = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
        namespace, rest = self.parse_known_args(head)
        for word in rest:
            if word.startswith("-") and word != "-":
                self.unknown(word)
        return namespace, [*rest, *tail]

    def parse_cli(self, argv: Sequence[str], version: str | None = None
                  ) -> tuple[argparse.Namespace, list[str]]:
        """`parse`, answering ``--help`` (and ``--version``, given the version) the way the
        real CLI does: printed on stdout, exit 0."""
        namespace, words = self.parse(argv)
        if getattr(namespace, "help", False):
            print(self.format_help())
            raise SystemExit(0)
        if version is not None and getattr(namespace, "version", False):
            print(version)
            raise SystemExit(0)
        return namespace, words

    def unknown(self, flag: str) -> NoReturn:
        name = flag.split("=", 1)[0]
        usage({
            "commander": f"error: unknown option '{name}'",
            "clap": f"error: unexpected argument '{name}' found\n\nUsage: {self.usage_line}\n\n"
                    "For more information, try '--help'.",
            "yargs": f"{self.format_help()}\nUnknown argument: {name.lstrip('-')}",
            "argparse": f"usage: {self.usage_line}\n{self.prog}: error: unrecognized arguments: {flag}",
        }[self.style], 2 if self.style in ("clap", "argparse") else 1)

    def error(self, message: str) -> NoReturn:  # argparse's own errors: bad values, missing ones
        usage({
            "commander": f"error: {message}",
            "clap": f"error: {message}\n\nUsage: {self.usage_line}",
            "yargs": f"{self.format_help()}\n{message}",
            "argparse": f"usage: {self.usage_line}\n{self.prog}: error: {message}",
        }[self.style], 2 if self.style in ("clap", "argparse") else 1)
