"""The built-in ``command`` agent: any agent CLI as an argument-list template.

Settings (from the plan's agent settings or a task's options)::

    command: ["my-agent", "--prompt-file", "{prompt_file}", "--cwd", "{workdir}"]
    extra_args: ["--model", "fast"]     # appended, same placeholders
    env: {MY_AGENT_MODE: headless}      # added to the worker's environment
    stdin: prompt                       # feed the prompt on stdin (default: closed)
    require_report: false               # exit 0 alone is not success when true

Placeholders: ``{prompt_file}``, ``{workdir}``, ``{task_id}``, ``{attempt_dir}``
and ``{prompt}`` (the prompt text itself, limited in size since the kernel
caps one argument at 128 KiB). Never a shell: each item is one argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shoal.agents.base import AgentSetupError, BaseAgent, prompt_file, shoal_env
from shoal.agents.invocation import AgentRequest, Invocation
from shoal.agents.registry import register
from shoal.agents.result import RATE_LIMIT_PATTERN
from shoal.agents.template import check_template, fill_all, placeholders

PLACEHOLDERS = ("prompt_file", "workdir", "task_id", "attempt_dir", "prompt")
MAX_PROMPT_ARG_BYTES = 100_000
_STDIN_CHOICES = ("prompt", "none")


@register
class CommandAgent(BaseAgent):
    name = "command"
    install_hint = "install that agent CLI or fix the first item of the command agent's `command`"
    rate_limit = RATE_LIMIT_PATTERN

    def __init__(self, settings: Mapping[str, Any] | None = None) -> None:
        super().__init__(settings)
        _check_options(self.settings)  # fail at plan load, not at the first attempt

    def prepare(self, request: AgentRequest) -> Invocation:
        options = self.options(request)
        _check_options(options)
        template = options.get("command")
        if template is None:
            raise AgentSetupError(
                f"task {request.task.id}: the command agent needs a `command` setting",
                hint='e.g. command: ["my-agent", "--prompt-file", "{prompt_file}", "--cwd", "{workdir}"]',
            )
        path, data = prompt_file(request)
        values = {
            "prompt_file": str(path),
            "workdir": str(request.workdir),
            "task_id": str(request.task.id),
            "attempt_dir": str(request.attempt_dir),
            "prompt": request.prompt,
        }
        extra = list(options.get("extra_args") or ())
        if any("prompt" in placeholders(item) for item in [*template, *extra]):
            if len(data) > MAX_PROMPT_ARG_BYTES:
                raise AgentSetupError(
                    f"task {request.task.id}: the prompt ({len(data)} bytes) is too long "
                    "to pass as {prompt}",
                    hint="pass {prompt_file} instead, or stdin: prompt",
                )
        argv = fill_all(template, values) + (fill_all(extra, values, what="extra_args") if extra else ())
        env = {**shoal_env(request), **{str(k): str(v) for k, v in (options.get("env") or {}).items()}}
        stdin = data if options.get("stdin", "none") == "prompt" else None
        return Invocation(argv=argv, env=env, stdin=stdin, files={path: data})


def _check_options(options: Mapping[str, Any]) -> None:
    if options.get("command") is not None:
        check_template(options["command"], PLACEHOLDERS)
    if options.get("extra_args"):
        check_template(options["extra_args"], PLACEHOLDERS, what="extra_args")
    env = options.get("env")
    if env is not None and not isinstance(env, Mapping):
        raise AgentSetupError(f"the command agent's env must be a mapping, got {env!r}")
    stdin = options.get("stdin", "none")
    if stdin not in _STDIN_CHOICES:
        raise AgentSetupError(
            f"the command agent's stdin must be one of {', '.join(_STDIN_CHOICES)}, got {stdin!r}"
        )
