"""Reading a plan file into plain data plus its ``Lines``.

Everything that makes a file unreadable — missing, not UTF-8, malformed
YAML/JSON/TOML, top level not a mapping — raises ``PlanReadError`` here, with
the file, line and column and what to do.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from shoal.errors import PlanReadError
from shoal.planfile.lines import Lines, json_lines, toml_lines
from shoal.planfile.yamlreader import read_yaml


@dataclass(frozen=True)
class Document:
    """One parsed file: its data, the lines of its parts, its name for messages."""

    file: str
    data: Any
    lines: Lines = field(default_factory=Lines)
    # TOML: the line of each `id = "..."`, for tasks written as inline tables
    id_lines: dict[str, int] = field(default_factory=dict)


def read_text(path: Path) -> str:
    """The file's text; ``PlanReadError`` if it is missing, unreadable or not UTF-8."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PlanReadError(f"{path} does not exist", file=str(path)) from None
    except IsADirectoryError:
        raise PlanReadError(f"{path} is a folder, not a file", file=str(path)) from None
    except OSError as exc:
        raise PlanReadError(
            f"cannot read {path}: {exc.strerror or exc}", file=str(path)
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise PlanReadError(
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start} "
            f"(line {line}, column {column}) cannot be decoded",
            file=str(path),
            line=line,
            hint="save the file as UTF-8",
        ) from None
    return text.removeprefix("\ufeff")


def kind_of(path: Path) -> str:
    """``yaml``, ``json`` or ``toml`` from the file name; YAML when unsure."""
    suffix = path.suffix.lower()
    return {".json": "json", ".toml": "toml"}.get(suffix, "yaml")


def read_document(
    path: Path, kind: str | None = None, *, mapping: bool = True
) -> Document:
    """Read and parse ``path``; with ``mapping``, the top level must be a mapping."""
    text = read_text(path)
    return parse_document(text, str(path), kind or kind_of(path), mapping=mapping)


def parse_document(
    text: str, file: str, kind: str, *, mapping: bool = True, line_offset: int = 0
) -> Document:
    if not text.strip():
        raise PlanReadError(
            "the file is empty",
            file=file,
            hint="write a plan in it, or run `shoal init DIR` for an example",
        )
    id_lines: dict[str, int] = {}
    if kind == "json":
        data, lines = _parse_json(text, file)
    elif kind == "toml":
        data, lines, id_lines = _parse_toml(text, file)
    else:
        data, lines = parse_yaml(text, file, line_offset)
    if mapping and not isinstance(data, dict):
        raise PlanReadError(
            f"the top level is {describe(data)}, not a mapping of keys to values",
            file=file,
            line=lines.line,
            hint="a plan starts with keys such as `version: 1` and `tasks:`",
        )
    return Document(file, data, lines, id_lines)


def describe(value: Any) -> str:
    """A short phrase naming the type of a value, for messages."""
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"text ({shown!r})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


# --- JSON and TOML --------------------------------------------------------


def _first_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        out.setdefault(key, value)  # duplicates are reported from the Lines
    return out


def _parse_json(text: str, file: str) -> tuple[Any, Lines]:
    try:
        data = json.loads(text, object_pairs_hook=_first_wins)
    except json.JSONDecodeError as exc:
        raise PlanReadError(
            f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            file=file,
            line=exc.lineno,
            hint="fix the JSON syntax there (a missing comma or quote, or a trailing comma, is usual)",
        ) from None
    except RecursionError:
        raise PlanReadError(
            "the JSON is nested too deeply to read", file=file
        ) from None
    try:
        lines = json_lines(text)
    except (
        RecursionError,
        ValueError,
        IndexError,
    ):  # lines are a nicety; never fail on them
        lines = Lines(1)
    return data, lines


_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def _parse_toml(text: str, file: str) -> tuple[Any, Lines, dict[str, int]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        at = _TOML_AT.search(message)
        line = int(at.group(1)) if at else None
        raise PlanReadError(
            f"malformed TOML: {message}",
            file=file,
            line=line,
            hint="fix the TOML syntax there (strings need quotes; each key once per table)",
        ) from None
    except RecursionError:
        raise PlanReadError(
            "the TOML is nested too deeply to read", file=file
        ) from None
    lines, id_lines = toml_lines(text)
    return data, lines, id_lines


# --- YAML -----------------------------------------------------------------


def parse_yaml(text: str, file: str, line_offset: int = 0) -> tuple[Any, Lines]:
    """Data and lines of a YAML text; ``PlanReadError`` if it is malformed."""
    try:
        return read_yaml(text, line_offset)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + line_offset if mark else None
        where = f" at line {line}, column {mark.column + 1}" if mark else ""
        what = exc.problem or exc.context or "syntax error"
        if "nesting depth" in what:  # PyYAML 6.0.4 and later stop at a depth of their own
            raise PlanReadError(f"the YAML is nested too deeply{where}", file=file, line=line,
                                hint="a plan needs only a few levels") from None
        if exc.problem and exc.context:
            started = (
                exc.context_mark.line + 1 + line_offset if exc.context_mark else None
            )
            what += f" ({exc.context}" + (
                f" started at line {started})" if started else ")"
            )
        raise PlanReadError(
            f"malformed YAML{where}: {what}",
            file=file,
            line=line,
            hint="fix the YAML there: check indentation, and quote values containing `: `, `#`, `[` or `{`",
        ) from None
    except yaml.YAMLError as exc:  # e.g. a reader error: control characters
        raise PlanReadError(
            f"malformed YAML: {exc}", file=file, hint="remove the offending characters"
        ) from None
    except RecursionError:
        raise PlanReadError(
            "the YAML is nested too deeply (or refers to itself)", file=file
        ) from None
