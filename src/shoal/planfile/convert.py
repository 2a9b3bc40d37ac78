"""From raw mappings to checked values: aliases, unknown keys, lenient validation.

Every part of a plan goes through ``normalize`` (rename aliases, report unknown
keys) and ``validate`` (pydantic, one field at a time: a bad field is reported
and dropped to its default, the others still count).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shoal.planfile.document import describe
from shoal.planfile.lines import Lines
from shoal.problem import Code, Problem, Severity

M = TypeVar("M", bound=BaseModel)

# Keys with a known meaning that are not fields, and what to write instead.
SPECIAL_HINTS = {
    "dependencies": "`dependencies` is ambiguous in a task: use `after` for tasks this one waits "
    "for, or `reads` for paths it reads (`dependencies` means `reads` only in BOUNDARIES.json)",
    "depends": "use `after` for the tasks this one waits for",
    "requires": "use `after` for the tasks this one waits for",
    "name": "a task's name is its `id`; use `title` for a one-line description",
}


class Problems:
    """Collects the problems found while loading, in the order found."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(
        self,
        message: str,
        *,
        file: str | None,
        line: int | None = None,
        task: str | None = None,
        field: str | None = None,
        hint: str | None = None,
        code: Code = Code.SCHEMA,
        severity: Severity = Severity.ERROR,
    ) -> None:
        self.items.append(
            Problem(
                code=code,
                severity=severity,
                message=message,
                tasks=(task,) if task else (),
                file=file,
                line=line,
                field=field,
                hint=hint,
            )
        )


def suggest(name: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    found = difflib.get_close_matches(name, list(choices), n=1, cutoff=cutoff)
    return found[0] if found else None


def did_you_mean(name: str, choices: Iterable[str]) -> str | None:
    match = suggest(name, choices)
    return f"did you mean `{match}`?" if match else None


def example_of(model: type[BaseModel], name: str) -> str | None:
    info = model.model_fields.get(name) or next(
        (f for f in model.model_fields.values() if f.alias == name), None
    )
    if info is None or not info.examples:
        return None
    return f"write it like `{name}: {json.dumps(info.examples[0], ensure_ascii=False)}`"


@dataclass
class Where:
    """What a message is about: the file, the part's lines and label, the task id."""

    file: str
    lines: Lines
    label: str  # e.g. "task `auth`", "`defaults`"
    task: str | None = None


@dataclass
class Fields:
    """A mapping after aliases are renamed: canonical name -> value, and where it was."""

    values: dict[str, Any] = field(default_factory=dict)
    # where each value was, as a path into the raw mapping
    paths: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    written: dict[str, str] = field(default_factory=dict)  # the key as written

    def line(self, where: Where, name: str, *more: Any) -> int | None:
        return where.lines.line_of(*self.paths.get(name, (name,)), *more)


def normalize(
    raw: Mapping[Any, Any],
    where: Where,
    problems: Problems,
    *,
    known: Iterable[str],
    aliases: Mapping[str, tuple[str, ...]] | None = None,
    nested: Mapping[tuple[str, str], str] | None = None,
    ignored: Iterable[str] = (),
    strict: bool = True,
) -> Fields:
    """Rename aliases to canonical names and report unknown keys.

    ``strict`` reports every unknown key as an error; otherwise (files written
    by other tools) only clear typos of known names, as warnings.
    """
    known = set(known)
    alias_of = {
        alias: canon for canon, names in (aliases or {}).items() for alias in names
    }
    containers: dict[str, dict[str, str]] = {}
    for (container, key), canon in (nested or {}).items():
        containers.setdefault(container, {})[key] = canon
    ignored = set(ignored)
    fields = Fields()
    spelled = sorted(known | set(alias_of) | set(containers))

    def put(canon: str, value: Any, path: tuple[Any, ...], written: str) -> None:
        if canon in fields.values:
            keep, dropped_path = fields.written[canon], path
            if written == canon:  # the canonical name wins over an alias
                keep, written, dropped_path = written, keep, fields.paths[canon]
                fields.values[canon], fields.paths[canon] = value, path
            problems.add(
                f"{where.label}: `{keep}` and `{written}` both give `{canon}`; `{keep}` is used",
                file=where.file,
                line=where.lines.line_of(*dropped_path),
                task=where.task,
                field=canon,
                hint=f"keep only one of `{keep}` and `{written}`",
                severity=Severity.ERROR if strict else Severity.WARNING,
            )
            fields.written[canon] = keep
            return
        fields.values[canon], fields.paths[canon], fields.written[canon] = (
            value,
            path,
            written,
        )

    for key, value in raw.items():
        name = key if isinstance(key, str) else str(key)
        if name in known:
            put(name, value, (key,), name)
        elif name in alias_of:
            put(alias_of[name], value, (key,), name)
        elif name in containers:
            _nested(name, value, containers[name], where, problems, put, strict)
        elif name not in ignored:
            _unknown(name, (key,), spelled, where, problems, strict)
    return fields


def _nested(name, value, inner, where, problems, put, strict) -> None:  # type: ignore[no-untyped-def]
    if not isinstance(value, Mapping):
        problems.add(
            f"{where.label}: `{name}` should be a mapping, not {describe(value)}",
            file=where.file,
            line=where.lines.line_of(name),
            task=where.task,
            field=name,
            hint=f"write it like `{name}: {{{next(iter(inner))}: [...]}}`",
        )
        return
    for sub, sub_value in value.items():
        sub_name = sub if isinstance(sub, str) else str(sub)
        if sub_name in inner:
            put(inner[sub_name], sub_value, (name, sub), f"{name}.{sub_name}")
        elif strict:
            _unknown(
                f"{name}.{sub_name}",
                (name, sub),
                [f"{name}.{k}" for k in inner],
                where,
                problems,
                strict,
            )


def _unknown(name, path, spelled, where, problems, strict) -> None:  # type: ignore[no-untyped-def]
    hint = SPECIAL_HINTS.get(name) if where.task else None
    if not strict:
        close = suggest(name, spelled, cutoff=0.85)
        if close is None:
            return  # other tools' own keys are theirs to keep
        hint = f"did you mean `{close}`?"
    hint = hint or did_you_mean(name, spelled) or f"known keys: {', '.join(spelled)}"
    problems.add(
        f"{where.label}: unknown field `{name}`",
        file=where.file,
        line=where.lines.line_of(*path),
        task=where.task,
        field=name,
        hint=hint,
        severity=Severity.ERROR if strict else Severity.WARNING,
    )


def validate(
    model: type[M], fields: Fields, where: Where, problems: Problems
) -> M | None:
    """The model from ``fields``; each invalid field is reported and left at its default.

    ``None`` when a required field is missing or invalid.
    """
    data = dict(fields.values)
    for _ in range(len(data) + 1):
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            dropped = False
            for error in exc.errors(include_url=False):
                loc = error["loc"]
                name = str(loc[0]) if loc else ""
                message, hint = explain(model, error, fields.written.get(name, name))
                problems.add(
                    f"{where.label}: {message}",
                    file=where.file,
                    line=fields.line(where, name, *loc[1:2]),
                    task=where.task,
                    field=name or None,
                    hint=hint,
                )
                if name in data:
                    del data[name]
                    dropped = True
            if not dropped:
                return None
    return None


def explain(
    model: type[BaseModel], error: Mapping[str, Any], written: str
) -> tuple[str, str | None]:
    """A plain message and a hint for one pydantic error."""
    loc, kind, value = error["loc"], error["type"], error.get("input")
    name = str(loc[0]) if loc else written
    item = f" item {loc[1] + 1}" if len(loc) > 1 and isinstance(loc[1], int) else ""
    subject = f"`{written}`{item}"
    hint = example_of(model, name)
    got = describe(value)
    if kind == "missing":
        return f"`{written}` is required", hint
    if kind == "string_type":
        if isinstance(value, (int, float, bool)):
            hint = "put it in quotes to make it text"
        return f"{subject} should be text, not {got}", hint
    if kind in ("list_type", "tuple_type", "iterable_type"):
        return f"{subject} should be a list, not {got}", hint
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"{subject} should be a mapping, not {got}", hint
    if kind.startswith("int_"):
        return f"{subject} should be a whole number, not {got}", hint
    if kind.startswith("bool_"):
        return f"{subject} should be true or false, not {got}", hint
    if kind.startswith("float_"):
        return f"{subject} should be a number, not {got}", hint
    if kind in ("greater_than_equal", "greater_than"):
        bound = (error.get("ctx") or {}).get("ge", (error.get("ctx") or {}).get("gt"))
        return f"{subject} should be at least {bound}, not {value!r}", hint
    if kind == "value_error":
        reason = str((error.get("ctx") or {}).get("error", error["msg"]))
        return f"{subject}: {reason}", hint
    if kind == "enum":
        return f"{subject}: {error['msg'].lower()}, not {got}", hint
    return f"{subject}: {error['msg']} (got {got})", hint
