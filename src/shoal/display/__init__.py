"""Displays observe a run's events; they never drive it.

A board is drawn from a :class:`RunSnapshot`, which both the run in this process
(:class:`LiveDisplay`, fed by the supervisor's events) and `shoal watch` (fed from the state
database by :class:`~shoal.display.source.RunReader`) build with a :class:`BoardState`.
"""

from .board import LiveDisplay, render_board
from .lines import PlainDisplay, describe_event
from .snapshot import BoardState, RunSnapshot, TaskExtra, TaskView

__all__ = ["BoardState", "LiveDisplay", "PlainDisplay", "RunSnapshot", "TaskExtra", "TaskView",
           "describe_event", "render_board"]
