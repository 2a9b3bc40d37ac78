"""The shared-tree isolation modes, none and directory, on real repositories."""

from __future__ import annotations

from pathlib import Path

from shoal.engine import naming
from shoal.engine.workspace import backend_for
from shoal.git import Git
from shoal.model import Isolation
from shoal.process import run
from shoal.testing import git_env, snapshot_user_state

from .conftest import task

RUN = "r1"


def sh(cwd: Path, *args: str) -> str:
    return run(["git", *args], cwd=cwd, env=git_env()).text


def porcelain(repo: Path) -> str:
    return sh(repo, "status", "--porcelain", "--untracked-files=all")


def message(repo: Path, rev: str) -> str:
    return sh(repo, "log", "-1", "--format=%B", rev)


# -- none ----------------------------------------------------------------------------------
def test_none_isolation_shares_one_tree_and_commits_once(git: Git, repo: Path) -> None:
    backend = backend_for(Isolation.NONE, git, RUN)
    a, b = task("a", owns=("src/auth/**",)), task("b", owns=("docs/**",))
    start = git.resolve_commit("main")
    ws_a = backend.create(a, 1, start)
    ws_b = backend.create(b, 1, start)
    assert ws_a.path == ws_b.path and ws_a.branch is None
    assert Git(ws_a.path).current_branch() is None  # detached at the start
    (ws_a.path / "src/auth/login.py").write_text("a\n")
    (ws_a.path / "docs/guide.md").write_text("b, still running\n")
    (ws_a.path / "stray.txt").write_text("?\n")
    got_a = backend.collect(ws_a, a)
    # b's path is b's business; the stray goes to whoever collects first
    assert got_a.head is None and not got_a.committed_leftovers
    assert sorted(c.path for c in got_a.changes) == ["src/auth/login.py", "stray.txt"]
    # b's own change, made before a's snapshot, is held for b rather than lost
    assert [c.path for c in backend.collect(ws_b, b).changes] == ["docs/guide.md"]
    commit = backend.commit_shared(RUN)
    assert commit is not None and git.is_ancestor(start, commit)
    assert sorted(c.path for c in git.changed_paths(start, commit)) == [
        "docs/guide.md", "src/auth/login.py", "stray.txt"]
    assert message(repo, commit).startswith("feat(shoal): work of run r1")
    assert porcelain(repo) == ""


def test_none_isolation_without_tasks_commits_nothing(git: Git) -> None:
    assert backend_for(Isolation.NONE, git, RUN).commit_shared(RUN) is None


# -- directory -----------------------------------------------------------------------------
def test_directory_isolation_commits_only_owned_paths(git: Git, repo: Path) -> None:
    before = snapshot_user_state(repo, ignore_branches=("shoal/", "shoal-task/"))
    integration = git.create_branch(naming.integration_branch(RUN), "main")
    backend = backend_for(Isolation.DIRECTORY, git, RUN)
    a, b = task("a", owns=("src/auth/**",)), task("b", owns=("docs/**",))
    ws_a = backend.create(a, 1, integration)
    ws_b = backend.create(b, 1, integration)
    assert ws_a.path == ws_b.path and ws_a.branch == "shoal-task/r1/a/1"
    (ws_a.path / "src/auth/login.py").write_text("a\n")
    (ws_a.path / "src/auth/new.py").write_text("new\n")
    (ws_a.path / "docs/guide.md").write_text("b's work\n")
    (ws_a.path / "stray.txt").write_text("?\n")

    got = backend.collect(ws_a, a)
    assert got.committed_leftovers and git.rev_parse(ws_a.branch) == got.head
    assert sorted(c.path for c in got.changes) == ["src/auth/login.py", "src/auth/new.py", "stray.txt"]
    assert sorted(c.path for c in git.changed_paths(integration, got.head)) == [
        "src/auth/login.py", "src/auth/new.py"]  # only a's owned paths are committed
    assert sh(repo, "rev-list", "--parents", "-1", got.head).split()[1] == integration

    got_b = backend.collect(ws_b, b)  # the stray was reported once already
    assert [c.path for c in got_b.changes] == ["docs/guide.md"]
    assert git.changed_paths(integration, got_b.head)[0].path == "docs/guide.md"
    assert snapshot_user_state(repo, ignore_branches=("shoal/", "shoal-task/")) == before


def test_directory_discard_puts_unmerged_work_back(git: Git) -> None:
    integration = git.create_branch(naming.integration_branch(RUN), "main")
    backend = backend_for(Isolation.DIRECTORY, git, RUN)
    a = task("a", owns=("src/auth/**",))
    ws = backend.create(a, 1, integration)
    (ws.path / "src/auth/login.py").write_text("a\n")
    (ws.path / "src/auth/new.py").write_text("new\n")
    head = backend.collect(ws, a).head
    backend.discard(ws)  # never merged: its files go back to the integration head
    assert (ws.path / "src/auth/login.py").read_text() == "def login():\n    return True\n"
    assert not (ws.path / "src/auth/new.py").exists()
    assert git.rev_parse(ws.branch) == head  # the work is kept on its branch


def test_none_isolation_can_skip_change_tracking(git: Git) -> None:
    backend = backend_for(Isolation.NONE, git, RUN, track_changes=False)
    ws = backend.create(task(), 1, "main")
    (ws.path / "anything.txt").write_text("x")
    assert backend.collect(ws, task()).changes == ()
    assert backend.commit_shared() is not None


def test_none_isolation_drops_what_a_failed_task_left_held(git: Git, repo: Path) -> None:
    backend = backend_for(Isolation.NONE, git, RUN)
    a, b, c = (task("a", owns=("src/auth/**",)), task("b", owns=("docs/**",)),
               task("c", owns=("src/billing/**",)))
    start = git.resolve_commit("main")
    ws_a, ws_b = backend.create(a, 1, start), backend.create(b, 1, start)
    (ws_a.path / "docs/guide.md").write_text("b's work, b still running\n")
    assert backend.collect(ws_a, a).changes == ()  # held for b
    backend.discard(ws_b)  # b failed: its held change is not pinned on anyone else
    ws_c = backend.create(c, 1, start)
    (ws_c.path / "src/billing/pay.py").write_text("c\n")
    assert [ch.path for ch in backend.collect(ws_c, c).changes] == ["src/billing/pay.py"]
