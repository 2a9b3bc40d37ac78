from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from shoal.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):  # type: ignore[no-untyped-def]
        return json.loads(self.out)


@pytest.fixture
def shoal(capsys):  # type: ignore[no-untyped-def]
    """Run the CLI in-process: ``shoal("check", path)`` -> Result(code, out, err)."""

    def call(*args: object) -> Result:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return call
