"""The boundary check: which of a task's changed paths it was not allowed to change.

:func:`check_changes` is pure. A pattern means what it means to ``shoal check``: the analysis
package's ``covers(parse_pattern(normalise(raw)), path)``, i.e. gitignore syntax (pathspec's
gitwildmatch) anchored at the repository root (``common/`` is the root's folder only,
``**/common/`` one at any depth), where a pattern covers what it matches and everything below
a matched folder.
Patterns the analysis rejects (negated, leaving the repository, matching nothing) cover nothing
here; ``shoal check`` reports them.

:func:`revert_paths`, :func:`moved_branches` and :func:`restore_branches` are the git part.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..agents.result import MARKER_FILES
from ..analysis.paths import normalise, outside_reason
from ..analysis.pattern import Pattern, PatternError, covers, parse_pattern
from ..git import Git, RefChanged
from ..gitparse import Change
from ..model import Isolation, Task
from . import naming

if TYPE_CHECKING:
    from .workspace import Workspace

__all__ = ["KINDS", "MARKER_FILES", "Violation", "check_changes", "covering", "moved_branches",
           "restore_branches", "revert_paths", "user_branches", "user_checkouts"]

OUTSIDE, FORBIDDEN, READ_ONLY, GIT_STATE = "outside-owned", "forbidden", "read-only", "git-state"
KINDS = (OUTSIDE, FORBIDDEN, READ_ONLY, GIT_STATE)


@dataclass(frozen=True)
class Violation:
    """One path a task should not have changed; ``kind`` is one of :data:`KINDS`."""

    path: str
    kind: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "kind": self.kind, "detail": self.detail}


@lru_cache(maxsize=4096)
def _compile(raw: str) -> Pattern | None:
    # blank covers nothing here (normalise would make it the root: everything)
    if not raw.strip() or raw.strip().startswith("!") or outside_reason(raw) is not None:
        return None
    try:
        return parse_pattern(normalise(raw))
    except PatternError:
        return None


def covering(patterns: Iterable[str], path: str) -> str | None:
    """The first of `patterns` (as written in the plan) that covers `path`, or None."""
    for raw in patterns:
        pattern = _compile(raw)
        if pattern is not None and covers(pattern, path):
            return raw
    return None


def is_marker(path: str) -> bool:
    return path.rsplit("/", 1)[-1] in MARKER_FILES


def changed_sides(change: Change) -> tuple[str, ...]:
    """The paths a change touches: both sides of a rename, only the new one of a copy."""
    if change.status == "R" and change.old_path:
        return (change.old_path, change.path)
    return (change.path,)


def check_changes(changes: Iterable[Change], task: Task, *, shared_readonly: Sequence[str] = (),
                  parallel_phase: bool = True) -> tuple[Violation, ...]:
    """Every changed path (both sides of a rename; deletions too) that `task` may not change:
    forbidden by its ``forbids``, read-only (``shared_readonly`` during a parallel phase) or not
    covered by its ``owns``. The first two count even for an owned path. One violation per path,
    in the order the changes came; completion markers are never reported."""
    out: list[Violation] = []
    seen: set[str] = set()
    for change in changes:
        for path in changed_sides(change):
            if path in seen or is_marker(path):
                continue
            seen.add(path)
            what = _what(change, path)
            if (hit := covering(task.forbids, path)) is not None:
                out.append(Violation(path, FORBIDDEN, f"{what}, which task {task.id} forbids itself "
                                                      f"(`forbids: {hit}`)"))
            elif parallel_phase and (hit := covering(shared_readonly, path)) is not None:
                out.append(Violation(path, READ_ONLY, f"{what}, which is read-only while a parallel "
                                                      f"phase runs (`shared_readonly: {hit}`)"))
            elif covering(task.owns, path) is None:
                owns = ", ".join(task.owns[:5]) + (" ..." if len(task.owns) > 5 else "")
                out.append(Violation(path, OUTSIDE, f"{what}, outside the paths task {task.id} "
                                                    f"owns ({owns or 'none'})"))
    return tuple(out)


def report_mismatch(claimed: Iterable[str], changed: Iterable[str]) -> dict[str, list[str]] | None:
    """Where a worker's seed 001 report (``files_modified`` + ``files_created``) and git disagree:
    paths it claims but did not change, and paths it changed but did not claim. None when they
    agree. Not a violation (the boundary check judges the paths); evidence for the reviewer."""
    said = {p.strip().removeprefix("./") for p in claimed if p.strip()}
    did = {p for p in changed if not is_marker(p)}
    if not said or said == did:
        return None
    return {"claimed_not_changed": sorted(said - did), "changed_not_claimed": sorted(did - said)}


def _what(change: Change, path: str) -> str:
    if change.status == "R" and change.old_path:
        return (f"renamed {path} to {change.path}" if path == change.old_path
                else f"renamed {change.old_path} to {path}")
    verb = {"A": "added", "D": "deleted", "C": "copied"}.get(change.status, "changed")
    return f"{verb} {path}"


# -- git -----------------------------------------------------------------------------------
def revert_paths(ws_git: Git, ws: Workspace, violations: Iterable[Violation]) -> str | None:
    """``--on-violation revert``: in the task's workspace, put every violating path back as it
    was at ``ws.base_commit`` (deleting what did not exist then; both sides of a rename), commit
    ``revert(<task>): ...`` and return the new head. The task's owned changes stay.

    Isolation ``directory`` never commits paths outside the owned ones, so there is nothing to
    drop: returns the task's head unchanged. Isolation ``none`` commits nothing per task: None.
    """
    if ws.isolation is Isolation.NONE:
        return None
    if ws.branch is None:
        raise ValueError(f"workspace of task {ws.task_id} has no branch to revert on")
    head = ws_git.resolve_commit(ws.branch, what="task branch")
    if ws.isolation is Isolation.DIRECTORY:
        return head
    bad = {v.path for v in violations if v.kind != GIT_STATE}
    paths: list[str] = []
    for change in ws_git.changed_paths(ws.base_commit, head):
        sides = changed_sides(change)
        if any(p in bad for p in sides):  # a rename is undone as a whole, or a file is lost
            paths.extend(p for p in sides if p not in paths)
    if not paths:
        return head
    ws_git.restore(ws.base_commit, paths)
    commit = ws_git.commit(naming.revert_message(ws.task_id, ws.run_id))
    return commit or head


def user_branches(git: Git) -> dict[str, str]:
    """Branch -> commit for every branch that is not shoal's (``shoal/``, ``shoal-task/``):
    take one before a run and one after to see whether a worker moved the user's branches."""
    return {name: sha for name, sha in git.list_branches().items()
            if not name.startswith((naming.INTEGRATION_PREFIX, naming.TASK_PREFIX))}


UNCHANGED: Mapping[str, str] = {}  # a worker's report: no ref file changed while it ran


def refs_stamp(git: Git) -> tuple:  # type: ignore[type-arg]
    """A cheap fingerprint of every branch ref on disk (loose ref files and their folders, and
    packed-refs): equal stamps mean no branch was created, moved or deleted in between, so the
    per-attempt branch check needs no git process. Shoal's own task branches are left out;
    moving them harms nobody, and they change on every attempt."""
    common = os.fspath(git.common_dir())
    heads = os.path.join(common, "refs", "heads")
    skip = naming.TASK_PREFIX.rstrip("/")
    stamp: list[tuple[str, int, int]] = []
    try:
        st = os.stat(os.path.join(common, "packed-refs"))
        stamp.append(("packed-refs", st.st_mtime_ns, st.st_size))
    except FileNotFoundError:
        pass
    pending = [heads]
    while pending:  # strings, not Paths: this runs after every attempt
        folder = pending.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
            st = os.stat(folder)
        except FileNotFoundError:
            continue
        stamp.append((folder, st.st_mtime_ns, 0))
        for entry in entries:
            if folder == heads and entry.name == skip:
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
            else:
                est = entry.stat(follow_symlinks=False)
                stamp.append((entry.path, est.st_mtime_ns, est.st_size))
    return tuple(sorted(stamp))


def moved_branches(before: Mapping[str, str], after: Mapping[str, str]) -> tuple[Violation, ...]:
    """``git-state`` violations for user branches created, deleted or moved between snapshots."""
    out = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old != new:
            what = ("created" if old is None else "deleted" if new is None
                    else f"moved from {old[:12]} to {new[:12]}")
            out.append(Violation(f"refs/heads/{name}", GIT_STATE,
                                 f"branch {name} was {what} while workers ran; workers may not "
                                 "change the user's branches"))
    return tuple(out)


def _roots(git: Git, roots: Iterable[Path]) -> tuple[str, ...]:
    """The folders shoal's worktrees live in: the run folders and the given workspace folders."""
    return tuple(os.path.realpath(r).rstrip(os.sep) + os.sep
                 for r in (naming.runs_root(git.common_dir()), *roots))


def _is_shoals(path: Path, roots: tuple[str, ...]) -> bool:
    return os.path.realpath(path).startswith(roots)


def user_checkouts(git: Git, roots: Iterable[Path] = ()) -> set[str]:
    """Branches checked out in a working tree that is not shoal's (the user's main tree or
    their own linked worktrees). Workers cannot move these with porcelain commands (git refuses
    to update a branch checked out elsewhere), and the user may well commit on them while a run
    goes on, so their moves are the user's. `roots`: the run's workspace folders."""
    inside = _roots(git, roots)
    return {w.branch for w in git.worktree_list() if w.branch and not _is_shoals(w.path, inside)}


def shoal_checkouts(git: Git, roots: Iterable[Path] = ()) -> set[str]:
    """Branches checked out in one of shoal's own worktrees (a worker's doing)."""
    inside = _roots(git, roots)
    return {w.branch for w in git.worktree_list() if w.branch and _is_shoals(w.path, inside)}


def restore_branches(git: Git, before: Mapping[str, str], after: Mapping[str, str],
                     names: Iterable[str], roots: Iterable[Path] = ()) -> None:
    """Put each branch of `names` back as `before` had it: move it back, recreate it, or delete
    it if it did not exist (each only if it is still as `after` saw it). A shoal worktree that
    has such a branch checked out is first detached at the same commit, so that its files stay
    as they are and the branch can move."""
    names = set(names)
    if not names:
        return
    inside = _roots(git, roots)
    for wt in git.worktree_list():
        if wt.branch in names and wt.head and _is_shoals(wt.path, inside):
            Git(wt.path, env=git.env).checkout(wt.head)  # a commit id: detaches
    for name in sorted(names):
        old, new = before.get(name), after.get(name)
        ref = f"refs/heads/{name}"
        try:
            if old is None:
                if new is not None and git.rev_parse(ref) == new:
                    git.delete_branch(name, force=True)
            else:
                git.update_ref(ref, old, new or "", message="shoal: undo a worker's branch change")
        except RefChanged:
            pass  # moved again since: whoever did that owns it now
