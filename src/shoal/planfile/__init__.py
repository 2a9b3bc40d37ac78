"""Plan loaders: the only code in shoal that parses plan files.

Formats: the canonical ``plan.yaml``/``plan.json``/``plan.toml``; seed 001's
``tasks.json`` (+ ``context-summary.json``); seed 002's plan folder; seed 003's
``BOUNDARIES.json`` (merged into any plan next to it, or alone); seed 004's
``[R:TIER]`` title markers. See docs/plan-schema.md.

``read_plan`` raises only when the input cannot be read at all; every other
mistake becomes a ``Problem`` so that `shoal check` reports them all at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from shoal.errors import PlanInvalidError
from shoal.model import Plan
from shoal.planfile.boundaries import (
    BOUNDARIES,
    boundaries_next_to,
    load_boundaries,
    merge_boundaries,
)
from shoal.planfile.canonical import load_canonical
from shoal.planfile.finder import TASKS_JSON, find_plan
from shoal.planfile.folder import SETTINGS_NAMES, is_plan_folder, load_folder
from shoal.planfile.tasksjson import load_tasks_json, write_execution_strategy
from shoal.problem import Problem, Severity

__all__ = [
    "LoadedPlan",
    "find_plan",
    "load_plan",
    "plan_json_schema",
    "read_plan",
    "render_schema_markdown",
    "write_execution_strategy",
]


@dataclass(frozen=True)
class LoadedPlan:
    """A plan as read, with every problem found while reading it."""

    plan: Plan
    problems: tuple[Problem, ...]


def read_plan(path: str | os.PathLike[str]) -> LoadedPlan:
    """Read a plan file or folder; raises ``PlanReadError`` only if it cannot be read at all."""
    source = str(path)
    target = find_plan(path)
    name = target.name.lower()
    if target.is_dir():
        plan, problems = load_folder(target, source)
        folder = target
    elif name == BOUNDARIES.lower():
        plan, problems = load_boundaries(target, source)
        return LoadedPlan(plan, tuple(problems.items))
    elif name == TASKS_JSON:
        plan, problems = load_tasks_json(target, source)
        folder = target.parent
    elif name in SETTINGS_NAMES and is_plan_folder(target.parent):
        # the settings file of a plan folder: read the whole folder
        plan, problems = load_folder(target.parent, source)
        folder = target.parent
    else:
        plan, problems = load_canonical(target, source)
        folder = target.parent
    extra = boundaries_next_to(folder)
    if extra is not None:
        plan = merge_boundaries(plan, extra, problems)
    return LoadedPlan(plan, tuple(problems.items))


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of the canonical format, from the pydantic models."""
    # imported late so that `python -m shoal.planfile.schemadoc` runs without a warning
    from shoal.planfile import schemadoc

    return schemadoc.plan_json_schema()


def render_schema_markdown() -> str:
    """The Markdown reference of the canonical format (docs/plan-schema.md)."""
    from shoal.planfile import schemadoc

    return schemadoc.render_schema_markdown()


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read a plan; raise ``PlanInvalidError`` (listing every error) if it has errors."""
    loaded = read_plan(path)
    errors = tuple(p for p in loaded.problems if p.severity is Severity.ERROR)
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise PlanInvalidError(
            f"the plan has {len(errors)} error(s): {first.message}{more}",
            loaded.problems,
            file=first.file,
            line=first.line,
            hint=first.hint,
        )
    return loaded.plan
