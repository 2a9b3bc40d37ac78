"""Seed 001: ``tasks.json`` next to an optional ``context-summary.json``.

These files are written by other tools, so reading is lenient: keys shoal does
not know are left alone (a clear typo of a known field is a warning), status
fields (``status``, ``completed_at``, ``duration_minutes``, ``blocker``) are
kept in the file and ignored. ``write_execution_strategy`` is the one write.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shoal.errors import PlanReadError
from shoal.model import Context, Plan, PlanFormat
from shoal.planfile.canonical import read_settings, report_duplicate_keys
from shoal.planfile.convert import Fields, Problems, Where, normalize, validate
from shoal.planfile.document import describe, read_document, read_text
from shoal.planfile.schema import CONTEXT_ALIASES, TASK_ALIASES, ContextModel
from shoal.planfile.tasks import TaskReader

CONTEXT_SUMMARY = "context-summary.json"
STATUS_KEYS = ("status", "completed_at", "duration_minutes", "blocker")
# estimate in minutes, best first; duration_minutes is a past run's actual time
MINUTE_KEYS = ("estimated_minutes", "estimate_minutes", "duration_minutes")
SEED_KEYS = STATUS_KEYS + MINUTE_KEYS + ("parallel_context", "wave", "notes")


def load_tasks_json(path: Path, source: str) -> tuple[Plan, Problems]:
    doc = read_document(path, "json")
    problems = Problems()
    root = path.parent
    parts = read_settings(doc, problems, root=root, strict=False, require_version=False)
    summary = path.parent / CONTEXT_SUMMARY
    if summary.is_file():
        parts.context = _merge_context(
            parts.context, _context_summary(summary, problems)
        )
    reader = TaskReader(
        problems,
        root,
        parts.phases,
        strict=False,
        ignored=SEED_KEYS,
        aliases_for=_aliases_for,
        adjust=_minutes_to_seconds,
    )
    reader.read_all(doc.data.get("tasks"), doc.lines.get("tasks"), doc.file)
    report_duplicate_keys(doc, problems)
    return parts.plan(reader.tasks, PlanFormat.TASKS_JSON, source, root), problems


def _aliases_for(raw: Mapping[Any, Any]) -> Mapping[str, tuple[str, ...]]:
    """Seed 001 writes `summary` and a longer `description`: title and prompt."""
    aliases = dict(TASK_ALIASES)
    if (
        "description" in raw
        and ("summary" in raw or "title" in raw)
        and "prompt" not in raw
    ):
        aliases["title"] = ("summary",)
        aliases["prompt"] = ("description",)
    if "estimate" not in raw:
        chosen = next((key for key in MINUTE_KEYS if key in raw), None)
        if chosen:
            aliases["estimate"] = (chosen,)
    return aliases


def _minutes_to_seconds(fields: Fields) -> None:
    if fields.written.get("estimate") in MINUTE_KEYS:
        value = fields.values["estimate"]
        if isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
            value = float(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            fields.values["estimate"] = value * 60.0


def _context_summary(path: Path, problems: Problems) -> ContextModel:
    doc = read_document(path, "json")
    data = doc.data
    nested = data.get("global")
    if isinstance(nested, Mapping) and "product_pitch" not in data:
        data = {**nested, **{k: v for k, v in data.items() if k != "global"}}
    where = Where(doc.file, doc.lines, "context summary")
    known = list(ContextModel.model_fields)
    fields = normalize(
        data, where, problems, known=known, aliases=CONTEXT_ALIASES, strict=False
    )
    return validate(ContextModel, fields, where, problems) or ContextModel()  # type: ignore[return-value]


def _merge_context(context: Context, summary: ContextModel) -> Context:
    """The summary fills what tasks.json itself leaves empty."""
    return Context(
        product_pitch=context.product_pitch or summary.product_pitch,
        tech_stack=context.tech_stack or tuple(summary.tech_stack),
        branch=context.branch or summary.branch,
        text=context.text or summary.text,
        contracts=context.contracts or tuple(summary.contracts),
    )


_INDENT = re.compile(r"^[\[{]\s*\n([ \t]+)\S", re.MULTILINE)


def write_execution_strategy(tasks_json: Path, strategy: dict[str, Any]) -> None:
    """Set seed 001's ``execution_strategy`` in an existing tasks.json.

    Every other key keeps its value and its place; the file is replaced
    atomically (a temporary file in the same folder, then ``os.replace``).
    """
    path = Path(tasks_json)
    text = read_text(path)
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        line = getattr(exc, "lineno", None)
        raise PlanReadError(
            f"cannot update {path}: malformed JSON"
            + (f" at line {line}" if line else ""),
            file=str(path),
            line=line,
            hint="fix the JSON first",
        ) from None
    if not isinstance(data, dict):
        raise PlanReadError(
            f"cannot update {path}: the top level is {describe(data)}, not an object",
            file=str(path),
        )
    data["execution_strategy"] = strategy  # an existing key keeps its place
    found = _INDENT.search(text)
    indent = found.group(1) if found else "  "
    output = json.dumps(data, indent=indent, ensure_ascii=False) + "\n"
    folder = path.parent
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(output)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.chmod(temp, path.stat().st_mode & 0o7777)
        except OSError:
            pass  # keeping the mode is a courtesy
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
