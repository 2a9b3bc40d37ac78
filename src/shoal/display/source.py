"""Reading a run from outside its supervisor: the state database, the attempt logs and git.

:class:`RunReader` tails the event log (for `shoal watch`) and finds what no event carries
(:class:`~shoal.display.snapshot.TaskExtra`) for both boards. It only reads: git runs with
``--no-optional-locks`` (see :mod:`shoal.git`), so looking into a worker's worktree never takes
the index lock the worker may need.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..engine import naming
from ..engine.boundary import changed_sides, check_changes, is_marker
from ..errors import ShoalError
from ..git import Git
from ..model import Plan, TaskId, TaskState
from ..store import AttemptRecord, Event, RunRecord, Store, TaskRecord, default_db_path
from .snapshot import TaskExtra

TAIL_BYTES = 8192
LINE_MAX = 200
GIT_EVERY_S = 2.0  # how often git is asked about a running task
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def last_line(path: Path | str | None, limit: int = LINE_MAX) -> str:
    """The last non-blank line a worker wrote to its log, without terminal escapes ("" if none).

    A line redrawn with carriage returns (a progress bar) counts by its last state."""
    if not path:
        return ""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - TAIL_BYTES))
            data = f.read()
    except OSError:
        return ""
    text = _ESCAPES.sub("", data.decode("utf-8", "replace"))
    for line in reversed(text.split("\n")):
        drawn = [part for part in line.split("\r") if part.strip()]
        line = _CONTROL.sub("", drawn[-1] if drawn else "").strip()
        if line:
            return line if len(line) <= limit else line[: limit - 3] + "..."
    return ""


def _cost(attempts: list[AttemptRecord]) -> float | None:
    costs = [a.result.get("cost_usd") for a in attempts if a.result]
    known = [float(c) for c in costs if isinstance(c, (int, float)) and not isinstance(c, bool)]
    return sum(known) if known else None


class RunReader:
    """One run of one repository, read through a :class:`Store` opened by the caller."""

    def __init__(self, store: Store, run_id: str, *, common_dir: Path, plan: Plan | None = None,
                 clock: Callable[[], float] = time.monotonic, git_every_s: float = GIT_EVERY_S
                 ) -> None:
        self.store = store
        self.run_id = run_id
        self.common_dir = Path(common_dir)
        self.plan = plan
        self.clock = clock
        self.git_every_s = git_every_s
        self.seq = 0
        self._git = Git(self.common_dir)
        self._asked: dict[str, float] = {}  # task -> when git was last asked (running tasks)
        self._git_facts: dict[str, tuple[Any, ...]] = {}  # task -> (key, commits, paths, viols)

    def run(self) -> RunRecord:
        return self.store.get_run(self.run_id)

    def events(self) -> list[Event]:
        """Events written since the last call (all of them the first time)."""
        new = list(self.store.events(self.run_id, after_seq=self.seq))
        if new:
            self.seq = new[-1].seq
        return new

    def extras(self) -> dict[str, TaskExtra]:
        with self.store.snapshot():
            tasks = self.store.tasks(self.run_id)
            attempts = self.store.attempts(self.run_id)
        by_task: dict[str, list[AttemptRecord]] = {}
        for a in attempts:
            by_task.setdefault(a.task_id, []).append(a)
        out: dict[str, TaskExtra] = {}
        for task in tasks:
            mine = sorted(by_task.get(task.task_id, []), key=lambda a: a.number)
            if not mine:
                continue
            latest = mine[-1]
            commits, paths, violations = self._from_git(task, latest)
            out[task.task_id] = TaskExtra(
                last_line=last_line(latest.log_path), commits=commits, cost_usd=_cost(mine),
                changed_paths=paths, violations=violations)
        return out

    # -- git -------------------------------------------------------------------------------
    def _from_git(self, task: TaskRecord, latest: AttemptRecord
                  ) -> tuple[int | None, tuple[str, ...] | None, tuple[str, ...] | None]:
        running = TaskState(task.state) is TaskState.RUNNING and latest.ended_at is None
        key = (latest.number, task.head_commit, task.merged_commit, running)
        cached = self._git_facts.get(task.task_id)
        now = self.clock()
        fresh = cached is not None and cached[0] == key and (
            not running or now - self._asked.get(task.task_id, -1e9) < self.git_every_s)
        if fresh:
            assert cached is not None
            return cached[1], cached[2], cached[3]
        self._asked[task.task_id] = now
        commits = self._commits(task)
        paths: tuple[str, ...] | None = None
        violations: tuple[str, ...] | None = None
        if running:
            paths, violations = self._changes_so_far(task, latest.number)
        self._git_facts[task.task_id] = (key, commits, paths, violations)
        return commits, paths, violations

    def _commits(self, task: TaskRecord) -> int | None:
        """Commits on the task's branch since its base (the worker's and shoal's own)."""
        if not task.branch or not task.base_commit:
            return None
        try:
            if self._git.rev_parse(f"refs/heads/{task.branch}") is None:
                return None
            return self._git.log_count(task.base_commit, f"refs/heads/{task.branch}")
        except ShoalError:
            return None

    def _changes_so_far(self, task: TaskRecord, attempt: int
                        ) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
        """Paths a running worker has changed in its worktree so far, and which of them
        its task may not change (the same check as after the attempt)."""
        folder = Path(task.workspace) if task.workspace else None
        if folder is not None and folder != naming.worktree_dir(folder.parent, task.task_id, attempt):
            folder = None  # a tree shared with other tasks (isolation none, branch)
        if not task.base_commit or folder is None or not _worktree_complete(folder, task.branch):
            return None, None
        try:
            changes = Git(folder).changed_paths_worktree(task.base_commit)
        except ShoalError:
            return None, None
        copied = tuple(c.strip("/") for c in self.plan.copy) if self.plan is not None else ()
        changes = [c for c in changes if not any(_under(p, copied) for p in changed_sides(c))]
        paths = tuple(dict.fromkeys(p for c in changes for p in changed_sides(c)
                                    if not is_marker(p)))
        spec = _plan_task(self.plan, task.task_id)
        if spec is None or self.plan is None:
            return paths, None
        try:
            parallel = self.plan.phase(spec.phase).parallel
        except KeyError:
            parallel = True
        found = check_changes(changes, spec, shared_readonly=self.plan.defaults.shared_readonly,
                              parallel_phase=parallel)
        return paths, tuple(v.path for v in found)


def _worktree_complete(folder: Path, branch: str | None) -> bool:
    """Whether `folder` is a linked worktree that `git worktree add` has finished making, with
    its task branch checked out. While git makes one, the worktree is locked ("initializing")
    and has no index until every file is written; looking then would see each file of the
    repository as deleted or added, and report violations the run never had."""
    try:
        pointer = (folder / ".git").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):  # not there yet, or a folder (not a linked worktree)
        return False
    if not pointer.startswith("gitdir:"):
        return False
    gitdir = Path(pointer.removeprefix("gitdir:").strip())
    if not gitdir.is_absolute():
        gitdir = folder / gitdir
    if (gitdir / "locked").exists() or not (gitdir / "index").is_file():
        return False
    if branch is None:
        return True
    try:
        return Git(folder).current_branch() == branch
    except ShoalError:
        return False


def _under(path: str, folders: tuple[str, ...]) -> bool:
    return any(path == f or path.startswith(f + "/") for f in folders)


def _plan_task(plan: Plan | None, task_id: str) -> Any:
    if plan is None:
        return None
    try:
        return plan.task(TaskId(task_id))
    except KeyError:
        return None


def find_run_store(run_id: str, places: Iterable[Path | None]) -> tuple[Store, Path] | None:
    """The state database holding `run_id`, looked for in the repositories at `places`
    (the first that has it), opened for reading; with its git common dir. None if not found."""
    for place in places:
        if place is None:
            continue
        try:
            common = Git(Path(place)).common_dir()
        except ShoalError:
            continue
        path = default_db_path(common)
        if not path.exists():
            continue
        try:
            store = Store.open(path, create=False)
        except ShoalError:
            continue
        try:
            store.get_run(run_id)
        except ShoalError:
            store.close()
            continue
        return store, common
    return None
