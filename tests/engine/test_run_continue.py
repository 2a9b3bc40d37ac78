"""Resume continues a cut-off worker's agent session in its workspace (issue 14, item 1): the
orchestrator is killed while Claude Code (shoal's fake of it, which keeps its sessions per
folder as the real one does) works; `shoal resume` runs `claude --resume <id>` in the same
worktree, told why, and the task merges once. `continue_sessions: false` starts it cold."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import shoal
from shoal.agents import get_agent
from shoal.store import Store
from shoal.testing.fakes import CALLS_ENV, install_fake_cli

from .conftest import attempts, merge_keys, run_events, show, start_cli, wait_for_run, write_plan

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


@pytest.fixture
def fake_claude(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fake claude on PATH: task `a`'s first attempt hangs once started, the rest work.
    Returns the file of its calls."""
    calls = tmp_path / "calls.jsonl"
    install_fake_cli(tmp_path / "bin", "claude", scenario="ok,a@1=hang", env={CALLS_ENV: str(calls)})
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # where the fake keeps its sessions
    return calls


def _cut_off_run(tmp_path: Path, repo: Path, **defaults: Any) -> tuple[str, str]:
    """Start a run of tasks a and b, kill -9 its orchestrator once a's worker has begun its
    session; the run id and that session's id."""
    plan = write_plan(tmp_path, [
        {"id": "a", "owns": ["a.txt"], "prompt": "## Files to Modify\n- a.txt\n"},
        {"id": "b", "owns": ["b.txt"], "prompt": "## Files to Modify\n- b.txt\n"},
    ], defaults={"agent": "claude", "timeout": "60s", "retries": 0, **defaults})
    proc = start_cli(tmp_path, "run", plan, "--repo", repo, "--progress", "plain", "--grace", "0.3")
    claude = get_agent("claude")
    found: dict[str, str] = {}

    def a_has_a_session(store: Store, run_id: str) -> bool:
        [first] = store.attempts(run_id, "a") or [None]
        if first is None or not first.log_path:
            return False
        found["session"] = claude.session_in_log(Path(first.log_path)) or ""
        return bool(found["session"])

    run_id = wait_for_run(repo, a_has_a_session, proc)
    proc.kill()
    proc.wait(30)
    return run_id, found["session"]


def _calls(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_cut_off_session_goes_on_in_its_workspace(tmp_path: Path, repo: Path,
                                                    fake_claude: Path) -> None:
    run_id, session = _cut_off_run(tmp_path, repo)

    result = shoal.resume(run_id, repo=repo)

    assert result.ok, result.to_json()
    first, second = attempts(repo, run_id, "a")
    assert (first.state.value, second.number) == ("interrupted", 2)
    assert second.workspace == first.workspace  # the worktree it had worked in
    calls = [c for c in _calls(fake_claude) if c["cwd"] == first.workspace]
    assert len(calls) == 2
    argv = calls[1]["argv"]
    assert argv[argv.index("--resume") + 1] == session and calls[1]["resumed"] is True
    assert "was cut off" in calls[1]["prompt"]  # the fake records the whole conversation
    assert "--resume" not in calls[0]["argv"]
    notes = [e.data["message"] for e in run_events(repo, run_id, "note")]
    assert any(f"continuing the session {session} of attempt 1" in n for n in notes)
    assert show(repo, f"shoal/{run_id}", "a.txt") is not None
    assert sorted(merge_keys(repo, f"shoal/{run_id}")) == [f"{run_id}/a", f"{run_id}/b"]


def test_continue_sessions_false_starts_cold(tmp_path: Path, repo: Path, fake_claude: Path) -> None:
    run_id, _ = _cut_off_run(tmp_path, repo, continue_sessions=False)

    result = shoal.resume(run_id, repo=repo)

    assert result.ok, result.to_json()
    first, second = attempts(repo, run_id, "a")
    assert second.workspace != first.workspace
    last = [c for c in _calls(fake_claude) if c["cwd"] == second.workspace]
    assert len(last) == 1 and "--resume" not in last[0]["argv"] and "a.txt" in last[0]["prompt"]
    assert not any("continuing the session" in e.data["message"]
                   for e in run_events(repo, run_id, "note"))
