"""Seed 002: a plan folder ``parallel/<ID>-<slug>/``.

``tasks/*.md`` hold one task each: YAML front matter for the fields (the id
defaults to the file name) and a body that is the task's prompt;
``context.md`` is shared text, ``prompts/<task>.txt`` a task's prompt file,
``contracts/`` files every worker must follow. An optional ``plan.yaml`` (or
.yml/.json/.toml) there holds plan-level settings such as phases and defaults.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from shoal.errors import PlanReadError
from shoal.model import Plan, PlanFormat
from shoal.planfile.canonical import PlanParts, read_settings, report_duplicate_keys
from shoal.planfile.convert import Problems
from shoal.planfile.document import (
    Document,
    describe,
    parse_yaml,
    read_document,
    read_text,
)
from shoal.planfile.lines import Lines
from shoal.planfile.tasks import TaskReader
from shoal.problem import Severity

SETTINGS_NAMES = ("plan.yaml", "plan.yml", "plan.json", "plan.toml")
_FENCE = re.compile(r"^(?:---|\.\.\.)[ \t]*$")
_HEADING = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def is_plan_folder(folder: Path) -> bool:
    try:
        return (folder / "tasks").is_dir() and any((folder / "tasks").glob("*.md"))
    except OSError:
        return False


def settings_file(folder: Path) -> Path | None:
    return next((folder / n for n in SETTINGS_NAMES if (folder / n).is_file()), None)


def load_folder(folder: Path, source: str) -> tuple[Plan, Problems]:
    problems = Problems()
    settings = settings_file(folder)
    doc = read_document(settings) if settings else Document(str(folder), {}, Lines())
    parts = read_settings(
        doc, problems, root=folder, strict=True, require_version=False
    )
    parts = _folder_context(folder, parts)
    reader = TaskReader(problems, folder, parts.phases)
    if settings:  # tasks may also be listed in the settings file
        reader.read_all(
            doc.data.get("tasks"),
            doc.lines.get("tasks"),
            doc.file,
            id_lines=doc.id_lines,
        )
        report_duplicate_keys(doc, problems)
    for md in sorted((folder / "tasks").glob("*.md")):
        _read_task_file(md, folder, reader, problems)
    return parts.plan(reader.tasks, PlanFormat.PLAN_FOLDER, source, folder), problems


def _folder_context(folder: Path, parts: PlanParts) -> PlanParts:
    context = parts.context
    context_md = folder / "context.md"
    if context_md.is_file() and not context.text:
        context = replace(context, text=read_text(context_md).strip())
    contracts_dir = folder / "contracts"
    if contracts_dir.is_dir():
        found = sorted(
            p.relative_to(folder).as_posix()
            for p in contracts_dir.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )
        context = replace(
            context, contracts=tuple(dict.fromkeys((*context.contracts, *found)))
        )
    parts.context = context
    return parts


def _read_task_file(
    md: Path, folder: Path, reader: TaskReader, problems: Problems
) -> None:
    text = read_text(md)
    file = str(md)
    meta, body, meta_lines, broken = _front_matter(text, file, problems)
    if not isinstance(meta, dict):
        if meta is not None:
            problems.add(
                f"the front matter of {md.name} is {describe(meta)}, not a mapping of fields",
                file=file,
                line=2,
                task=md.stem,
                hint="write `key: value` lines between the `---` lines",
            )
        meta = {}
    body = body.strip()
    extra: dict[str, object] = {}
    if "title" not in meta and "summary" not in meta and "description" not in meta:
        heading = _HEADING.search(body)
        extra["title"] = heading.group(1) if heading else md.stem
    has_prompt = "prompt" in meta or "prompt_file" in meta
    if body and not has_prompt and not broken:
        extra["prompt"] = body
    elif body and has_prompt:
        problems.add(
            f"the body of {md.name} is not used because its front matter sets "
            f"`{'prompt' if 'prompt' in meta else 'prompt_file'}`",
            file=file,
            line=meta_lines.line,
            task=md.stem,
            field="prompt",
            hint="move the text into the body or the front matter, not both",
            severity=Severity.WARNING,
        )
    elif not body and not has_prompt:
        task_id = str(meta.get("id", md.stem))
        for name in (task_id, md.stem):
            if (folder / "prompts" / f"{name}.txt").is_file():
                extra["prompt_file"] = f"prompts/{name}.txt"
                break
    lines = meta_lines if meta_lines.line else Lines(1, meta_lines.children)
    reader.read(meta, lines, file, default_id=md.stem, extra=extra)


def _front_matter(
    text: str, file: str, problems: Problems
) -> tuple[object, str, Lines, bool]:
    """(fields, body, lines of the fields, whether the front matter was unreadable)."""
    rows = text.splitlines(keepends=True)
    if not rows or rows[0].strip() != "---":
        return None, text, Lines(1), False
    end = next(
        (i for i in range(1, len(rows)) if _FENCE.match(rows[i].rstrip("\r\n"))), None
    )
    if end is None:
        problems.add(
            "the front matter is not closed",
            file=file,
            line=1,
            hint="end the front matter with a line holding only `---`",
        )
        return None, "", Lines(1), True
    inner, body = "".join(rows[1:end]), "".join(rows[end + 1 :])
    if not inner.strip():
        return {}, body, Lines(1), False
    try:
        data, lines = parse_yaml(inner, file, line_offset=1)
    except PlanReadError as exc:
        problems.add(
            f"the front matter cannot be read: {exc.message}",
            file=file,
            line=exc.line,
            hint=exc.hint,
        )
        return None, body, Lines(1), True
    return data, body, lines, False
