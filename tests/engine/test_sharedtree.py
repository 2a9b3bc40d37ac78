"""The shared-tree isolation modes, none and directory, on real repositories."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from shoal.engine import naming
from shoal.engine.workspace import GitStateChanged, Workspace, backend_for
from shoal.git import Git
from shoal.model import Isolation, Task
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
    index = naming.shared_index_file(git.common_dir(), RUN)
    assert index.is_file()  # kept between snapshots...
    commit = backend.commit_shared(RUN)
    assert not index.exists()  # ...until the run's one commit
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


class _CountingLock:
    """A lock that counts the threads that came to it: the test releases its hold only once
    every collect is waiting."""

    def __init__(self) -> None:
        self.lock, self.arrived = threading.Lock(), 0

    def __enter__(self) -> None:
        self.arrived += 1
        self.lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def test_none_isolation_shares_a_snapshot_among_tasks_that_ended_before_it(
        git: Git, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = backend_for(Isolation.NONE, git, RUN)
    tasks = [task("a", owns=("src/auth/**",)), task("b", owns=("docs/**",)),
             task("c", owns=("src/billing/**",))]
    start = git.resolve_commit("main")
    spaces = [backend.create(t, 1, start) for t in tasks]
    root = spaces[0].path
    (root / "src/auth/login.py").write_text("a\n")
    (root / "docs/guide.md").write_text("b\n")
    (root / "src/billing/pay.py").write_text("c\n")
    snapshots: list[str] = []
    real = Git.snapshot_tree
    monkeypatch.setattr(Git, "snapshot_tree",
                        lambda self, *args, **kwargs: snapshots.append("x") or real(self, *args, **kwargs))
    gate = _CountingLock()
    backend._snapshots = gate  # type: ignore[assignment]
    got: dict[str, list[str]] = {}

    def collect(ws: Workspace, t: Task) -> None:
        got[t.id] = [c.path for c in backend.collect(ws, t).changes]

    gate.lock.acquire()  # all three end while a snapshot is being taken
    threads = [threading.Thread(target=collect, args=(ws, t)) for ws, t in zip(spaces, tasks)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while gate.arrived < 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    gate.lock.release()
    for thread in threads:
        thread.join(10)

    assert len(snapshots) == 1  # the first to get in took it; it saw the others' work too
    assert got == {"a": ["src/auth/login.py"], "b": ["docs/guide.md"], "c": ["src/billing/pay.py"]}
    ws_d = backend.create(task("d", owns=("common/**",)), 1, start)
    (root / "common/types.py").write_text("ID = str\n")
    assert [c.path for c in backend.collect(ws_d, task("d", owns=("common/**",))).changes] == [
        "common/types.py"]  # ended after that snapshot began: a snapshot of its own
    assert len(snapshots) == 2


def test_none_isolation_notices_a_worker_that_broke_the_shared_tree(git: Git) -> None:
    backend = backend_for(Isolation.NONE, git, RUN)
    a, b = task("a", owns=("src/auth/**",)), task("b", owns=("docs/**",))
    start = git.resolve_commit("main")
    ws_a, ws_b = backend.create(a, 1, start), backend.create(b, 1, start)
    assert backend.collect(ws_a, a).changes == ()
    (ws_b.path / ".git").write_text("gitdir: /somewhere/else\n")  # a worker re-pointed it
    with pytest.raises(GitStateChanged, match="no longer a worktree"):
        backend.collect(ws_b, b)
