"""The run engine: workers in isolated workspaces, driven by the pure scheduler, merged one at
a time into the integration branch, with durable state and resume.

Entry points (also exported as ``shoal.run`` and friends): :func:`run`, :func:`resume`,
:func:`retry_failed`, :func:`load_result`.
"""

from __future__ import annotations

import importlib
from typing import Any

# Loaded on first use: the pieces (workspace, merge, ...) import cleanly on their own.
_EXPORTS = {
    "run": "runner",
    "resume": "runner",
    "retry_failed": "runner",
    "load_result": "result",
    "RunResult": "result",
    "RunNotFound": "result",
    "RunOptions": "options",
    "ViolationPolicy": "options",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'shoal.engine' has no attribute {name!r}")
