"""Issue 13: a run's workspaces are outside the git dir (Claude Code refuses every edit under a
folder named .git) and outside the checkout; the run records where, and every command that
later needs them (resume, watch, cleanup) finds them there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import shoal
from shoal.cli import main
from shoal.engine import RunOptions, naming
from shoal.model import TaskState
from shoal.store import Store, default_db_path

from .conftest import show, user_state, write_plan

WHERE = ["pwd > src/auth/where.txt"]  # the worker notes where it ran


def _options(repo: Path, run_id: str) -> dict[str, object]:
    with Store.open(default_db_path(repo / ".git"), create=False) as store:
        return dict(store.get_run(run_id).options)


def test_default_root_is_beside_the_repository(repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, [
        {"id": "auth", "owns": ["src/auth/**"], "run": WHERE},
        {"id": "docs", "owns": ["docs/**"], "run": ["pwd > docs/where.txt"]},
    ])
    before = user_state(repo)
    result = shoal.run(plan, repo=repo)
    assert result.ok, result.to_json()
    root = tmp_path / "repo.shoal"
    ran_in = Path((show(repo, result.integration_branch, "src/auth/where.txt") or "").strip())
    assert ran_in == root / result.run_id / "auth-a1"
    assert ".git" not in ran_in.parts and not ran_in.is_relative_to(repo)
    assert _options(repo, result.run_id)["workspace_root"] == str(root)
    assert result.task("auth").workspace == str(ran_in)  # recorded when the attempt started
    assert user_state(repo) == before
    assert not (repo / ".git" / "shoal" / "runs" / result.run_id / "worktrees").exists()

    assert main(["cleanup", result.run_id, "--repo", str(repo)]) == 0
    assert not (root / result.run_id).exists() and not root.exists()  # emptied root goes too
    assert user_state(repo) == before


def test_the_flag_wins_over_the_variable_over_the_plan_and_the_run_keeps_its_root(
        repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = write_plan(tmp_path, [{"id": "auth", "owns": ["src/auth/**"], "run": WHERE}],
                      defaults={"timeout": "30s", "workspace_root": "../from-plan"})
    first = shoal.run(plan, repo=repo)
    assert _options(repo, first.run_id)["workspace_root"] == str(tmp_path / "from-plan")
    monkeypatch.setenv("SHOAL_WORKSPACE_ROOT", str(tmp_path / "from-env"))
    second = shoal.run(plan, repo=repo)
    assert _options(repo, second.run_id)["workspace_root"] == str(tmp_path / "from-env")
    third = shoal.run(plan, repo=repo, workspace_root=tmp_path / "from-flag")
    assert _options(repo, third.run_id)["workspace_root"] == str(tmp_path / "from-flag")
    ran_in = show(repo, third.integration_branch, "src/auth/where.txt") or ""
    assert ran_in.strip() == str(tmp_path / "from-flag" / third.run_id / "auth-a1")

    # a later change of the settings does not lose the first run's workspaces
    monkeypatch.setenv("SHOAL_WORKSPACE_ROOT", str(tmp_path / "elsewhere"))
    kept = tmp_path / "from-plan" / first.run_id / "auth-a1"
    (kept).mkdir(parents=True, exist_ok=True)
    assert main(["cleanup", first.run_id, "--repo", str(repo)]) == 0
    assert not (tmp_path / "from-plan").exists()


def test_a_root_inside_the_checkout_is_refused_before_anything_starts(repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, [{"id": "auth", "owns": ["src/auth/**"], "run": WHERE}],
                      defaults={"workspace_root": "build/ws"})
    before = user_state(repo)
    with pytest.raises(shoal.ShoalError, match="inside the repository's working tree"):
        shoal.run(plan, repo=repo)
    assert user_state(repo) == before
    assert not (repo / "build").exists()


def test_runs_made_before_keep_their_workspaces_in_the_run_folder(tmp_path: Path) -> None:
    old = RunOptions.from_json(tmp_path, json.loads('{"base": "HEAD"}'))  # no workspace_root
    common = tmp_path / "repo" / ".git"
    assert old.workspaces(common, "r1") == naming.legacy_workspaces_dir(common, "r1")
    new = RunOptions.from_json(tmp_path, {"workspace_root": str(tmp_path / "ws")})
    assert new.workspaces(common, "r1") == tmp_path / "ws" / "r1"
    assert RunOptions.from_json(tmp_path, new.to_json()).workspace_root == str(tmp_path / "ws")
