"""How a run stands or ended, read from the store: what `shoal status`, `shoal merge` and
`shoal cleanup` need, kept apart from the runner so that they start without importing the plan
reader (pydantic) and the supervisor."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ShoalError
from ..git import Git
from ..store import RunRecord, RunState, Store, TaskRecord, default_db_path, status_json
from . import naming


class RunNotFound(ShoalError):
    pass


@dataclass(frozen=True)
class RunResult:
    """How a run ended. ``to_json()`` is what `shoal status --format json` prints."""

    run: RunRecord
    tasks: tuple[TaskRecord, ...]
    run_dir: Path

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
        return data


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
    """The current state of a run (the latest by default), read without taking any lock."""
    git = repository(repo)
    path = default_db_path(git.common_dir())
    if not path.exists():
        raise RunNotFound("this repository has no shoal runs yet", hint="start one with `shoal run PLAN`")
    store = Store.open(path, create=False)
    try:
        record = open_run(git, store, run_id)
        return RunResult(record, tuple(store.tasks(record.id)), naming.run_dir(git.common_dir(), record.id))
    finally:
        store.close()
