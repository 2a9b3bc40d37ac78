"""``shoal run`` through each real agent CLI against the mock model (aider has its own test).

A plan of three tasks (a and b side by side, c after both, each owning one file): every edit
lands on the integration branch, the tokens, cost and session id shoal stored per attempt are
the ones the CLI printed in its own output log, a worker that reports ``blocked`` ends
blocked, an HTTP 401 fails its task, and the user's checkout is left as it was.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import shoal
from shoal.git import Git
from shoal.model import TaskState
from shoal.process import run as run_command
from shoal.store import Store, default_db_path
from shoal.testing import git_env, make_repo, snapshot_user_state
from shoal.testing.mockmodel import MockModel

CLIS = ["claude", "codex", "gemini", "opencode"]
FILES = {"README.md": "# demo\n", "a.txt": "alpha\n"}
USAGE = {"input_tokens": 1000, "output_tokens": 50, "cache_read_tokens": 300, "cache_write_tokens": 20}
# Claude Code retries a 401 or 429 ten times with backoff (minutes): once is enough here
FAST_FAIL = {"claude": {"CLAUDE_CODE_MAX_RETRIES": "1"}}


def plan_for(tmp_path: Path, cli: str, mock: MockModel, real_bin: Path) -> Path:
    settings = mock.agent_settings_for(cli)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    settings["executable"] = str(real_bin / cli)
    # the CLIs' own config and state away from the user's
    settings["env"] = {**settings.get("env", {}), "HOME": str(home), "CODEX_HOME": str(home),
                       "XDG_CONFIG_HOME": str(home / ".config"),
                       "XDG_DATA_HOME": str(home / ".local/share"), **FAST_FAIL.get(cli, {})}
    if cli == "opencode":
        # OpenCode migrates its database on its first start; several first starts at once can
        # fail "database is locked" (seen about once in 24 starts, 8 at a time), as a new
        # user's would. Start it once first, as a user has before running a plan.
        run_command([str(real_bin / cli), "models"], cwd=tmp_path, timeout=60,
                    env={**os.environ, **settings["env"]})
    plan = {
        "version": 1, "name": f"{cli}-mock",
        "defaults": {"agent": cli, "timeout": "90s", "retries": 0},
        "agents": {cli: settings},
        "tasks": [
            {"id": "a", "title": "Edit a", "owns": ["a.txt"], "prompt": "Add a line to a.txt."},
            {"id": "b", "title": "Write b", "owns": ["b.txt"], "prompt": "Create b.txt."},
            {"id": "c", "title": "Write c", "owns": ["c.txt"], "after": ["a", "b"],
             "prompt": "Create c.txt."},
        ],
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan, indent=1), encoding="utf-8")
    return path


def run_plan(tmp_path: Path, cli: str, mock: MockModel, real_bin: Path,
             monkeypatch: pytest.MonkeyPatch) -> tuple[shoal.RunResult, Path, dict[str, object]]:
    repo = make_repo(tmp_path / "repo", FILES)
    # as a user who runs shoal from their checkout (OpenCode takes its folder from $PWD)
    monkeypatch.setenv("PWD", str(repo))
    before = snapshot_user_state(repo, ignore_branches=("shoal/", "shoal-task/"))
    result = shoal.run(plan_for(tmp_path, cli, mock, real_bin), repo=repo, grace=0.5,
                       workspace_root=tmp_path / "workspaces")
    assert snapshot_user_state(repo, ignore_branches=("shoal/", "shoal-task/")) == before
    return result, repo, before


def attempts(repo: Path, run_id: str) -> dict[str, Any]:
    store = Store.open(default_db_path(Git(repo).common_dir()))
    try:
        return {record.task_id: record for record in store.attempts(run_id)}
    finally:
        store.close()


def show(repo: Path, rev: str, path: str) -> str | None:
    done = run_command(["git", "show", f"{rev}:{path}"], cwd=repo, env=git_env(), check=False)
    return done.text + "\n" if done.ok else None


def _objects(text: str) -> list[dict[str, Any]]:
    """Every JSON object that starts a line of ``text`` (one per line, or pretty-printed)."""
    decoder = json.JSONDecoder()
    found = []
    position = 0
    while (start := text.find("{", position)) != -1:
        if start and text[start - 1] != "\n":
            position = start + 1
            continue
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            position = start + 1
            continue
        if isinstance(value, dict):
            found.append(value)
        position = end
    return found


def printed(cli: str, log: str) -> dict[str, Any]:
    """session id, tokens in and out and cost as the CLI itself printed them in its log."""
    events = _objects(log)
    if cli == "claude":
        (result,) = [e for e in events if e.get("type") == "result"]
        usage = result["usage"]
        return {"session_id": result["session_id"], "cost_usd": result["total_cost_usd"],
                "tokens_in": usage["input_tokens"] + usage["cache_creation_input_tokens"]
                + usage["cache_read_input_tokens"], "tokens_out": usage["output_tokens"]}
    if cli == "codex":
        turns = [e["usage"] for e in events if e.get("type") == "turn.completed"]
        (thread,) = [e["thread_id"] for e in events if e.get("type") == "thread.started"]
        return {"session_id": thread, "cost_usd": None,
                "tokens_in": sum(u["input_tokens"] for u in turns),
                "tokens_out": sum(u["output_tokens"] for u in turns)}
    if cli == "gemini":
        (document,) = [e for e in events if "session_id" in e and "stats" in e]
        models = document["stats"]["models"].values()
        return {"session_id": document["session_id"], "cost_usd": None,
                "tokens_in": sum(m["tokens"]["prompt"] for m in models),
                "tokens_out": sum(m["tokens"]["candidates"] for m in models)}
    steps = [e["part"] for e in events if e.get("type") == "step_finish"]
    (session,) = {e["sessionID"] for e in events if "sessionID" in e}
    return {"session_id": session, "cost_usd": sum(s["cost"] for s in steps),
            "tokens_in": sum(s["tokens"]["input"] + s["tokens"]["cache"]["read"]
                             + s["tokens"]["cache"]["write"] for s in steps),
            "tokens_out": sum(s["tokens"]["output"] + s["tokens"]["reasoning"] for s in steps)}


@pytest.mark.parametrize("cli", CLIS)
def test_a_plan_runs_through_the_real_cli(cli: str, real_bin: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with MockModel({"*": {"usage": USAGE}}, log=tmp_path / "mock.jsonl") as mock:
        result, repo, _ = run_plan(tmp_path, cli, mock, real_bin, monkeypatch)
        served = mock.model_requests()
    assert result.ok, json.dumps(result.to_json(), indent=1)
    assert {t.task_id: t.state for t in result.tasks} == dict.fromkeys("abc", TaskState.SUCCEEDED)
    assert show(repo, result.integration_branch, "a.txt") == "alpha\nedited by a\n"
    for task in "bc":
        assert show(repo, result.integration_branch, f"{task}.txt") == f"edited by {task}\n"
    assert {r["task"] for r in served} == set("abc")
    for task, record in attempts(repo, result.run_id).items():
        stored = record.result or {}
        log = Path(record.log_path).read_text(encoding="utf-8", errors="replace")
        expected = printed(cli, log)
        assert stored["session_id"] == expected["session_id"], (task, stored)
        assert (stored["tokens_in"], stored["tokens_out"]) == (
            expected["tokens_in"], expected["tokens_out"]), (task, stored, expected)
        if expected["cost_usd"] is None:
            assert stored["cost_usd"] is None
        else:
            assert stored["cost_usd"] == pytest.approx(expected["cost_usd"])
        assert stored["tokens_in"] > 0 and stored["report"]["status"] == "pass"


@pytest.mark.parametrize("cli", CLIS)
def test_a_blocked_report_blocks_the_task(cli: str, real_bin: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    script = {"a": {"status": "blocked", "blocker": "needs the schema from another task"}}
    with MockModel(script, log=tmp_path / "mock.jsonl") as mock:
        result, repo, _ = run_plan(tmp_path, cli, mock, real_bin, monkeypatch)
    states = {t.task_id: t.state for t in result.tasks}
    assert states == {"a": TaskState.BLOCKED, "b": TaskState.SUCCEEDED, "c": TaskState.SKIPPED}, (
        json.dumps(result.to_json(), indent=1))
    assert "needs the schema" in (result.task("a").reason or "")
    assert show(repo, result.integration_branch, "a.txt") == "alpha\n"  # nothing of a merged
    assert show(repo, result.integration_branch, "b.txt") == "edited by b\n"


@pytest.mark.parametrize("cli", CLIS)
def test_a_refused_key_stops_the_run_with_one_error(cli: str, real_bin: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The mock answers task b with the API's own 401 (Gemini's 400 API_KEY_INVALID): shoal
    reads it as an authentication error, stops the run at once and starts nothing more."""
    with MockModel({"b": {"error": "auth"}}, log=tmp_path / "mock.jsonl") as mock:
        result, repo, _ = run_plan(tmp_path, cli, mock, real_bin, monkeypatch)
        served = {r["task"] for r in mock.model_requests()}
    b = result.task("b")
    assert b.state is TaskState.FAILED and (b.result or {}).get("error") == "authentication", (
        json.dumps(result.to_json(), indent=1))
    assert b.attempts == 1  # not retried
    assert result.task("c").state in (TaskState.SKIPPED, TaskState.CANCELLED)
    assert result.task("c").attempts == 0
    assert "c" not in served
    assert result.task("a").state in (TaskState.SUCCEEDED, TaskState.CANCELLED)
    with Store.open(default_db_path(Git(repo).common_dir())) as store:
        stopped = list(store.events(result.run_id, kinds=["run_stopped"]))
    assert len(stopped) == 1 and "authenticate" in str(stopped[0].data), stopped
    assert show(repo, result.integration_branch, "b.txt") is None
