"""The shared-tree isolation modes: every task of a run works in the same folder.

One linked worktree, ``<runs>/<run_id>/worktrees/_shared/``, made (detached, at the integration
head) when the first task starts; ``copy`` and ``setup`` run once, there. Workers see each
other's unfinished files: these modes trade isolation for speed and simplicity.

- ``none`` (:class:`SharedBackend`): no git per task. :meth:`collect` commits nothing and reports
  the paths that changed in the tree since the previous snapshot; a change to a path another
  running task owns is held and reported to that task when it collects (dropped if it fails).
  Tasks that end while a snapshot is being taken share the next one.
  That attribution is a best effort, never exact: a stray change (a path no running task owns)
  is reported to whichever task collects first. :meth:`commit_shared` commits the whole
  tree once at the end, on top of the commit it started from; the supervisor moves the
  integration branch there.
- ``directory`` (:class:`DirectoryBackend`, seed 002's pattern 3): tasks run in place,
  "restricted to their owned dirs". :meth:`collect` commits only the task's owned changes, on
  top of the integration head (so the merge queue merges exactly them) and on the task branch.
  Changes outside the task's paths that no other running task owns come back as changes, so the
  boundary check reports them; they are never committed, and each is reported once. Changes the
  worker made to paths that another running task owns go unnoticed. :meth:`discard` puts the
  task's owned paths back to the integration head (a no-op once merged; a failed attempt's work
  stays on its branch).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from ..git import Git
from ..gitparse import Change
from ..model import Isolation, Task
from . import naming
from .boundary import MARKER_FILES, changed_sides, covering, is_marker
from .workspace import Backend, Collected, GitStateChanged, Workspace, register_backend


SLOW_SNAPSHOT_S = 0.1  # after a snapshot this slow, attempts go back to worker threads


class SharedBackend(Backend):
    """Isolation ``none``: every task in one shared tree, one commit at the end."""

    isolation = Isolation.NONE

    def __init__(self, git: Git, run_id: str, *, track_changes: bool = True, **settings: Any) -> None:
        super().__init__(git, run_id, **settings)
        self.path = naming.shared_worktree_dir(self.workspaces)
        self.track_changes = track_changes  # False: collect reports nothing (cheapest)
        self._shared: Workspace | None = None
        self._last: str | None = None  # tree (or commit) of the previous snapshot
        self._last_at = float("-inf")  # time.monotonic() when that snapshot began
        self._last_tree: str | None = None  # that snapshot's tree, made from:
        self._index = naming.shared_index_file(self.common, run_id)  # kept between them
        self._index.parent.mkdir(parents=True, exist_ok=True)
        self._checked: tuple[bytes, Git] | None = None  # the `.git` file shared_git last checked
        self._snapshots = threading.Lock()  # one at a time; `_last` and `_last_at` are its
        self._running: dict[tuple[str, int], Task] = {}
        self._held: dict[str, Change] = {}  # changes waiting for the running task that owns them
        self._slow = False  # the last snapshot took longer than SLOW_SNAPSHOT_S

    def path_for(self, task_id: str, attempt: int) -> Path:
        return self.path  # one tree for every task

    def create(self, task: Task, attempt: int, start_commit: str) -> Workspace:
        with self._lock:
            shared = self._open(task, attempt, start_commit)
            self._running[(task.id, attempt)] = task
            base = shared.base_commit if self.isolation is Isolation.NONE else \
                self.git.resolve_commit(start_commit, what="start commit")
            return Workspace(task.id, attempt, self.path, self._branch(task, attempt), base,
                             self.isolation, self.run_id, shared.copied)

    @property
    def inline_ok(self) -> bool:
        # Once the shared tree is made, isolation none runs git only for the snapshots, which
        # the attempts that end together share. On a large repository a snapshot takes long
        # enough to stall the supervisor's starts and progress: then worker threads take them.
        return self.isolation is Isolation.NONE and self._shared is not None and not self._slow

    def _branch(self, task: Task, attempt: int) -> str | None:
        return None

    def _open(self, task: Task, attempt: int, start_commit: str) -> Workspace:
        """The shared tree, made and prepared by the first task that starts."""
        if self._shared is None:
            with self.git.lock():
                kept = self._kept()
                if kept is None:
                    sha = self.git.resolve_commit(start_commit, what="start commit")
                    self.clear(self.path)
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self.git.worktree_add(self.path, sha, None)  # a commit, not a branch: detached
                else:
                    sha = kept
            ws = Workspace(task.id, attempt, self.path, None, sha, self.isolation, self.run_id)
            try:
                self._shared = self.provision(ws)
            except BaseException:
                if kept is None:
                    self.git.worktree_remove(self.path)
                raise
            # a kept tree's changes so far belong to tasks of the interrupted run, not to the
            # task that collects first now
            self._last = sha if kept is None else self.shared_git(ws).snapshot_tree(self._index)
        return self._shared

    def _kept(self) -> str | None:
        """Isolation none after an interrupted run (resume): the shared tree it left, which holds
        the only copy of its finished tasks' work until the run's one commit. Its HEAD, or None
        when there is no such tree (or the mode is directory, whose work is merged per task)."""
        if self.isolation is not Isolation.NONE:
            return None
        wg = self.healthy(self.path)
        return wg.rev_parse("HEAD") if wg is not None else None

    def shared_git(self, ws: Workspace) -> Git:
        """The shared tree's Git, checked to be a worktree of this repository: by git the first
        time and whenever its ``.git`` file changed, by that file alone otherwise (a git process
        per snapshot is a third of its cost)."""
        try:
            link = (self.path / ".git").read_bytes()
        except OSError:  # gone, or a folder now: ask git
            link = None
        if link is not None and self._checked is not None and self._checked[0] == link:
            return self._checked[1]
        wg = self.healthy(self.path)
        if wg is None:
            raise GitStateChanged(ws, f"the shared tree {self.path} is no longer a worktree of "
                                      "this repository")
        self._checked = (link, wg) if link is not None else None
        return wg

    def others_own(self, ws: Workspace, path: str) -> bool:
        return any(covering(t.owns, path) is not None
                   for key, t in self._running.items() if key != (ws.task_id, ws.attempt))

    def keep(self, ws: Workspace, change: Change) -> bool | None:
        """Whether `change` is reported to the task of `ws`: not shoal's own files (False), not a
        path another running task owns (None: held for that task's own collect)."""
        sides = changed_sides(change)
        if any(is_marker(p) or p in ws.copied for p in sides):
            return False
        return None if all(self.others_own(ws, p) for p in sides) else True

    def collect(self, ws: Workspace, task: Task, ended_at: float | None = None) -> Collected:
        # A snapshot begun after the task's processes were gone holds all its work: with many
        # short tasks, the ones that ended before it (waiting here, or ended together) share it.
        ended_at = time.monotonic() if ended_at is None else ended_at
        try:
            with self._snapshots:  # not the state lock: starts go on while git takes one
                changes = self._changes(ws, ended_at) if self.track_changes else None
                if changes is None:
                    return Collected(None, (), False)
                with self._lock:
                    # A change to a path another running task owns is that task's: it was made
                    # before this snapshot, so that task's own diff will not show it; hold it.
                    held = list(self._held.values())
                    fresh = [c for c in changes if c.path not in self._held]
                    mine, self._held = [], {}
                    for change in [*held, *fresh]:
                        verdict = self.keep(ws, change)
                        if verdict:
                            mine.append(change)
                        elif verdict is None:
                            self._held[change.path] = change
                    return Collected(None, tuple(mine), False)
        finally:
            with self._lock:
                self._running.pop((ws.task_id, ws.attempt), None)

    def _changes(self, ws: Workspace, ended_at: float) -> list[Change] | None:
        """What changed in the tree since the last snapshot, taking a new one unless one began
        after `ended_at`; None before the tree exists."""
        if self._last is None:
            return None
        if self._last_at >= ended_at:  # that snapshot saw this task's work, and held it for it
            return []
        began = time.monotonic()
        # until this one works, no tree is known to match the index (git may fail half-way)
        previous, self._last_tree = self._last_tree, None
        snapshot = self.shared_git(ws).snapshot_tree(self._index, previous=previous)
        changes = [] if snapshot == self._last else self.git.changed_paths(self._last, snapshot)
        # only a snapshot that worked covers anyone
        self._last = self._last_tree = snapshot
        self._last_at = began
        self._slow = time.monotonic() - began > SLOW_SNAPSHOT_S
        return changes

    def discard(self, ws: Workspace) -> None:
        with self._lock:
            task = self._running.pop((ws.task_id, ws.attempt), None)
            if task is not None:  # what it left held is its own: nobody else is to blame for it
                self._held = {p: c for p, c in self._held.items()
                              if not all(covering(task.owns, s) is not None
                                         for s in changed_sides(c))}

    def commit_shared(self, run_id: str | None = None) -> str | None:
        """Commit everything in the shared tree (copied files and markers left out) on top of
        the commit it started from; None when nothing changed or no task ever started."""
        if run_id is not None and run_id != self.run_id:
            raise ValueError(f"this backend belongs to run {self.run_id}, not {run_id}")
        with self._lock:
            if self._shared is None:
                return None
            wg = self.shared_git(self._shared)
            wg.add_all(exclude=(*self._shared.copied, *MARKER_FILES))
            commit = wg.commit(naming.shared_message(self.run_id))
            self._index.unlink(missing_ok=True)  # the snapshots' index: the run is over
            return commit


class DirectoryBackend(SharedBackend):
    """Isolation ``directory``: one shared tree, each task's owned changes committed alone."""

    isolation = Isolation.DIRECTORY

    def __init__(self, git: Git, run_id: str, **settings: Any) -> None:
        super().__init__(git, run_id, **settings)
        self._reported: set[str] = set()  # paths outside every task, reported once

    def _branch(self, task: Task, attempt: int) -> str | None:
        return naming.task_branch(self.run_id, task.id, attempt)

    def collect(self, ws: Workspace, task: Task, ended_at: float | None = None) -> Collected:
        assert ws.branch is not None
        with self._lock:
            wg = self.shared_git(ws)
            integration = self.git.resolve_commit(self.integration, what="integration branch")
            wg.reset_index(integration)  # HEAD and index at the integration head; files stay
            mine: list[Change] = []
            strays: list[Change] = []
            for change in wg.changed_paths_worktree(integration):
                sides = changed_sides(change)
                if all(covering(task.owns, p) is not None for p in sides):
                    mine.append(change)
                elif self.keep(ws, change) and not all(p in self._reported for p in sides):
                    strays.append(change)
                    self._reported.update(sides)
            sha = None
            if mine:
                wg.add_paths([p for c in mine for p in changed_sides(c)])
                sha = wg.commit(naming.commit_message(task, self.run_id))
            head = sha or integration
            with self.git.lock():
                if self.git.branch_exists(ws.branch):
                    self.git.delete_branch(ws.branch, force=True)
                self.git.create_branch(ws.branch, head)
            return Collected(head, (*mine, *strays), sha is not None)

    def discard(self, ws: Workspace) -> None:
        with self._lock:
            task = self._running.pop((ws.task_id, ws.attempt), None)
            wg = self.healthy(self.path)
            if task is None or wg is None or any(key[0] == ws.task_id for key in self._running):
                return  # never touch the files of a newer attempt of the same task
            integration = self.git.resolve_commit(self.integration, what="integration branch")
            paths = [p for c in wg.changed_paths_worktree(integration) for p in changed_sides(c)
                     if covering(task.owns, p) is not None and not is_marker(p)]
            if paths:
                wg.add_paths(paths)  # so that git knows every path, new files included
                wg.restore(integration, paths)


register_backend(Isolation.NONE, SharedBackend)
register_backend(Isolation.DIRECTORY, DirectoryBackend)
