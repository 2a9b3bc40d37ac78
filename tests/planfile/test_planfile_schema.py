"""The JSON Schema and the committed Markdown reference."""

from __future__ import annotations

import json
from pathlib import Path

from shoal.planfile import plan_json_schema, render_schema_markdown
from shoal.planfile.schemadoc import REGENERATE

DOC = Path(__file__).resolve().parents[2] / "docs" / "plan-schema.md"


def properties(schema: dict):
    yield "plan", schema["properties"]
    for name, definition in schema["$defs"].items():
        if "properties" in definition:
            yield name, definition["properties"]


def test_every_field_has_a_title_and_a_description() -> None:
    schema = plan_json_schema()
    for owner, props in properties(schema):
        for name, prop in props.items():
            assert prop.get("title"), (owner, name)
            assert prop.get("description"), (owner, name)


def test_schema_shape() -> None:
    schema = plan_json_schema()
    json.dumps(schema)  # plain JSON
    assert (
        schema["required"] == ["version"]
        and schema["properties"]["version"]["const"] == 1
    )
    task = schema["$defs"]["TaskModel"]
    assert task["additionalProperties"] is False
    assert task["properties"]["owns"]["x-aliases"] == [
        "files",
        "relevant_files",
        "can_modify",
    ]
    assert "alias of owns" in task["properties"]["relevant_files"]["title"]
    assert "blocked_by" in task["properties"]["parallelization"]["properties"]
    assert set(task["properties"]["risk"]["anyOf"][0]["enum"]) == {
        "green",
        "yellow",
        "red",
        "critical",
    }


def test_markdown_lists_every_field() -> None:
    text = render_schema_markdown()
    schema = plan_json_schema()
    for _, props in properties(schema):
        for name, prop in props.items():
            if "alias of" not in prop["title"]:
                assert f"| `{name}` |" in text, name
    assert "`relevant_files`" in text and "leading `/`" in text


def test_committed_schema_doc_is_current() -> None:
    expected = render_schema_markdown()
    actual = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    assert actual == expected, (
        f"docs/plan-schema.md is stale; regenerate it with: {REGENERATE}"
    )
