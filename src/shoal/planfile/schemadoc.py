"""The JSON Schema of the canonical format and its Markdown reference.

Regenerate the committed reference with::

    python -m shoal.planfile.schemadoc > docs/plan-schema.md
"""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

from pydantic import BaseModel

from shoal.planfile.schema import (
    CONTEXT_ALIASES,
    SCHEMA_VERSION,
    TASK_ALIASES,
    TASK_NESTED,
    ContextModel,
    DefaultsModel,
    PhaseModel,
    PlanModel,
    TaskModel,
)

REGENERATE = "python -m shoal.planfile.schemadoc > docs/plan-schema.md"


def plan_json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of ``plan.yaml``/``plan.json``/``plan.toml``, aliases included."""
    schema = copy.deepcopy(PlanModel.model_json_schema())
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"shoal plan, version {SCHEMA_VERSION}",
        **{k: v for k, v in schema.items() if k != "title"},
    }
    schema["required"] = ["version"]
    schema["properties"]["version"]["const"] = SCHEMA_VERSION
    defs = schema["$defs"]
    _inline_enums(schema, defs)
    _restore_titles(schema, defs)
    _add_aliases(defs["TaskModel"], TASK_ALIASES)
    _add_aliases(defs["ContextModel"], CONTEXT_ALIASES)
    containers: dict[str, dict[str, str]] = {}
    for (container, key), canon in TASK_NESTED.items():
        containers.setdefault(container, {})[key] = canon
    task_props = defs["TaskModel"]["properties"]
    for container, keys in containers.items():
        task_props[container] = {
            "title": container,
            "description": "Seed 001 layout: "
            + ", ".join(f"`{container}.{k}` is `{c}`" for k, c in keys.items())
            + ".",
            "type": "object",
            "properties": {
                k: {**task_props[c], "title": f"{k} (= {c})"} for k, c in keys.items()
            },
            "additionalProperties": False,
        }
    return schema


def _inline_enums(schema: dict[str, Any], defs: dict[str, Any]) -> None:
    """Enums are short: write them in place rather than as references."""
    enums = {name: d["enum"] for name, d in defs.items() if "enum" in d}

    def visit(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "").rsplit("/", 1)[-1]
            out = {
                k: visit(v)
                for k, v in node.items()
                if not (k == "$ref" and ref in enums)
            }
            if ref in enums:
                out.update({"type": "string", "enum": enums[ref]})
            return out
        if isinstance(node, list):
            return [visit(v) for v in node]
        return node

    for name in enums:
        del defs[name]
    schema.update(visit({k: v for k, v in schema.items() if k != "$defs"}))
    defs.update(visit(defs))


def _restore_titles(schema: dict[str, Any], defs: dict[str, Any]) -> None:
    """pydantic leaves out the title of a field whose type is a reference."""
    models: dict[str, type[BaseModel]] = {
        "TaskModel": TaskModel,
        "PhaseModel": PhaseModel,
        "ContextModel": ContextModel,
        "DefaultsModel": DefaultsModel,
    }
    owners = [(PlanModel, schema)] + [
        (models[n], d) for n, d in defs.items() if n in models
    ]
    for model, definition in owners:
        for name, info in model.model_fields.items():
            prop = definition["properties"].get(info.alias or name)
            if prop is not None and "title" not in prop and info.title:
                prop["title"] = info.title


def _add_aliases(
    definition: dict[str, Any], aliases: dict[str, tuple[str, ...]]
) -> None:
    props = definition["properties"]
    for canon, names in aliases.items():
        props[canon]["x-aliases"] = list(names)
        for name in names:
            props[name] = {
                **{
                    k: v
                    for k, v in props[canon].items()
                    if k not in ("x-aliases", "default")
                },
                "title": f"{name} (alias of {canon})",
                "description": f"Alias of `{canon}`, accepted on input.",
            }


# --- Markdown -------------------------------------------------------------

INTRO = f"""\
# Plan file reference (version {SCHEMA_VERSION})

<!-- Generated from the code; do not edit. Regenerate with:
     {REGENERATE} -->

A plan is written in YAML (`plan.yaml`), JSON (`plan.json`) or TOML
(`plan.toml`), all with the same fields, and starts with `version: 1`.
`shoal schema --format json` prints the JSON Schema.

Conventions:

- A single string where a list is expected is a one-item list.
- Durations are written `90s`, `15m`, `1h`, `1h30m`; a bare number is seconds.
- Task ids may be whole numbers; they are text inside shoal.
- `tasks` is a list of tasks, or a mapping from id to fields.
- Paths in `owns`, `reads`, `forbids` and `shared_readonly` are gitignore-style
  patterns anchored at the repository root: `CHANGES.md`, `common/` and `*.py`
  are the root's only, `src/*.py` the ones in `src`, and `**/CHANGES.md` is one
  at any depth. A leading `/` changes nothing. A pattern covers what it matches
  and everything below it.
- Without `phases`, every task is in one parallel phase. With two or more
  phases, every task names its `phase`.
- `max_parallel`, `isolation`, `verify` and `shared_readonly` may be written
  at the top level or under `defaults`; if both are set they must agree.
- A `[R:GREEN|YELLOW|RED|CRITICAL]` marker in a task's title (any case) sets
  its risk; a `risk:` that disagrees with it is an error.
- Unknown fields are errors, with the nearest known name suggested.
  In a task, `dependencies` is rejected as ambiguous: write `after` for tasks
  to wait for, `reads` for paths read.

Other layouts read without conversion:

- **Seed 001** `tasks.json` (+ `context-summary.json` with `product_pitch`,
  `tech_stack`, `branch_name`): tasks use `summary`, `description`,
  `relevant_files`, `parallelization.blocked_by`, `spec_sections`,
  `codebase_refs.functions`, `standards.patterns`; `estimated_minutes` (else
  `estimate_minutes`, else `duration_minutes`) gives the estimate in minutes.
  With both `summary` and `description`, the summary is the title and the
  description the prompt. Other keys (`status`, `completed_at`, `blocker`,
  `execution_strategy`, ...) are left alone; only a close misspelling of a
  known field is reported, as a warning. `version` is not required.
- **Seed 002** plan folder `parallel/<ID>-<slug>/`: `tasks/*.md` with YAML
  front matter (the task's fields; the id defaults to the file name; the
  title to the first `# heading`) and a body that is the prompt;
  `context.md` is `context.text`; `prompts/<task>.txt` becomes the
  `prompt_file` of a task without a prompt; files in `contracts/` are
  `context.contracts`; an optional `plan.yaml` there holds plan-level settings.
- **Seed 003** `BOUNDARIES.json` `{{task: {{can_modify, cannot_modify, dependencies,
  parallel_safe}}}}`, next to any plan or inside a plan folder, is merged by
  task id: `can_modify` adds to `owns`, `cannot_modify` to `forbids`,
  `dependencies` (paths) to `reads`. Its paths are written from the
  repository root with a leading `/`; the slash is removed. A key naming no
  task is an error. Alone in a folder, it is a plan with one task per key.
"""

_SECTIONS = (
    ("Plan (top level)", None),
    ("`context`", "ContextModel"),
    ("`defaults`", "DefaultsModel"),
    ("`phases[]`", "PhaseModel"),
    ("`tasks[]`", "TaskModel"),
)


def render_schema_markdown() -> str:
    """A Markdown reference of every field: type, default, aliases, description, example."""
    schema = plan_json_schema()
    out = [INTRO]
    for heading, ref in _SECTIONS:
        definition = schema if ref is None else schema["$defs"][ref]
        out.append(f"\n## {heading}\n")
        if definition.get("description"):
            out.append(f"\n{definition['description']}\n")
        out.append("\n| field | type | default | aliases | description | example |\n")
        out.append("|---|---|---|---|---|---|\n")
        for name, prop in definition["properties"].items():
            if " (alias of " in prop.get("title", ""):
                continue  # listed with the field it stands for
            required = name in definition.get("required", [])
            out.append(_row(name, prop, required, schema["$defs"]))
    return "".join(out)


def _row(name: str, prop: dict[str, Any], required: bool, defs: dict[str, Any]) -> str:
    if "default" in prop:
        default = _code(prop["default"])
    else:
        default = "**required**" if required else "—"
    aliases = ", ".join(f"`{a}`" for a in prop.get("x-aliases", [])) or "—"
    if prop.get("type") == "object" and "properties" in prop:  # seed 001 containers
        aliases = ", ".join(f"`{name}.{k}`" for k in prop["properties"])
    example = _code(prop["examples"][0]) if prop.get("examples") else "—"
    cells = [
        f"`{name}`",
        _type(prop, defs),
        default,
        aliases,
        prop.get("description", ""),
        example,
    ]
    return (
        "| "
        + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells)
        + " |\n"
    )


def _code(value: Any) -> str:
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _type(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    if "const" in prop:
        return f"`{prop['const']}`"
    if "$ref" in prop:
        target = prop["$ref"].rsplit("/", 1)[-1]
        if "enum" in defs.get(target, {}):
            return _type(defs[target], defs)
        return target.removesuffix("Model").lower()
    if "enum" in prop:
        return "one of " + ", ".join(f"`{v}`" for v in prop["enum"])
    if "anyOf" in prop:
        options = [p for p in prop["anyOf"] if p.get("type") != "null"]
        lists = [p for p in options if p.get("type") == "array"]
        singles = [p for p in options if p.get("type") != "array"]
        if (
            lists
            and singles
            and all(_type(s, defs) in _type(lists[0], defs) for s in singles)
        ):
            text = f"{_type(lists[0], defs)} (or just one)"  # the one-item shorthand
        else:
            text = " or ".join(dict.fromkeys(_type(p, defs) for p in options))
        return f"{text}, optional" if len(options) < len(prop["anyOf"]) else text
    kind = prop.get("type")
    if kind == "array":
        return f"list of {_type(prop.get('items', {}), defs)}"
    if kind == "object" and isinstance(prop.get("additionalProperties"), dict):
        return f"mapping of id to {_type(prop['additionalProperties'], defs)}"
    if kind == "object":
        return "mapping"
    if kind == "integer":
        bound = f" ≥ {prop['minimum']}" if "minimum" in prop else ""
        return f"integer{bound}"
    return str(kind or "any")


if __name__ == "__main__":
    sys.stdout.write(render_schema_markdown())
