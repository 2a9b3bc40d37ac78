"""What reaches the supervisor's inbox from the worker and merge threads, and what it tells
its observer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..store import Event
from .merge import MergeOutcome
from .worker import AttemptReport, AttemptSpec
from .workspace import Workspace

Observer = Callable[[list[Event]], None]  # the events of each pass, as they were stored


@dataclass(frozen=True)
class AttemptDone:
    spec: AttemptSpec
    report: AttemptReport | BaseException


@dataclass(frozen=True)
class MergeDone:
    task_id: str
    outcome: MergeOutcome | BaseException
    workspace: Workspace | None  # the attempt's, given back once the merge is done
