"""The examples/ folder: every format of the same plan, and the broken ones."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from shoal.errors import PlanReadError
from shoal.model import PlanFormat
from shoal.planfile import find_plan, read_plan
from shoal.problem import Severity

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
VALID = {
    "canonical": PlanFormat.CANONICAL,
    "json": PlanFormat.CANONICAL,
    "toml": PlanFormat.CANONICAL,
    "tasks-json": PlanFormat.TASKS_JSON,
    "plan-folder": PlanFormat.PLAN_FOLDER,
    "boundaries": PlanFormat.CANONICAL,
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_examples_load_without_problems(name: str) -> None:
    loaded = read_plan(EXAMPLES / name)
    assert loaded.problems == ()
    assert loaded.plan.format is VALID[name]
    assert len(loaded.plan.tasks) == 6
    for task in loaded.plan.tasks:
        assert task.location is not None and task.location.line is not None
        assert task.prompt or task.prompt_file
        for path in (*task.owns, *task.reads, *task.forbids):
            assert not path.startswith("/") and ".." not in path


def summary(name: str) -> dict[str, tuple]:
    plan = read_plan(EXAMPLES / name).plan
    return {
        t.id: (t.after, t.risk, t.phase, t.estimate, t.run, t.verify)
        for t in plan.tasks
    }


@pytest.mark.parametrize(
    "name", ["json", "toml", "tasks-json", "plan-folder", "boundaries"]
)
def test_every_format_says_the_same(name: str) -> None:
    assert summary(name) == summary("canonical")


def test_canonical_json_and_toml_are_identical() -> None:
    plans = [read_plan(EXAMPLES / n).plan for n in ("canonical", "json", "toml")]
    for plan in plans[1:]:
        assert plan.tasks == plans[0].tasks
        assert (plan.phases, plan.defaults, plan.context) == (
            plans[0].phases,
            plans[0].defaults,
            plans[0].context,
        )


def owned_prefix(path: str) -> str:
    return path.split("*", 1)[0].rstrip("/")


def overlaps(a: str, b: str) -> bool:
    a, b = owned_prefix(a), owned_prefix(b)
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


@pytest.mark.parametrize("name", sorted(VALID))
def test_examples_do_not_overlap_within_a_parallel_phase(name: str) -> None:
    plan = read_plan(EXAMPLES / name).plan
    for phase in plan.phases:
        tasks = [t for t in plan.tasks if t.phase == phase.name]
        if not phase.parallel:
            continue
        for i, first in enumerate(tasks):
            for second in tasks[i + 1 :]:
                assert not any(
                    overlaps(a, b) for a in first.owns for b in second.owns
                ), (first.id, second.id)


def test_broken_examples() -> None:
    broken = EXAMPLES / "broken"
    with pytest.raises(PlanReadError) as info:
        read_plan(broken / "malformed.yaml")
    assert info.value.line == 8
    unknown = read_plan(broken / "unknown-field.yaml")
    assert [p.field for p in unknown.problems] == ["ownz"]
    # the rest are the analysis' to find: the loader sees well-formed plans
    for name in ("cycle.yaml", "overlap.yaml", "unknown-dep.yaml"):
        assert read_plan(broken / name).problems == ()


def test_find_plan_order(tmp_path: Path) -> None:
    assert find_plan(EXAMPLES / "canonical") == EXAMPLES / "canonical" / "plan.yaml"
    assert find_plan(EXAMPLES / "tasks-json") == EXAMPLES / "tasks-json" / "tasks.json"
    folder = EXAMPLES / "plan-folder" / "parallel" / "TS-0042-inventory"
    assert find_plan(EXAMPLES / "plan-folder") == folder
    assert find_plan(EXAMPLES / "plan-folder" / "parallel") == folder
    assert find_plan(folder) == folder  # its plan.yaml only holds settings
    file = EXAMPLES / "json" / "plan.json"
    assert find_plan(file) == file and find_plan(str(file)) == file
    for name in (
        "BOUNDARIES.json",
        "tasks.json",
        "plan.toml",
        "plan.json",
        "plan.yml",
        "plan.yaml",
    ):
        (tmp_path / name).write_text("{}", encoding="utf-8")
        assert find_plan(tmp_path) == tmp_path / name


def test_huge_plan_loads_in_reasonable_time(tmp_path: Path) -> None:
    rows = ["version: 1", "tasks:"]
    for i in range(10_000):
        rows += [
            f"  - id: t{i}",
            f"    title: Task {i} [R:GREEN]",
            f"    owns: [src/m{i}/**, tests/test_{i}.py, docs/{i}.md, a/{i}, b/{i}]",
            f"    after: [t{i - 1}]" if i else "    after: []",
            "    estimate: 5m",
        ]
    (tmp_path / "plan.yaml").write_text("\n".join(rows) + "\n", encoding="utf-8")
    start = time.perf_counter()
    loaded = read_plan(tmp_path)
    elapsed = time.perf_counter() - start
    assert len(loaded.plan.tasks) == 10_000 and loaded.problems == ()
    assert loaded.plan.tasks[-1].location.line == 5 * 9_999 + 3
    assert elapsed < 30, f"10,000 tasks took {elapsed:.1f}s"


def test_problems_are_errors_or_warnings_only() -> None:
    for path in sorted((EXAMPLES / "broken").glob("*.yaml")):
        try:
            loaded = read_plan(path)
        except PlanReadError:
            continue
        assert all(
            p.severity in (Severity.ERROR, Severity.WARNING) for p in loaded.problems
        )
