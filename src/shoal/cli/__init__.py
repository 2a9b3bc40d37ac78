"""The `shoal` command line: a thin layer over the library API (``shoal.api``)."""

from __future__ import annotations

from .main import main

__all__ = ["main"]
