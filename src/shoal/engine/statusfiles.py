"""Seed 003's PARALLEL_STATUS.json and RESOURCE_LOCKS.json, and seed 001's tasks.json fields,
written atomically from the store for tools that read files."""

from __future__ import annotations

import time
from pathlib import Path

from ..git import Git
from ..model import Plan, PlanFormat, TaskState
from ..store import (
    RunRecord,
    Store,
    TaskRecord,
    atomic_write_json,
    parallel_status,
    resource_locks,
    update_tasks_json,
)

WRITE_EVERY_S = 1.0  # the files are for people and tools polling them; no need to write per event
MAX_SHARE = 0.05  # a write reads every task: at most this share of the supervisor's time


class StatusWriter:
    def __init__(self, run_dir: Path, plan: Plan, store: Store, run_id: str, *,
                 git: Git | None = None, integration_branch: str | None = None) -> None:
        self.run_dir, self.plan, self.store, self.run_id = run_dir, plan, store, run_id
        self.git, self.integration_branch = git, integration_branch
        # the first files a second in: a run shorter than that writes them once, at its end
        self._last = time.monotonic()
        self._every = WRITE_EVERY_S
        self.seen: tuple[RunRecord, list[TaskRecord]] | None = None  # what the last write showed

    @property
    def status_path(self) -> Path:
        return self.run_dir / "PARALLEL_STATUS.json"

    @property
    def locks_path(self) -> Path:
        return self.run_dir / "RESOURCE_LOCKS.json"

    def write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self._every:
            return
        self._last = now
        self._write()
        # With thousands of tasks a write takes a while: then write less often, so that the
        # files never cost the run more than MAX_SHARE of its time.
        self._every = max(WRITE_EVERY_S, (time.monotonic() - now) / MAX_SHARE)

    def _write(self) -> None:
        run = self.store.get_run(self.run_id)
        tasks = self.store.tasks(self.run_id)
        self.seen = run, tasks
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # Compact: indented JSON goes through json's pure-Python encoder, five times slower,
        # and these files are for tools (`jq .` shows them readable).
        atomic_write_json(self.status_path, parallel_status(run, tasks, self._phase(tasks), self.plan),
                          indent=None)
        atomic_write_json(self.locks_path, resource_locks(tasks, self.plan), indent=None)

    def _phase(self, tasks: list) -> str:  # type: ignore[type-arg]
        unfinished = {t.task_id for t in tasks if not TaskState(t.state).terminal}
        for phase in self.plan.phases:
            if any(t.phase == phase.name and t.id in unfinished for t in self.plan.tasks):
                return phase.name
        return "done"

    def finish(self) -> tuple[RunRecord, list[TaskRecord]]:
        """The final files; and the seed 001 result fields when the plan is a tasks.json. Returns
        the run and its tasks as written, once nothing changes them any more."""
        self.write(force=True)
        assert self.seen is not None
        if self.plan.format is PlanFormat.TASKS_JSON and self.plan.source:
            source = Path(self.plan.source)
            target = source / "tasks.json" if source.is_dir() else source
            if target.is_file():
                self._tasks_json(target, self.seen[1])
        return self.seen

    def _tasks_json(self, target: Path, tasks: list[TaskRecord]) -> None:
        """Seed 001's result fields. A tasks.json the repository tracks gets them on the
        integration branch (`shoal merge` lands them with the work) and in the run's folder:
        a run never touches the user's checkout. Any other is updated in place, atomically."""
        rel = self._tracked(target)
        if rel is None:
            update_tasks_json(target, tasks)
            return
        assert self.git is not None and self.integration_branch is not None
        copy = self.run_dir / "tasks.json"
        on_branch = self.git.read_file(f"refs/heads/{self.integration_branch}", rel)
        copy.write_bytes(on_branch if on_branch is not None else target.read_bytes())
        update_tasks_json(copy, tasks)
        self.git.commit_file(self.integration_branch, rel, copy.read_bytes(),
                             f"chore(shoal): seed 001 results of run {self.run_id} in {rel}\n")

    def _tracked(self, target: Path) -> str | None:
        """`target`'s path in the repository when the repository tracks it, else None."""
        if self.git is None or self.integration_branch is None:
            return None
        top = self.git.toplevel().resolve()
        real = target.resolve()
        if not real.is_relative_to(top) or not self.git.is_tracked(real):
            return None
        return real.relative_to(top).as_posix()
