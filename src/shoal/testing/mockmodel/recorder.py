"""The record of every request the mock served: in memory and, when given a path, as JSONL."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any


class Recorder:
    """Appends one entry per request: method, path, dialect, task, request body, status, step."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else None
        self.entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    def add(self, entry: dict[str, Any]) -> None:
        entry = {"time": time.time(), **entry}
        with self._lock:
            self.entries.append(entry)
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(entry, default=str) + "\n")
            self._changed.notify_all()

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.entries)

    def wait_for(self, count: int, timeout: float) -> bool:
        """Wait until at least ``count`` requests were recorded (False at the deadline)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.entries) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True
