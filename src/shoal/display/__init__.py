"""Displays observe a run's events; they never drive it."""

from .board import Board, LiveDisplay
from .lines import PlainDisplay, describe_event

__all__ = ["Board", "LiveDisplay", "PlainDisplay", "describe_event"]
