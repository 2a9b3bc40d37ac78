"""A problem found in a plan: by the loaders (schema, duplicates) or by the analysis."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Code(str, Enum):
    """Problem codes; the string values are the stable names in `--format json`."""

    SCHEMA = "schema"
    DUPLICATE_TASK = "duplicate-task"
    UNKNOWN_TASK = "unknown-task"
    CYCLE = "cycle"
    OWNERSHIP_OVERLAP = "ownership-overlap"
    READ_WRITE_HAZARD = "read-write-hazard"
    FORBIDDEN_WRITE = "forbidden-write"
    PATH_OUTSIDE_REPO = "path-outside-repo"
    PHASE_ORDER = "phase-order"
    RISK_SEPARATION = "risk-separation"  # info: pairs the risk tiers keep apart
    EMPTY_PLAN = "empty-plan"
    SHELL_SYNTAX = "shell-syntax"  # a command (`run:`, `verify`, `setup`) that does not split into words


@dataclass(frozen=True)
class Problem:
    code: Code
    severity: Severity
    message: str
    tasks: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    file: str | None = None
    line: int | None = None
    field: str | None = None
    hint: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code.value,
            "severity": self.severity.value,
            "message": self.message,
            "tasks": list(self.tasks),
            "paths": list(self.paths),
            "file": self.file,
            "line": self.line,
            "field": self.field,
            "hint": self.hint,
        }

    def location(self) -> str | None:
        if self.file is None:
            return None
        return f"{self.file}:{self.line}" if self.line else self.file

