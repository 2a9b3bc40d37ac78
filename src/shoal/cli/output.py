"""How commands print: JSON for scripts, plain text (with colour on a terminal) for people."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

FORMAT_OPTION = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output for people (text) or for scripts (json, stable keys).",
)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _can_encode(text: str) -> bool:
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


class Marks:
    """✅ / ❌ / ⚠️ as in the seeds' conflict checks, or ASCII where the terminal cannot show them."""

    def __init__(self) -> None:
        fancy = _can_encode("✅❌⚠️→")
        self.ok = "✅" if fancy else "[ok]"
        self.bad = "❌" if fancy else "[x]"
        self.warn = "⚠️ " if fancy else "[!]"
        self.arrow = "→" if fancy else "->"


def severity_style(severity: str) -> str:
    return {"error": "red", "warning": "yellow"}.get(severity, "cyan")
