"""Linked worktrees: add, list, remove, prune, and the checkout verbs that only work there."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from shoal.git import Git, GitError
from shoal.process import CommandFailed
from shoal.testing import commit_files, snapshot_user_state


def test_add_list_remove(repo: Path, git: Git, tmp_path: Path) -> None:
    before = snapshot_user_state(repo, ignore_branches="shoal/")
    base = git.resolve_commit("main")
    path = tmp_path / "work trees" / "task é"  # spaces and unicode in the path
    wt = git.worktree_add(path, "shoal/task-1", "main")
    assert isinstance(wt, Git) and wt.path == path
    assert (path / "src" / "app.py").read_text() == "def main():\n    return 1\n"
    assert wt.current_branch() == "shoal/task-1" and wt.resolve_commit("HEAD") == base

    listed = {w.path: w for w in git.worktree_list()}
    assert listed[repo].branch == "main"
    assert listed[path].branch == "shoal/task-1" and listed[path].head == base
    assert not listed[path].detached and not listed[path].bare

    git.worktree_remove(path)
    assert not path.exists()
    assert [w.path for w in git.worktree_list()] == [repo]
    assert git.branch_exists("shoal/task-1")  # the branch (the work) stays
    assert snapshot_user_state(repo, ignore_branches="shoal/") == before


def test_add_relative_path_refused(git: Git) -> None:
    with pytest.raises(ValueError, match="absolute"):
        git.worktree_add(Path("rel"), "x", "main")


def test_add_from_missing_start_point(git: Git, tmp_path: Path) -> None:
    with pytest.raises(GitError, match="start point 'nope' does not exist"):
        git.worktree_add(tmp_path / "wt", "x", "nope")
    assert not git.branch_exists("x")


def test_add_existing_branch(git: Git, tmp_path: Path) -> None:
    git.create_branch("resumed", "main")
    wt = git.worktree_add(tmp_path / "wt", "resumed", None)
    assert wt.current_branch() == "resumed"


def test_add_fails_when_branch_exists(git: Git, tmp_path: Path) -> None:
    git.create_branch("taken", "main")
    with pytest.raises(CommandFailed, match="already exists"):
        git.worktree_add(tmp_path / "wt", "taken", "main")


def test_remove_dirty_worktree_with_force(git: Git, tmp_path: Path) -> None:
    wt = git.worktree_add(tmp_path / "wt", "task", "main")
    (wt.path / "untracked.txt").write_text("scratch")
    (wt.path / "README.md").write_text("changed")
    with pytest.raises(CommandFailed):
        git.worktree_remove(wt.path, force=False)
    git.worktree_remove(wt.path)
    assert not wt.path.exists()


def test_remove_when_folder_already_deleted(git: Git, tmp_path: Path) -> None:
    wt = git.worktree_add(tmp_path / "wt", "task", "main")
    shutil.rmtree(wt.path)
    assert any(w.prunable is not None for w in git.worktree_list())
    git.worktree_remove(wt.path)  # prunes the stale registration instead of failing
    assert len(git.worktree_list()) == 1


def test_prune(git: Git, tmp_path: Path) -> None:
    wt = git.worktree_add(tmp_path / "wt", "task", "main")
    shutil.rmtree(wt.path)
    git.worktree_prune()
    assert len(git.worktree_list()) == 1


def test_parallel_worktree_adds(repo: Path, git: Git, tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def add(i: int) -> None:
        try:
            Git(repo).worktree_add(tmp_path / f"wt{i}", f"task-{i}", "main")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(git.worktree_list()) == 9


def test_reset_hard_checkout_clean_in_a_worktree(git: Git, tmp_path: Path) -> None:
    wt = git.worktree_add(tmp_path / "wt", "task", "main")
    base = wt.resolve_commit("HEAD")
    (wt.path / "README.md").write_text("dirty")
    (wt.path / "junk dir").mkdir()
    (wt.path / "junk dir" / "f").write_text("junk")
    (wt.path / ".gitignore").write_text("*.log\n")
    wt.add_all()
    wt.commit("ignore logs")
    (wt.path / "keep.log").write_text("ignored files stay")
    (wt.path / "README.md").write_text("dirty again")
    (wt.path / "junk").write_text("junk")
    wt.reset_hard()
    wt.clean()
    assert (wt.path / "README.md").read_text() == "dirty"  # as committed
    assert not (wt.path / "junk").exists() and (wt.path / "keep.log").exists()
    wt.reset_hard(base)
    assert wt.resolve_commit("HEAD") == base and not (wt.path / ".gitignore").exists()
    assert (wt.path / "README.md").read_text() == "# demo\n"
    wt.checkout(base)
    assert wt.current_branch() is None
    wt.checkout("task")
    assert wt.current_branch() == "task"


@pytest.mark.parametrize("verb", ["add_all", "commit", "write_tree", "reset_hard", "clean",
                                  "checkout"])
def test_checkout_verbs_refuse_the_users_work_tree(repo: Path, git: Git, verb: str) -> None:
    commit_files(repo, {"more.txt": "more"}, "more")
    (repo / "README.md").write_text("user's unsaved work\n")
    (repo / "scratch.txt").write_text("untracked user file\n")
    before = snapshot_user_state(repo)
    args = {"commit": ("msg",), "checkout": ("HEAD~1",)}.get(verb, ())
    with pytest.raises(GitError, match="main working tree"):
        getattr(git, verb)(*args)
    assert snapshot_user_state(repo) == before
