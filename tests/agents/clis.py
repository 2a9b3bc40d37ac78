"""Helpers for the tests of the real-CLI adapters: a fake CLI on PATH under the real name,
the calls it recorded, and end-to-end runs of a three-task plan on a real repository."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import shoal
from shoal.git import Git
from shoal.model import TaskState
from shoal.process import run as run_command
from shoal.store import Store, default_db_path
from shoal.testing import git_env, make_repo
from shoal.testing.fakes import CALLS_ENV, install_fake_cli

FILES = {"README.md": "# demo\n", "src/app.py": "def main():\n    return 1\n"}


@pytest.fixture
def fake_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """``fake_cli("claude", scenario="ok", **env)``: the fake on PATH; returns its calls file."""
    bin_dir = tmp_path / "bin"
    calls = tmp_path / "calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    def install(cli: str, scenario: str | None = None, **env: str) -> Path:
        install_fake_cli(bin_dir, cli, scenario=scenario, env={CALLS_ENV: str(calls), **env})
        return calls

    return install


def calls(path: Path) -> list[dict[str, Any]]:
    """What the fake recorded, one entry per call."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def three_tasks(tmp_path: Path, agent: str, settings: dict[str, Any] | None = None,
                **run_options: Any) -> tuple[shoal.RunResult, Path]:
    """Run a plan of three tasks (a and b side by side, c after both, each owning one file)
    with ``agent`` on a fresh repository; returns the result and the repository."""
    repo = make_repo(tmp_path / "repo", FILES)
    plan: dict[str, Any] = {
        "version": 1, "name": f"{agent}-plan",
        "defaults": {"agent": agent, "timeout": "30s", "retries": 0},
        "tasks": [
            {"id": "a", "title": "Write a", "owns": ["a.txt"], "prompt": "Create a.txt."},
            {"id": "b", "title": "Write b", "owns": ["b.txt"], "prompt": "Create b.txt."},
            {"id": "c", "title": "Write c", "owns": ["c.txt"], "after": ["a", "b"],
             "prompt": "Create c.txt."},
        ],
    }
    if settings is not None:
        plan["agents"] = {agent: settings}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan, indent=1), encoding="utf-8")
    return shoal.run(path, repo=repo, grace=0.5, **run_options), repo


def attempts(repo: Path, run_id: str, task_id: str | None = None) -> list:  # type: ignore[type-arg]
    store = Store.open(default_db_path(Git(repo).common_dir()))
    try:
        return store.attempts(run_id, task_id)
    finally:
        store.close()


def show(repo: Path, rev: str, path: str) -> str | None:
    done = run_command(["git", "show", f"{rev}:{path}"], cwd=repo, env=git_env(), check=False)
    return done.text + "\n" if done.ok else None


def git_out(repo: Path, *args: str) -> str:
    return run_command(["git", *args], cwd=repo, env=git_env()).text


def assert_all_landed(result: shoal.RunResult, repo: Path, cli: str) -> None:
    """Every task succeeded with one attempt and its file is on the integration branch."""
    assert result.ok, result.to_json()
    assert {t.task_id: t.attempts for t in result.tasks} == {"a": 1, "b": 1, "c": 1}
    for task in "abc":
        assert show(repo, result.integration_branch, f"{task}.txt") == (
            f"written by fake {cli} for {task}\n")


def assert_failed_with(result: shoal.RunResult, repo: Path, task: str, *words: str) -> dict[str, Any]:
    """``task`` failed with a reason holding ``words``, its log is there, c was skipped;
    returns the attempt's stored result."""
    failed = result.task(task)
    assert failed.state is TaskState.FAILED, result.to_json()
    for word in words:
        assert word in (failed.reason or ""), failed.reason
    (record,) = attempts(repo, result.run_id, task)
    assert record.log_path and Path(record.log_path).is_file()
    assert result.task("c").state is TaskState.SKIPPED
    assert show(repo, result.integration_branch, f"{task}.txt") is None
    return record.result or {}
