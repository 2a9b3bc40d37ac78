"""The script: what the mock model does for each task (actions, report, errors, usage, delay).

A script is a mapping (from JSON or YAML) of task ids to entries, with ``"*"`` for any task
(and for prompts that name no task)::

    {"*": {"usage": {"input_tokens": 100, "output_tokens": 20}},
     "b": {"status": "blocked", "blocker": "needs the schema from task a"},
     "c": {"error": "rate_limit", "error_times": 2, "delay": 0.5},
     "d": {"actions": [{"append": "d.txt", "line": "hello"}, {"run": "echo hi"},
                       {"write": "e.txt", "content": "whole file\\n"}]}}

Entry keys: ``actions`` (default: append ``edited by <task>`` to each owned file), ``status``
(``complete``, ``blocked``, ``failed``), ``blocker``, ``notes``, ``error`` (a kind: ``auth``,
``billing``, ``rate_limit``, ``overloaded``, ``server``, or an HTTP status: 401, 402, 400,
429, 529, 500), ``error_times`` (how many requests fail before it answers normally; default
every one), ``usage`` (``input_tokens``, ``output_tokens``, ``cache_read_tokens``,
``cache_write_tokens`` per response), ``delay`` (seconds before each answer), ``final`` (the
whole final message instead of the report).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ERROR_KINDS = ("auth", "billing", "rate_limit", "overloaded", "server")
STATUS_KINDS = {401: "auth", 403: "auth", 402: "billing", 400: "billing", 429: "rate_limit",
                529: "overloaded", 503: "overloaded", 500: "server"}
REPORT_STATUSES = ("complete", "blocked", "failed")


class ScriptError(ValueError):
    """A script that cannot be read: says which entry or key is wrong."""


@dataclass(frozen=True)
class Usage:
    """Token counts the mock reports for every response it gives."""

    input_tokens: int = 100
    output_tokens: int = 20
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @classmethod
    def parse(cls, raw: Any) -> Usage:
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise ScriptError(f"usage must be a mapping, not {raw!r}")
        unknown = set(raw) - {"input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"}
        if unknown:
            raise ScriptError(f"usage has unknown keys {sorted(unknown)}")
        return cls(**{k: int(v) for k, v in raw.items()})


@dataclass(frozen=True)
class Action:
    """One thing the worker does: ``append`` a line, ``write`` a whole file, or ``run`` a command."""

    kind: str
    path: str = ""
    text: str = ""

    @classmethod
    def parse(cls, raw: Any) -> Action:
        if not isinstance(raw, dict):
            raise ScriptError(f"an action must be a mapping, not {raw!r}")
        if "append" in raw:
            return cls("append", str(raw["append"]), str(raw.get("line", "")))
        if "write" in raw:
            return cls("write", str(raw["write"]), str(raw.get("content", "")))
        if "run" in raw:
            return cls("run", text=str(raw["run"]))
        raise ScriptError(f"an action needs 'append', 'write' or 'run': {raw!r}")


@dataclass(frozen=True)
class Entry:
    """What the mock does for one task."""

    actions: tuple[Action, ...] | None = None
    status: str = "complete"
    blocker: str | None = None
    notes: str | None = None
    error: str | None = None
    error_status: int | None = None
    error_times: int | None = None
    usage: Usage = field(default_factory=Usage)
    delay: float = 0.0
    final: str | None = None

    @classmethod
    def parse(cls, raw: Any) -> Entry:
        if not isinstance(raw, dict):
            raise ScriptError(f"a script entry must be a mapping, not {raw!r}")
        known = {"actions", "status", "blocker", "notes", "error", "error_times", "usage", "delay", "final"}
        if unknown := set(raw) - known:
            raise ScriptError(f"script entry has unknown keys {sorted(unknown)}; known: {sorted(known)}")
        status = str(raw.get("status", "complete"))
        if status not in REPORT_STATUSES:
            raise ScriptError(f"status must be one of {REPORT_STATUSES}, not {status!r}")
        error, error_status = raw.get("error"), None
        if isinstance(error, int) and not isinstance(error, bool):
            error_status, error = error, STATUS_KINDS.get(error, "server")
        elif error is not None and error not in ERROR_KINDS:
            raise ScriptError(f"error must be one of {ERROR_KINDS} or an HTTP status, not {error!r}")
        actions = raw.get("actions")
        return cls(
            actions=None if actions is None else tuple(Action.parse(a) for a in actions),
            status=status, blocker=raw.get("blocker"), notes=raw.get("notes"),
            error=error, error_status=error_status,
            error_times=None if raw.get("error_times") is None else int(raw["error_times"]),
            usage=Usage.parse(raw.get("usage")), delay=float(raw.get("delay", 0.0)),
            final=raw.get("final"))


class Script:
    """Entries per task id; ``"*"`` applies to any task without its own entry."""

    def __init__(self, entries: dict[str, Entry] | None = None) -> None:
        self.entries = dict(entries or {})

    @classmethod
    def parse(cls, raw: Any) -> Script:
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise ScriptError("a script must be a mapping of task ids to entries")
        return cls({str(k): Entry.parse(v) for k, v in raw.items()})

    @classmethod
    def load(cls, path: str | Path) -> Script:
        text = Path(path).read_text(encoding="utf-8")
        if str(path).endswith((".yaml", ".yml")):
            import yaml  # type: ignore[import-untyped]

            return cls.parse(yaml.safe_load(text))
        return cls.parse(json.loads(text))

    def entry(self, task: str | None) -> Entry:
        if task is not None and task in self.entries:
            return self.entries[task]
        return self.entries.get("*", Entry())
