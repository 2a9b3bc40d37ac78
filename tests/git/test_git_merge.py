"""merge_tree and merge_commit: merging without any working tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.git import Git, GitError, MergeConflict
from shoal.process import run
from shoal.testing import git_env, snapshot_user_state


def task_branch(git: Git, tmp_path: Path, name: str, files: dict[str, str | None],
                start: str = "main") -> str:
    """A branch `name` from `start` with one commit changing `files`; returns the commit."""
    wt = git.worktree_add(tmp_path / "wt" / name, name, start)
    for rel, text in files.items():
        if text is None:
            (wt.path / rel).unlink()
        else:
            (wt.path / rel).parent.mkdir(parents=True, exist_ok=True)
            (wt.path / rel).write_text(text)
    wt.add_all()
    sha = wt.commit(f"work of {name}")
    assert sha is not None
    git.worktree_remove(wt.path)
    return sha


def show(repo: Path, spec: str) -> str:
    return run(["git", "show", spec], cwd=repo, env=git_env()).stdout.decode()


def parents(repo: Path, sha: str) -> list[str]:
    return run(["git", "rev-list", "--parents", "-n1", sha], cwd=repo, env=git_env()).text.split()[1:]


@pytest.fixture
def user_busy(repo: Path) -> dict[str, object]:
    """The user is mid-work on main: unstaged, staged and untracked changes."""
    (repo / "README.md").write_text("user is editing\n")
    (repo / "src" / "app.py").write_text("staged by the user\n")
    run(["git", "add", "src/app.py"], cwd=repo, env=git_env())
    (repo / "notes.txt").write_text("untracked\n")
    return snapshot_user_state(repo, ignore_branches=("integ", "a", "b", "c"))


def test_merge_tree_clean(git: Git, tmp_path: Path) -> None:
    a = task_branch(git, tmp_path, "a", {"src/a.py": "a\n"})
    b = task_branch(git, tmp_path, "b", {"src/b.py": "b\n", "src/util.py": None})
    result = git.merge_tree(a, b)
    assert result.clean and result.conflicts == [] and len(result.tree) == 40
    names = run(["git", "ls-tree", "-r", "--name-only", "-z", result.tree], cwd=git.path, env=git_env())
    assert set(names.stdout.decode().split("\0")[:-1]) == {"README.md", "docs/guide é.md", "src/app.py",
                                           "src/a.py", "src/b.py"}


def test_merge_tree_auto_merges_one_file(git: Git, tmp_path: Path, repo: Path) -> None:
    lines = [f"line {i}\n" for i in range(20)]
    a = task_branch(git, tmp_path, "a", {"src/util.py": "".join(["FIRST\n", *lines[1:]])})
    b = task_branch(git, tmp_path, "b", {"src/util.py": "".join([*lines[:-1], "LAST\n"])})
    result = git.merge_tree(a, b)
    assert result.clean
    merged = run(["git", "cat-file", "-p", f"{result.tree}:src/util.py"], cwd=repo, env=git_env())
    assert merged.text.startswith("FIRST\n") and merged.text.endswith("LAST")


def test_merge_tree_conflict(git: Git, tmp_path: Path, repo: Path) -> None:
    a = task_branch(git, tmp_path, "a", {"src/app.py": "a\n", "docs/guide é.md": "a\n"})
    b = task_branch(git, tmp_path, "b", {"src/app.py": "b\n", "docs/guide é.md": "b\n",
                                         "src/b.py": "fine\n"})
    result = git.merge_tree(a, b)
    assert not result.clean
    assert sorted(result.conflicts) == ["docs/guide é.md", "src/app.py"]
    assert any(m.kind.startswith("CONFLICT") and m.paths == ("src/app.py",) for m in result.messages)
    markers = run(["git", "cat-file", "-p", f"{result.tree}:src/app.py"], cwd=repo, env=git_env())
    assert "<<<<<<<" in markers.text  # the tree shows the conflict


def test_merge_tree_modify_delete_conflict(git: Git, tmp_path: Path) -> None:
    a = task_branch(git, tmp_path, "a", {"src/util.py": None})
    b = task_branch(git, tmp_path, "b", {"src/util.py": "changed\n"})
    result = git.merge_tree(a, b)
    assert not result.clean and result.conflicts == ["src/util.py"]


def test_merge_commit_leaves_user_checkout_untouched(
    repo: Path, git: Git, tmp_path: Path, user_busy: dict[str, object]
) -> None:
    base = git.resolve_commit("main")
    git.create_branch("integ", "main")
    a = task_branch(git, tmp_path, "a", {"src/a.py": "a\n"})
    b = task_branch(git, tmp_path, "b", {"src/b.py": "b\n"})
    first = git.merge_commit("integ", "a", "merge a")
    assert parents(repo, first) == [base, a]
    second = git.merge_commit("refs/heads/integ", b, "merge b")
    assert parents(repo, second) == [first, b]
    assert git.rev_parse("integ") == second
    assert show(repo, "integ:src/a.py") == "a\n" and show(repo, "integ:src/b.py") == "b\n"
    log = run(["git", "log", "-1", "--format=%s", "integ"], cwd=repo, env=git_env()).text
    assert log == "merge b"
    assert snapshot_user_state(repo, ignore_branches=("integ", "a", "b")) == user_busy


def test_merge_commit_conflict_changes_nothing(
    repo: Path, git: Git, tmp_path: Path, user_busy: dict[str, object]
) -> None:
    git.create_branch("integ", "main")
    task_branch(git, tmp_path, "a", {"src/util.py": "a\n"})
    task_branch(git, tmp_path, "b", {"src/util.py": "b\n"})
    merged = git.merge_commit("integ", "a", "merge a")
    with pytest.raises(MergeConflict) as info:
        git.merge_commit("integ", "b", "merge b")
    assert info.value.paths == ["src/util.py"]
    assert "src/util.py" in info.value.message and info.value.hint
    assert git.rev_parse("integ") == merged  # the branch did not move
    assert snapshot_user_state(repo, ignore_branches=("integ", "a", "b")) == user_busy


def test_merge_commit_is_idempotent(repo: Path, git: Git, tmp_path: Path) -> None:
    git.create_branch("integ", "main")
    task_branch(git, tmp_path, "a", {"src/a.py": "a\n"})
    merged = git.merge_commit("integ", "a", "merge a")
    assert git.merge_commit("integ", "a", "merge a again") == merged  # replay after a crash
    assert git.log_count("main", "integ") == 2  # the task commit and one merge


def test_merge_commit_refuses_a_checked_out_branch(repo: Path, git: Git, tmp_path: Path) -> None:
    task_branch(git, tmp_path, "a", {"src/a.py": "a\n"})
    before = snapshot_user_state(repo, ignore_branches="a")
    with pytest.raises(GitError, match="checked out"):
        git.merge_commit("main", "a", "merge into the user's branch")
    assert snapshot_user_state(repo, ignore_branches="a") == before


def test_merge_commit_missing_refs(git: Git, tmp_path: Path) -> None:
    task_branch(git, tmp_path, "a", {"src/a.py": "a\n"})
    with pytest.raises(GitError, match="branch 'refs/heads/nope' does not exist"):
        git.merge_commit("nope", "a", "m")
    git.create_branch("integ", "main")
    with pytest.raises(GitError, match="ref to merge 'zzz' does not exist"):
        git.merge_commit("integ", "zzz", "m")
