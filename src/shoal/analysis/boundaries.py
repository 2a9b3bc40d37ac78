"""Reading the path fields of a plan (``owns``, ``reads``, ``forbids``,
``shared_readonly``) into patterns, with the problems of each path: negated or broken
patterns, paths that leave the repository, a bare name that finds nothing at the root but
something deeper, and a task owning what it forbids itself."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..model import Plan, Task
from ..problem import Code, Problem, Severity
from .paths import RepoNames, SymlinkGuard, looks_like_file, normalise, outside_reason
from .pattern import (
    _PLAIN,
    STAR2,
    Pattern,
    PatternError,
    literal_pattern,
    overlap,
    parse_pattern,
)
from .problems import anchor_note, at_plan, at_task

PATH_FIELDS = ("owns", "reads", "forbids")
_WINDOWS_SEPARATOR = re.compile(r"\\[A-Za-z0-9_.-]")

# (code, severity, what is wrong with the path, hint); "{field}" is filled in later
Issue = tuple[Code, Severity, str, str]


@dataclass
class TaskPaths:
    owns: list[Pattern] = field(default_factory=list)
    reads: list[Pattern] = field(default_factory=list)
    forbids: list[Pattern] = field(default_factory=list)


class PathReader:
    """Turns plan paths into patterns, once per distinct text."""

    def __init__(self, repo: Path | None = None) -> None:
        self.guard = SymlinkGuard(repo) if repo is not None else None
        self.names = RepoNames(repo) if repo is not None else None
        # a plain path maps to its pattern alone (most of them: no tuple to build),
        # anything else to (pattern or None, issues)
        self._cache: dict[str, Pattern | tuple[Pattern | None, tuple[Issue, ...]]] = {}

    def read(self, raw: str) -> tuple[Pattern | None, tuple[Issue, ...]]:
        hit = self._cache.get(raw)
        if hit is None:
            if self.guard is None and _PLAIN.fullmatch(raw):
                pattern = self._cache[raw] = literal_pattern(raw)  # nothing to tidy or report
                return pattern, ()
            hit = self._cache[raw] = self._read(raw)
        elif type(hit) is Pattern:
            return hit, ()
        return hit  # type: ignore[return-value]

    def _read(self, raw: str) -> tuple[Pattern | None, tuple[Issue, ...]]:
        if raw.strip().startswith("!"):
            return None, ((Code.SCHEMA, Severity.ERROR,
                           "is a negated pattern, which `{field}` does not support; it is ignored",
                           "list only what to include; to keep a task out of a path, use `forbids`"),)
        reason = outside_reason(raw)
        if reason is not None:
            return None, ((Code.PATH_OUTSIDE_REPO, Severity.ERROR, reason,
                           "write paths relative to the repository root, e.g. `src/app.py`"),)
        issues: list[Issue] = []
        if _WINDOWS_SEPARATOR.search(raw):
            issues.append((Code.SCHEMA, Severity.WARNING,
                           "contains a backslash, which escapes the next character in gitignore syntax",
                           "separate directories with `/`"))
        text = normalise(raw)
        try:
            pattern = parse_pattern(text)
        except PatternError as exc:
            issues.append((Code.SCHEMA, Severity.WARNING, f"{exc}; it matches nothing and is ignored",
                           "fix the pattern (gitignore syntax: `*`, `?`, `[abc]`, `**`)"))
            return None, tuple(issues)
        if self.guard is not None:
            escape = self.guard.escape(text)
            if escape is not None:
                issues.append((Code.PATH_OUTSIDE_REPO, Severity.ERROR,
                               f"goes through the symlink {escape}, which points outside the repository",
                               "name the real path inside the repository, or replace the symlink"))
            if (pattern.literal and not pattern.declared_dir and looks_like_file(pattern.segs[-1])  # type: ignore[arg-type]
                    and self.guard.is_dir(text)):
                pattern = pattern.as_directory()  # e.g. an existing `lodash.merge` folder
        if self.names is not None and len(pattern.segs) == 1 and pattern.segs[0] is not STAR2:
            issue = _only_deeper(pattern, self.names)
            if issue is not None:
                issues.append(issue)
        return pattern, tuple(issues)


def _only_deeper(pattern: Pattern, names: RepoNames) -> Issue | None:
    """A bare name (``CHANGES.md``, ``common/``, ``*.py``) is the root's only; written for
    gitignore's old meaning (any depth), it may now quietly cover less than meant."""
    seg = pattern.segs[0]
    test = seg.__eq__ if type(seg) is str else seg.matcher()  # type: ignore[union-attr]
    if names.at_root(test):
        return None
    example = names.deeper(test, pattern.dir_only)
    if example is None:
        return None
    text = pattern.text
    hint = (f"plan paths are anchored at the repository root: write `**/{text}` for `{text}` "
            f"at any depth, or the path of the one meant (`{example.rstrip('/')}`)")
    return (Code.SCHEMA, Severity.WARNING,
            f"means the repository root's `{text}` only, and there is none; there is `{example}`",
            hint)


def read_task_paths(plan: Plan, reader: PathReader, problems: list[Problem]) -> list[TaskPaths]:
    """Every task's patterns, reporting the problems of each path where it is written."""
    out: list[TaskPaths] = []
    read = reader.read
    for task in plan.tasks:
        fields = []
        for name in PATH_FIELDS:
            patterns: list[Pattern] = []
            for raw in getattr(task, name):
                pattern, issues = read(raw)
                for code, severity, detail, hint in issues:
                    problems.append(at_task(
                        task, code, severity, f"`{name}` path `{raw}` {detail.format(field=name)}",
                        field=name, paths=(raw,), hint=hint))
                if pattern is not None:
                    patterns.append(pattern)
            fields.append(patterns)
        out.append(TaskPaths(*fields))
    return out


def read_shared_readonly(plan: Plan, reader: PathReader, problems: list[Problem]) -> list[Pattern]:
    out: list[Pattern] = []
    for raw in plan.defaults.shared_readonly:
        pattern, issues = reader.read(raw)
        for code, severity, detail, hint in issues:
            problems.append(at_plan(plan, code, severity,
                                    f"`shared_readonly` path `{raw}` {detail.format(field='shared_readonly')}",
                                    field="shared_readonly", paths=(raw,), hint=hint))
        if pattern is not None:
            out.append(pattern)
    return out


def own_forbids(task: Task, paths: TaskPaths) -> list[Problem]:
    """A task owning a path that its own ``forbids`` covers."""
    out: list[Problem] = []
    for owned in paths.owns:
        for banned in paths.forbids:
            example = overlap(owned, banned)
            if example is None:
                continue
            out.append(at_task(
                task, Code.FORBIDDEN_WRITE, Severity.ERROR,
                f"task `{task.id}` owns `{owned.text}`, which overlaps its own forbidden "
                f"`{banned.text}` (both cover {example})",
                field="owns", paths=(owned.text, banned.text),
                hint="narrow `owns` so it stays clear of `forbids`, or drop the `forbids` entry."
                     + anchor_note((owned.text, banned.text))))
    return out
