"""Fuzz `check`, `schedule` and the simulator with generated plans (issue 14, item 6).

Random phases (serial and parallel, declared or not), dependencies across phases in both
directions, unknown and self dependencies, cycles, duplicate ids, risk tiers and
overlapping owned paths: whatever the plan, no exception escapes: only problems. A plan
`check` passes is one `schedule` and the simulator can order.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shoal
from shoal.errors import PlanInvalidError
from shoal.model import Phase, Plan, RiskTier, Strategy, Task, TaskId
from shoal.scheduler import simulate, waves

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

IDS = ["a", "b", "c", "d", "e", "f", "g"]
PHASES = ["p1", "p2", "p3", "p4"]
PATHS = ["src/**", "src/a.py", "src/a/", "*.py", "docs/", "docs/*.md", "README.md", "b.txt",
         "tests/**/test_*.py", "src/*/x.py"]
TIERS = ["green", "yellow", "red", "critical"]


def _rarely(draw: st.DrawFn) -> bool:
    """True about one time in eight: for the mistakes, so most plans stay valid enough to
    reach the scheduler."""
    return draw(st.integers(0, 7)) == 0


@st.composite
def plan_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A canonical plan as YAML data; some of them broken on purpose."""
    phases = draw(st.lists(st.tuples(st.sampled_from(PHASES), st.booleans()), max_size=4,
                           unique_by=lambda p: p[0]))
    if phases and _rarely(draw):
        phases.append(phases[0])  # declared twice
    doc: dict[str, Any] = {"version": 1, "name": "fuzz"}
    if phases:
        doc["phases"] = [{"name": n, "parallel": p} for n, p in phases]
    if draw(st.booleans()):
        doc["max_parallel"] = draw(st.integers(1, 4))
    if _rarely(draw):
        doc["shared_readonly"] = draw(st.lists(st.sampled_from(PATHS), max_size=2))
    ids = draw(st.permutations(IDS))[:draw(st.integers(0, len(IDS)))]
    if ids and _rarely(draw):
        ids.append(draw(st.sampled_from(ids)))  # a duplicate id
    tasks = []
    for n, tid in enumerate(ids):
        task: dict[str, Any] = {"id": tid, "title": "t", "prompt": "do it"}
        task["owns"] = draw(st.lists(st.sampled_from(PATHS), max_size=3))
        if draw(st.booleans()):
            task["reads"] = draw(st.lists(st.sampled_from(PATHS), max_size=2))
        if _rarely(draw):
            task["forbids"] = draw(st.lists(st.sampled_from(PATHS), max_size=2))
        # dependencies in both directions across phases; self, cycles and unknown ids too
        known = [*ids, "nobody"] if _rarely(draw) else ids[:n]  # earlier tasks: no cycle
        task["after"] = draw(st.lists(st.sampled_from(known), max_size=2)) if known else []
        if phases and not _rarely(draw):
            task["phase"] = draw(st.sampled_from([n for n, _ in phases]))
        elif _rarely(draw) and _rarely(draw):
            task["phase"] = "undeclared"
        if draw(st.booleans()):
            task["risk"] = draw(st.sampled_from(TIERS))
        if draw(st.booleans()):
            task["estimate"] = draw(st.sampled_from(["30s", "5m", "1h"]))
        tasks.append(task)
    doc["tasks"] = tasks
    return doc


@st.composite
def plan_objects(draw: st.DrawFn) -> Plan:
    """A Plan built directly, as a library caller would: no loader to report or drop
    duplicate ids and undeclared phases."""
    phases = tuple(Phase(n, p) for n, p in draw(
        st.lists(st.tuples(st.sampled_from(PHASES), st.booleans()), min_size=1, max_size=4)))
    ids = IDS[:draw(st.integers(2, len(IDS)))]  # few ids: duplicates are common
    tasks = tuple(
        Task(
            id=TaskId(draw(st.sampled_from(ids))),
            owns=tuple(draw(st.lists(st.sampled_from(PATHS), max_size=3))),
            reads=tuple(draw(st.lists(st.sampled_from(PATHS), max_size=2))),
            after=tuple(TaskId(a) for a in draw(st.lists(st.sampled_from([*ids, *ids, "nobody"]),
                                                         max_size=2))),
            phase=draw(st.sampled_from([*PHASES, "undeclared"])),
            risk=draw(st.sampled_from(list(RiskTier))),
            estimate=draw(st.none() | st.floats(1, 3600)),
        )
        for _ in range(draw(st.integers(0, 7)))
    )
    return Plan(tasks=tasks, phases=phases)


def _through_everything(plan: Plan | Path, strict: bool, slots: int | None) -> None:
    strict_report = shoal.check(plan, strict=True)
    report = shoal.check(plan)  # what `schedule` checks
    assert set(report.errors) <= set(strict_report.errors)
    if strict:
        shoal.check(plan, strict=True, repo=Path.cwd())
    if not report.ok:
        with pytest.raises(PlanInvalidError):
            shoal.schedule(plan, max_parallel=slots)
        return
    assert report.schedulable
    for strategy in Strategy:
        sched = shoal.schedule(plan, strategy=strategy, max_parallel=slots)
        assert sorted(t for w in sched.waves for t in w.tasks) == sorted(set(report.plan.ids))
        conflicts = report.analysis.conflicts
        sim = simulate(report.plan, conflicts, sched.max_parallel, strategy,
                       waves=waves(report.plan, conflicts, sched.max_parallel)
                       if strategy is Strategy.WAVES else None)
        assert {s.task for s in sim.spans} == set(report.plan.ids)


@SETTINGS
@given(plan_documents(), st.booleans(), st.none() | st.integers(1, 3))
def test_generated_plan_files_give_problems_never_exceptions(doc, strict, slots):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plan.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        _through_everything(path, strict, slots)


@SETTINGS
@given(plan_objects(), st.booleans(), st.none() | st.integers(1, 3))
def test_generated_plan_objects_give_problems_never_exceptions(plan, strict, slots):
    _through_everything(plan, strict, slots)
