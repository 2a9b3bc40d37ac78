"""Inputs that cannot be read at all raise PlanReadError (exit 2) with file, line and a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.errors import ExitCode, PlanReadError
from shoal.planfile import find_plan, read_plan


def read_error(path: Path) -> PlanReadError:
    with pytest.raises(PlanReadError) as info:
        read_plan(path)
    assert info.value.exit_code is ExitCode.USAGE
    return info.value


def test_missing_file(tmp_path: Path) -> None:
    error = read_error(tmp_path / "nope.yaml")
    assert "does not exist" in error.message and "shoal init" in error.hint


def test_not_utf8_names_offset_and_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_bytes(b"version: 1\ntasks:\n  - id: caf\xe9\n")
    error = read_error(path)
    assert (
        "offset 29" in error.message
        and "line 3" in error.message
        and "0xe9" in error.message
    )
    assert error.line == 3 and error.file == str(path) and "UTF-8" in error.hint


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_bytes("\ufeffversion: 1\ntasks: [{id: a}]\n".encode())
    assert read_plan(path).plan.ids == ("a",)


@pytest.mark.parametrize(
    ("name", "text", "line", "words"),
    [
        ("plan.yaml", "version: 1\ntasks:\n  - id: a\n   owns: [x]\n", 4, "YAML"),
        (
            "plan.yaml",
            "version: 1\ntasks: [a, b\n",
            3,
            "flow sequence started at line 2",
        ),
        ("plan.yaml", "version: 1\n---\nversion: 1\n", 2, "YAML"),
        ("plan.yaml", "version: 1\nx: !!python/object:os.system ls\n", 2, "YAML"),
        ("plan.yaml", "version: 1\nx: !!int abc\n", 2, "cannot read this value"),
        ("plan.json", '{"version": 1,\n "tasks": [\n}', 3, "JSON"),
        ("plan.json", '{"version": 1,}', 1, "column 15"),
        ("plan.toml", 'version = 1\n[[tasks]]\nid = "a\n', 3, "TOML"),
    ],
)
def test_malformed_text_names_line_and_column(
    tmp_path: Path, name: str, text: str, line: int, words: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    error = read_error(path)
    assert error.line == line and words in error.message and error.hint
    assert str(error).startswith(f"{path}:{line}: malformed")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("plan.yaml", "- a\n- b\n"),
        ("plan.yaml", "just text\n"),
        ("plan.json", "[1, 2]"),
        ("plan.json", "null"),
        ("tasks.json", '"x"'),
    ],
)
def test_top_level_must_be_a_mapping(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert "not a mapping" in read_error(path).message


@pytest.mark.parametrize("text", ["", "\n\n", "   \n# only a comment\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    error = read_error(path)
    assert "empty" in error.message or "not a mapping" in error.message


def test_deeply_nested_input(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(
        '{"version": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8"
    )
    assert "deeply" in read_error(path).message
    path = tmp_path / "plan.yaml"
    path.write_text(
        "version: 1\nx: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8"
    )
    assert "deeply" in read_error(path).message


def test_recursive_yaml_alias(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("version: 1\nx: &a [*a]\n", encoding="utf-8")
    read_error(path)


def test_folder_without_plan_lists_what_was_looked_for(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi", encoding="utf-8")
    error = read_error(tmp_path)
    assert str(tmp_path) in error.message
    for name in (
        "plan.yaml",
        "tasks.json",
        "tasks/*.md",
        "BOUNDARIES.json",
        f"shoal init {tmp_path}",
    ):
        assert name in error.hint


def test_a_plan_folder_with_an_unreadable_task_file(tmp_path: Path) -> None:
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "a.md").write_bytes(b"---\nid: a\n---\n\xff\n")
    assert read_error(tmp_path).file == str(tmp_path / "tasks" / "a.md")


def test_find_plan_errors(tmp_path: Path) -> None:
    with pytest.raises(PlanReadError):
        find_plan(tmp_path / "missing")
    for name in ("one", "two"):
        (tmp_path / "parallel" / name / "tasks").mkdir(parents=True)
        (tmp_path / "parallel" / name / "tasks" / "a.md").write_text(
            "x", encoding="utf-8"
        )
    with pytest.raises(PlanReadError) as info:
        find_plan(tmp_path)
    assert "several plan folders" in info.value.message


def test_exponential_yaml_aliases_stay_cheap(tmp_path: Path) -> None:
    rows = [
        "version: 1",
        'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
    ]
    for i in range(1, 10):
        rows.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    rows += [
        "base: &base {owns: *a9, title: *a9}",
        "tasks:",
        "  - {<<: *base, id: x}",
        "  - *base",
    ]
    path = tmp_path / "plan.yaml"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    loaded = read_plan(path)  # must not expand 9**10 strings
    assert loaded.plan.ids == ("x",) and loaded.plan.task("x").owns == ()
