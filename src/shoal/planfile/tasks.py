"""Tasks: from raw mappings (any format) to ``shoal.model.Task``.

A task without a usable id is skipped; a duplicate id keeps the first task.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shoal.model import DEFAULT_PHASE, Location, Phase, RiskTier, Task, TaskId
from shoal.planfile.convert import (
    Fields,
    Problems,
    Where,
    did_you_mean,
    normalize,
    validate,
)
from shoal.planfile.document import describe
from shoal.planfile.lines import Lines
from shoal.planfile.schema import TASK_ALIASES, TASK_NESTED, TaskModel
from shoal.problem import Code

RISK_MARKER = re.compile(
    r"\[\s*R\s*:\s*(GREEN|YELLOW|RED|CRITICAL)\s*\]", re.IGNORECASE
)
_RISK_ORDER = list(RiskTier)
_BAD_ID = re.compile(r"[\s/\\\x00-\x1f\x7f]")
TASK_FIELDS = tuple(TaskModel.model_fields)


def usable_id(task_id: str) -> bool:
    return (
        bool(task_id)
        and len(task_id) <= 200
        and task_id not in (".", "..")
        and not _BAD_ID.search(task_id)
    )


@dataclass
class TaskReader:
    """Converts the raw tasks of one plan; knows the plan's phases and folder."""

    problems: Problems
    root: Path
    phases: tuple[Phase, ...] | None = None  # None: no phases declared
    strict: bool = True
    ignored: tuple[str, ...] = ()  # keys other tools keep in tasks (lenient formats)
    known: tuple[str, ...] = TASK_FIELDS
    # format-specific hooks: per-task aliases, and a last touch after aliases are renamed
    aliases_for: Callable[[Mapping[Any, Any]], Mapping[str, tuple[str, ...]]] | None = (
        None
    )
    adjust: Callable[[Fields], None] | None = None
    tasks: list[Task] = field(default_factory=list)

    def read_all(
        self,
        raw: Any,
        lines: Lines,
        file: str,
        *,
        id_lines: Mapping[str, int] | None = None,
    ) -> None:
        """Read ``tasks:`` given as a list of mappings or as a mapping id -> fields."""
        if raw is None:
            return
        if isinstance(raw, list):
            for index, item in enumerate(raw):
                self.read(item, lines.get(index), file, index=index, id_lines=id_lines)
        elif isinstance(raw, Mapping):
            for key, item in raw.items():
                key_id = (
                    str(key)
                    if isinstance(key, (str, int)) and not isinstance(key, bool)
                    else None
                )
                self.read(
                    item,
                    lines.get(key),
                    file,
                    key_id=key_id or repr(key),
                    id_lines=id_lines,
                )
            for key, first, again in lines.duplicates:
                self.problems.add(
                    f"task id `{key}` is used twice (lines {first} and {again}); the second is ignored",
                    file=file,
                    line=again,
                    task=str(key),
                    field="id",
                    code=Code.DUPLICATE_TASK,
                    hint="rename one of them or merge them into one task",
                )
        else:
            self.problems.add(
                f"`tasks` should be a list of tasks or a mapping from id to task, not {describe(raw)}",
                file=file,
                line=lines.line,
                field="tasks",
                hint="write `tasks:` followed by items such as `- id: auth`",
            )

    def read(
        self,
        raw: Any,
        lines: Lines,
        file: str,
        *,
        index: int = 0,
        key_id: str | None = None,
        default_id: str | None = None,
        id_lines: Mapping[str, int] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Task | None:
        """Convert one task and add it (unless its id is unusable or taken)."""
        if raw is None and key_id is not None:
            raw = {}
        label_id = key_id or _raw_id(raw) or default_id
        if (
            lines.line is None
            and id_lines
            and label_id is not None
            and label_id in id_lines
        ):
            # a TOML inline table: the line of its `id = "..."` is the best we know
            lines = Lines(id_lines[label_id], lines.children, lines.duplicates)
        where = Where(
            file,
            lines,
            f"task `{label_id}`" if label_id else f"task {index + 1}",
            label_id,
        )
        if not isinstance(raw, Mapping):
            self.problems.add(
                f"{where.label} should be a mapping of fields, not {describe(raw)}",
                file=file,
                line=lines.line,
                task=label_id,
                hint="write a task like `{id: auth, owns: [src/auth/**]}`",
            )
            return None
        aliases = self.aliases_for(raw) if self.aliases_for else TASK_ALIASES
        fields = normalize(
            raw,
            where,
            self.problems,
            known=self.known,
            aliases=aliases,
            nested=TASK_NESTED,
            ignored=self.ignored,
            strict=self.strict,
        )
        if self.adjust is not None:
            self.adjust(fields)
        for name, value in (extra or {}).items():
            fields.values.setdefault(name, value)
        if key_id is not None:
            self._check_key_id(key_id, fields, where)
            fields.values["id"] = key_id
        elif default_id is not None and "id" not in fields.values:
            fields.values["id"] = default_id
        model = validate(TaskModel, fields, where, self.problems)
        if model is None or model.id is None:
            # (an id that was given but invalid is already reported)
            if model is not None and "id" not in fields.values:
                self.problems.add(
                    f"{where.label} has no `id`; it is skipped",
                    file=file,
                    line=lines.line,
                    field="id",
                    hint="give every task a unique `id`, such as `id: auth`",
                )
            return None
        task_id = model.id.strip()
        if not usable_id(task_id):
            self.problems.add(
                f"task id {task_id!r} cannot be used; the task is skipped",
                file=file,
                line=fields.line(where, "id"),
                task=task_id or None,
                field="id",
                hint="use letters, digits, `-`, `_` or `.` (no spaces or slashes)",
            )
            return None
        where.task, where.label = task_id, f"task `{task_id}`"
        task = self._build(model, fields, where, Location(file, lines.line))
        self._add(task)
        return task

    def _check_key_id(self, key_id: str, fields: Fields, where: Where) -> None:
        given = fields.values.get("id")
        if given is not None and str(given) != key_id:
            self.problems.add(
                f"{where.label}: `id: {given}` differs from its key `{key_id}`; the key is used",
                file=where.file,
                line=fields.line(where, "id"),
                task=key_id,
                field="id",
                hint="remove `id` (the key is the id) or make them equal",
            )

    def _build(
        self, model: Any, fields: Fields, where: Where, location: Location
    ) -> Task:
        risk = self._risk(model, fields, where)
        phase = self._phase(model.phase, fields, where)
        prompt_file = self._prompt_file(model, fields, where)
        field_lines = tuple(
            (name, line)
            for name in fields.values
            if name in model.model_fields_set
            and (line := fields.line(where, name)) is not None
        )
        return Task(
            id=TaskId(where.task or ""),
            title=model.title,
            prompt=model.prompt,
            prompt_file=prompt_file,
            owns=tuple(model.owns),
            reads=tuple(model.reads),
            forbids=tuple(model.forbids),
            after=tuple(TaskId(a.strip()) for a in model.after),
            risk=risk,
            phase=phase,
            estimate=model.estimate,
            agent=model.agent,
            timeout=model.timeout,
            retries=model.retries,
            verify=tuple(model.verify),
            run=tuple(model.run),
            spec_sections=tuple(model.spec_sections),
            functions=tuple(model.functions),
            patterns=tuple(model.patterns),
            parallel_safe=model.parallel_safe,
            location=location,
            field_lines=field_lines,
        )

    def _risk(self, model: Any, fields: Fields, where: Where) -> RiskTier:
        """Seed 004: `[R:TIER]` in the title sets the tier; a disagreeing `risk` is a problem."""
        marked = {RiskTier.parse(m) for m in RISK_MARKER.findall(model.title)}
        tiers = marked | ({model.risk} if model.risk is not None else set())
        if len(tiers) > 1:
            names = ", ".join(
                t.value.upper() for t in sorted(tiers, key=_RISK_ORDER.index)
            )
            highest = max(tiers, key=_RISK_ORDER.index)
            self.problems.add(
                f"{where.label}: risk tiers disagree ({names}); {highest.value.upper()} is assumed",
                file=where.file,
                line=fields.line(where, "risk" if model.risk else "title"),
                task=where.task,
                field="risk",
                hint="make the `[R:TIER]` marker in the title and `risk:` say the same tier",
            )
        return max(tiers, key=_RISK_ORDER.index) if tiers else RiskTier.GREEN

    def _phase(self, given: str | None, fields: Fields, where: Where) -> str:
        line = fields.line(where, "phase")
        if self.phases is None:
            if given is not None and given != DEFAULT_PHASE:
                self.problems.add(
                    f"{where.label}: phase `{given}` is not declared; the plan has no `phases`",
                    file=where.file,
                    line=line,
                    task=where.task,
                    field="phase",
                    hint=f"declare it under `phases:` (e.g. `- {{name: {given}, parallel: true}}`) "
                    "or remove `phase`",
                )
            return DEFAULT_PHASE
        names = [p.name for p in self.phases]
        if given is None:
            if len(names) > 1:
                self.problems.add(
                    f"{where.label} has no `phase`; this plan has phases {', '.join(names)}",
                    file=where.file,
                    line=where.lines.line,
                    task=where.task,
                    field="phase",
                    hint=f"add `phase:` with one of {', '.join(names)}",
                )
            return names[0]
        if given not in names:
            self.problems.add(
                f"{where.label}: unknown phase `{given}`",
                file=where.file,
                line=line,
                task=where.task,
                field="phase",
                hint=f"{did_you_mean(given, names) or ''} declared phases: "
                f"{', '.join(names)}".strip(),
            )
            return names[0]
        return given

    def _prompt_file(self, model: Any, fields: Fields, where: Where) -> str | None:
        if model.prompt_file is None:
            return None
        if model.prompt:
            self.problems.add(
                f"{where.label} sets both `prompt` and `prompt_file`",
                file=where.file,
                line=fields.line(where, "prompt_file"),
                task=where.task,
                field="prompt_file",
                hint="keep one of them",
            )
        try:
            found = (self.root / model.prompt_file).is_file()
        except (OSError, ValueError):
            found = False
        if not found:
            self.problems.add(
                f"{where.label}: prompt file `{model.prompt_file}` not found in {self.root}",
                file=where.file,
                line=fields.line(where, "prompt_file"),
                task=where.task,
                field="prompt_file",
                hint="paths in `prompt_file` are relative to the plan's folder",
            )
        return model.prompt_file

    def _add(self, task: Task) -> None:
        first = self._seen.get(task.id)
        if first is None:
            self._seen[task.id] = task
            self.tasks.append(task)
            return
        self.problems.add(
            f"task id `{task.id}` is used twice: first at {first.location}, again at "
            f"{task.location}; the second is ignored",
            file=task.location.file if task.location else None,
            line=task.location.line if task.location else None,
            task=task.id,
            field="id",
            code=Code.DUPLICATE_TASK,
            hint="rename one of them or merge them into one task",
        )

    def __post_init__(self) -> None:
        self._seen: dict[str, Task] = {}


def _raw_id(raw: Any) -> str | None:
    if isinstance(raw, Mapping):
        value = raw.get("id")
        if isinstance(value, str) or (
            isinstance(value, int) and not isinstance(value, bool)
        ):
            return str(value).strip() or None
    return None
