"""How a run stands or ended, read from the store: what `shoal status`, `shoal merge` and
`shoal cleanup` need, kept apart from the runner so that they start without importing the plan
reader (pydantic) and the supervisor."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import ShoalError
from ..git import Git
from ..store import RunLock, RunRecord, RunState, Store, TaskRecord, default_db_path, status_json
from . import naming


class RunNotFound(ShoalError):
    pass


@dataclass(frozen=True)
class RunResult:
    """How a run ended. ``to_json()`` is what `shoal status --format json` prints."""

    run: RunRecord
    tasks: tuple[TaskRecord, ...]
    run_dir: Path
    # the database says ``running`` but no process holds the run lock (killed): ``run`` then
    # says ``interrupted``, as `shoal resume` will treat it; the database is left as it is
    orchestrator_gone: bool = False

    @property
    def run_id(self) -> str:
        return self.run.id

    @property
    def state(self) -> RunState:
        return RunState(self.run.state)

    @property
    def ok(self) -> bool:
        return self.state is RunState.SUCCEEDED

    @property
    def integration_branch(self) -> str:
        return self.run.integration_branch or naming.integration_branch(self.run.id)

    def task(self, task_id: str) -> TaskRecord:
        for t in self.tasks:
            if t.task_id == task_id:
                return t
        raise KeyError(task_id)

    def to_json(self) -> dict[str, Any]:
        data = status_json(self.run, self.tasks)
        data["run"]["run_dir"] = str(self.run_dir)
        if self.orchestrator_gone:
            data["run"]["orchestrator_gone"] = True
            data["run"]["hint"] = resume_hint(self.run)
        return data


def resume_hint(run: RunRecord) -> str:
    return f"its orchestrator is gone (killed?); `shoal resume {run.id}` finishes it"


def orchestrator_gone(common_dir: Path, run_id: str, state_now: Callable[[], RunState]) -> bool:
    """Whether run `run_id` is ``running`` in the database but no live process holds the run
    lock (its orchestrator was killed). `state_now` reads the run's state from the database;
    it is read after probing the lock, as the run may end between the two."""
    holder = RunLock.holder(common_dir)
    if holder is not None and holder.run_id in (None, run_id):
        return False
    return state_now() is RunState.RUNNING


def repository(repo: str | os.PathLike[str] | None) -> Git:
    git = Git(Path(repo) if repo else Path.cwd())
    git.toplevel()  # raises NotARepository with a hint
    git.require_version()
    return git


def open_run(git: Git, store: Store, run_id: str | None) -> RunRecord:
    record = store.get_run(run_id) if run_id else store.latest_run()
    if record is None:
        raise RunNotFound("this repository has no shoal runs yet", hint="start one with `shoal run PLAN`")
    return record


def load_result(run_id: str | None = None, *, repo: str | os.PathLike[str] | None = None) -> RunResult:
    """The current state of a run (the latest by default), read without taking any lock.

    A run the database holds as ``running`` whose orchestrator is gone comes back
    ``interrupted`` (with ``orchestrator_gone``); the database is not changed."""
    git = repository(repo)
    path = default_db_path(git.common_dir())
    if not path.exists():
        raise RunNotFound("this repository has no shoal runs yet", hint="start one with `shoal run PLAN`")
    store = Store.open(path, create=False)
    try:
        record = open_run(git, store, run_id)
        tasks = tuple(store.tasks(record.id))
        gone = RunState(record.state) is RunState.RUNNING and orchestrator_gone(
            git.common_dir(), record.id, lambda: RunState(store.get_run(record.id).state))
        if gone:
            record = replace(record, state=RunState.INTERRUPTED)
        return RunResult(record, tasks, naming.run_dir(git.common_dir(), record.id), gone)
    finally:
        store.close()
