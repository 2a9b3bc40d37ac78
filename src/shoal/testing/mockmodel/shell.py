"""Shell commands for clients whose only file tool is a shell (codex), and reading them back.

A read prints the file between markers (or a marker saying it is missing), so its content can
be cut out of whatever the client wraps around a command's output (exit code, wall time ...).
"""

from __future__ import annotations

import posixpath
import re
import shlex

from .worker import Step

BEGIN, END, MISSING = "<<<MOCK-FILE-BEGIN>>>", "<<<MOCK-FILE-END>>>", "<<<MOCK-FILE-MISSING>>>"
_BETWEEN = re.compile(re.escape(BEGIN) + r"\n?(.*?)" + re.escape(END), re.DOTALL)


def command_of(step: Step) -> str:
    """The shell command that does a read, write or run step."""
    if step.kind == "read":
        path = shlex.quote(step.path)
        return (f"if [ -f {path} ]; then printf '%s\\n' '{BEGIN}'; cat {path}; "
                f"printf '%s' '{END}'; else printf '%s' '{MISSING}'; fi")
    if step.kind == "write":
        folder = posixpath.dirname(step.path)
        make = f"mkdir -p {shlex.quote(folder)} && " if folder else ""
        return f"{make}printf '%s' {shlex.quote(step.content)} > {shlex.quote(step.path)}"
    return step.command


def file_content(output: str) -> str | None:
    """A read's output back to the file content (None: missing, or not a read's output)."""
    match = _BETWEEN.search(output)
    if match:
        return match.group(1)
    return None
