"""Engine tests run against real repositories in tmp_path with an isolated git environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.git import Git
from shoal.model import Task, TaskId
from shoal.testing import make_repo


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No system or global git config (the machine's identity included) reaches `Git`."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL",
                 "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {
        "README.md": "# demo\n",
        "src/app.py": "def main():\n    return 1\n",
        "src/auth/login.py": "def login():\n    return True\n",
        "src/billing/pay.py": "def pay():\n    return 0\n",
        "common/types.py": "ID = int\n",
        "docs/guide.md": "guide\n",
        ".gitignore": "*.pyc\n",
    })


@pytest.fixture
def git(repo: Path) -> Git:
    return Git(repo)


def task(task_id: str = "auth", **fields: object) -> Task:
    """A task owning src/auth/** unless told otherwise."""
    fields.setdefault("owns", ("src/auth/**",))
    fields.setdefault("title", f"Build {task_id} [R:YELLOW]")
    return Task(id=TaskId(task_id), **fields)  # type: ignore[arg-type]
