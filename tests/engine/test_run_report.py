"""End to end: a worker's seed 001 JSON report is compared with what git says it changed."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import shoal

from .conftest import run_events, write_plan


def _report_command(**report: object) -> str:
    block = "```json\n" + json.dumps({"status": "pass", **report}) + "\n```"
    return f"printf '%s\\n' {shlex.quote(block)}"


def test_report_that_disagrees_with_git_is_logged(repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, [
        {"id": "claims", "owns": ["a.txt", "b.txt"], "run": [
            "echo a > a.txt", "echo b > b.txt",
            _report_command(files_modified=["a.txt"], files_created=["./ghost.txt"])]},
        {"id": "honest", "owns": ["c.txt"], "run": [
            "echo c > c.txt", _report_command(files_created=["c.txt"])]},
        {"id": "silent", "owns": ["d.txt"], "run": ["echo d > d.txt"]},
    ])

    result = shoal.run(plan, repo=repo)

    assert result.ok  # evidence for the reviewer, not a failure
    events = run_events(repo, result.run.id, "report_mismatch")
    assert [(e.task_id, e.data) for e in events] == [
        ("claims", {"claimed_not_changed": ["ghost.txt"], "changed_not_claimed": ["b.txt"]})]
