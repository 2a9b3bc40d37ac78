"""The canonical format: ``plan.yaml`` / ``plan.json`` / ``plan.toml``, ``version: 1``.

``read_settings`` (everything but the tasks) is shared with seed 001's
tasks.json and seed 002's optional plan.yaml, which are read leniently.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shoal.model import Context, Defaults, Location, Phase, Plan, PlanFormat, Task
from shoal.planfile.convert import Problems, Where, normalize, validate
from shoal.planfile.document import Document, describe, read_document
from shoal.planfile.lines import Lines
from shoal.planfile.schema import (
    CONTEXT_ALIASES,
    SCHEMA_VERSION,
    SHARED_SETTINGS,
    ContextModel,
    DefaultsModel,
    PhaseModel,
    SettingsModel,
)
from shoal.planfile.tasks import TaskReader
from shoal.problem import Severity

SECTIONS = ("context", "defaults", "phases", "tasks")
SETTING_KEYS = tuple(
    info.alias or name for name, info in SettingsModel.model_fields.items()
)
TOP_KEYS = SETTING_KEYS + SECTIONS


@dataclass
class PlanParts:
    """Everything of a plan but its tasks."""

    name: str
    context: Context = field(default_factory=Context)
    defaults: Defaults = field(default_factory=Defaults)
    phases: tuple[Phase, ...] | None = None  # None: none declared
    setup: tuple[str, ...] = ()
    copy: tuple[str, ...] = ()
    prompt_template: str | None = None
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def plan(self, tasks: list[Task], fmt: PlanFormat, source: str, root: Path) -> Plan:
        kwargs: dict[str, Any] = {"phases": self.phases} if self.phases else {}
        return Plan(
            tasks=tuple(tasks),
            name=self.name,
            version=SCHEMA_VERSION,
            context=self.context,
            defaults=self.defaults,
            setup=self.setup,
            copy=self.copy,
            prompt_template=self.prompt_template,
            agents=self.agents,
            format=fmt,
            source=source,
            root=os.path.abspath(root),
            **kwargs,
        )


def load_canonical(path: Path, source: str) -> tuple[Plan, Problems]:
    doc = read_document(path)
    problems = Problems()
    root = path.parent
    parts = read_settings(doc, problems, root=root, strict=True, require_version=True)
    reader = TaskReader(problems, root, parts.phases)
    reader.read_all(
        doc.data.get("tasks"), doc.lines.get("tasks"), doc.file, id_lines=doc.id_lines
    )
    report_duplicate_keys(doc, problems)
    return parts.plan(reader.tasks, PlanFormat.CANONICAL, source, root), problems


def read_settings(
    doc: Document,
    problems: Problems,
    *,
    root: Path,
    strict: bool,
    require_version: bool,
) -> PlanParts:
    data, lines, file = doc.data, doc.lines, doc.file
    where = Where(file, lines, "plan")
    fields = normalize(data, where, problems, known=TOP_KEYS, strict=strict)
    if "version" not in fields.values and require_version:
        problems.add(
            "the plan has no `version`",
            file=file,
            line=1,
            field="version",
            hint="add `version: 1` as the first line",
        )
    plain = {k: v for k, v in fields.values.items() if k not in SECTIONS}
    settings_fields = type(fields)(plain, fields.paths, fields.written)
    settings = (
        validate(SettingsModel, settings_fields, where, problems) or SettingsModel()
    )
    if "version" in settings.model_fields_set and settings.version != SCHEMA_VERSION:
        problems.add(
            f"this shoal reads version {SCHEMA_VERSION} plans, not version {settings.version}",
            file=file,
            line=fields.line(where, "version"),
            field="version",
            hint=f"write `version: {SCHEMA_VERSION}` and the fields of that version, or upgrade shoal",
        )
    context = _section(
        ContextModel,
        fields.values.get("context"),
        lines.get("context"),
        file,
        problems,
        "context",
        strict,
        CONTEXT_ALIASES,
    )
    defaults = _section(
        DefaultsModel,
        fields.values.get("defaults"),
        lines.get("defaults"),
        file,
        problems,
        "defaults",
        strict,
        None,
    )
    _check_shared(settings, defaults, fields, where, lines.get("defaults"), problems)
    chosen = {
        name: getattr(settings, name)
        if name in settings.model_fields_set
        else getattr(defaults, name)
        for name in SHARED_SETTINGS
    }
    return PlanParts(
        name=settings.name or _folder_name(root),
        context=Context(
            product_pitch=context.product_pitch,
            tech_stack=tuple(context.tech_stack),
            branch=context.branch,
            text=context.text,
            contracts=tuple(context.contracts),
        ),
        defaults=Defaults(
            agent=defaults.agent,
            timeout=defaults.timeout,
            retries=defaults.retries,
            max_parallel=chosen["max_parallel"],
            isolation=chosen["isolation"],
            verify=tuple(chosen["verify"]),
            shared_readonly=tuple(chosen["shared_readonly"]),
            idle_timeout=defaults.idle_timeout,
            budget_usd=defaults.budget_usd,
            workspace_root=defaults.workspace_root,
            continue_sessions=defaults.continue_sessions,
        ),
        phases=_phases(
            fields.values.get("phases"), lines.get("phases"), file, problems
        ),
        setup=tuple(settings.setup),
        copy=tuple(settings.copy_),
        agents={name: dict(values) for name, values in settings.agents.items()},
        prompt_template=_template(
            settings.prompt_template,
            root,
            file,
            fields.line(where, "prompt_template"),
            problems,
        ),
    )


def _section(model, raw, lines: Lines, file, problems, name, strict, aliases):  # type: ignore[no-untyped-def]
    where = Where(file, lines, f"`{name}`")
    if raw is None:
        return model()
    if not isinstance(raw, Mapping):
        problems.add(
            f"`{name}` should be a mapping, not {describe(raw)}",
            file=file,
            line=lines.line,
            field=name,
            hint=f"write `{name}:` followed by indented `key: value` lines",
        )
        return model()
    known = [info.alias or key for key, info in model.model_fields.items()]
    fields = normalize(
        raw, where, problems, known=known, aliases=aliases, strict=strict
    )
    return validate(model, fields, where, problems) or model()


def _check_shared(settings, defaults, fields, where, defaults_lines, problems) -> None:  # type: ignore[no-untyped-def]
    for name in SHARED_SETTINGS:
        if name in settings.model_fields_set and name in defaults.model_fields_set:
            top, inner = getattr(settings, name), getattr(defaults, name)
            if top != inner:
                problems.add(
                    f"`{name}` is set both at the top level ({_show(top)}) and in `defaults` "
                    f"({_show(inner)}); the top-level value is used",
                    file=where.file,
                    line=defaults_lines.line_of(name),
                    field=name,
                    hint=f"keep `{name}` in one place",
                )


def _show(value: Any) -> str:
    return getattr(value, "value", None) or repr(value)


def _phases(
    raw: Any, lines: Lines, file: str, problems: Problems
) -> tuple[Phase, ...] | None:
    if raw is None or raw == []:
        return None
    if not isinstance(raw, list):
        problems.add(
            f"`phases` should be a list, not {describe(raw)}",
            file=file,
            line=lines.line,
            field="phases",
            hint="write items such as `- {name: implementation, parallel: true}`",
        )
        return None
    phases: list[Phase] = []
    for index, item in enumerate(raw):
        item_lines = lines.get(index)
        if isinstance(item, str):  # shorthand: a name alone is a parallel phase
            item = {"name": item}
        where = Where(file, item_lines, f"phase {index + 1}")
        if not isinstance(item, Mapping):
            problems.add(
                f"phase {index + 1} should be a mapping, not {describe(item)}",
                file=file,
                line=item_lines.line,
                field="phases",
                hint="write it like `{name: implementation, parallel: true}`",
            )
            continue
        fields = normalize(item, where, problems, known=PhaseModel.model_fields)
        model = validate(PhaseModel, fields, where, problems)
        if model is None:
            continue
        if any(p.name == model.name for p in phases):
            problems.add(
                f"phase `{model.name}` is declared twice; the second is ignored",
                file=file,
                line=item_lines.line,
                field="phases",
                hint="give each phase its own name",
            )
            continue
        phases.append(
            Phase(model.name, model.parallel, Location(file, item_lines.line))
        )
    return tuple(phases) or None


def _template(
    value: str | None, root: Path, file: str, line: int | None, problems: Problems
) -> str | None:
    if value is not None:
        try:
            found = (root / value).is_file()
        except (OSError, ValueError):
            found = False
        if not found:
            problems.add(
                f"prompt template `{value}` not found in {root}",
                file=file,
                line=line,
                field="prompt_template",
                hint="the path is relative to the plan's folder",
            )
    return value


def _folder_name(root: Path) -> str:
    return Path(os.path.abspath(root)).name or "plan"


def report_duplicate_keys(doc: Document, problems: Problems) -> None:
    """Keys written twice in one mapping (tasks given as a mapping are reported elsewhere)."""
    tasks_node = doc.lines.get("tasks")
    seen: set[int] = set()  # YAML aliases share nodes: visit each once

    def visit(node: Lines, data: Any, path: tuple[Any, ...]) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if not (node is tasks_node and isinstance(data, Mapping)):
            for key, first, again in node.duplicates:
                task = _task_at(doc.data, path)
                problems.add(
                    f"{'task `' + task + '`: ' if task else ''}`{key}` is given twice "
                    f"(lines {first} and {again}); the first is used",
                    file=doc.file,
                    line=again,
                    task=task,
                    field=str(key),
                    hint="remove one of them",
                    severity=Severity.ERROR,
                )
        for key, child in node.children.items():
            if not child.children and not child.duplicates:
                continue  # a leaf: nothing below it
            child_data = (
                data.get(key)
                if isinstance(data, Mapping)
                else (
                    data[key]
                    if isinstance(data, list)
                    and isinstance(key, int)
                    and key < len(data)
                    else None
                )
            )
            visit(child, child_data, (*path, key))

    try:
        visit(doc.lines, doc.data, ())
    except RecursionError:  # absurdly deep documents: skip this nicety
        pass


def _task_at(data: Any, path: tuple[Any, ...]) -> str | None:
    if len(path) < 2 or path[0] != "tasks" or not isinstance(data, Mapping):
        return None
    tasks = data.get("tasks")
    if isinstance(tasks, Mapping):
        return str(path[1])
    if isinstance(tasks, list) and isinstance(path[1], int) and path[1] < len(tasks):
        item = tasks[path[1]]
        if isinstance(item, Mapping) and isinstance(item.get("id"), (str, int)):
            return str(item["id"])
    return None
