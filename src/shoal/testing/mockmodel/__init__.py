"""A local mock model server that the real agent CLIs can talk to, with no API key.

See :class:`MockModel` (a context manager for tests) and ``python -m shoal.testing.mockmodel``.
"""

from __future__ import annotations

from .script import Script
from .server import MockModel
from .worker import Conversation, Step, Worker

__all__ = ["Conversation", "MockModel", "Script", "Step", "Worker"]
