"""Every run setting walked through `shoal run`, `shoal resume` and `shoal run --retry-failed`
(issue 14, item 2): each is taken, recorded with where it came from, and used; a setting fixed
at the start cannot change on resume."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shoal.engine.options import SETTINGS, RunOptions
from shoal.model import TaskState

from .conftest import merge_keys, open_store, start_cli, wait_for_run, write_plan

CLI_SETTINGS = {name for name, s in SETTINGS.items() if s.cli}


def _stage(n: int, workspace_root: Path) -> dict[str, Any]:
    """Flag values for stage `n` (1 run, 2 resume, 3 retry): each non-fixed one differs from
    the stage before; the fixed ones (base, isolation, workspace root) stay."""
    return {
        "base": "HEAD", "isolation": "worktree", "workspace_root": str(workspace_root),
        "max_parallel": 4 - n, "strategy": ("waves", "dynamic", "waves")[n - 1],
        "agent": "script", "fail_fast": n == 2, "continue_sessions": n != 2,
        "on_violation": ("fail", "revert", "warn")[n - 1],
        "idle_timeout": f"{4 + n}m", "budget_usd": 10.0 * n, "track_changes": n != 2,
        "grace": f"{n}s", "result_grace": f"{10 + n}s", "rate_limit_backoff": f"{n}s",
        "max_output_bytes": 1_000_000 * n, "port_base": 20000 + 1000 * n,
    }


def _flags(values: dict[str, Any]) -> list[str]:
    args = []
    for name, value in values.items():
        flag = "--" + name.replace("_", "-")
        if SETTINGS[name].kind == "flag":
            args.append(flag if value else "--no-" + name.replace("_", "-"))
        else:
            args += [flag, str(value)]
    return args


def _expected(name: str, value: Any) -> Any:
    from shoal.model import parse_duration

    kind = SETTINGS[name].kind
    if kind == "duration":
        return parse_duration(value)
    return value


def _recorded(repo: Path, run_id: str) -> RunOptions:
    store = open_store(repo)
    try:
        return RunOptions.from_json(repo, store.get_run(run_id).options)
    finally:
        store.close()


def _assert_recorded(repo: Path, run_id: str, values: dict[str, Any]) -> RunOptions:
    options = _recorded(repo, run_id)
    for name, value in values.items():
        got = getattr(options, name)
        got = got.value if hasattr(got, "value") else got
        assert got == _expected(name, value), name
        assert options.sources[name] == "command line", name
    return options


def _cli(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shoal", *map(str, args)], capture_output=True,
                          text=True, timeout=120, check=False)


def test_every_setting_through_run_resume_and_retry_failed(tmp_path: Path, repo: Path) -> None:
    assert set(_stage(1, tmp_path)) == CLI_SETTINGS, "a new run setting needs a value here"
    go = tmp_path / "go"
    wait_for_go = (f'{sys.executable} -c "import os, time; d = time.monotonic() + 60\n'
                   f"while not os.path.exists('{go}') and time.monotonic() < d: time.sleep(0.02)\"")
    plan = write_plan(tmp_path, [
        {"id": "ok", "owns": ["ok.txt"], "run": ["echo ok > ok.txt"]},
        # changes a path it does not own: fails with --on-violation fail, merges with warn
        {"id": "wild", "owns": ["wild.txt"], "run": ["echo w > wild.txt", "echo x > README.md"]},
        {"id": "waiter", "owns": ["w.txt"], "run": [wait_for_go, "echo w > w.txt"]},
    ])
    ws = tmp_path / "ws"

    # 1. run, interrupted (Ctrl-C) while `waiter` waits and after `wild` failed
    first = _stage(1, ws)
    proc = start_cli(tmp_path, "run", plan, "--repo", repo, "--progress", "plain", *_flags(first))

    def wild_failed_waiter_running(store: Any, run_id: str) -> bool:
        tasks = {t.task_id: t.state for t in store.tasks(run_id)}
        return tasks.get("wild") == "failed" and tasks.get("waiter") == "running"

    run_id = wait_for_run(repo, wild_failed_waiter_running, proc)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 130, (tmp_path / "orchestrator.log").read_text()
    _assert_recorded(repo, run_id, first)

    # 2. resume: a fixed setting may not change; the others do
    refused = _cli("resume", run_id, "--repo", repo, "--isolation", "directory")
    assert refused.returncode != 0
    assert "isolation cannot change once the run has started" in refused.stderr
    assert "started with 'worktree'" in refused.stderr
    go.touch()
    second = _stage(2, ws)
    resumed = _cli("resume", run_id, "--repo", repo, "--progress", "off", "--format", "json",
                   *_flags(second), "--agent-command", '["echo", "two"]')
    assert resumed.returncode == 1, resumed.stderr  # wild still failed
    options = _assert_recorded(repo, run_id, second)
    assert options.agent_settings["command"] == {"command": ["echo", "two"]}
    status = json.loads(resumed.stdout)
    assert status["run"]["options"]["sources"]["max_parallel"] == "command line"
    states = {t["id"]: t["state"] for t in status["tasks"]}
    assert states == {"ok": "succeeded", "wild": "failed", "waiter": "succeeded"}

    # 3. --retry-failed: the case, --on-violation warn now merges the wild task
    third = _stage(3, ws)
    retried = _cli("run", "--retry-failed", run_id, "--repo", repo, "--progress", "off",
                   "--format", "json", *_flags(third), "--agent-command", '["echo", "three"]')
    assert retried.returncode == 0, retried.stdout + retried.stderr
    options = _assert_recorded(repo, run_id, third)
    assert options.agent_settings["command"] == {"command": ["echo", "three"]}
    assert sorted(merge_keys(repo, f"shoal/{run_id}")) == sorted(
        f"{run_id}/{t}" for t in ("ok", "waiter", "wild"))
    store = open_store(repo)
    try:
        wild = next(t for t in store.tasks(run_id) if t.task_id == "wild")
        assert TaskState(wild.state) is TaskState.SUCCEEDED
        notes = [e.data["message"] for e in store.events(run_id, kinds=["note"])
                 if "settings changed" in e.data.get("message", "")]
    finally:
        store.close()
    assert len(notes) == 2 and "on_violation 'revert' -> 'warn'" in notes[1]


@pytest.mark.parametrize("setting, value", [("base", "HEAD~0"), ("workspace_root", "elsewhere")])
def test_retry_failed_refuses_to_move_a_fixed_setting(tmp_path: Path, repo: Path, setting: str,
                                                      value: str) -> None:
    plan = write_plan(tmp_path, [{"id": "bad", "owns": ["b.txt"], "run": ["exit 3"]}],
                      defaults={"timeout": "30s", "retries": 0})
    first = _cli("run", plan, "--repo", repo, "--progress", "off")
    assert first.returncode == 1, first.stderr
    again = _cli("run", "--retry-failed", "--repo", repo, "--progress", "off",
                 "--" + setting.replace("_", "-"), value)
    assert again.returncode != 0
    assert f"run setting {setting} cannot change once the run has started" in again.stderr
