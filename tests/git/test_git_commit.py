"""Commits in linked worktrees, commit-tree, and the identity fallback."""

from __future__ import annotations

from pathlib import Path

from shoal.git import Git
from shoal.process import run
from shoal.testing import commit_files, git_env


def fmt(repo: Path, spec: str, rev: str) -> str:
    return run(["git", "log", "-1", f"--format={spec}", rev], cwd=repo, env=git_env()).text


def local_config(repo: Path) -> str:
    return run(["git", "config", "--local", "--list"], cwd=repo, env=git_env()).text


def test_commit_in_worktree(git: Git, tmp_path: Path, repo: Path) -> None:
    wt = git.worktree_add(tmp_path / "wt", "task", "main")
    base = wt.resolve_commit("HEAD")
    assert wt.commit("nothing yet") is None  # nothing staged
    (wt.path / "new.txt").write_text("new\n")
    wt.add_all()
    message = "feat: task\n\n# a markdown heading, not a comment\nbody\n"
    sha = wt.commit(message)
    assert sha == wt.resolve_commit("HEAD") == git.rev_parse("task")
    assert fmt(repo, "%P", sha) == base
    assert fmt(repo, "%B", sha) == message  # "#" lines kept (cleanup=whitespace)
    assert not wt.is_dirty()


def test_commit_allow_empty(git: Git, tmp_path: Path) -> None:
    wt = git.worktree_add(tmp_path / "wt", "task", "main")
    sha = wt.commit("empty", allow_empty=True)
    assert sha is not None and wt.log_count("main", sha) == 1


def test_commit_skips_hooks(git: Git, tmp_path: Path, repo: Path) -> None:
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    wt = git.worktree_add(tmp_path / "wt", "task", "main")
    (wt.path / "f").write_text("x")
    wt.add_all()
    assert wt.commit("hooks would refuse") is not None


def test_identity_fallback_without_any_config(git: Git, tmp_path: Path, repo: Path) -> None:
    # the autouse fixture removed every global identity; make_repo writes none locally
    assert "user." not in local_config(repo)
    wt = git.worktree_add(tmp_path / "wt", "task", "main")
    (wt.path / "f").write_text("x")
    wt.add_all()
    sha = wt.commit("by shoal")
    assert sha is not None
    assert fmt(repo, "%an <%ae>|%cn <%ce>", sha) == "shoal <shoal@localhost>|shoal <shoal@localhost>"
    tree = wt.write_tree()
    other = wt.commit_tree(tree, [sha], "plumbing commit")
    assert fmt(repo, "%an <%ae>", other) == "shoal <shoal@localhost>"
    assert "user." not in local_config(repo)  # never written to the user's config


def test_configured_identity_is_used(tmp_path: Path, repo: Path) -> None:
    run(["git", "config", "user.name", "Ada Lovelace"], cwd=repo, env=git_env())
    run(["git", "config", "user.email", "ada@example.com"], cwd=repo, env=git_env())
    before = local_config(repo)
    wt = Git(repo).worktree_add(tmp_path / "wt", "task", "main")
    (wt.path / "f").write_text("x")
    wt.add_all()
    sha = wt.commit("by ada")
    assert sha is not None
    assert fmt(repo, "%an <%ae>", sha) == "Ada Lovelace <ada@example.com>"
    assert local_config(repo) == before


def test_partial_identity_only_fills_the_gap(tmp_path: Path, repo: Path) -> None:
    run(["git", "config", "user.name", "Only Name"], cwd=repo, env=git_env())
    wt = Git(repo).worktree_add(tmp_path / "wt", "task", "main")
    sha = wt.commit("x", allow_empty=True)
    assert sha is not None and fmt(repo, "%an <%ae>", sha) == "Only Name <shoal@localhost>"


def test_commit_tree_with_two_parents(git: Git, repo: Path) -> None:
    first = git.resolve_commit("HEAD")
    head = commit_files(repo, {"x": "x"}, "second")
    tree = run(["git", "rev-parse", "HEAD^{tree}"], cwd=repo, env=git_env()).text
    sha = git.commit_tree(tree, [head, first], "two parents")
    assert fmt(repo, "%P", sha) == f"{head} {first}" and fmt(repo, "%s", sha) == "two parents"
    assert git.resolve_commit("HEAD") == head  # an object only: no ref moved
