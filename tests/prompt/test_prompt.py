"""The worker prompt: seed 001's sections, plan overrides, and the files it may read."""

from __future__ import annotations

import pytest

from shoal.errors import UnknownTaskError
from shoal.model import Context, Defaults, Plan, RiskTier, Task, TaskId
from shoal.prompt import ParallelContext, PromptError, render_prompt


def _plan(tmp_path, *tasks: Task, **kwargs) -> Plan:  # type: ignore[no-untyped-def]
    return Plan(tasks=tasks, root=str(tmp_path), **kwargs)


def test_sections_carry_the_task_and_its_parallel_context(tmp_path):
    task = Task(id=TaskId("auth"), title="Auth middleware", owns=("src/auth/**",),
                reads=("common/types.py",), forbids=("src/billing/**",), risk=RiskTier.RED,
                functions=("def login(user) -> Token",), patterns=("small functions",),
                spec_sections=("3.2 Auth",), verify=("pytest -q tests/test_auth.py",),
                prompt="Write the middleware.")
    plan = _plan(tmp_path, task, context=Context(product_pitch="Inventory", tech_stack=("python", "fastapi"),
                                                  branch="feature/inv"),
                 defaults=Defaults(verify=("pytest -q",), shared_readonly=("common/**",)))
    text = render_prompt(plan, "auth", ParallelContext(wave=2, concurrent=("api", "ui"), conflict_risk="low"))
    assert text.startswith("# Task Worker: Execute Task auth")
    assert "- **Description**: Auth middleware" in text and "Write the middleware." in text
    assert "- **Product**: Inventory" in text and "python, fastapi" in text and "feature/inv" in text
    assert "- 3.2 Auth" in text and "- src/auth/**" in text and "- common/types.py" in text
    must_not = text[text.index("## Files You Must Not Modify"):]
    assert "- src/billing/**" in must_not and "- common/**" in must_not
    assert "def login(user) -> Token" in text and "- small functions" in text
    assert "- **Wave**: 2" in text and "Tasks api, ui" in text and "- **Conflict Risk**: low" in text
    assert "`pytest -q`" in text and "`pytest -q tests/test_auth.py`" in text
    assert "**Risk tier**: RED" in text
    assert text.rstrip().endswith("Then state: **TASK COMPLETE**")


def test_a_task_alone_is_told_it_runs_sequentially(tmp_path):
    text = render_prompt(_plan(tmp_path, Task(id=TaskId("a"), owns=("a.txt",))), "a")
    assert "- **Sequential Execution**" in text and "Concurrent With" not in text


def test_prompt_file_is_read_from_the_plan_folder(tmp_path):
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "a.txt").write_text("Do the thing from the file.\n")
    plan = _plan(tmp_path, Task(id=TaskId("a"), prompt_file="prompts/a.txt"))
    assert "Do the thing from the file." in render_prompt(plan, "a")


def test_prompt_file_outside_the_plan_folder_is_refused(tmp_path):
    plan = _plan(tmp_path / "plan", Task(id=TaskId("a"), prompt_file="../secret.txt"))
    (tmp_path / "secret.txt").write_text("nope")
    with pytest.raises(PromptError, match="outside the plan folder"):
        render_prompt(plan, "a")


def test_template_override_and_its_syntax_errors(tmp_path):
    (tmp_path / "t.j2").write_text("{{ task.id }} in wave {{ wave }}\n")
    plan = _plan(tmp_path, Task(id=TaskId("a")), prompt_template="t.j2")
    assert render_prompt(plan, "a", ParallelContext(wave=3)) == "a in wave 3\n"
    (tmp_path / "t.j2").write_text("{% for x in %}\n")
    with pytest.raises(PromptError) as err:
        render_prompt(plan, "a")
    assert err.value.line == 1 and err.value.file and err.value.file.endswith("t.j2")


def test_a_template_cannot_reach_python_internals(tmp_path):
    # Sandboxed: plan templates are data, not code.
    (tmp_path / "t.j2").write_text("{{ task.__class__.__mro__[1].__subclasses__() }}\n")
    plan = _plan(tmp_path, Task(id=TaskId("a")), prompt_template="t.j2")
    with pytest.raises(PromptError):
        render_prompt(plan, "a")


def test_unknown_variable_is_an_error_not_silence(tmp_path):
    (tmp_path / "t.j2").write_text("{{ no_such_thing }}\n")
    plan = _plan(tmp_path, Task(id=TaskId("a")), prompt_template="t.j2")
    with pytest.raises(PromptError, match="variables the template uses"):
        render_prompt(plan, "a")


def test_unknown_task(tmp_path):
    with pytest.raises(UnknownTaskError, match="nope"):
        render_prompt(_plan(tmp_path, Task(id=TaskId("a"))), "nope")
