"""Workspaces: where a worker runs, behind one small Protocol and a registry.

Backends, by isolation mode (seed 002's patterns):

- ``worktree`` (default): a linked worktree and a branch per attempt, created at the integration
  head when the task starts. Workers run in parallel, fully isolated.
- ``branch``: one reused worktree, switched to a new task branch for each task. One task at a
  time: the supervisor forces ``max_parallel=1`` and :meth:`BranchBackend.create` refuses a
  second task while one is active.
- ``none`` and ``directory``: one shared tree for the whole run (see :mod:`.sharedtree`).

Every workspace lives in the run's folder under the workspace root (:func:`workspace_root`,
:mod:`.naming`): outside the user's working tree and outside the git dir. Operations on the shared ``.git`` (worktree add/remove, branches) take
:meth:`Git.lock`; the work inside a workspace needs no lock. After creating a workspace, the plan's
``copy`` files are copied in from the user's tree (and never committed) and its ``setup``
commands run there (argument lists, no shell).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from .. import process
from ..git import Git, NotARepository
from ..gitparse import Change
from ..model import Isolation, Task
from . import naming
from .boundary import GIT_STATE, MARKER_FILES, Violation
from .options import WORKSPACE_ROOT_ENV
from .provision import (
    WorkspaceError,
    check_copy_path,
    copy_files,
    run_setup,
    split_command,
)

# Files a worker leaves behind when it stopped in the middle of a git operation.
_IN_PROGRESS = ("MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "rebase-merge", "rebase-apply",
                "BISECT_LOG")
DEFAULT_SETUP_TIMEOUT = 1800.0


@dataclass(frozen=True)
class Workspace:
    """Where one attempt of one task runs. ``base_commit`` is what its changes are measured
    from; ``copied`` lists the untracked files shoal copied in (never committed)."""

    task_id: str
    attempt: int
    path: Path
    branch: str | None
    base_commit: str
    isolation: Isolation
    run_id: str = ""
    copied: tuple[str, ...] = ()


@dataclass(frozen=True)
class Collected:
    """A workspace after its worker: ``head`` is the commit to merge (None: nothing is merged
    per task, isolation ``none``), ``changes`` every path changed since the base."""

    head: str | None
    changes: tuple[Change, ...]
    committed_leftovers: bool


class GitStateChanged(WorkspaceError):
    """The worker changed git state it may not touch; ``violations`` are of kind git-state."""

    def __init__(self, ws: Workspace, reason: str) -> None:
        self.violations = (Violation(ws.branch or str(ws.path), GIT_STATE, reason),)
        super().__init__(f"worker of task {ws.task_id} changed git state: {reason}",
                         hint=f"its work is kept in {ws.path}"
                              + (f" (branch {ws.branch})" if ws.branch else "")
                              + "; workers must not check out, rebase or reset")


class WorkspaceBackend(Protocol):
    isolation: Isolation

    @property
    def inline_ok(self) -> bool:
        """Whether the supervisor may start and end attempts on its own thread (a worker thread
        per attempt costs more): `create` runs no git process now, and what git `collect` runs
        is shared by the attempts that end together."""

    def create(self, task: Task, attempt: int, start_commit: str) -> Workspace: ...

    def path_for(self, task_id: str, attempt: int) -> Path:
        """Where `create` puts that attempt's workspace (recorded when the attempt starts)."""

    def reopen(self, ws: Workspace) -> Workspace: ...

    def collect(self, ws: Workspace, task: Task, ended_at: float | None = None) -> Collected:
        """What the attempt in `ws` changed (committed, for the backends that commit per task).
        `ended_at`: the ``time.monotonic()`` by which its processes were gone (default: now)."""

    def discard(self, ws: Workspace) -> None: ...

    def commit_shared(self, run_id: str | None = None) -> str | None: ...

    def ports_for(self, slot: int) -> int: ...


class Backend:
    """What every backend shares: settings, copy and setup, the commit of a worker's leftovers."""

    isolation: Isolation

    def __init__(self, git: Git, run_id: str, *, setup: Sequence[str] = (), copy: Sequence[str] = (),
                 port_base: int = naming.DEFAULT_PORT_BASE, env: Mapping[str, str] | None = None,
                 setup_timeout: float = DEFAULT_SETUP_TIMEOUT,
                 integration_branch: str | None = None, workspaces: Path | None = None) -> None:
        self.git, self.run_id = git, naming.check_run_id(run_id)
        self.common = git.common_dir()
        # the run's workspace folder (default: under the default root)
        self.workspaces = Path(workspaces) if workspaces is not None else naming.workspaces_dir(
            naming.default_workspace_root(self.common), self.run_id)
        self.setup = tuple(setup)
        self.setup_argv = tuple(split_command(cmd) for cmd in self.setup)  # bad quoting fails at once
        self.copy = tuple(check_copy_path(p) for p in copy)
        self.port_base, self.setup_timeout = port_base, setup_timeout
        self.env = process.clean_env() if env is None else dict(env)
        self.integration = integration_branch or naming.integration_branch(run_id)
        self._lock = threading.RLock()

    @property
    def inline_ok(self) -> bool:
        return False

    def path_for(self, task_id: str, attempt: int) -> Path:
        raise NotImplementedError

    def ports_for(self, slot: int) -> int:
        return naming.ports_for(self.port_base, slot)

    def commit_shared(self, run_id: str | None = None) -> str | None:
        return None  # only isolation none commits once at the end

    # -- copy and setup ------------------------------------------------------------------------
    def provision(self, ws: Workspace) -> Workspace:
        """Copy the plan's ``copy`` files in, then run its ``setup`` commands."""
        copied = copy_files(self.git.toplevel(), ws.path, self.copy)
        ws = replace(ws, copied=copied)
        log = naming.attempt_dir(self.common, self.run_id, ws.task_id, ws.attempt) / naming.SETUP_LOG_FILE
        env = {**self.env, "SHOAL_RUN_ID": self.run_id, "SHOAL_TASK_ID": ws.task_id,
               "SHOAL_WORKDIR": str(ws.path)}
        for command, argv in zip(self.setup, self.setup_argv):
            run_setup(command, argv, ws.path, env=env, timeout=self.setup_timeout, log=log)
        return ws

    def reopen(self, ws: Workspace) -> Workspace:
        """A cut-off attempt's workspace, to continue in as it was left. Its ``copy`` files are
        those its base does not have (provisioning copied them in; they stay uncommitted)."""
        copied = tuple(p for p in self.copy if not self.git.exists_at(ws.base_commit, p)
                       and os.path.lexists(ws.path / p))
        return replace(ws, copied=copied)

    # -- after the worker ----------------------------------------------------------------------
    def commit_leftovers(self, ws: Workspace, task: Task) -> Collected:
        """Commit what the worker left uncommitted on its task branch, list every change since
        the base. Refuses (:class:`GitStateChanged`) when the worker moved HEAD or the branch."""
        wg, head = self.check_git_state(ws)
        wg.add_all(exclude=(*ws.copied, *MARKER_FILES))
        sha = wg.commit(naming.commit_message(task, self.run_id))
        head = sha or head
        changes = tuple(self.git.changed_paths(ws.base_commit, head))
        return Collected(head, changes, sha is not None)

    def check_git_state(self, ws: Workspace) -> tuple[Git, str]:
        """The workspace's Git and HEAD, after checking that the worker left git as it was:
        still a worktree of this repository, no operation half done, HEAD on the task branch,
        which still descends from the base."""
        wg = Git(ws.path, env=self.git.env)
        if not ws.path.is_dir():
            raise GitStateChanged(ws, f"the workspace folder {ws.path} is gone")
        try:
            linked = wg.is_linked_worktree() and wg.common_dir() == self.common
        except NotARepository:
            linked = False
        if not linked:
            raise GitStateChanged(ws, f"{ws.path} is no longer a worktree of this repository")
        for name in _IN_PROGRESS:
            if (wg.git_dir() / name).exists():
                raise GitStateChanged(ws, f"it left a git operation unfinished ({name})")
        branch = wg.current_branch()
        if ws.branch is not None and branch != ws.branch:
            what = f"HEAD is on branch {branch}" if branch else "it left a detached HEAD"
            raise GitStateChanged(ws, f"{what}, not on the task branch {ws.branch}")
        head = wg.rev_parse("HEAD")
        if head is None:
            raise GitStateChanged(ws, f"HEAD names no commit: {ws.branch or 'HEAD'} was deleted")
        if head != ws.base_commit and not self.git.is_ancestor(ws.base_commit, head):
            raise GitStateChanged(ws, f"{ws.branch or 'HEAD'} no longer descends from the task's "
                                      f"base {ws.base_commit[:12]} (history rewritten)")
        return wg, head

    # -- worktree housekeeping (call with Git.lock held) ---------------------------------------
    def clear(self, path: Path, branch: str | None = None) -> None:
        clear_worktree(self.git, path, branch)

    def healthy(self, path: Path) -> Git | None:
        """`path`'s Git if it is still a linked worktree of this repository."""
        if not (path / ".git").exists():
            return None
        wg = Git(path, env=self.git.env)
        try:
            ok = wg.is_linked_worktree() and wg.common_dir() == self.common and _same(wg.toplevel(), path)
        except NotARepository:
            return None
        return wg if ok else None


class WorktreeBackend(Backend):
    """A linked worktree and a branch per attempt (the default)."""

    isolation = Isolation.WORKTREE

    def path_for(self, task_id: str, attempt: int) -> Path:
        return naming.worktree_dir(self.workspaces, task_id, attempt)

    def create(self, task: Task, attempt: int, start_commit: str) -> Workspace:
        path = self.path_for(task.id, attempt)
        branch = naming.task_branch(self.run_id, task.id, attempt)
        with self.git.lock():
            sha = self.git.resolve_commit(start_commit, what="start commit")
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self.git.worktree_add(path, branch, sha)
            except process.CommandFailed:  # leftovers of an attempt never recorded: redo it
                self.clear(path, branch)
                self.git.worktree_add(path, branch, sha)
        ws = Workspace(task.id, attempt, path, branch, sha, self.isolation, self.run_id)
        try:
            return self.provision(ws)
        except BaseException:
            self.discard(ws)  # no half-made workspace stays behind; the branch does
            raise

    def collect(self, ws: Workspace, task: Task, ended_at: float | None = None) -> Collected:
        return self.commit_leftovers(ws, task)

    def discard(self, ws: Workspace) -> None:
        self.git.worktree_remove(ws.path)


class BranchBackend(Backend):
    """Seed 002's branch-per-task: one worktree reused by every task, one task at a time."""

    isolation = Isolation.BRANCH

    def __init__(self, git: Git, run_id: str, **settings: Any) -> None:
        super().__init__(git, run_id, **settings)
        self.path = naming.branch_worktree_dir(self.workspaces)
        self._active: tuple[str, int] | None = None

    def path_for(self, task_id: str, attempt: int) -> Path:
        return self.path  # one worktree for every task

    def create(self, task: Task, attempt: int, start_commit: str) -> Workspace:
        branch = naming.task_branch(self.run_id, task.id, attempt)
        with self._lock:
            if self._active is not None:
                raise WorkspaceError(f"isolation branch runs one task at a time, and task "
                                     f"{self._active[0]} is still in its workspace",
                                     hint="run with --max-parallel 1, or use --isolation worktree")
            with self.git.lock():
                sha = self.git.resolve_commit(start_commit, what="start commit")
                self._switch(branch, sha)
            self._active = (task.id, attempt)
        ws = Workspace(task.id, attempt, self.path, branch, sha, self.isolation, self.run_id)
        try:
            return self.provision(ws)
        except BaseException:
            self.discard(ws)
            raise

    def _switch(self, branch: str, sha: str) -> None:
        wg = self.healthy(self.path)
        if wg is None:  # first task, or a worker broke it: make it again, detached at sha
            self.clear(self.path)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            wg = self.git.worktree_add(self.path, sha, None)
        wg.reset_hard("HEAD")  # only this linked worktree: the previous task's leftovers go
        wg.clean(ignored=True)
        wg.checkout(sha)  # detach, so that a stale branch of this name can go
        if self.git.branch_exists(branch):
            self.git.delete_branch(branch, force=True)
        self.git.create_branch(branch, sha)
        wg.checkout(branch)

    def collect(self, ws: Workspace, task: Task, ended_at: float | None = None) -> Collected:
        with self._lock:
            try:
                return self.commit_leftovers(ws, task)
            finally:
                if self._active == (ws.task_id, ws.attempt):
                    self._active = None  # the next task may start while this one merges

    def discard(self, ws: Workspace) -> None:
        with self._lock:
            if self._active == (ws.task_id, ws.attempt):
                self._active = None
            wg = self.healthy(self.path)
            # Leave it alone if the next task already switched it to its own branch.
            if wg is not None and wg.current_branch() == ws.branch:
                wg.reset_hard("HEAD")
                wg.clean(ignored=True)
                wg.checkout(wg.resolve_commit("HEAD"))


def clear_worktree(git: Git, path: Path, branch: str | None = None) -> None:
    """Remove whatever is left at `path` (a worktree, registered or not) and `branch` (left by
    an attempt that a crashed orchestrator never recorded), so that both can be made afresh.
    Call with :meth:`Git.lock` held."""
    if any(_same(w.path, path) for w in git.worktree_list()):
        git.worktree_remove(path)
    elif os.path.lexists(path):
        shutil.rmtree(path)
    git.worktree_prune()
    if branch is not None and git.branch_exists(branch):
        git.delete_branch(branch, force=True)


def _same(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)



# -- registry ------------------------------------------------------------------------------------
BackendFactory = Callable[..., WorkspaceBackend]
_BACKENDS: dict[Isolation, BackendFactory] = {
    Isolation.WORKTREE: WorktreeBackend,
    Isolation.BRANCH: BranchBackend,
}


def register_backend(isolation: Isolation, factory: BackendFactory) -> None:
    """Make `factory(git, run_id, **settings)` the backend of `isolation` (tests, extensions)."""
    _BACKENDS[isolation] = factory


def backend_for(isolation: Isolation | str, git: Git, run_id: str, *, setup: Sequence[str] = (),
                copy: Sequence[str] = (), port_base: int = naming.DEFAULT_PORT_BASE,
                env: Mapping[str, str] | None = None, setup_timeout: float = DEFAULT_SETUP_TIMEOUT,
                integration_branch: str | None = None, workspaces: Path | None = None,
                track_changes: bool = True, **options: Any) -> WorkspaceBackend:
    """The backend of an isolation mode. Checks the plan's ``copy`` paths and ``setup``
    commands at once, so a bad one fails the run before any task starts. `options` go to the
    backend as they are. ``track_changes=False`` matters to isolation none only: collect
    reports nothing, the cheapest mode for many trivial tasks."""
    from . import sharedtree  # noqa: F401 - registers none and directory

    if not track_changes and Isolation(isolation) is Isolation.NONE:
        options["track_changes"] = False
    factory = _BACKENDS[Isolation(isolation)]
    return factory(git, run_id, setup=setup, copy=copy, port_base=port_base, env=env,
                   setup_timeout=setup_timeout, integration_branch=integration_branch,
                   workspaces=workspaces, **options)


# -- cleanup -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CleanupReport:
    worktrees: tuple[Path, ...]
    branches: tuple[str, ...]


def cleanup(git: Git, run_id: str, *, branches: bool = True, keep_integration: bool = True,
            workspaces: Path | None = None) -> CleanupReport:
    """Remove every worktree of a run (and, with `branches`, its task branches), prune, and
    delete its workspace folders (`workspaces`, the run's folder under its workspace root, and
    the folder older versions used) and the shared tree's snapshot index. An emptied workspace
    root goes too. Kept: the state database, the attempt logs and status files
    (``attempts/``, ``*.json``), and the integration branch unless `keep_integration` is False."""
    common = git.common_dir()
    roots = [naming.run_dir(common, run_id), *([Path(workspaces)] if workspaces else [])]
    removed: list[Path] = []
    deleted: list[str] = []
    with git.lock():
        for wt in git.worktree_list():
            if any(_inside(wt.path, root) for root in roots):
                git.worktree_remove(wt.path)
                removed.append(wt.path)
        for folder in (naming.legacy_workspaces_dir(common, run_id), naming.verify_dir(common, run_id),
                       *([Path(workspaces)] if workspaces else [])):
            shutil.rmtree(folder, ignore_errors=True)
        if workspaces:
            with contextlib.suppress(OSError):  # only when no other run's folder is left in it
                Path(workspaces).parent.rmdir()
        naming.shared_index_file(common, run_id).unlink(missing_ok=True)
        git.worktree_prune()
        if branches:
            for name in git.list_branches(naming.task_branch_prefix(run_id)):
                git.delete_branch(name, force=True)
                deleted.append(name)
        integration = naming.integration_branch(run_id)
        if not keep_integration and git.delete_branch(integration, force=True):
            deleted.append(integration)
    return CleanupReport(tuple(removed), tuple(deleted))


# -- where workspaces go ---------------------------------------------------------------------------


def workspace_root(git: Git, setting: str | os.PathLike[str] | None = None, *,
                   create: bool = True) -> Path:
    """The folder a run's workspaces go in, made if need be: `setting` (``~`` expanded; a
    relative path is taken from the repository's top folder) or, without one, ``<repo>.shoal``
    beside the repository, falling back to the user's cache when that cannot be made.

    Raises `WorkspaceError` for a root inside the working tree (every tool that walks the
    checkout would find the copies, and they would show as untracked files) or one that cannot
    be made. `create=False` (`shoal doctor`) makes nothing and returns where a run would try first."""
    top = git.toplevel()
    if setting is not None and str(setting).strip():
        root = Path(os.path.expanduser(str(setting)))
        root = Path(os.path.abspath(top / root))
        if _inside(root, top):
            raise WorkspaceError(f"the workspace root {root} is inside the repository's working tree",
                                 hint="choose a folder outside the checkout (the default is "
                                      f"{naming.default_workspace_root(git.common_dir())})")
        if not create:
            return root
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise WorkspaceError(f"cannot make the workspace root {root}: {err.strerror or err}",
                                 hint="set workspace_root (plan defaults), --workspace-root or "
                                      f"${WORKSPACE_ROOT_ENV} to a folder you can write") from err
        return root
    root = naming.default_workspace_root(git.common_dir())
    if not create:
        return root
    try:
        root.mkdir(exist_ok=True)
        if os.access(root, os.W_OK | os.X_OK):
            return root
    except OSError:
        pass
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return workspace_root(git, naming.fallback_workspace_root(git.common_dir(), cache))


def _inside(path: Path, root: Path) -> bool:
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)
