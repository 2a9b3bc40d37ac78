"""The run engine: workers in isolated workspaces, driven by the pure scheduler, merged one at
a time into the integration branch, with durable state and resume.

Entry points (also exported as ``shoal.run`` and friends): :func:`run`, :func:`resume`,
:func:`retry_failed`, :func:`load_result`.
"""

from __future__ import annotations

from ..lazy import lazy_getattr

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

__getattr__ = lazy_getattr(__name__, _EXPORTS)
