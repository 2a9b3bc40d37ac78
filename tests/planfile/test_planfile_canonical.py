"""The canonical format: fields, aliases, defaults, phases, lines and problems."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from shoal.errors import PlanInvalidError
from shoal.model import DEFAULT_PHASE, Isolation, PlanFormat, RiskTier
from shoal.planfile import LoadedPlan, load_plan, read_plan
from shoal.problem import Code, Severity


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load(folder: Path, text: str, name: str = "plan.yaml") -> LoadedPlan:
    return read_plan(write(folder, name, text))


def errors(loaded: LoadedPlan):
    return [p for p in loaded.problems if p.severity is Severity.ERROR]


def only(loaded: LoadedPlan, *, field: str | None = None, code: Code = Code.SCHEMA):
    found = [
        p
        for p in loaded.problems
        if p.code is code and (field is None or p.field == field)
    ]
    assert len(found) == 1, loaded.problems
    return found[0]


def test_full_plan_reads_every_field(tmp_path: Path) -> None:
    write(tmp_path, "prompts/auth.txt", "Do auth.\n")
    write(tmp_path, "prompt.j2", "{{ task.id }}\n")
    loaded = load(
        tmp_path,
        """
        version: 1
        name: inventory
        context: {product_pitch: Stock, tech_stack: [python, fastapi], branch: feature/x, text: hi}
        defaults: {agent: claude, timeout: 20m, retries: 2}
        max_parallel: 3
        isolation: directory
        verify: python -m pytest -q
        shared_readonly: [common/**]
        setup: [npm ci]
        copy: .env
        prompt_template: prompt.j2
        phases:
          - {name: architecture, parallel: false}
          - implementation
        tasks:
          - id: types
            title: Types
            phase: architecture
            owns: common/types.py
          - id: auth
            title: Auth [R:yellow]
            phase: implementation
            prompt_file: prompts/auth.txt
            owns: [src/auth/**, tests/test_auth.py]
            reads: [common/types.py]
            forbids: [src/billing/**]
            after: types
            estimate: 1h30m
            agent: codex
            timeout: 90
            retries: 0
            verify: [pytest -q tests/test_auth.py]
            run: "echo hi > out.txt"
            spec_sections: [3.2 Auth]
            functions: [get_user]
            patterns: [middleware]
            parallel_safe: true
    """,
    )
    assert loaded.problems == ()
    plan = loaded.plan
    assert (
        plan.format is PlanFormat.CANONICAL
        and plan.name == "inventory"
        and plan.version == 1
    )
    assert plan.root == str(tmp_path.resolve()) and plan.source == str(
        tmp_path / "plan.yaml"
    )
    assert (
        plan.context.tech_stack == ("python", "fastapi")
        and plan.context.branch == "feature/x"
    )
    d = plan.defaults
    assert (d.agent, d.timeout, d.retries, d.max_parallel) == ("claude", 1200.0, 2, 3)
    assert d.isolation is Isolation.DIRECTORY
    assert d.verify == ("python -m pytest -q",) and d.shared_readonly == ("common/**",)
    assert (
        plan.setup == ("npm ci",)
        and plan.copy == (".env",)
        and plan.prompt_template == "prompt.j2"
    )
    assert [(p.name, p.parallel) for p in plan.phases] == [
        ("architecture", False),
        ("implementation", True),
    ]
    auth = plan.task("auth")
    assert auth.owns == ("src/auth/**", "tests/test_auth.py") and auth.after == (
        "types",
    )
    assert auth.risk is RiskTier.YELLOW and auth.title == "Auth [R:yellow]"
    assert (auth.estimate, auth.timeout, auth.retries, auth.agent) == (
        5400.0,
        90.0,
        0,
        "codex",
    )
    assert auth.run == ("echo hi > out.txt",) and auth.parallel_safe is True
    assert auth.prompt_file == "prompts/auth.txt" and auth.spec_sections == (
        "3.2 Auth",
    )
    assert auth.location is not None and auth.location.line == 20
    assert auth.line_of("owns") == 24 and auth.line_of("after") == 27
    assert plan.task("types").owns == ("common/types.py",)


def test_defaults_when_nothing_is_set(tmp_path: Path) -> None:
    plan = load(tmp_path, "version: 1\ntasks: [{id: a}]\n").plan
    assert plan.name == tmp_path.name
    assert [p.name for p in plan.phases] == [DEFAULT_PHASE]
    task = plan.task("a")
    assert (
        task.phase == DEFAULT_PHASE and task.risk is RiskTier.GREEN and task.owns == ()
    )
    assert task.agent is None and task.timeout is None and task.estimate is None


@pytest.mark.parametrize(
    ("alias", "field"),
    [
        ("files", "owns"),
        ("relevant_files", "owns"),
        ("can_modify", "owns"),
        ("cannot_modify", "forbids"),
        ("blocked_by", "after"),
        ("depends_on", "after"),
    ],
)
def test_list_aliases(tmp_path: Path, alias: str, field: str) -> None:
    loaded = load(
        tmp_path, f"version: 1\ntasks:\n  - id: a\n    {alias}: [x]\n  - id: x\n"
    )
    assert loaded.problems == ()
    assert getattr(loaded.plan.task("a"), field) == ("x",)
    assert loaded.plan.task("a").line_of(field) == 4


@pytest.mark.parametrize("alias", ["summary", "description"])
def test_title_aliases(tmp_path: Path, alias: str) -> None:
    loaded = load(tmp_path, f"version: 1\ntasks:\n  - id: a\n    {alias}: Do it\n")
    assert loaded.problems == () and loaded.plan.task("a").title == "Do it"


def test_nested_seed_001_keys(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        """
        version: 1
        tasks:
          - id: b
          - id: a
            parallelization: {blocked_by: [b]}
            codebase_refs: {functions: [f]}
            standards: {patterns: [p]}
    """,
    )
    assert loaded.problems == ()
    task = loaded.plan.task("a")
    assert (task.after, task.functions, task.patterns) == (("b",), ("f",), ("p",))
    assert task.line_of("after") == 5


def test_alias_and_canonical_both_given(tmp_path: Path) -> None:
    loaded = load(
        tmp_path, "version: 1\ntasks:\n  - id: a\n    files: [x]\n    owns: [y]\n"
    )
    problem = only(loaded, field="owns")
    assert "`owns` and `files`" in problem.message and problem.line == 4
    assert loaded.plan.task("a").owns == ("y",)


def test_dependencies_in_a_task_is_rejected_with_a_hint(tmp_path: Path) -> None:
    loaded = load(tmp_path, "version: 1\ntasks:\n  - id: a\n    dependencies: [b]\n")
    problem = only(loaded, field="dependencies")
    assert "after" in problem.hint and "reads" in problem.hint


def test_unknown_field_did_you_mean(tmp_path: Path) -> None:
    loaded = load(
        tmp_path, "version: 1\ntasks:\n  - id: auth\n    ownz: [src/auth/**]\n"
    )
    problem = only(loaded, field="ownz")
    assert problem.severity is Severity.ERROR and problem.tasks == ("auth",)
    assert problem.file == str(tmp_path / "plan.yaml") and problem.line == 4
    assert problem.hint == "did you mean `owns`?"
    assert "unknown field `ownz`" in problem.message


def test_unknown_top_level_and_section_keys(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        """
        version: 1
        taks: []
        defaults: {agnet: claude}
        context: {product: x}
    """,
    )
    hints = {p.field: p.hint for p in loaded.problems}
    assert hints["taks"] == "did you mean `tasks`?"
    assert hints["agnet"] == "did you mean `agent`?"
    assert "product_pitch" in hints["product"]
    assert len(errors(loaded)) == 3


def test_every_bad_field_is_reported_and_dropped(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        """
        version: 1
        tasks:
          - id: a
            owns: [ok, 3, {x: 1}]
            estimate: soon
            retries: -1
            timeout: 0s
            risk: purple
            parallel_safe: maybe
            title: 12
            reads: [fine]
    """,
    )
    fields = sorted(p.field for p in loaded.problems)
    assert fields == [
        "estimate",
        "owns",
        "owns",
        "parallel_safe",
        "retries",
        "risk",
        "timeout",
        "title",
    ]
    lines = {p.field: p.line for p in loaded.problems}
    assert lines["estimate"] == 5 and lines["risk"] == 8
    owns = [p for p in loaded.problems if p.field == "owns"]
    assert [p.line for p in owns] == [4, 4] and "item 2" in owns[0].message
    assert "quotes" in next(p.hint for p in loaded.problems if p.field == "title")
    assert "green, yellow, red, critical" in next(
        p.message for p in loaded.problems if p.field == "risk"
    )
    task = loaded.plan.task("a")
    assert task.owns == () and task.reads == ("fine",) and task.risk is RiskTier.GREEN
    assert task.estimate is None and task.retries is None and task.title == ""


def test_zero_timeout_is_a_problem(tmp_path: Path) -> None:
    loaded = load(
        tmp_path, "version: 1\ndefaults: {timeout: 0}\ntasks: [{id: a, timeout: 0s}]\n"
    )
    assert sorted(p.field for p in loaded.problems) == ["timeout", "timeout"]
    assert loaded.plan.defaults.timeout == 1800.0


def test_version_missing_and_wrong(tmp_path: Path) -> None:
    problem = only(load(tmp_path, "tasks: []\n"), field="version")
    assert "version: 1" in problem.hint
    problem = only(load(tmp_path, "version: 2\ntasks: []\n"), field="version")
    assert "reads version 1" in problem.message and problem.line == 1


def test_tasks_as_a_mapping(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        """
        version: 1
        tasks:
          auth: {owns: [src/auth/**]}
          7:
            after: auth
          billing:
            id: other
    """,
    )
    plan = loaded.plan
    assert plan.ids == ("auth", "7", "billing")
    assert plan.task("7").after == ("auth",) and plan.task("7").location.line == 4
    problem = only(loaded, field="id")
    assert "differs from its key" in problem.message and problem.line == 7


def test_duplicate_ids_keep_the_first(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        """
        version: 1
        tasks:
          - id: a
            owns: [first]
          - id: b
          - id: a
            owns: [second]
    """,
    )
    problem = only(loaded, code=Code.DUPLICATE_TASK)
    assert (
        problem.severity is Severity.ERROR
        and problem.tasks == ("a",)
        and problem.line == 6
    )
    assert ":3" in problem.message and ":6" in problem.message
    assert loaded.plan.ids == ("a", "b") and loaded.plan.task("a").owns == ("first",)


def test_duplicate_ids_in_a_mapping(tmp_path: Path) -> None:
    loaded = load(tmp_path, "version: 1\ntasks:\n  a: {owns: [x]}\n  a: {owns: [y]}\n")
    problem = only(loaded, code=Code.DUPLICATE_TASK)
    assert problem.line == 4 and "lines 3 and 4" in problem.message
    assert loaded.plan.task("a").owns == ("x",)


def test_duplicate_keys_in_a_task(tmp_path: Path) -> None:
    loaded = load(
        tmp_path, "version: 1\ntasks:\n  - id: a\n    owns: [x]\n    owns: [y]\n"
    )
    problem = only(loaded, field="owns")
    assert (
        problem.line == 5
        and problem.tasks == ("a",)
        and "given twice" in problem.message
    )
    assert loaded.plan.task("a").owns == ("x",)


def test_tasks_without_usable_ids_are_skipped(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        """
        version: 1
        tasks:
          - title: no id
          - id: "has space"
          - id: [a]
          - just text
          - id: ok
    """,
    )
    assert loaded.plan.ids == ("ok",)
    assert [p.line for p in loaded.problems] == [3, 4, 5, 6]


def test_numeric_ids_are_text(tmp_path: Path) -> None:
    plan = load(
        tmp_path, "version: 1\ntasks:\n  - id: 1\n  - id: 2\n    after: [1]\n"
    ).plan
    assert plan.ids == ("1", "2") and plan.task("2").after == ("1",)


def test_empty_and_missing_task_lists(tmp_path: Path) -> None:
    for text in (
        "version: 1\ntasks: []\n",
        "version: 1\ntasks:\n",
        "version: 1\nname: x\n",
    ):
        loaded = load(tmp_path, text)
        assert loaded.problems == () and loaded.plan.tasks == ()


def test_tasks_of_the_wrong_shape(tmp_path: Path) -> None:
    loaded = load(tmp_path, "version: 1\ntasks: 5\n")
    assert only(loaded, field="tasks").line == 2 and loaded.plan.tasks == ()


def test_phases(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        """
        version: 1
        phases:
          - {name: build, parallel: false}
          - {name: test}
          - {name: build}
          - {parallel: true}
        tasks:
          - {id: a, phase: build}
          - {id: b, phase: tset}
          - {id: c}
    """,
    )
    assert [p.name for p in loaded.plan.phases] == ["build", "test"]
    assert loaded.plan.phases[0].location.line == 3
    by_task = {p.tasks: p for p in loaded.problems if p.tasks}
    assert "did you mean `test`?" in by_task[("b",)].hint
    assert "has no `phase`" in by_task[("c",)].message
    assert {p.field for p in loaded.problems if not p.tasks} == {"phases", "name"}
    assert [t.phase for t in loaded.plan.tasks] == ["build", "build", "build"]


def test_phase_without_declared_phases(tmp_path: Path) -> None:
    loaded = load(tmp_path, "version: 1\ntasks: [{id: a, phase: build}]\n")
    assert "no `phases`" in only(loaded, field="phase").message
    assert loaded.plan.task("a").phase == DEFAULT_PHASE


def test_a_single_declared_phase_is_the_default(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        "version: 1\nphases: [{name: only, parallel: false}]\ntasks: [{id: a}]\n",
    )
    assert loaded.problems == () and loaded.plan.task("a").phase == "only"


def test_settings_at_top_level_and_in_defaults(tmp_path: Path) -> None:
    same = load(
        tmp_path,
        "version: 1\nmax_parallel: 2\ndefaults: {max_parallel: 2, verify: [t]}\n",
    )
    assert same.problems == () and same.plan.defaults.verify == ("t",)
    differ = load(
        tmp_path, "version: 1\nisolation: none\ndefaults:\n  isolation: branch\n"
    )
    problem = only(differ, field="isolation")
    assert problem.line == 4 and differ.plan.defaults.isolation is Isolation.NONE


def test_risk_markers(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        """
        version: 1
        tasks:
          - {id: a, title: "Fix [R:CRITICAL] thing"}
          - {id: b, title: "[r:red] lower case"}
          - {id: c, title: "agree [R:RED]", risk: red}
          - {id: d, title: "[R:YELLOW] disagree", risk: green}
          - {id: e, title: "no marker", risk: Critical}
    """,
    )
    plan = loaded.plan
    risks = {t.id: t.risk for t in plan.tasks}
    assert risks == {
        "a": RiskTier.CRITICAL,
        "b": RiskTier.RED,
        "c": RiskTier.RED,
        "d": RiskTier.YELLOW,
        "e": RiskTier.CRITICAL,
    }
    problem = only(loaded, field="risk")
    assert problem.tasks == ("d",) and problem.line == 6
    assert plan.task("b").title == "[r:red] lower case"


def test_prompt_file_and_template_must_exist(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        """
        version: 1
        prompt_template: missing.j2
        tasks:
          - {id: a, prompt_file: nope.txt}
          - {id: b, prompt: x, prompt_file: plan.yaml}
    """,
    )
    assert sorted(p.field for p in loaded.problems) == [
        "prompt_file",
        "prompt_file",
        "prompt_template",
    ]


def test_json_lines(tmp_path: Path) -> None:
    text = json.dumps(
        {
            "version": 1,
            "tasks": [
                {"id": "a", "owns": ["x"]},
                {"id": "b", "ownz": ["y"], "estimate": "x"},
            ],
        },
        indent=2,
    )
    loaded = read_plan(write(tmp_path, "plan.json", text))
    lines = {p.field: p.line for p in loaded.problems}
    assert lines == {"ownz": 12, "estimate": 15}
    assert (
        loaded.plan.task("a").location.line == 4
        and loaded.plan.task("a").line_of("owns") == 6
    )


def test_json_duplicate_keys_and_compact_text(tmp_path: Path) -> None:
    text = '{"version": 1,\n "tasks": [{"id": "a", "owns": ["x"], "owns": ["y"]},\n {"id": "a"}]}'
    loaded = read_plan(write(tmp_path, "plan.json", text))
    assert {(p.code, p.line) for p in loaded.problems} == {
        (Code.SCHEMA, 2),
        (Code.DUPLICATE_TASK, 3),
    }
    assert loaded.plan.task("a").owns == ("x",)


def test_toml_lines_best_effort(tmp_path: Path) -> None:
    loaded = read_plan(
        write(
            tmp_path,
            "plan.toml",
            """
        version = 1

        [[tasks]]
        id = "a"
        ownz = ["x"]

        [[tasks]]
        id = "b"
        estimate = "soon"
    """,
        )
    )
    lines = {p.field: p.line for p in loaded.problems}
    assert lines == {"ownz": 5, "estimate": 9}
    assert loaded.plan.task("b").location.line == 7


def test_toml_inline_tasks_use_the_id_line(tmp_path: Path) -> None:
    loaded = read_plan(
        write(
            tmp_path,
            "plan.toml",
            """
        version = 1
        tasks = [
          { id = "a" },
          { id = "b", ownz = ["x"] },
        ]
    """,
        )
    )
    assert loaded.plan.task("b").location.line == 4
    assert only(loaded, field="ownz").line == 4


def test_yaml_anchors_and_merge_keys(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        """
        version: 1
        x-common: &common {agent: claude, retries: 2}
        tasks:
          - {<<: *common, id: a, retries: 3}
    """,
    )
    assert [p.field for p in loaded.problems] == ["x-common"]
    task = loaded.plan.task("a")
    assert (task.agent, task.retries) == ("claude", 3)


def test_load_plan_raises_with_every_problem(tmp_path: Path) -> None:
    path = write(
        tmp_path, "plan.yaml", "version: 1\ntasks:\n  - {id: a, ownz: x}\n  - {id: a}\n"
    )
    with pytest.raises(PlanInvalidError) as info:
        load_plan(path)
    assert len(info.value.problems) == 2 and info.value.exit_code == 1
    assert "2 error(s)" in info.value.message and info.value.line == 3


def test_load_plan_returns_a_valid_plan(tmp_path: Path) -> None:
    path = write(tmp_path, "plan.yaml", "version: 1\ntasks: [{id: a}]\n")
    assert load_plan(path).ids == ("a",)
