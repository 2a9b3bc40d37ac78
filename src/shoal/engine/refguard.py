"""The git state a worker may not touch: the user's branches and the integration branch.

Checked (and put back) after every attempt. Reading every branch costs a git process, so a
worker reports a stamp of the ref files (:func:`~.boundary.refs_stamp`) and the check is
skipped while no ref file changed since the refs were last seen as expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from ..errors import ShoalError
from ..git import Git
from . import naming
from .boundary import (
    GIT_STATE,
    UNCHANGED,
    Violation,
    moved_branches,
    refs_stamp,
    restore_branches,
    shoal_checkouts,
    user_branches,
    user_checkouts,
)
from .merge import MergeQueue
from .worker import AttemptReport


class RefGuard:
    def __init__(self, git: Git, integration_branch: str, merges: MergeQueue,
                 workspaces: Path | None = None) -> None:
        self.git, self.integration_branch, self.merges = git, integration_branch, merges
        self.roots = (workspaces,) if workspaces is not None else ()  # where workers' trees are
        # The user's branches as the run found them: workers may not create, move or delete any.
        self.user_refs = user_branches(git)
        self.refs_stamp: tuple | None = None  # type: ignore[type-arg]  # refs last seen as expected

    def with_refs(self, report: AttemptReport) -> AttemptReport:
        """The report with the branches as the attempt left them, read where it ended (on its
        worker thread, if it had one) so that checking them costs nothing when none moved."""
        return self.with_refs_all([report])[0]

    def with_refs_all(self, reports: list[AttemptReport]) -> list[AttemptReport]:
        """:meth:`with_refs` for attempts whose workers had all ended before this call: one
        look at the refs serves them all."""
        stamp = refs_stamp(self.git)  # before the refs are read: see changes()
        if stamp == self.refs_stamp:  # no ref file changed: nothing to ask git
            return [replace(report, refs=UNCHANGED) for report in reports]
        try:
            refs = self.git.list_branches()
        except ShoalError:
            return reports  # changes() reads them itself
        return [replace(report, refs=refs, refs_stamp=stamp) for report in reports]

    def changes(self, report: AttemptReport) -> tuple[Violation, ...]:
        """The user's branches and the integration branch, checked (and put back) after every
        attempt: a worker may change neither. Whatever moved while this attempt ran is blamed on
        it (the user's own checkouts excepted; see :func:`user_checkouts`)."""
        git = self.git
        if report.refs is UNCHANGED:
            return ()
        if report.refs is not None and self.as_expected(report.refs):
            # the refs were as expected no earlier than this stamp was taken: until a ref file
            # changes, later attempts can skip the check
            self.refs_stamp = report.refs_stamp
            return ()
        found: list[Violation] = []
        now = user_branches(git)
        changed = moved_branches(self.user_refs, now)
        if changed:
            users = user_checkouts(git, self.roots)
            workers = shoal_checkouts(git, self.roots)
            # A new branch that no worker has checked out may be the user's own (`git branch x`
            # while the run goes on): never delete what cannot be pinned on a worker.
            theirs = [v for v in changed if (name := v.path.removeprefix("refs/heads/")) in users
                      or (name not in self.user_refs and name not in workers)]
            ours = [v for v in changed if v not in theirs]
            restore_branches(git, self.user_refs, now,
                             [v.path.removeprefix("refs/heads/") for v in ours], self.roots)
            for v in theirs:  # the user committing in their own checkout meanwhile
                name = v.path.removeprefix("refs/heads/")
                if name in now:
                    self.user_refs[name] = now[name]
                else:
                    self.user_refs.pop(name, None)
            found += [Violation(v.path, v.kind, v.detail + (
                "; shoal put it back" if v.path.removeprefix("refs/heads/") in self.user_refs
                else "; shoal deleted it")) for v in ours]
        branch = self.integration_branch
        foreign = self.merges.put_back()
        if foreign is None and self.merges.undone and report.workspace is not None:
            # the merge queue already put it back: blame this attempt if it made that commit
            try:
                ws_head = Git(report.workspace.path, env=git.env).rev_parse("HEAD")
            except ShoalError:  # its workspace is gone
                ws_head = None
            foreign = next((c for c in self.merges.undone if ws_head and c and (
                c == ws_head or git.is_ancestor(c, ws_head))), None)
            if foreign is not None:
                self.merges.undone.remove(foreign)
        if foreign is not None:
            found.append(Violation(
                f"refs/heads/{branch}", GIT_STATE,
                f"the integration branch {branch} was " + (f"moved to {foreign[:12]}" if foreign
                                                            else "deleted")
                + " while the worker ran; only shoal's merge queue may move it, and shoal put "
                  "it back"))
        return tuple(found)

    def as_expected(self, refs: Mapping[str, str]) -> bool:
        """Whether `refs` show the user's branches as known and the integration branch at a head
        the merge queue set. False may be a false alarm (a head read before the queue recorded
        it, or a change since put back): :meth:`changes` then looks again."""
        prefixes = (naming.INTEGRATION_PREFIX, naming.TASK_PREFIX)
        users = {name: sha for name, sha in refs.items() if not name.startswith(prefixes)}
        return (users == self.user_refs
                and refs.get(self.integration_branch) in self.merges.written)
