"""shoal: plan, check and run many coding-agent tasks in parallel on one git repository.

The library API (the CLI is a thin layer over it):

- :func:`load_plan` — read a plan file or folder into a :class:`~shoal.model.Plan`.
- :func:`check` — validate and analyse a plan; returns a :class:`CheckReport`.
- :func:`schedule` — waves, critical path, predicted makespans; returns a :class:`Schedule`.
- :func:`render_prompt` — the worker prompt of one task.
- :func:`run` / :func:`resume` / :func:`retry_failed` — run a plan on a repository.
"""

from __future__ import annotations

from ._version import __version__
from .lazy import lazy_getattr

# Loaded on first use so that `import shoal.model` stays cheap and cycle-free.
_EXPORTS = {
    "CheckReport": "api",
    "Schedule": "api",
    "check": "api",
    "load_plan": "api",
    "render_prompt": "api",
    "schedule": "api",
    "run": "engine",
    "resume": "engine",
    "retry_failed": "engine",
    "RunResult": "engine",
    "ExitCode": "errors",
    "PlanInvalidError": "errors",
    "PlanReadError": "errors",
    "ShoalError": "errors",
    "Plan": "model",
    "Task": "model",
}

__all__ = ["__version__", *_EXPORTS]

__getattr__ = lazy_getattr(__name__, _EXPORTS)
