"""shoal runs real aider (the pinned 0.86.2) against the mock model, in the default edit format
(``diff``) and in ``whole``, where a fenced report would be taken for a file's content.

A plan of five tasks: a and b owning one file each, c after both, d owning two files (one of
them new), and e whose reply reports ``blocked``. Every task but e succeeds with its edits
merged into ``shoal/<run-id>``; e ends blocked with nothing merged; the tokens and cost shoal
stored are what aider's analytics log says; the user's checkout is untouched.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

import shoal
from shoal.git import Git
from shoal.model import TaskState
from shoal.store import Store, default_db_path
from shoal.testing import make_repo, snapshot_user_state
from shoal.testing.mockmodel import MockModel

FILES = {"README.md": "# scratch\n", "a.txt": "a0\n", "b.txt": "b0\n", "c.txt": "c0\n",
         "d1.txt": "d0\n", "e.txt": "e0\n"}
OWNS = {"a": ["a.txt"], "b": ["b.txt"], "c": ["c.txt"], "d": ["d1.txt", "d2.txt"], "e": ["e.txt"]}
SCRIPT = {"e": {"status": "blocked", "blocker": "needs the schema from another team"}}
COST_PER_TOKEN = {"input": 1e-06, "output": 2e-06}


def write_plan(folder: Path, settings: dict[str, Any]) -> Path:
    tasks = [{"id": task, "title": f"Edit {', '.join(owns)}", "owns": owns,
              "prompt": f"Append a line to {' and '.join(owns)}."} for task, owns in OWNS.items()]
    tasks[2]["after"] = ["a", "b"]
    plan = {"version": 1, "name": "aider-real",
            "defaults": {"agent": "aider", "timeout": "60s", "retries": 0},
            "agents": {"aider": settings}, "tasks": tasks}
    path = folder / "plan.json"
    path.write_text(json.dumps(plan, indent=1), encoding="utf-8")
    return path


def aider_settings(mock: MockModel, real_bin: Path, home: Path, edit_format: str | None) -> dict[str, Any]:
    """The mock's settings for shoal's aider agent, the real program, a HOME of its own, and a
    price for the mock model (so aider reports a cost and never fetches litellm's price list)."""
    settings = mock.agent_settings_for("aider")
    metadata = home / "model-metadata.json"
    metadata.write_text(json.dumps({settings["model"]: {
        "max_input_tokens": 128000, "max_output_tokens": 4096, "litellm_provider": "openai",
        "mode": "chat", "input_cost_per_token": COST_PER_TOKEN["input"],
        "output_cost_per_token": COST_PER_TOKEN["output"]}}), encoding="utf-8")
    settings["executable"] = str(real_bin / "aider")
    settings["extra_args"] = [*settings.get("extra_args", ()), "--model-metadata-file", str(metadata)]
    settings["env"] = {**settings.get("env", {}), "HOME": str(home)}
    if edit_format:
        settings["edit_format"] = edit_format
    return settings


def analytics_totals(attempt_dir: Path) -> tuple[int, int, float | None]:
    """Tokens in, tokens out and the session's cost, as aider's analytics log has them."""
    sends = [e["properties"] for line in (attempt_dir / "aider-analytics.jsonl").read_text().splitlines()
             if (e := json.loads(line)).get("event") == "message_send"]
    assert sends, attempt_dir
    return (sum(s["prompt_tokens"] for s in sends), sum(s["completion_tokens"] for s in sends),
            sends[-1]["total_cost"])


def show(repo: Path, rev: str, path: str) -> str | None:
    done = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=repo, capture_output=True,
                          text=True, check=False)
    return done.stdout if done.returncode == 0 else None


@pytest.mark.parametrize("edit_format", [None, "whole"], ids=["default-diff", "whole"])
def test_a_plan_with_real_aider(edit_format: str | None, real_bin: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    home = tmp_path / "home"
    home.mkdir()
    # a git identity, as a user has: without one aider writes user.name "Your Name" into the
    # repository's .git/config, and aiders started together crash on its lock
    (home / ".gitconfig").write_text("[user]\n\tname = Real Aider Test\n\temail = aider@shoal.invalid\n")
    before = snapshot_user_state(repo, ignore_branches=("shoal/", "shoal-task/"))
    with MockModel(script=SCRIPT, log=tmp_path / "mock-requests.jsonl") as mock:
        plan = write_plan(tmp_path, aider_settings(mock, real_bin, home, edit_format))
        result = shoal.run(plan, repo=repo, max_parallel=4, grace=0.5)
        steps = {task: [r["step"] for r in mock.model_requests(task)] for task in OWNS}
    detail = json.dumps(result.to_json(), indent=1, default=str)[-4000:]

    states = {t.task_id: t.state for t in result.tasks}
    assert states == {"a": TaskState.SUCCEEDED, "b": TaskState.SUCCEEDED, "c": TaskState.SUCCEEDED,
                      "d": TaskState.SUCCEEDED, "e": TaskState.BLOCKED}, detail
    assert steps == {task: ["edits"] for task in OWNS}  # one model turn each: no edit failed
    assert "needs the schema from another team" in (result.task("e").reason or ""), detail

    branch = result.integration_branch
    for task, owns in OWNS.items():
        for path in owns:
            merged = show(repo, branch, path)
            if task == "e":
                assert merged == FILES[path], f"{path} of a blocked task was merged: {merged!r}"
            else:
                assert merged == FILES.get(path, "") + f"edited by {task}\n", (path, merged, detail)
    names = show(repo, branch, "") or ""
    assert ".aider" not in names and "shoal-report" not in names, names

    store = Store.open(default_db_path(Git(repo).common_dir()))
    try:
        records = store.attempts(result.run_id)
    finally:
        store.close()
    assert sorted(r.task_id for r in records) == sorted(OWNS)
    for record in records:
        assert record.log_path, record
        tokens_in, tokens_out, cost = analytics_totals(Path(record.log_path).parent)
        stored = record.result or {}
        assert (stored["tokens_in"], stored["tokens_out"]) == (tokens_in, tokens_out), record
        assert cost and stored["cost_usd"] == pytest.approx(cost), record
        assert stored["report"] is not None, record  # read from aider's chat history

    assert snapshot_user_state(repo, ignore_branches=("shoal/", "shoal-task/")) == before
