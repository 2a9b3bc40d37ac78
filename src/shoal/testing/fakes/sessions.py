"""The sessions the fake CLIs save, so that an attempt can continue one as with the real CLIs.

Each fake keeps one JSON file per session where its real CLI keeps its own (under ``HOME``, in a
folder of the working folder's when the real one keys them by folder): the folder it ran in,
the messages so far (a continued fake works from all of them, as the model sees the whole
conversation), the files it changed (not changed again) and the turns taken. A session is saved
as soon as the fake starts and again once its work is done.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Session:
    id: str
    cwd: str
    prompts: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    turns: int = 0

    @classmethod
    def load(cls, path: Path) -> Session | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return cls(**data) if isinstance(data, dict) else None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self)), encoding="utf-8")


def home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def folder_key(folder: Path) -> str:
    """A folder as Claude Code names its project folder: each character but a letter or a digit
    a ``-`` (``/tmp/x`` is ``-tmp-x``)."""
    return re.sub(r"[^A-Za-z0-9]", "-", str(folder))
