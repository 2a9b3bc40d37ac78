"""Names and places of a run's things: pure functions."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.engine import naming
from shoal.process import run
from shoal.testing import git_env

from .conftest import task


def check_ref(name: str, tmp_path: Path) -> bool:
    return run(["git", "check-ref-format", f"refs/heads/{name}"], cwd=tmp_path, env=git_env(),
               check=False).ok


def test_branches() -> None:
    assert naming.integration_branch("r1") == "shoal/r1"
    assert naming.task_branch("r1", "auth", 2) == "shoal-task/r1/auth/2"
    assert naming.task_branch("r1", "auth", 2).startswith(naming.task_branch_prefix("r1"))


@pytest.mark.parametrize("bad", ["", "a b", "../x", "a..b", "x.lock", "-x", "a/b"])
def test_bad_run_ids_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid run id"):
        naming.integration_branch(bad)


def test_slug_keeps_valid_ids() -> None:
    assert naming.task_slug("TS-001_auth.v2") == "TS-001_auth.v2"


@pytest.mark.parametrize("task_id", ["a b", "a/b", "a..b", ".hidden", "x.lock", "é", "a:b", "a@{b",
                                     "x" * 100, "trailing."])
def test_slug_is_a_valid_ref_component(task_id: str, tmp_path: Path) -> None:
    slug = naming.task_slug(task_id)
    assert slug != task_id and len(slug) <= 70
    assert check_ref(naming.task_branch("r1", task_id, 1), tmp_path)


def test_slugs_never_collide() -> None:
    ids = ["a b", "a/b", "a-b", "a:b", "a?b", "a..b", "a-.b"]
    slugs = [naming.task_slug(i) for i in ids]
    assert len(set(slugs)) == len(ids)
    assert naming.task_slug("a-b") == "a-b"


def test_folders(tmp_path: Path) -> None:
    common = tmp_path / "repo" / ".git"
    root = common / "shoal" / "runs" / "r1"
    assert naming.run_dir(common, "r1") == root
    assert naming.attempt_dir(common, "r1", "auth", 2) == root / "attempts" / "auth" / "2"
    assert naming.prompt_path(common, "r1", "auth", 1).name == "prompt.md"
    assert naming.log_path(common, "r1", "auth", 1).name == "output.log"
    assert naming.verify_dir(common, "r1") == root / "verify"
    assert naming.legacy_workspaces_dir(common, "r1") == root / "worktrees"


def test_workspaces_are_outside_the_git_dir_and_the_checkout(tmp_path: Path) -> None:
    common = tmp_path / "repo" / ".git"
    home = naming.default_workspace_root(common)
    assert home == tmp_path / "repo.shoal"
    ws = naming.workspaces_dir(home, "r1")
    assert naming.worktree_dir(ws, "auth", 2) == tmp_path / "repo.shoal" / "r1" / "auth-a2"
    assert naming.branch_worktree_dir(ws) == ws / "_branch"
    assert naming.shared_worktree_dir(ws) == ws / "_shared"
    # a bare repository (or a separate git dir) names the folder after itself
    assert naming.default_workspace_root(tmp_path / "srv" / "proj.git") == tmp_path / "srv" / "proj.git.shoal"
    cached = naming.fallback_workspace_root(common, tmp_path / "cache")
    assert cached.parent == tmp_path / "cache" / "shoal" / "workspaces"
    assert cached.name.startswith("repo-") and cached != naming.fallback_workspace_root(
        tmp_path / "other" / "repo" / ".git", tmp_path / "cache")
    with pytest.raises(ValueError):
        naming.workspaces_dir(home, "../escape")


def test_prompt_file_name_matches_the_agents() -> None:
    from shoal.agents import PROMPT_FILE_NAME

    assert naming.PROMPT_FILE == PROMPT_FILE_NAME


def test_ports() -> None:
    assert naming.ports_for(20000, 0) == 20000
    assert naming.ports_for(20000, 3) == 20030
    with pytest.raises(ValueError):
        naming.ports_for(20000, -1)


def test_commit_message() -> None:
    t = task("auth", title="Create auth  middleware [R:YELLOW]",
             prompt="Implement the middleware.\nUse JWT.\n\nMore details here.")
    assert naming.commit_message(t, "r1") == (
        "feat(auth): Create auth middleware\n\n"
        "Implement the middleware.\nUse JWT.\n\n"
        "Shoal-Task: r1/auth\n")


def test_commit_message_without_title_or_prompt() -> None:
    t = task("weird (id)", title="", prompt="")
    assert naming.commit_message(t, "r1") == "feat(weird-id): weird (id)\n\nShoal-Task: r1/weird (id)\n"


def test_merge_and_revert_messages() -> None:
    t = task("auth", title="[R:RED] Rotate keys")
    assert naming.merge_message(t, "r1") == (
        "merge(auth): Rotate keys\n\nShoal-Task: r1/auth\nShoal-Merge: r1/auth\n")
    assert naming.revert_message("auth", "r1") == (
        "revert(auth): drop changes outside owned paths\n\nShoal-Task: r1/auth\n")


def test_long_title_is_cut() -> None:
    subject = naming.commit_message(task("a", title="word " * 60), "r").split("\n")[0]
    assert len(subject) <= 110 and subject.endswith("...")
