"""A fake headless agent CLI for tests and demos: ``python -m shoal.testing.fake_agent``.

It behaves like a real agent run with ``--print``: reads a prompt, edits files
in its working folder, prints a seed 001 JSON report and ``TASK COMPLETE``,
and exits. A scenario picks the behaviour (misbehaviour included):

    ok                 write the files the prompt lists under "Files to Modify"
                       (and any --write PATH=TEXT), report pass, exit 0
    fail-json          report status fail, exit 0
    blocked            report status blocked, exit 0
    crash              message on stderr, exit 3
    hang               ignore SIGTERM and sleep forever
    hang-after-result  like ok, then ignore SIGTERM and sleep forever
    flood              print --flood-mb MB of output, then like ok
    marker             touch .claude-task-complete, print nothing, exit 0
    bad-json           print a broken ```json block, exit 0
    outside            like ok, and also write --outside PATH (not owned)
    delete             delete --delete PATH (else the first listed file that exists)
    rate-limit         print a 429 rate-limit error, exit 1

Plain standard library only, so it runs wherever shoal's tests run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import NoReturn

SCENARIOS = (
    "ok", "fail-json", "blocked", "crash", "hang", "hang-after-result", "flood",
    "marker", "bad-json", "outside", "delete", "rate-limit",
)
SCENARIO_ENV = "SHOAL_FAKE_SCENARIO"
MARKER = ".claude-task-complete"
_GLOB_CHARS = re.compile(r"[*?\[]")


class _Usage(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shoal-fake-agent",
        description="A fake headless coding agent for testing shoal.",
    )
    parser.add_argument("--prompt-file", metavar="FILE", help="read the prompt from FILE ('-': stdin)")
    parser.add_argument("--prompt", metavar="TEXT", help="the prompt itself")
    parser.add_argument("--cwd", metavar="DIR", help="working folder (default: the current one)")
    parser.add_argument("--scenario", metavar="NAME",
                        help=f"one of {', '.join(SCENARIOS)} (default: ${SCENARIO_ENV} or ok)")
    parser.add_argument("--write", metavar="PATH=TEXT", action="append", default=[],
                        help="also write TEXT to PATH (repeatable)")
    parser.add_argument("--delete", metavar="PATH", action="append", default=[],
                        help="file to delete in the delete scenario (repeatable)")
    parser.add_argument("--outside", metavar="PATH", default="OUTSIDE_OWNED.txt",
                        help="file the outside scenario writes")
    parser.add_argument("--flood-mb", metavar="N", type=float, default=8.0,
                        help="megabytes the flood scenario prints")
    parser.add_argument("--sleep", metavar="SECONDS", type=float, default=0.0,
                        help="wait this long before working")
    return parser


def files_to_modify(prompt: str) -> list[str]:
    """The paths listed under a "Files to Modify" heading (seed 001's prompt), globs skipped."""
    paths: list[str] = []
    inside = False
    for line in prompt.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            inside = stripped.lstrip("#").strip().lower() == "files to modify"
            continue
        if inside and stripped.startswith(("- ", "* ")):
            path = stripped[2:].strip().strip("`").strip()
            if path and not _GLOB_CHARS.search(path) and not path.endswith("/"):
                paths.append(path)
    return paths


def _inside(root: Path, relative: str) -> Path:
    path = (root / relative).resolve()
    if Path(relative).is_absolute() or not path.is_relative_to(root):
        raise _Usage(f"refusing to write {relative!r}: it is outside {root}")
    return path


class _Worker:
    def __init__(self, args: argparse.Namespace, root: Path, prompt: str) -> None:
        self.args, self.root, self.prompt = args, root, prompt
        self.modified: list[str] = []
        self.created: list[str] = []
        self.task = os.environ.get("SHOAL_TASK_ID", "task")

    def write(self, relative: str, text: str | None = None) -> None:
        path = _inside(self.root, relative)
        existed = path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(f"# written by the shoal fake agent for {self.task}\n")
        else:
            path.write_text(text, encoding="utf-8")
        (self.modified if existed else self.created).append(relative)

    def do_work(self) -> None:
        for relative in files_to_modify(self.prompt):
            try:
                self.write(relative)
            except _Usage as exc:
                print(f"fake agent: {exc}", file=sys.stderr)
        for item in self.args.write:
            relative, _, text = item.partition("=")
            self.write(relative, text)

    def report(self, status: str = "pass", blocker: str | None = None) -> None:
        block = {
            "status": status,
            "files_modified": self.modified,
            "files_created": self.created,
            "test_results": {"ran": 0, "passed": 0, "failed": 0},
            "blocker": blocker,
            "notes": f"fake agent ({self.args.scenario}) on {self.task}",
            "duration_minutes": 0,
        }
        print("Here is my result.\n\n```json\n" + json.dumps(block, indent=2) + "\n```\n")
        if status == "pass":
            print("TASK COMPLETE")
        sys.stdout.flush()


def _hang() -> NoReturn:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # like a stuck child: only KILL ends it
    print("fake agent: hanging", flush=True)
    while True:
        time.sleep(3600)


def _flood(megabytes: float) -> None:
    line = ("flood " + "x" * 73 + "\n").encode()
    chunk = line * 1024
    remaining = int(megabytes * 1024 * 1024)
    out = sys.stdout.buffer
    while remaining > 0:
        out.write(chunk[:remaining])
        remaining -= len(chunk)
    out.flush()


def _run(worker: _Worker, scenario: str) -> int:
    args = worker.args
    print(f"fake agent: task {worker.task}, scenario {scenario}, in {worker.root}", flush=True)
    if scenario in ("ok", "hang-after-result", "flood", "outside"):
        if scenario == "flood":
            _flood(args.flood_mb)
        worker.do_work()
        if scenario == "outside":
            worker.write(args.outside, "written outside the owned paths\n")
        worker.report()
        if scenario == "hang-after-result":
            _hang()
        return 0
    if scenario == "fail-json":
        worker.report("fail", blocker="the fake agent was told to fail")
        return 0
    if scenario == "blocked":
        worker.report("blocked", blocker="the fake agent is blocked on a missing contract")
        return 0
    if scenario == "crash":
        print("fake agent: fatal: simulated crash", file=sys.stderr, flush=True)
        return 3
    if scenario == "hang":
        _hang()
    if scenario == "marker":
        (worker.root / MARKER).touch()
        return 0
    if scenario == "bad-json":
        print('```json\n{"status": "pass", "files_modified": [\n```', flush=True)
        return 0
    if scenario == "delete":
        targets = args.delete or [p for p in files_to_modify(worker.prompt)
                                  if (worker.root / p).is_file()][:1]
        for relative in targets:
            _inside(worker.root, relative).unlink(missing_ok=True)
            worker.modified.append(relative)
        worker.report()
        return 0
    if scenario == "rate-limit":
        print("Error: 429 Too Many Requests: rate limit exceeded, retry later", file=sys.stderr)
        return 1
    raise _Usage(f"unknown scenario {scenario!r}")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)  # unknown flags: usage and exit 2, like a real CLI
    args.scenario = args.scenario or os.environ.get(SCENARIO_ENV) or "ok"
    if args.scenario not in SCENARIOS:
        parser.error(f"unknown scenario {args.scenario!r}; choose from {', '.join(SCENARIOS)}")
    root = Path(args.cwd or os.getcwd()).resolve()
    if not root.is_dir():
        parser.error(f"--cwd {args.cwd}: no such directory")
    for item in args.write:
        if "=" not in item:
            parser.error(f"--write expects PATH=TEXT, got {item!r}")
    try:
        if args.prompt_file == "-":
            prompt = sys.stdin.read()
        elif args.prompt_file:
            prompt = Path(args.prompt_file).read_text(encoding="utf-8")
        else:
            prompt = args.prompt or ""
    except OSError as exc:
        parser.error(f"cannot read the prompt: {exc}")
    if args.sleep > 0:
        time.sleep(args.sleep)
    try:
        return _run(_Worker(args, root, prompt), args.scenario)
    except _Usage as exc:
        print(f"shoal-fake-agent: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
