"""The run settings merged once: default < plan < environment < recorded run < given."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.engine.options import SETTINGS, RunOptions, SettingError, resolve
from shoal.model import Defaults, Isolation, Plan, Strategy, Task, TaskId

REPO = Path("/repo")


def _plan(**defaults: object) -> Plan:
    return Plan(tasks=(Task(id=TaskId("a")), Task(id=TaskId("b"))),
                defaults=Defaults(**defaults))  # type: ignore[arg-type]


def test_each_layer_overrides_the_ones_before_and_says_so() -> None:
    plan = _plan(idle_timeout=60.0, budget_usd=5.0, max_parallel=3, workspace_root="/plan/ws")
    env = {"SHOAL_WORKSPACE_ROOT": "/env/ws"}
    options = resolve(REPO, plan, {"budget_usd": 9, "grace": "2s"}, origin="command line",
                      environ=env)
    assert (options.idle_timeout, options.sources["idle_timeout"]) == (60.0, "plan")
    assert (options.budget_usd, options.sources["budget_usd"]) == (9.0, "command line")
    assert (options.grace, options.sources["grace"]) == (2.0, "command line")
    assert (options.workspace_root, options.sources["workspace_root"]) == (
        "/env/ws", "$SHOAL_WORKSPACE_ROOT")
    assert (options.max_parallel, options.sources["max_parallel"]) == (3, "plan")
    assert (options.strategy, options.sources["strategy"]) == (Strategy.DYNAMIC, "default")
    assert options.isolation is Isolation.WORKTREE  # resolved, not "the plan's" any more


def test_a_resumed_run_keeps_its_settings_unless_given_new_ones() -> None:
    started = resolve(REPO, _plan(), {"max_parallel": 1, "on_violation": "warn"},
                      origin="command line")
    # the plan file changed since: the run keeps what it started with
    later = resolve(REPO, _plan(max_parallel=5, idle_timeout=30.0), {"grace": 1},
                    recorded=RunOptions.from_json(REPO, started.to_json()), origin="resume")
    assert later.max_parallel == 1 and later.sources["max_parallel"] == "command line"
    assert later.on_violation.value == "warn"
    assert (later.idle_timeout, later.sources["idle_timeout"]) == (30.0, "plan")  # was unset
    assert (later.grace, later.sources["grace"]) == (1.0, "resume")


def test_fixed_settings_cannot_move_on_resume() -> None:
    started = resolve(REPO, _plan(), {"isolation": "directory"})
    with pytest.raises(SettingError, match="isolation cannot change.*'directory'"):
        resolve(REPO, _plan(), {"isolation": "worktree"}, recorded=started)
    same = resolve(REPO, _plan(), {"isolation": "directory", "base": "HEAD"}, recorded=started)
    assert same.isolation is Isolation.DIRECTORY


def test_a_legacy_run_keeps_its_workspaces_in_the_git_dir() -> None:
    legacy = RunOptions.from_json(REPO, {"base": "HEAD", "idle_timeout_s": 12, "grace_s": 0.5})
    assert (legacy.idle_timeout, legacy.grace, legacy.workspace_root) == (12.0, 0.5, None)
    again = resolve(REPO, _plan(workspace_root="/plan/ws"), {}, recorded=legacy,
                    environ={"SHOAL_WORKSPACE_ROOT": "/env/ws"})
    assert again.workspace_root is None
    with pytest.raises(SettingError, match="workspace_root cannot change"):
        resolve(REPO, _plan(), {"workspace_root": "/x"}, recorded=legacy)


def test_unknown_and_bad_settings_are_errors_with_hints() -> None:
    with pytest.raises(SettingError, match="no run setting 'grace_s'") as info:
        resolve(REPO, _plan(), {"grace_s": 1})
    assert "did you mean 'grace'" in str(info.value.hint)
    with pytest.raises(SettingError, match="max_parallel: must be a whole number"):
        resolve(REPO, _plan(), {"max_parallel": 0})
    with pytest.raises(SettingError, match="idle_timeout"):
        resolve(REPO, _plan(), {"idle_timeout": "soon"})


def test_the_json_round_trip_keeps_every_setting() -> None:
    given = {"base": "main", "max_parallel": 2, "strategy": "waves", "isolation": "none",
             "agent": "script", "fail_fast": True, "on_violation": "revert",
             "idle_timeout": 7, "budget_usd": 1.5, "track_changes": False,
             "workspace_root": "/ws", "continue_sessions": False, "grace": 0.5, "result_grace": 3, "rate_limit_backoff": 4,
             "max_output_bytes": 99, "port_base": 30000,
             "agent_settings": {"command": {"command": ["x"]}}}
    assert set(given) == set(SETTINGS)
    options = resolve(REPO, _plan(), given, origin="keyword")
    again = RunOptions.from_json(REPO, options.to_json())
    assert again == options and again.sources == options.sources
