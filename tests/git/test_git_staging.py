"""Verbs the run engine added: staging with excludes or exact paths, reset of the index,
restore from a commit, clean of ignored files, trailers, and the fast-forward of `shoal merge`."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.git import Git, GitError
from shoal.process import CommandFailed
from shoal.testing import commit_files


def staged(wt: Git) -> dict[str, str]:
    return {e.path: e.xy for e in wt.status() if e.index not in (".", "?", "!")}


def test_add_all_with_excludes(git: Git, tmp_path: Path) -> None:
    wt = git.worktree_add(tmp_path / "wt", "task", "main")
    for rel in (".env", "a b.txt", "[x].txt", "conf/local.json", "src/new.py"):
        (wt.path / rel).parent.mkdir(parents=True, exist_ok=True)
        (wt.path / rel).write_text("x")
    (wt.path / "README.md").unlink()
    wt.add_all(exclude=[".env", "[x].txt", "conf", "not-there"])
    assert staged(wt) == {"a b.txt": "A.", "src/new.py": "A.", "README.md": "D."}


def test_add_paths_and_restore(git: Git, tmp_path: Path) -> None:
    wt = git.worktree_add(tmp_path / "wt", "task", "main")
    base = wt.resolve_commit("HEAD")
    (wt.path / "src/app.py").write_text("changed\n")
    (wt.path / "new.txt").write_text("new\n")
    (wt.path / "other.txt").write_text("other\n")
    (wt.path / "README.md").unlink()
    wt.add_paths(["src/app.py", "new.txt", "README.md"])
    assert staged(wt) == {"src/app.py": "M.", "new.txt": "A.", "README.md": "D."}
    wt.commit("work")
    wt.restore(base, ["src/app.py", "new.txt", "README.md"])
    assert (wt.path / "src/app.py").read_text() == "def main():\n    return 1\n"
    assert not (wt.path / "new.txt").exists() and (wt.path / "README.md").exists()
    assert (wt.path / "other.txt").exists()  # not named: untouched
    wt.commit("undo")
    assert wt.changed_paths(base, "HEAD") == []


def test_reset_index_keeps_files(git: Git, repo: Path, tmp_path: Path) -> None:
    wt = git.worktree_add(tmp_path / "wt", "task", "main")
    (wt.path / "f.txt").write_text("mine\n")
    wt.add_all()
    wt.commit("one")
    wt.reset_index("main")
    assert wt.resolve_commit("HEAD") == git.resolve_commit("main")
    assert (wt.path / "f.txt").read_text() == "mine\n"
    assert [e.kind for e in wt.status()] == ["untracked"]


def test_clean_ignored(git: Git, repo: Path, tmp_path: Path) -> None:
    commit_files(repo, {".gitignore": "*.log\n"}, "ignore logs")
    wt = git.worktree_add(tmp_path / "wt", "task", "main")
    (wt.path / "x.log").write_text("x")
    (wt.path / "y.txt").write_text("y")
    wt.clean()
    assert (wt.path / "x.log").exists() and not (wt.path / "y.txt").exists()
    wt.clean(ignored=True)
    assert not (wt.path / "x.log").exists()


def test_checkout_verbs_refuse_the_main_tree(git: Git) -> None:
    for verb in (lambda: git.add_paths(["README.md"]), lambda: git.reset_index("main"),
                 lambda: git.restore("main", ["README.md"]), lambda: git.add_all(exclude=["x"])):
        with pytest.raises(GitError, match="main working tree"):
            verb()


def test_trailers(git: Git, repo: Path) -> None:
    first = commit_files(repo, {"a": "1"}, "one\n\nShoal-Merge: r1/a\nOther: x")
    second = commit_files(repo, {"a": "2"}, "two\n\nShoal-Merge: r1/b\nShoal-Merge: r1/c")
    found = git.trailers("main", "Shoal-Merge")
    assert found[:2] == [(second, ("r1/b", "r1/c")), (first, ("r1/a",))]
    assert found[-1][1] == ()  # the initial commit has none


def test_fast_forward_in_the_user_tree(git: Git, repo: Path, tmp_path: Path) -> None:
    wt = git.worktree_add(tmp_path / "wt", "task", "main")
    (wt.path / "new.txt").write_text("new\n")
    wt.add_all()
    sha = wt.commit("ahead") or ""
    git.fast_forward(sha)
    assert git.resolve_commit("HEAD") == sha and (repo / "new.txt").read_text() == "new\n"
    assert not git.is_dirty()
    older = git.resolve_commit("HEAD~1")
    other = git.commit_tree(wt.write_tree(), [older], "diverged")
    with pytest.raises(CommandFailed):
        git.fast_forward(other)
    assert git.resolve_commit("HEAD") == sha
