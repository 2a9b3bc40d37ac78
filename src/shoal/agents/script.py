"""The built-in ``script`` agent: the task's ``run:`` commands, run with ``sh -c``.

This is the one place plan text reaches a shell, by design: ``run:`` holds the
plan author's own commands, as a Makefile or a CI file would. The commands run
in one shell, in order, in the workspace, so ``cd`` and variables carry over;
the first command that fails ends the script with its exit code.

A task without ``run:`` commands fails with a setup error rather than
"succeeding" having done nothing, which is almost always a plan mistake (for
example a seed 001 tasks.json run with the default agent). Setting
``allow_empty: true`` in the agent's settings lets such tasks succeed.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import replace

from shoal.agents.base import AgentSetupError, BaseAgent, prompt_file, shoal_env
from shoal.agents.invocation import AgentRequest, Invocation, ProcessOutcome
from shoal.agents.registry import register
from shoal.agents.result import AgentResult, ErrorKind, ResultSource, last_lines

SHELL = "sh"
_HEADER = "[shoal] run {index}/{total}: {command}"
_HEADER_LINE = re.compile(r"^\[shoal\] run (\d+)/(\d+): (.*)$")


def build_script(commands: tuple[str, ...] | list[str]) -> str:
    """One POSIX sh script running ``commands`` in order, stopping at the first failure.

    ``set -e`` stops at a failing simple command; the explicit status check
    after each command also catches what ``set -e`` lets through, such as the
    first half of ``false && true``. Each command is announced on stderr so
    the log shows which one failed. Pipelines fail only by their last command
    (no ``pipefail`` in POSIX sh).
    """
    lines = ["set -e"]
    total = len(commands)
    for index, command in enumerate(commands, 1):
        first, _, more = command.strip().partition("\n")
        shown = first + (" …" if more else "")
        header = _HEADER.format(index=index, total=total, command=shown)
        lines.append(f"printf '%s\\n' {shlex.quote(header)} >&2")
        lines.append(command.rstrip())
        lines.append('__shoal_status=$?; [ "$__shoal_status" -eq 0 ] || exit "$__shoal_status"')
    return "\n".join(lines) + "\n"


@register
class ScriptAgent(BaseAgent):
    """Runs ``task.run``; also writes the prompt to ``$SHOAL_PROMPT_FILE`` for scripts that want it."""

    name = "script"
    install_hint = "the script agent needs a POSIX sh on PATH"

    def prepare(self, request: AgentRequest) -> Invocation:
        commands = tuple(c for c in request.task.run if c.strip())
        if not commands:
            if not self.options(request).get("allow_empty", False):
                raise AgentSetupError(
                    f"task {request.task.id} has no run: commands for the script agent",
                    hint="add run: [...] to the task, give it another agent, "
                    "or set allow_empty: true in the script agent's settings",
                )
            commands = (":",)
        path, data = prompt_file(request)
        return Invocation(
            argv=(SHELL, "-c", build_script(commands)),
            env=shoal_env(request),
            files={path: data},
        )

    def interpret(self, outcome: ProcessOutcome) -> AgentResult:
        result = super().interpret(outcome)
        if result.source is not ResultSource.EXIT_CODE or result.error not in (
            ErrorKind.CRASH,
            ErrorKind.NOT_INSTALLED,
        ):
            return result
        failed = _last_header(outcome.tail())
        if failed is None:
            return result
        return replace(result, summary=f"command {failed} {result.summary}")


def _last_header(text: str) -> str | None:
    for line in reversed(last_lines(text, 10_000)):
        match = _HEADER_LINE.match(line)
        if match:
            index, total, command = match.groups()
            return f"{index}/{total} ({command})"
    return None
