"""`shoal plan` and `shoal run` on a plan with errors: they print the errors as `shoal check`
does (file, line, task, field, hint), then the one-line summary (issue 14, items 6 and 7)."""

from __future__ import annotations

import json

from .test_cli_check import LATER_PHASE_PLAN

TWO_ERRORS = """\
version: 1
name: broken
tasks:
  - id: a
    title: A
    owns: [a.txt]
    after: [nope]
    run: ['echo a > a.txt']
  - id: b
    title: B
    owns: [b.txt]
    after: [b]
    run: ['echo b > b.txt']
"""


def _problem_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "[" in line and "error" in line and ":" in line]


def _write(tmp_path, text):
    plan = tmp_path / "plan.yaml"
    plan.write_text(text)
    return plan


def test_plan_prints_the_errors_as_check_does(shoal, tmp_path):
    plan = _write(tmp_path, TWO_ERRORS)
    checked = _problem_lines(shoal("check", plan).out)
    assert len(checked) == 2
    result = shoal("plan", plan)
    assert result.code == 1
    for line in checked:  # the same lines: file:line, severity, code, task, field, message
        assert line in result.err
    assert "hint: did you mean" in result.err or "hint: remove" in result.err
    last = [line for line in result.err.splitlines() if line.startswith("shoal: error:")]
    assert last and "2 error(s)" in last[-1]
    assert result.err.index(checked[0]) < result.err.index(last[-1])  # the summary comes last


def test_plan_json_on_errors_lists_them(shoal, tmp_path):
    plan = _write(tmp_path, TWO_ERRORS)
    result = shoal("plan", plan, "--format", "json")
    assert result.code == 1
    data = json.loads(result.out)
    assert data["ok"] is False
    codes = sorted(p["code"] for p in data["problems"] if p["severity"] == "error")
    assert codes == ["cycle", "unknown-task"]
    assert all(p["line"] and p["field"] == "after" for p in data["problems"])


def test_plan_refuses_a_dependency_on_a_later_phase(shoal, tmp_path):
    plan = _write(tmp_path, LATER_PHASE_PLAN)
    result = shoal("plan", plan)
    assert result.code == 1, result.err
    assert "internal error" not in result.err
    assert f"{plan}:11:" in result.err and "[phase-order]" in result.err


def test_run_prints_the_errors_to_stderr(shoal, tmp_path):
    from shoal.testing import make_repo

    repo = make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    plan = _write(tmp_path, TWO_ERRORS)
    checked = _problem_lines(shoal("check", plan).out)
    result = shoal("run", plan, "--repo", repo, "--progress", "off")
    assert result.code == 1
    for line in checked:
        assert line in result.err
    assert "2 error(s)" in result.err.splitlines()[-2] + result.err.splitlines()[-1]
    assert not result.out.strip()


def test_run_json_on_errors_lists_them(shoal, tmp_path):
    from shoal.testing import make_repo

    repo = make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    plan = _write(tmp_path, TWO_ERRORS)
    result = shoal("run", plan, "--repo", repo, "--progress", "off", "--format", "json")
    assert result.code == 1
    data = json.loads(result.out)
    assert data["ok"] is False
    assert sorted(p["code"] for p in data["problems"]) == ["cycle", "unknown-task"]


def test_run_refuses_a_dependency_on_a_later_phase(shoal, tmp_path):
    from shoal.testing import make_repo

    repo = make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    plan = _write(tmp_path, LATER_PHASE_PLAN)
    result = shoal("run", plan, "--repo", repo, "--progress", "off")
    assert result.code == 1, result.err
    assert "internal error" not in result.err
    assert f"{plan}:11:" in result.err and "[phase-order]" in result.err
