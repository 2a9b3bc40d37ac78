"""Argument-list templates: ``["my-agent", "--prompt-file", "{prompt_file}"]``.

Each item is filled in on its own, so a value can never become a second
argument, and values are inserted as-is, never scanned again for placeholders.
Only the names given are allowed: no attribute access, indexing or format
specs as in `str.format`. A literal brace is written doubled: ``{{`` / ``}}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from shoal.agents.base import AgentSetupError

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def placeholders(item: str) -> tuple[str, ...]:
    """The placeholder names used in one template item, in order."""
    return tuple(m.group(1) for m in _TOKEN.finditer(item) if m.group(1) is not None)


def check_template(template: Sequence[str], allowed: Sequence[str], *, what: str = "command") -> None:
    """Raise `AgentSetupError` unless ``template`` is a non-empty list of strings
    using only ``allowed`` placeholders and balanced braces."""
    if isinstance(template, (str, bytes)) or not isinstance(template, Sequence) or not template:
        raise AgentSetupError(
            f"{what} must be a non-empty list of strings, got {template!r}",
            hint='write it as a list, e.g. ["my-agent", "--prompt-file", "{prompt_file}"]',
        )
    for index, item in enumerate(template):
        if not isinstance(item, str):
            raise AgentSetupError(f"{what} item {index + 1} must be a string, got {item!r}")
        fill(item, {name: "" for name in allowed}, what=f"{what} item {index + 1}")


def fill(item: str, values: Mapping[str, str], *, what: str = "command item") -> str:
    """``item`` with each ``{name}`` replaced by ``values[name]``."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1)
        if name is None:
            raise AgentSetupError(
                f"unbalanced {token!r} in {what} {item!r}",
                hint="write a literal brace doubled: {{ or }}",
            )
        if name not in values:
            known = ", ".join("{" + n + "}" for n in sorted(values))
            raise AgentSetupError(
                f"unknown placeholder {{{name}}} in {what} {item!r}",
                hint=f"known placeholders: {known}; write a literal brace doubled: {{{{ or }}}}",
            )
        return values[name]

    return _TOKEN.sub(replace, item)


def fill_all(template: Sequence[str], values: Mapping[str, str], *, what: str = "command") -> tuple[str, ...]:
    """Every item of ``template`` filled in: one argv item per template item."""
    check_template(template, tuple(values), what=what)
    return tuple(fill(item, values, what=f"{what} item {i + 1}") for i, item in enumerate(template))
