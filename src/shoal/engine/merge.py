"""The merge queue: finished tasks land on the integration branch one at a time.

A merge never needs a working tree: ``git merge-tree --write-tree`` pre-checks it (a conflict
leaves the branch as it was), ``commit-tree`` builds the candidate merge commit, the verify
commands (quality gates) run on the candidate in a scratch worktree, and only when all pass does
a compare-and-swap ``update-ref`` move the branch. So a failing gate has nothing to roll back.

Each merge commit carries ``Shoal-Merge: <run_id>/<task_id>``; :func:`merged_tasks` reads them
back so that a resume after a crash between ``update-ref`` and the state database merges every
task's work exactly once. :func:`land` is ``shoal merge``: the one place where shoal changes the
user's own checkout, and only when asked.
"""

from __future__ import annotations

import json
import os
import shlex
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import process
from ..errors import ExitCode, ShoalError
from ..git import Git, MergeConflict, NotARepository, RefChanged
from ..model import Task
from . import naming
from .options import DEFAULTS
from .provision import output_tail
from .workspace import clear_worktree

MERGED, NO_CHANGES, CONFLICT, VERIFY_FAILED, REF_MOVED, CANCELLED = (
    "merged", "no-changes", "conflict", "verify-failed", "ref-moved", "cancelled")
DEFAULT_VERIFY_TIMEOUT = 1800.0
VERIFY_LOG, VERIFY_PIDFILE = "verify.log", "verify.pid"  # in the run's folder, beside verify/
_POLL_S = 0.1
_TAIL_BYTES = 64 * 1024
_NOT_FOUND = 127  # the shell's code for a command that does not exist


@dataclass(frozen=True)
class VerifyResult:
    """One quality gate run on a candidate merge; ``exit_code`` is negative when a signal (or
    the timeout) killed it, 127 when it could not start."""

    command: str
    exit_code: int
    duration_s: float
    output_tail: str
    timed_out: bool = False
    cancelled: bool = False  # stopped because the run was interrupted

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.cancelled

    def to_json(self) -> dict[str, Any]:
        return {"command": self.command, "exit_code": self.exit_code, "timed_out": self.timed_out,
                "cancelled": self.cancelled, "duration_s": round(self.duration_s, 3),
                "output_tail": self.output_tail}


@dataclass(frozen=True)
class MergeOutcome:
    """``state``: merged | no-changes | conflict | verify-failed | ref-moved | cancelled (a gate
    was stopped because the run was interrupted). ``commit`` is the integration branch's new
    head when merged (its unchanged head for no-changes)."""

    state: str
    commit: str | None
    conflicts: tuple[str, ...] = ()
    verify: tuple[VerifyResult, ...] = ()
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.state in (MERGED, NO_CHANGES)

    def __str__(self) -> str:
        return self.message or self.state


class MergeQueue:
    """Merges tasks into `integration_branch` one at a time (thread-safe; the branch itself is
    moved under :meth:`Git.lock`). `verify` are the plan's gates; a task's own follow them.
    Setting `cancel` stops a running gate (TERM, `grace_s`, KILL): Ctrl-C need not wait for a
    test suite to finish."""

    def __init__(self, git: Git, run_id: str, integration_branch: str, *,
                 verify: Sequence[str] = (), verify_timeout: float = DEFAULT_VERIFY_TIMEOUT,
                 env: Mapping[str, str] | None = None, cancel: threading.Event | None = None,
                 grace_s: float = DEFAULTS.grace) -> None:
        self.git, self.run_id, self.branch = git, naming.check_run_id(run_id), integration_branch
        self.ref = f"refs/heads/{integration_branch}"
        self.verify, self.verify_timeout = tuple(verify), verify_timeout
        for command in self.verify:  # a plan whose gates cannot be read fails before any task
            _argv(command)
        self.env = process.clean_env() if env is None else dict(env)
        self.scratch = naming.verify_dir(git.common_dir(), run_id)
        self.cancel, self.grace_s = cancel or threading.Event(), grace_s
        self._lock = threading.Lock()
        # Where this queue last left the branch, and the candidate it is writing: any other head
        # was put there by someone else (a worker), and :meth:`put_back` undoes it.
        self.head: str | None = git.rev_parse(self.ref)
        self._writing: str | None = None
        self.written: set[str | None] = {self.head}  # every head this queue has set
        self.undone: list[str] = []  # foreign heads merge() found and put back

    def put_back(self) -> str | None:
        """If something other than this queue moved (or deleted) the integration branch, put it
        back where the queue left it; returns the foreign commit ("" for a deleted branch), None
        when the branch is where it should be."""
        if self.head is None:
            return None
        now = self.git.rev_parse(self.ref)
        if now in (self.head, self._writing):
            return None
        try:
            self.git.update_ref(self.ref, self.head, now or "",
                                message="shoal: undo a change to the integration branch")
        except RefChanged:
            return None  # moved again meanwhile: the queue itself, with its next merge
        return now or ""

    def merge(self, task: Task, head: str, *, changes_expected: bool = True) -> MergeOutcome:
        """Merge `head` (the task's branch head) into the integration branch. With
        `changes_expected`, a task that adds nothing is said to be surprising in the message
        (its state is no-changes either way)."""
        with self._lock:
            self.git.require_version()
            foreign = self.put_back()  # never merge on top of a commit a worker put there
            if foreign is not None:
                self.undone.append(foreign)
            old = self.git.resolve_commit(self.ref, what="integration branch")
            theirs = self.git.resolve_commit(head, what=f"head of task {task.id}")
            result = self.git.merge_tree(old, theirs)
            if not result.clean:
                shown = ", ".join(result.conflicts[:10]) or "(no single file)"
                return MergeOutcome(CONFLICT, None, tuple(result.conflicts), message=(
                    f"task {task.id} conflicts with {self.branch} in {shown}; the integration "
                    "branch is unchanged and the work stays on the task's branch"))
            changed = self.git.changed_paths(old, result.tree)
            if not changed:
                why = ("its branch adds nothing to " + self.branch +
                       (" although the worker reported success" if changes_expected else ""))
                return MergeOutcome(NO_CHANGES, old, message=f"task {task.id}: {why}")
            candidate = self.git.commit_tree(result.tree, [old, theirs],
                                             naming.merge_message(task, self.run_id))
            commands = (*self.verify, *task.verify)
            gates = self._verify(task, candidate, commands) if commands else ()
            if gates and gates[-1].cancelled:
                return MergeOutcome(CANCELLED, None, verify=gates, message=(
                    f"the run was interrupted while verifying task {task.id}; {self.branch} is "
                    "unchanged"))
            if gates and not gates[-1].ok:
                failed = gates[-1]
                what = "timed out" if failed.timed_out else f"exited with {failed.exit_code}"
                return MergeOutcome(VERIFY_FAILED, None, verify=gates, message=(
                    f"verify command `{failed.command}` {what} on the merge of task {task.id}; "
                    f"{self.branch} is unchanged"))
            try:
                self._writing = candidate
                with self.git.lock():
                    self.git.update_ref(self.ref, candidate, old, message=f"shoal: merge {task.id}")
                self.written.add(candidate)
                self.head = candidate
            except RefChanged as exc:
                return MergeOutcome(REF_MOVED, None, verify=gates, message=(
                    f"{self.branch} moved while task {task.id} was being merged ({exc.message}); "
                    "only shoal's merge queue may move it, so another program or a person did. "
                    "Nothing was merged."))
            finally:
                self._writing = None
            return MergeOutcome(MERGED, candidate, verify=gates, message=(
                f"merged task {task.id} into {self.branch} ({len(changed)} paths)"))

    # -- quality gates on the candidate ---------------------------------------------------------
    def _verify(self, task: Task, candidate: str, commands: Sequence[str]) -> tuple[VerifyResult, ...]:
        """Run the gates in order in the scratch worktree at `candidate`; stop at the first
        that fails."""
        self._checkout(candidate)
        env = {**self.env, "SHOAL_RUN_ID": self.run_id, "SHOAL_TASK_ID": str(task.id),
               "SHOAL_WORKDIR": str(self.scratch)}
        results: list[VerifyResult] = []
        for command in commands:
            results.append(self._gate(command, env))
            if not results[-1].ok:
                break
        return tuple(results)

    def _gate(self, command: str, env: Mapping[str, str]) -> VerifyResult:
        """One gate in its own process group, its output in ``verify.log`` (the last gate's),
        its pid in ``verify.pid`` while it runs (so that a resume after ``kill -9`` of the
        orchestrator can stop it: see :func:`.orphans.stop_orphans`)."""
        start = time.monotonic()
        log = self.scratch.parent / VERIFY_LOG
        try:
            argv = _argv(command)
            log.unlink(missing_ok=True)
            child = process.spawn(argv, cwd=self.scratch, env=env, log_path=log)
        except ShoalError as exc:  # unreadable command, missing program
            return VerifyResult(command, _NOT_FOUND, time.monotonic() - start, exc.message)
        pidfile = self.scratch.parent / VERIFY_PIDFILE
        pidfile.write_text(json.dumps({"pid": child.pid, "run_id": self.run_id}))
        timed_out = cancelled = False
        with child:
            while child.wait(_POLL_S) is None:
                if self.cancel.is_set():
                    cancelled = True
                elif time.monotonic() - start >= self.verify_timeout:
                    timed_out = True
                else:
                    continue
                break
            code = child.stop(self.grace_s)
        pidfile.unlink(missing_ok=True)
        tail = output_tail(_last_bytes(log, _TAIL_BYTES))
        if timed_out:
            tail = f"{tail}\n(killed after {self.verify_timeout:g}s)".lstrip()
        return VerifyResult(command, code, time.monotonic() - start, tail, timed_out, cancelled)

    def _checkout(self, candidate: str) -> None:
        """The scratch worktree, made on first use, at `candidate` with nothing else in it."""
        scratch = Git(self.scratch, env=self.git.env)
        try:
            if (self.scratch / ".git").is_file() and scratch.common_dir() == self.git.common_dir():
                scratch.reset_hard(candidate)  # detached: moves HEAD to the candidate
                scratch.clean(ignored=True)
                return
        except (NotARepository, process.CommandFailed):
            pass  # broken: make it again
        with self.git.lock():
            clear_worktree(self.git, self.scratch)
            self.scratch.parent.mkdir(parents=True, exist_ok=True)
            self.git.worktree_add(self.scratch, candidate, None)


def _last_bytes(path: Path, size: int) -> bytes:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - size))
            return f.read()
    except OSError:
        return b""


def _argv(command: str) -> list[str]:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ShoalError(f"verify command `{command}` cannot be read: {exc}",
                         hint="verify commands are argument lists (no pipes or `&&`)") from None
    if not argv:
        raise ShoalError("a verify command is empty", hint="remove it from `verify`")
    return argv


def merged_tasks(git: Git, run_id: str, integration_branch: str) -> dict[str, str]:
    """Task id -> merge commit for every ``Shoal-Merge: <run_id>/<task>`` trailer on the
    integration branch's first-parent history (the first merge of a task when there are more).
    Empty when the branch does not exist."""
    if git.rev_parse(f"refs/heads/{integration_branch}") is None:
        return {}
    prefix = f"{run_id}/"
    found: dict[str, str] = {}
    for commit, values in reversed(git.trailers(f"refs/heads/{integration_branch}",
                                                naming.MERGE_TRAILER)):
        for value in values:
            if value.startswith(prefix):
                found.setdefault(value[len(prefix):], commit)
    return found


# -- landing -----------------------------------------------------------------------------------
class LandRefused(ShoalError):
    """``shoal merge`` will not land the run as asked; nothing was changed."""

    exit_code = ExitCode.PROBLEMS


class Landed(str):
    """What :func:`land` returns: the commit `branch` is at now (a ``str``), and whether it held
    the integration branch already, so that nothing was done (a second `shoal merge`)."""

    branch: str
    already: bool

    def __new__(cls, commit: str, *, branch: str, already: bool = False) -> Landed:
        self = super().__new__(cls, commit)
        self.branch = branch
        self.already = already
        return self


def land(git: Git, run_id: str, integration_branch: str, into: str | None = None) -> Landed:
    """Bring branch `into` (default: the branch checked out in the user's tree) up to the
    integration branch; returns its new commit. A new branch is created at the integration head.
    A branch checked out somewhere is only fast-forwarded (``git merge --ff-only`` in that
    checkout) and only when no tracked file there has uncommitted changes; a branch checked out
    nowhere is fast-forwarded, or merged without any working tree. When `into` holds the
    integration branch already, nothing changes and the result says so (``already``)."""
    integ = git.resolve_commit(f"refs/heads/{integration_branch}", what="integration branch")
    if into is None:
        into = git.current_branch()
        if into is None:
            raise LandRefused(f"HEAD is detached in {git.toplevel()}, so there is no branch to "
                              "land on", hint="pass --into BRANCH (a new branch is created)")
    into = into.removeprefix("refs/heads/")
    if into == integration_branch or into.startswith((naming.TASK_PREFIX, naming.INTEGRATION_PREFIX)):
        raise LandRefused(f"will not land on shoal's own branch {into}",
                          hint="name one of your branches with --into")
    if not git.branch_exists(into):
        git.create_branch(into, integ)
        return Landed(integ, branch=into)
    current = git.resolve_commit(f"refs/heads/{into}", what="branch")
    if current == integ or git.is_ancestor(integ, current):
        return Landed(current, branch=into, already=True)
    ff = git.is_ancestor(current, integ)
    where = next((w.path for w in git.worktree_list() if w.branch == into), None)
    if where is None:  # checked out nowhere: no working tree to protect
        if ff:
            git.update_ref(f"refs/heads/{into}", integ, current, message=f"shoal merge {run_id}")
            return Landed(integ, branch=into)
        try:
            return Landed(git.merge_commit(into, integ, f"merge: land shoal run {run_id}\n\n"
                                                        f"{naming.TASK_TRAILER}: {run_id}/*\n"),
                          branch=into)
        except MergeConflict as exc:
            raise LandRefused(exc.message, hint=f"rebase {into} onto {integration_branch}, or "
                                                "land on a new branch with --into") from None
    if not ff:
        raise LandRefused(f"{into} has commits that {integration_branch} lacks, and it is checked "
                          f"out in {where}, so shoal will not merge into it",
                          hint=f"rebase: `git rebase {integration_branch}`, merge it yourself "
                               f"(`git merge {integration_branch}`), or land on a new branch "
                               "with --into")
    tree = Git(where, env=git.env)
    dirty = [e.path for e in tree.status() if e.kind not in ("untracked", "ignored")]
    if dirty:
        shown = ", ".join(dirty[:10]) + (" ..." if len(dirty) > 10 else "")
        raise LandRefused(f"{where} has uncommitted changes ({shown}); landing would change "
                          "that checkout", hint="commit or stash them (`git stash`), then run "
                                                "`shoal merge` again, or land elsewhere with --into")
    try:
        tree.fast_forward(integ)
    except process.CommandFailed as exc:  # e.g. an untracked file would be overwritten
        raise LandRefused(f"git refused to fast-forward {into} in {where}:\n{exc.stderr_tail}",
                          hint="move the files it names out of the way, then run `shoal merge` "
                               "again") from None
    return Landed(tree.resolve_commit("HEAD"), branch=into)
