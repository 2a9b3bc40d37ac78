"""The fixed facts of a run: what the runner hands the supervisor."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..git import Git
from ..model import Plan, TaskId
from ..scheduler import PlanGraph
from ..store import Store
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
