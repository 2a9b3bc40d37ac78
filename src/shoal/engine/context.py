"""The fixed facts of a run: what the runner hands the supervisor."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..git import Git
from ..model import Plan, TaskId
from ..scheduler import PlanGraph
from ..store import Store
from .continuation import CutOff
from .executor import Executor, LocalExecutor
from .options import RunOptions


@dataclass
class RunContext:
    """The fixed facts of a run the supervisor works on."""

    plan: Plan
    options: RunOptions
    git: Git
    store: Store
    run_id: str
    integration_branch: str
    conflicts: Mapping[TaskId, frozenset[TaskId]]
    prompts: Callable[[str], str]  # task id -> rendered worker prompt
    run_dir: Path
    executor_factory: Callable[[int], Executor] = LocalExecutor
    graph: PlanGraph | None = None  # built from plan and conflicts when not given
    resumed: Resumed = field(default_factory=lambda: Resumed())


@dataclass(frozen=True)
class Resumed:
    """What a run picked up again starts with."""

    # --retry-failed: attempts up to these numbers do not count against a task's retries
    ignore_attempts_before: Mapping[str, int] = field(default_factory=dict)
    # resume: tasks whose worker had finished, its head committed, when their merge was cut off
    merge_first: Mapping[str, str] = field(default_factory=dict)
    # resume: tasks whose worker was cut off, whose agent sessions may go on
    cut_off: Mapping[str, CutOff] = field(default_factory=dict)
