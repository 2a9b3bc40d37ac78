"""The seed layouts: tasks.json (001), plan folders (002), BOUNDARIES.json (003)."""

from __future__ import annotations

import json
import os
import stat
import textwrap
from pathlib import Path

import pytest

from shoal.analysis import analyse
from shoal.errors import PlanReadError
from shoal.model import PlanFormat, RiskTier
from shoal.planfile import find_plan, read_plan, write_execution_strategy
from shoal.problem import Code, Severity


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def write_json(folder: Path, name: str, data: object) -> Path:
    return write(folder, name, json.dumps(data, indent=2))


SEED_TASKS = {
    "spec": "TS-1",
    "tasks": [
        {
            "id": "1.1",
            "summary": "Create types [R:YELLOW]",
            "description": "Write the shared types module.",
            "relevant_files": ["common/types.py"],
            "parallelization": {"blocked_by": [], "can_parallelize": True},
            "spec_sections": ["2.1"],
            "codebase_refs": {"functions": ["make_id"], "classes": ["X"]},
            "standards": {"patterns": ["dataclasses"]},
            "estimated_minutes": 10,
            "duration_minutes": 12,
            "status": "pass",
            "completed_at": "2024-01-10T10:00:00Z",
            "blocker": None,
            "owner": "someone",
        },
        {
            "id": "1.2",
            "description": "Auth middleware",
            "relevant_files": "src/auth.py",
            "parallelization": {"blocked_by": ["1.1"]},
            "duration_minutes": 30,
            "estimate": "5m",
            "relevent_files": ["typo.py"],
        },
    ],
    "execution_strategy": {"mode": "sequential", "waves": []},
}


# --- seed 001 -------------------------------------------------------------


def test_tasks_json_with_context_summary(tmp_path: Path) -> None:
    write_json(tmp_path, "tasks.json", SEED_TASKS)
    write_json(
        tmp_path,
        "context-summary.json",
        {
            "product_pitch": "Stock",
            "tech_stack": ["python"],
            "branch_name": "feature/x",
            "extra": 1,
        },
    )
    loaded = read_plan(tmp_path)
    plan = loaded.plan
    assert plan.format is PlanFormat.TASKS_JSON and plan.source == str(tmp_path)
    assert plan.context.product_pitch == "Stock" and plan.context.branch == "feature/x"
    first, second = plan.tasks
    assert (
        first.id == "1.1"
        and first.title == "Create types [R:YELLOW]"
        and first.risk is RiskTier.YELLOW
    )
    assert first.prompt == "Write the shared types module." and first.owns == (
        "common/types.py",
    )
    assert first.spec_sections == ("2.1",) and first.functions == ("make_id",)
    assert first.patterns == ("dataclasses",) and first.estimate == 600.0
    assert (
        second.title == "Auth middleware"
        and second.prompt == ""
        and second.owns == ("src/auth.py",)
    )
    assert second.after == ("1.1",) and second.estimate == 300.0
    # the only problem: a warning for the clear typo; other unknown keys are left alone
    (problem,) = loaded.problems
    assert problem.severity is Severity.WARNING and problem.field == "relevent_files"
    assert problem.hint == "did you mean `relevant_files`?" and problem.line is not None


def test_tasks_json_duration_minutes_is_the_last_resort_estimate(
    tmp_path: Path,
) -> None:
    write_json(
        tmp_path,
        "tasks.json",
        {
            "tasks": [
                {"id": "a", "duration_minutes": 3},
                {"id": "b", "estimated_minutes": "x"},
            ]
        },
    )
    loaded = read_plan(tmp_path / "tasks.json")
    assert loaded.plan.task("a").estimate == 180.0
    (problem,) = loaded.problems
    assert problem.field == "estimate" and "`estimated_minutes`" in problem.message


def test_tasks_json_errors_that_matter(tmp_path: Path) -> None:
    write_json(
        tmp_path,
        "tasks.json",
        {"tasks": [{"id": "a", "relevant_files": [1]}, {"id": "a"}]},
    )
    codes = sorted(p.code.value for p in read_plan(tmp_path).problems)
    assert codes == ["duplicate-task", "schema"]


def test_tasks_json_without_context_summary_and_bad_summary(tmp_path: Path) -> None:
    write_json(tmp_path, "tasks.json", {"tasks": []})
    assert read_plan(tmp_path).plan.context.product_pitch == ""
    write(tmp_path, "context-summary.json", "{oops")
    with pytest.raises(PlanReadError) as info:
        read_plan(tmp_path)
    assert info.value.file.endswith("context-summary.json")


def test_write_execution_strategy_keeps_other_keys(tmp_path: Path) -> None:
    path = write_json(tmp_path, "tasks.json", SEED_TASKS)
    path.chmod(0o640)
    strategy = {
        "mode": "parallel_waves",
        "waves": [{"wave_id": 1, "tasks": ["1.1"], "rationale": "é"}],
    }
    write_execution_strategy(path, strategy)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert list(data) == ["spec", "tasks", "execution_strategy"]
    assert (
        data["tasks"] == SEED_TASKS["tasks"] and data["execution_strategy"] == strategy
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert "é" in path.read_text(encoding="utf-8") and path.read_text(
        encoding="utf-8"
    ).endswith("}\n")
    assert sorted(os.listdir(tmp_path)) == ["tasks.json"]  # no temporary file left


def test_write_execution_strategy_appends_when_absent(tmp_path: Path) -> None:
    path = write(tmp_path, "tasks.json", '{\n    "tasks": [],\n    "z": 1\n}\n')
    write_execution_strategy(path, {"mode": "sequential"})
    text = path.read_text(encoding="utf-8")
    assert list(json.loads(text)) == ["tasks", "z", "execution_strategy"]
    assert '\n    "tasks"' in text  # the file's own indentation is kept


def test_write_execution_strategy_refuses_bad_files(tmp_path: Path) -> None:
    with pytest.raises(PlanReadError):
        write_execution_strategy(tmp_path / "tasks.json", {})
    bad = write(tmp_path, "tasks.json", "[1]")
    with pytest.raises(PlanReadError):
        write_execution_strategy(bad, {})
    assert bad.read_text(encoding="utf-8") == "[1]"


# --- seed 002 -------------------------------------------------------------


def make_folder(root: Path) -> Path:
    folder = root / "parallel" / "TS-0042-inventory"
    write(folder, "plan.yaml", "phases: [{name: one, parallel: false}, two]\n")
    write(folder, "context.md", "# Context\nShared text.\n")
    write(folder, "contracts/api.md", "contract\n")
    write(folder, "contracts/sub/db.md", "contract\n")
    write(
        folder,
        "tasks/task-001-users.md",
        """
        ---
        phase: one
        owns: [apps/users/**]
        ---
        # Users

        Build the users app.
        """,
    )
    write(
        folder,
        "tasks/task-002-products.md",
        """
        ---
        id: products
        title: Products [R:RED]
        phase: two
        after: [task-001-users]
        ---
        """,
    )
    write(folder, "prompts/products.txt", "Build products.\n")
    write(folder, "tasks/task-003-plain.md", "No front matter: all prompt.\n")
    write(folder, "tasks/notes.txt", "not a task\n")
    return folder


def test_plan_folder(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    loaded = read_plan(tmp_path)
    plan = loaded.plan
    assert plan.format is PlanFormat.PLAN_FOLDER and plan.root == str(folder.resolve())
    assert plan.ids == ("task-001-users", "products", "task-003-plain")
    users, products, plain = plan.tasks
    assert (
        users.title == "Users"
        and users.prompt.startswith("# Users")
        and users.owns == ("apps/users/**",)
    )
    assert (
        users.location.file == str(folder / "tasks" / "task-001-users.md")
        and users.line_of("owns") == 3
    )
    assert products.prompt == "" and products.prompt_file == "prompts/products.txt"
    assert products.risk is RiskTier.RED and products.after == ("task-001-users",)
    assert (
        plain.prompt == "No front matter: all prompt."
        and plain.title == "task-003-plain"
    )
    assert plan.context.text == "# Context\nShared text."
    assert plan.context.contracts == ("contracts/api.md", "contracts/sub/db.md")
    assert plan.name == "TS-0042-inventory"
    # task-003 has no phase while two are declared: the one problem
    (problem,) = loaded.problems
    assert problem.tasks == ("task-003-plain",) and problem.field == "phase"


def test_plan_folder_settings_file_given_directly(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    assert read_plan(folder / "plan.yaml").plan.format is PlanFormat.PLAN_FOLDER


def test_front_matter_errors_point_at_the_md_file(tmp_path: Path) -> None:
    write(tmp_path, "tasks/a.md", "---\nowns: [x\n---\nbody\n")
    write(tmp_path, "tasks/b.md", "---\nownz: [x]\nrisk: blue\n---\nbody\n")
    write(tmp_path, "tasks/c.md", "---\nowns: [x]\nbody without end\n")
    write(tmp_path, "tasks/d.md", "---\n- a list\n---\n")
    loaded = read_plan(tmp_path)
    where = sorted((Path(p.file).name, p.line, p.field) for p in loaded.problems)
    assert where == [
        ("a.md", 3, None),
        ("b.md", 2, "ownz"),
        ("b.md", 3, "risk"),
        ("c.md", 1, None),
        ("d.md", 2, None),
    ]
    assert loaded.plan.ids == ("a", "b", "c", "d")  # ids from the file names


def test_front_matter_prompt_and_body(tmp_path: Path) -> None:
    write(tmp_path, "tasks/a.md", "---\nprompt: from front matter\n---\nbody text\n")
    loaded = read_plan(tmp_path)
    assert loaded.plan.task("a").prompt == "from front matter"
    assert [p.severity for p in loaded.problems] == [Severity.WARNING]


# --- seed 003 -------------------------------------------------------------


BOUNDARIES = {
    "feature-trading": {
        "dependencies": ["/common/types", "/common/utils"],
        "can_modify": ["/src/features/trading/"],
        "cannot_modify": ["/common/", "/src/features/analysis/"],
        "parallel_safe": True,
    },
    "feature-analysis": {
        "can_modify": "/src/features/analysis/",
        "parallel_safe": False,
    },
}


def test_boundaries_merged_into_a_plan(tmp_path: Path) -> None:
    write(
        tmp_path,
        "plan.yaml",
        """
        version: 1
        tasks:
          - {id: feature-trading, owns: [api/trading/**], parallel_safe: true}
          - {id: feature-analysis, parallel_safe: true}
          - {id: other}
    """,
    )
    write_json(
        tmp_path,
        "BOUNDARIES.json",
        {**BOUNDARIES, "feature-reportng": {"can_modify": ["/x"]}},
    )
    loaded = read_plan(tmp_path)
    trading = loaded.plan.task("feature-trading")
    assert trading.owns == ("api/trading/**", "src/features/trading/")
    assert trading.reads == ("common/types", "common/utils")
    assert (
        trading.forbids == ("common/", "src/features/analysis/")
        and trading.parallel_safe is True
    )
    analysis = loaded.plan.task("feature-analysis")
    assert (
        analysis.owns == ("src/features/analysis/",) and analysis.parallel_safe is False
    )
    assert loaded.plan.task("other").owns == ()
    problems = {p.tasks: p for p in loaded.problems}
    unknown = problems[("feature-reportng",)]
    assert (
        unknown.code is Code.SCHEMA
        and unknown.file.endswith("BOUNDARIES.json")
        and unknown.line == 20
    )
    assert "names no task" in unknown.message
    conflict = problems[("feature-analysis",)]
    assert conflict.field == "parallel_safe" and conflict.severity is Severity.ERROR
    assert len(loaded.problems) == 2


def test_boundaries_alone(tmp_path: Path) -> None:
    write_json(tmp_path, "BOUNDARIES.json", BOUNDARIES)
    assert find_plan(tmp_path) == tmp_path / "BOUNDARIES.json"
    loaded = read_plan(tmp_path)
    assert loaded.problems == () and loaded.plan.format is PlanFormat.BOUNDARIES
    assert loaded.plan.ids == ("feature-trading", "feature-analysis")
    assert loaded.plan.task("feature-trading").title == "feature-trading"
    assert loaded.plan.task("feature-trading").location.line == 2


def test_boundaries_root_paths_mean_the_root_only(tmp_path: Path) -> None:
    """Issue 14: owning /src/features/analysis/ and forbidding /common/ was reported as a
    forbidden write, because the slash was dropped and `common/` matched at any depth."""
    write_json(tmp_path, "BOUNDARIES.json", {
        "feature-analysis": {"can_modify": ["/src/features/analysis/"],
                             "cannot_modify": ["/common/"]},
        "notes": {"can_modify": ["/CHANGES.md"]},
        "examples": {"can_modify": ["/examples/"]},
    })
    loaded = read_plan(tmp_path)
    analysis = analyse(loaded.plan)
    assert not [p for p in analysis.problems if p.code is Code.FORBIDDEN_WRITE]
    assert not analysis.overlaps


def test_boundaries_oddities(tmp_path: Path) -> None:
    write(
        tmp_path,
        "BOUNDARIES.json",
        '{"a": {"can_modfy": ["/x"], "notes": "kept"},\n "b": 3,\n "/": {"can_modify": ["/"]}}',
    )
    loaded = read_plan(tmp_path)
    # a typo is a warning, an entry that is not a mapping is ignored with a warning,
    # and "/" cannot be a task id
    assert [(p.severity, p.line) for p in loaded.problems] == [
        (Severity.WARNING, 1),
        (Severity.WARNING, 2),
        (Severity.ERROR, 3),
    ]
    assert "can_modify" in loaded.problems[0].hint
    assert loaded.plan.ids == ("a",) and loaded.plan.task("a").owns == ()
