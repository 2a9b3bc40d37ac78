"""Git tests run against real repositories in tmp_path with an isolated git environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.git import Git
from shoal.testing import make_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {
        "README.md": "# demo\n",
        "src/app.py": "def main():\n    return 1\n",
        "src/util.py": "".join(f"line {i}\n" for i in range(20)),
        "docs/guide é.md": "guide\n",
    })


@pytest.fixture
def git(repo: Path) -> Git:
    return Git(repo)
