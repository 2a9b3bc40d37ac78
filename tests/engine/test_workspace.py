"""Workspaces on real repositories: worktree, branch, none and directory isolation, cleanup."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from shoal.engine import naming
from shoal.engine.workspace import (
    GitStateChanged,
    WorkspaceError,
    backend_for,
    cleanup,
    workspace_root,
)
from shoal.errors import ShoalError
from shoal.git import Git
from shoal.model import Isolation
from shoal.process import run
from shoal.testing import commit_files, git_env, snapshot_user_state

from .conftest import task

RUN = "r1"


def py(code: str) -> str:
    """A setup command line running `code` with this Python."""
    return shlex.join([sys.executable, "-c", code])


def sh(cwd: Path, *args: str) -> str:
    return run(["git", *args], cwd=cwd, env=git_env()).text


def porcelain(repo: Path) -> str:
    return sh(repo, "status", "--porcelain", "--untracked-files=all")


def message(repo: Path, rev: str) -> str:
    return sh(repo, "log", "-1", "--format=%B", rev)


# -- worktree ------------------------------------------------------------------------------
def test_worktree_create_collect_discard_leave_user_tree_alone(git: Git, repo: Path) -> None:
    before = snapshot_user_state(repo, ignore_branches=("shoal/", "shoal-task/"))
    base = commit_files(repo, {"docs/extra.md": "more\n"}, "second")
    before = snapshot_user_state(repo, ignore_branches=("shoal/", "shoal-task/"))
    backend = backend_for(Isolation.WORKTREE, git, RUN)
    t = task("auth")
    ws = backend.create(t, 1, base)
    assert ws.path == naming.worktree_dir(backend.workspaces, "auth", 1)  # type: ignore[attr-defined]
    # outside the checkout and outside the git dir (Claude Code refuses edits under .git)
    assert not ws.path.is_relative_to(repo) and ".git" not in ws.path.parts
    assert ws.path.parent.parent == repo.parent / f"{repo.name}.shoal"
    assert ws.branch == "shoal-task/r1/auth/1" and ws.base_commit == base
    assert Git(ws.path).resolve_commit("HEAD") == base and Git(ws.path).current_branch() == ws.branch
    assert porcelain(repo) == ""

    (ws.path / "src/auth/login.py").write_text("def login():\n    return False\n")
    collected = backend.collect(ws, t)
    assert collected.committed_leftovers and collected.head != base
    assert porcelain(repo) == ""
    backend.discard(ws)
    assert not ws.path.exists()
    assert git.rev_parse(ws.branch) == collected.head  # the work stays on its branch
    assert porcelain(repo) == ""
    assert snapshot_user_state(repo, ignore_branches=("shoal/", "shoal-task/")) == before


def test_collect_commits_leftovers_with_conventional_message(git: Git, repo: Path) -> None:
    backend = backend_for(Isolation.WORKTREE, git, RUN)
    t = task("auth", title="Add login checks [R:RED]", prompt="Check the password.\n\nDetails.")
    ws = backend.create(t, 1, "main")
    (ws.path / "src/auth/login.py").write_text("changed\n")
    (ws.path / ".claude-task-complete").write_text("")
    collected = backend.collect(ws, t)
    assert message(repo, collected.head) == (
        "feat(auth): Add login checks\n\nCheck the password.\n\nShoal-Task: r1/auth\n")
    assert [c.path for c in collected.changes] == ["src/auth/login.py"]  # the marker stays out


def test_collect_without_leftovers_keeps_worker_commits(git: Git, repo: Path) -> None:
    backend = backend_for(Isolation.WORKTREE, git, RUN)
    t = task()
    ws = backend.create(t, 1, "main")
    (ws.path / "src/auth/new.py").write_text("x\n")
    sh(ws.path, "add", "-A")
    sh(ws.path, "commit", "-q", "-m", "worker's own commit")
    collected = backend.collect(ws, t)
    assert not collected.committed_leftovers
    assert collected.head == git.rev_parse(ws.branch)
    assert [(c.status, c.path) for c in collected.changes] == [("A", "src/auth/new.py")]


def test_changes_include_renames_and_deletions(git: Git) -> None:
    backend = backend_for(Isolation.WORKTREE, git, RUN)
    t = task()
    ws = backend.create(t, 1, "main")
    sh(ws.path, "mv", "src/auth/login.py", "src/auth/signin.py")
    (ws.path / "src/billing/pay.py").unlink()
    (ws.path / "src/app.py").write_text("changed\n")
    changes = {(c.status, c.path, c.old_path) for c in backend.collect(ws, t).changes}
    assert changes == {("R", "src/auth/signin.py", "src/auth/login.py"),
                       ("D", "src/billing/pay.py", None), ("M", "src/app.py", None)}


def test_parallel_workspaces_start_where_told(git: Git, repo: Path) -> None:
    first = git.resolve_commit("main")
    second = commit_files(repo, {"src/app.py": "v2\n"}, "v2")
    backend = backend_for(Isolation.WORKTREE, git, RUN)
    a = backend.create(task("a"), 1, first)
    b = backend.create(task("b"), 1, second)
    assert (a.path / "src/app.py").read_text() != (b.path / "src/app.py").read_text()
    assert {w.path for w in git.worktree_list()} >= {a.path, b.path}


def test_same_attempt_again_replaces_unrecorded_leftovers(git: Git) -> None:
    backend = backend_for(Isolation.WORKTREE, git, RUN)
    t = task()
    ws = backend.create(t, 1, "main")
    (ws.path / "junk").write_text("x")
    again = backend.create(t, 1, "main")  # a crashed orchestrator never recorded attempt 1
    assert again.path == ws.path and not (again.path / "junk").exists()


# -- tampering -----------------------------------------------------------------------------
def test_worker_checking_out_another_branch_is_caught(git: Git) -> None:
    backend = backend_for(Isolation.WORKTREE, git, RUN)
    t = task()
    ws = backend.create(t, 1, "main")
    sh(ws.path, "checkout", "-q", "-b", "elsewhere")
    (ws.path / "src/auth/login.py").write_text("changed\n")
    with pytest.raises(GitStateChanged, match="HEAD is on branch elsewhere") as caught:
        backend.collect(ws, t)
    assert caught.value.violations[0].kind == "git-state"
    assert git.rev_parse(ws.branch) == ws.base_commit  # nothing committed for it


def test_worker_detaching_head_is_caught(git: Git) -> None:
    backend = backend_for(Isolation.WORKTREE, git, RUN)
    ws = backend.create(task(), 1, "main")
    sh(ws.path, "checkout", "-q", "--detach")
    with pytest.raises(GitStateChanged, match="detached HEAD"):
        backend.collect(ws, task())


def test_worker_rewriting_history_is_caught(git: Git, repo: Path) -> None:
    base = commit_files(repo, {"x.txt": "x\n"}, "base")
    backend = backend_for(Isolation.WORKTREE, git, RUN)
    ws = backend.create(task(), 1, base)
    sh(ws.path, "reset", "-q", "--hard", "HEAD~1")
    with pytest.raises(GitStateChanged, match="no longer descends"):
        backend.collect(ws, task())


def test_worker_leaving_a_merge_half_done_is_caught(git: Git, repo: Path) -> None:
    backend = backend_for(Isolation.WORKTREE, git, RUN)
    ws = backend.create(task(), 1, "main")
    (ws.path / "MERGE_MARK").write_text("")
    (Path(sh(ws.path, "rev-parse", "--absolute-git-dir")) / "MERGE_HEAD").write_text(
        git.resolve_commit("main") + "\n")
    with pytest.raises(GitStateChanged, match="MERGE_HEAD"):
        backend.collect(ws, task())


def test_worker_deleting_the_workspace_is_caught(git: Git) -> None:
    import shutil

    backend = backend_for(Isolation.WORKTREE, git, RUN)
    ws = backend.create(task(), 1, "main")
    shutil.rmtree(ws.path)
    with pytest.raises(GitStateChanged, match="is gone"):
        backend.collect(ws, task())
    backend.discard(ws)  # still fine: forgets the registration


# -- copy and setup ------------------------------------------------------------------------
def test_copy_brings_untracked_files_and_never_commits_them(git: Git, repo: Path) -> None:
    (repo / ".env").write_text("SECRET=1\n")
    (repo / "config").mkdir()
    (repo / "config" / "local.json").write_text("{}\n")
    before = snapshot_user_state(repo, ignore_branches=("shoal/", "shoal-task/"))
    backend = backend_for(Isolation.WORKTREE, git, RUN, copy=["./.env", "config/", "README.md"])
    t = task()
    ws = backend.create(t, 1, "main")
    assert (ws.path / ".env").read_text() == "SECRET=1\n"
    assert (ws.path / "config" / "local.json").exists()
    assert ws.copied == (".env", "config")  # README.md is tracked: the committed one stays
    (ws.path / "src/auth/login.py").write_text("changed\n")
    collected = backend.collect(ws, t)
    assert [c.path for c in collected.changes] == ["src/auth/login.py"]
    assert snapshot_user_state(repo, ignore_branches=("shoal/", "shoal-task/")) == before


@pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "a/../../x", ".git/config", "."])
def test_copy_refuses_paths_outside_the_repository(git: Git, bad: str) -> None:
    with pytest.raises(WorkspaceError, match="`copy` path"):
        backend_for(Isolation.WORKTREE, git, RUN, copy=[bad])


def test_copy_refuses_symlinks_leaving_the_repository(git: Git, repo: Path, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("s")
    (repo / "link").symlink_to(tmp_path / "secret")
    backend = backend_for(Isolation.WORKTREE, git, RUN, copy=["link"])
    with pytest.raises(WorkspaceError, match="leads outside the repository"):
        backend.create(task(), 1, "main")
    assert [w.path for w in git.worktree_list()] == [repo]  # nothing half-made stays


def test_copy_of_a_missing_file_fails_clearly(git: Git) -> None:
    backend = backend_for(Isolation.WORKTREE, git, RUN, copy=[".env"])
    with pytest.raises(WorkspaceError, match="does not exist"):
        backend.create(task(), 1, "main")


def test_setup_runs_in_the_workspace_without_a_shell(git: Git) -> None:
    code = ("import os, pathlib; pathlib.Path('made.pyc').write_text("
            "os.environ['SHOAL_TASK_ID'] + ' ' + os.getcwd())")
    backend = backend_for(Isolation.WORKTREE, git, RUN, setup=[py(code), py("print('$HOME && x')")])
    t = task()
    ws = backend.create(t, 1, "main")
    assert (ws.path / "made.pyc").read_text() == f"auth {ws.path}"
    log = naming.attempt_dir(git.common_dir(), RUN, "auth", 1) / naming.SETUP_LOG_FILE
    assert "$HOME && x" in log.read_text()  # printed literally: no shell expanded it


def test_failing_setup_names_the_command_and_its_output(git: Git, repo: Path) -> None:
    failing = py("import sys; print('installing'); sys.exit('no network')")
    backend = backend_for(Isolation.WORKTREE, git, RUN, setup=[failing])
    with pytest.raises(ShoalError, match="failed with exit code 1") as caught:
        backend.create(task(), 1, "main")
    assert "no network" in caught.value.message and sys.executable in caught.value.message
    assert [w.path for w in git.worktree_list()] == [repo]


def test_missing_setup_program(git: Git) -> None:
    backend = backend_for(Isolation.WORKTREE, git, RUN, setup=["no-such-program-xyz --go"])
    with pytest.raises(WorkspaceError, match="no-such-program-xyz"):
        backend.create(task(), 1, "main")


def test_unreadable_setup_command_fails_at_once(git: Git) -> None:
    with pytest.raises(WorkspaceError, match="cannot be read"):
        backend_for(Isolation.WORKTREE, git, RUN, setup=["echo 'unclosed"])


def test_ports(git: Git) -> None:
    backend = backend_for(Isolation.WORKTREE, git, RUN, port_base=30000)
    assert [backend.ports_for(s) for s in range(3)] == [30000, 30010, 30020]


# -- branch --------------------------------------------------------------------------------
def test_branch_isolation_reuses_one_worktree(git: Git, repo: Path) -> None:
    before = snapshot_user_state(repo, ignore_branches=("shoal/", "shoal-task/"))
    backend = backend_for(Isolation.BRANCH, git, RUN)
    a, b = task("a"), task("b", owns=("docs/**",))
    ws_a = backend.create(a, 1, "main")
    assert ws_a.path == naming.branch_worktree_dir(backend.workspaces)  # type: ignore[attr-defined]
    assert not ws_a.path.is_relative_to(repo)
    with pytest.raises(WorkspaceError, match="one task at a time"):
        backend.create(b, 1, "main")
    (ws_a.path / "src/auth/login.py").write_text("a\n")
    (ws_a.path / "ignored.pyc").write_text("build product")
    head_a = backend.collect(ws_a, a).head

    ws_b = backend.create(b, 1, "main")  # a may still be merging
    assert ws_b.path == ws_a.path and Git(ws_b.path).current_branch() == ws_b.branch
    assert (ws_b.path / "src/auth/login.py").read_text() == "def login():\n    return True\n"
    assert not (ws_b.path / "ignored.pyc").exists()  # clean -x
    backend.discard(ws_a)  # a's late discard leaves b's workspace alone
    assert Git(ws_b.path).current_branch() == ws_b.branch
    (ws_b.path / "docs/guide.md").write_text("b\n")
    collected = backend.collect(ws_b, b)
    assert [c.path for c in collected.changes] == ["docs/guide.md"]
    backend.discard(ws_b)
    assert Git(ws_b.path).current_branch() is None  # detached, so branches can be deleted
    assert git.rev_parse(ws_a.branch) == head_a
    assert snapshot_user_state(repo, ignore_branches=("shoal/", "shoal-task/")) == before


# -- cleanup -------------------------------------------------------------------------------
def test_cleanup_removes_worktrees_and_task_branches(git: Git, repo: Path) -> None:
    before = snapshot_user_state(repo, ignore_branches=("shoal/", "shoal-task/"))
    git.create_branch(naming.integration_branch(RUN), "main")
    backend = backend_for(Isolation.WORKTREE, git, RUN)
    for name in ("a", "b"):
        backend.create(task(name), 1, "main")
    log = naming.log_path(git.common_dir(), RUN, "a", 1)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("worker output\n")
    other = backend_for(Isolation.WORKTREE, git, "r2").create(task("c"), 1, "main")

    report = cleanup(git, RUN, workspaces=backend.workspaces)  # type: ignore[attr-defined]
    assert len(report.worktrees) == 2
    assert sorted(report.branches) == ["shoal-task/r1/a/1", "shoal-task/r1/b/1"]
    assert not backend.workspaces.exists()  # type: ignore[attr-defined]
    assert backend.workspaces.parent.exists()  # type: ignore[attr-defined]  # r2's folder is in it
    assert log.read_text() == "worker output\n"  # logs stay
    assert git.branch_exists("shoal/r1")  # the integration branch stays
    assert {w.path for w in git.worktree_list()} == {repo, other.path}  # other runs untouched
    assert git.branch_exists(other.branch or "")
    assert snapshot_user_state(repo, ignore_branches=("shoal/", "shoal-task/")) == before

    assert cleanup(git, RUN, keep_integration=False).branches == ("shoal/r1",)
    assert not git.branch_exists("shoal/r1")


def test_parallel_creates_and_collects(git: Git, repo: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    backend = backend_for(Isolation.WORKTREE, git, RUN)

    def one(i: int) -> tuple[str, int]:
        t = task(f"t{i}", owns=(f"out/{i}/**",))
        ws = backend.create(t, 1, "main")
        (ws.path / "out" / str(i)).mkdir(parents=True)
        (ws.path / "out" / str(i) / "f.txt").write_text(str(i))
        got = backend.collect(ws, t)
        backend.discard(ws)
        return got.head or "", len(got.changes)

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(one, range(12)))
    assert len({head for head, _ in results}) == 12 and all(n == 1 for _, n in results)
    assert [w.path for w in git.worktree_list()] == [repo]
    assert porcelain(repo) == ""


def test_worker_deleting_its_branch_is_caught(git: Git) -> None:
    backend = backend_for(Isolation.WORKTREE, git, RUN)
    ws = backend.create(task(), 1, "main")
    sh(ws.path, "update-ref", "-d", f"refs/heads/{ws.branch}")
    with pytest.raises(GitStateChanged, match="was deleted"):
        backend.collect(ws, task())


# -- workspace root ------------------------------------------------------------------------------
def test_workspace_root_default_setting_and_refusals(git: Git, repo: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    assert workspace_root(git) == repo.parent / f"{repo.name}.shoal"
    assert (repo.parent / f"{repo.name}.shoal").is_dir()
    # relative to the repository's top folder, made when missing
    assert workspace_root(git, "../ws/deep") == (repo.parent / "ws" / "deep").resolve()
    assert (repo.parent / "ws" / "deep").is_dir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert workspace_root(git, "~/spaces") == tmp_path / "home" / "spaces"
    for inside in ("build/ws", str(repo), "."):
        with pytest.raises(WorkspaceError, match="inside the repository's working tree") as err:
            workspace_root(git, inside)
        assert "default is" in (err.value.hint or "")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(WorkspaceError, match="cannot make the workspace root"):
        workspace_root(git, str(blocker / "ws"))
    assert porcelain(repo) == ""


def test_workspace_root_falls_back_to_the_cache(git: Git, repo: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    (repo.parent / f"{repo.name}.shoal").write_text("not a folder")  # the default cannot be made
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = workspace_root(git)
    assert root.parent == tmp_path / "cache" / "shoal" / "workspaces" and root.is_dir()
    assert root.name.startswith(f"{repo.name}-")
