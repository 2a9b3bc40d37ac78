"""The core plan model: frozen dataclasses and enums, no I/O.

Loaders (``shoal.planfile``) are the only code that builds these from files;
everything else reads them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from enum import Enum
from collections.abc import Mapping
from typing import Any, NewType

TaskId = NewType("TaskId", str)

DEFAULT_PHASE = "main"
DEFAULT_AGENT = "script"
DEFAULT_TIMEOUT_S = 30 * 60.0
DEFAULT_RETRIES = 1


class RiskTier(str, Enum):
    """Seed 004's tiers. RED never runs beside RED; CRITICAL runs alone."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    CRITICAL = "critical"

    @classmethod
    def parse(cls, text: str) -> RiskTier:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValueError(
                f"unknown risk tier {text!r}; use one of green, yellow, red, critical"
            ) from None


class Isolation(str, Enum):
    WORKTREE = "worktree"
    DIRECTORY = "directory"
    BRANCH = "branch"
    NONE = "none"


class Strategy(str, Enum):
    DYNAMIC = "dynamic"  # list scheduling: start a task as soon as it may start
    WAVES = "waves"  # every wave finishes before the next starts


class ExecutionMode(str, Enum):
    """Seed 001's execution modes, derived from the plan."""

    SEQUENTIAL = "sequential"
    PARALLEL_WAVES = "parallel_waves"
    FULLY_PARALLEL = "fully_parallel"


class TaskState(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    BLOCKED = "blocked"  # gave up: timeouts or retries spent
    SKIPPED = "skipped"  # something it depends on did not succeed
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self is not TaskState.PENDING and self is not TaskState.RUNNING


class PlanFormat(str, Enum):
    CANONICAL = "canonical"  # plan.yaml / plan.json / plan.toml
    TASKS_JSON = "tasks-json"  # seed 001: tasks.json + context-summary.json
    PLAN_FOLDER = "plan-folder"  # seed 002: tasks/*.md, context.md, prompts/, contracts/
    BOUNDARIES = "boundaries"  # seed 003: a lone BOUNDARIES.json, one task per key


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: str | int | float) -> float:
    """Seconds from ``90s``, ``15m``, ``1h``, ``1h30m`` or a bare number of seconds.

    Raises ``ValueError`` with a message that says which forms are accepted.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 90s, 15m or 1h, got {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"a duration cannot be negative, got {value!r}")
        return float(value)
    text = str(value).strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    parts = _DURATION_PART.findall(text)
    if not parts or _DURATION_PART.sub("", text).strip():
        raise ValueError(f"expected a duration such as 90s, 15m, 1h or 1h30m, got {value!r}")
    return sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in parts)


def format_duration(seconds: float) -> str:
    """Short human form: ``45s``, ``15m``, ``1h30m``."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s" if secs else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"


def format_usd(dollars: float) -> str:
    """A cost for people to read: ``$0.0572`` under a dollar (four decimals, so agents' cents
    and fractions of them show, never float noise such as 0.057150000000000006), ``$12.35``
    from a dollar up. JSON output keeps the full number."""
    if dollars >= 1:
        return f"${dollars:,.2f}"
    if 0 < dollars < 0.00005:
        return "<$0.0001"
    return f"${dollars:.4f}"


@dataclass(frozen=True)
class Location:
    """Where something was written: a file, and a line when the format has lines."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class Phase:
    name: str
    parallel: bool = True
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Context:
    """Shared project context every worker prompt carries (seed 001's context summary)."""

    product_pitch: str = ""
    tech_stack: tuple[str, ...] = ()
    branch: str | None = None
    text: str = ""  # free text, e.g. seed 002's context.md
    contracts: tuple[str, ...] = ()  # seed 002's contracts/ files, repo- or plan-relative


@dataclass(frozen=True)
class Defaults:
    """Settings a task inherits unless it sets its own."""

    agent: str = DEFAULT_AGENT
    timeout: float = DEFAULT_TIMEOUT_S  # seconds
    retries: int = DEFAULT_RETRIES
    max_parallel: int | None = None  # None: as many as the scheduler may run
    isolation: Isolation = Isolation.WORKTREE
    verify: tuple[str, ...] = ()  # quality gates on the merged result
    shared_readonly: tuple[str, ...] = ()  # read-only while a parallel phase runs
    idle_timeout: float | None = None  # seconds without output before a worker is stopped
    budget_usd: float | None = None  # start nothing new once the run's cost reaches this
    workspace_root: str | None = None  # where workspaces go; None: <repo>.shoal beside the repo
    continue_sessions: bool = True  # resume: an interrupted agent session goes on where it was


@dataclass(frozen=True)
class Task:
    id: TaskId
    title: str = ""
    prompt: str = ""
    prompt_file: str | None = None
    owns: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()
    forbids: tuple[str, ...] = ()
    after: tuple[TaskId, ...] = ()
    risk: RiskTier = RiskTier.GREEN
    phase: str = DEFAULT_PHASE
    estimate: float | None = None  # seconds
    agent: str | None = None
    timeout: float | None = None  # seconds
    retries: int | None = None
    verify: tuple[str, ...] = ()
    run: tuple[str, ...] = ()  # the script agent's commands
    spec_sections: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()  # seed 001 codebase_refs.functions
    patterns: tuple[str, ...] = ()  # seed 001 standards.patterns
    parallel_safe: bool | None = None  # seed 003 BOUNDARIES.json
    location: Location | None = field(default=None, compare=False)
    # line of each field as written, for messages that point at the field
    field_lines: tuple[tuple[str, int], ...] = field(default=(), compare=False)

    def line_of(self, name: str) -> int | None:
        for key, line in self.field_lines:
            if key == name:
                return line
        return self.location.line if self.location else None


@dataclass(frozen=True)
class Plan:
    tasks: tuple[Task, ...]
    name: str = "plan"
    version: int = 1
    phases: tuple[Phase, ...] = (Phase(DEFAULT_PHASE),)
    context: Context = Context()
    defaults: Defaults = Defaults()
    setup: tuple[str, ...] = ()  # commands run in each new workspace
    copy: tuple[str, ...] = ()  # untracked files brought into each workspace
    prompt_template: str | None = None  # path of a Jinja2 template overriding the default
    # settings per agent name, e.g. {"command": {"command": ["my-agent", "{prompt_file}"]}}
    agents: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False)
    format: PlanFormat = PlanFormat.CANONICAL
    source: str | None = None  # the plan file or folder it was read from
    root: str | None = None  # folder that relative prompt_file/template paths are taken from

    def task(self, task_id: str) -> Task:
        return self._by_id[task_id]

    @cached_property
    def _by_id(self) -> Mapping[str, Task]:
        # the supervisor and status files look tasks up per event: keep it O(1)
        return {t.id: t for t in self.tasks}

    @property
    def ids(self) -> tuple[TaskId, ...]:
        return tuple(t.id for t in self.tasks)

    def phase(self, name: str) -> Phase:
        for p in self.phases:
            if p.name == name:
                return p
        raise KeyError(name)

    def phase_index(self, name: str) -> int:
        for i, p in enumerate(self.phases):
            if p.name == name:
                return i
        raise KeyError(name)

    def effective_max_parallel(self, override: int | None = None) -> int:
        """Slots to use: the override, else the plan's setting, else one per task."""
        value = override or self.defaults.max_parallel or max(1, len(self.tasks))
        return max(1, value)
