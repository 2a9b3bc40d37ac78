"""Displays observe a run's events; they never drive it.

A board is drawn from a :class:`RunSnapshot`, which both the run in this process
(:class:`LiveDisplay`, fed by the supervisor's events) and `shoal watch` (fed from the state
database by :class:`~shoal.display.source.RunReader`) build with a :class:`BoardState`.
"""

from __future__ import annotations

from ..lazy import lazy_getattr

# Loaded on first use: plain progress lines must not pay for importing rich.
_EXPORTS = {
    "LiveDisplay": "board",
    "render_board": "board",
    "PlainDisplay": "lines",
    "describe_event": "lines",
    "BoardState": "snapshot",
    "RunSnapshot": "snapshot",
    "TaskExtra": "snapshot",
    "TaskView": "snapshot",
}

__all__ = list(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
