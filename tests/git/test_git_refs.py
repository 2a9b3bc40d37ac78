"""Locating the repository, the git version, refs and branches."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.errors import ExitCode, ShoalError
from shoal.git import Git, GitError, GitTooOld, NotARepository, RefChanged, RefNotFound
from shoal.process import run
from shoal.testing import commit_files, git_env, snapshot_user_state


def test_locations_of_a_main_work_tree(repo: Path, git: Git) -> None:
    assert git.toplevel() == repo
    assert git.git_dir() == repo / ".git" and git.common_dir() == repo / ".git"
    assert not git.is_linked_worktree()


def test_locations_of_a_linked_worktree(repo: Path, git: Git, tmp_path: Path) -> None:
    wt = git.worktree_add(tmp_path / "wt", "task", "main")
    assert wt.toplevel() == tmp_path / "wt"
    assert wt.common_dir() == repo / ".git"
    assert wt.git_dir() == repo / ".git" / "worktrees" / "wt"
    assert wt.is_linked_worktree()


def test_is_repo(repo: Path, tmp_path: Path) -> None:
    assert Git.is_repo(repo) and Git.is_repo(repo / "src")
    assert not Git.is_repo(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    assert not Git.is_repo(tmp_path / "plain")


def test_not_a_repository(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(NotARepository) as info:
        Git(tmp_path / "plain").toplevel()
    assert info.value.exit_code == ExitCode.USAGE and info.value.hint


def test_version(git: Git) -> None:
    version = git.version()
    assert version >= (2, 38) and all(isinstance(p, int) for p in version)
    git.require_version((2, 38))
    with pytest.raises(GitTooOld) as info:
        git.require_version((99, 1))
    assert "git 99.1 or later" in info.value.message and info.value.hint


def test_rev_parse_and_resolve_commit(repo: Path, git: Git) -> None:
    head = run(["git", "rev-parse", "HEAD"], cwd=repo, env=git_env()).text
    assert git.rev_parse("main") == head == git.rev_parse("HEAD")
    assert git.rev_parse("no-such-branch") is None
    assert git.rev_parse("--help") is None  # never read as an option
    assert git.resolve_commit("main") == head
    with pytest.raises(RefNotFound) as info:
        git.resolve_commit("feature/nope")
    assert isinstance(info.value, ShoalError)
    assert info.value.message.startswith("base ref 'feature/nope' does not exist")
    assert info.value.hint


def test_current_branch(repo: Path, git: Git, tmp_path: Path) -> None:
    assert git.current_branch() == "main"
    wt = git.worktree_add(tmp_path / "wt", "task", "main")
    assert wt.current_branch() == "task"
    wt.checkout(wt.resolve_commit("HEAD"))
    assert wt.current_branch() is None  # detached


def test_create_list_delete_branches(repo: Path, git: Git) -> None:
    head = git.resolve_commit("HEAD")
    assert git.create_branch("shoal/run1/a", "main") == head
    git.create_branch("shoal/run1/b", "main")
    git.create_branch("shoal-other", "main")
    assert git.branch_exists("shoal/run1/a") and not git.branch_exists("shoal/run1/zz")
    assert git.list_branches("shoal/run1/") == {"shoal/run1/a": head, "shoal/run1/b": head}
    assert list(git.list_branches()) == ["main", "shoal-other", "shoal/run1/a", "shoal/run1/b"]
    assert git.delete_branch("shoal/run1/a") is True
    assert git.delete_branch("shoal/run1/a") is False  # already gone: not an error
    assert list(git.list_branches("shoal/")) == ["shoal/run1/b"]


def test_create_branch_refuses_existing_and_missing_start(git: Git) -> None:
    git.create_branch("task", "main")
    with pytest.raises(GitError, match="already exists"):
        git.create_branch("task", "main")
    with pytest.raises(RefNotFound, match="start point 'nope'"):
        git.create_branch("other", "nope")


def test_delete_unmerged_branch_needs_force(repo: Path, git: Git, tmp_path: Path) -> None:
    wt = git.worktree_add(tmp_path / "wt", "task", "main")
    (wt.path / "new.txt").write_text("x")
    wt.add_all()
    wt.commit("work")
    git.worktree_remove(tmp_path / "wt")
    with pytest.raises(ShoalError):
        git.delete_branch("task")
    assert git.delete_branch("task", force=True)


def test_update_ref_compare_and_swap(repo: Path, git: Git) -> None:
    first = git.resolve_commit("HEAD")
    second = commit_files(repo, {"x.txt": "x"}, "second")
    git.update_ref("refs/heads/integ", first, "")  # create: must not exist yet
    with pytest.raises(RefChanged):
        git.update_ref("refs/heads/integ", second, "")  # exists now
    git.update_ref("refs/heads/integ", second, first)
    assert git.rev_parse("integ") == second
    with pytest.raises(RefChanged) as info:
        git.update_ref("refs/heads/integ", first, first)  # stale expectation
    assert second in info.value.message
    assert git.rev_parse("integ") == second  # unchanged
    git.update_ref("refs/heads/integ", first)  # unconditional
    assert git.rev_parse("integ") == first


def test_branch_operations_leave_user_state(repo: Path, git: Git) -> None:
    (repo / "README.md").write_text("user edit, not committed\n")
    before = snapshot_user_state(repo, ignore_branches="shoal/")
    git.create_branch("shoal/a", "main")
    git.update_ref("refs/heads/shoal/a", git.resolve_commit("main"), git.resolve_commit("main"))
    git.list_branches()
    git.delete_branch("shoal/a")
    assert snapshot_user_state(repo) == before


def test_log_count_and_is_ancestor(repo: Path, git: Git) -> None:
    base = git.resolve_commit("HEAD")
    commit_files(repo, {"a": "1"}, "one")
    head = commit_files(repo, {"b": "2"}, "two")
    assert git.log_count(base, head) == 2 and git.log_count(head, base) == 0
    assert git.is_ancestor(base, head) and not git.is_ancestor(head, base)
    with pytest.raises(ShoalError):
        git.is_ancestor("nope", head)
