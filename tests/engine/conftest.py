"""Engine tests run against real repositories in tmp_path with an isolated git environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shoal.git import Git
from shoal.model import Task, TaskId
from shoal.testing import make_repo


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


# -- end-to-end runs (tests/engine/test_run_*.py) ------------------------------------------------
SHOAL_BRANCHES = ("shoal/", "shoal-task/")


def write_plan(folder: Path, tasks: list[dict[str, object]], *, name: str = "plan.yaml",
               **top: object) -> Path:
    """A canonical plan file (JSON is YAML) with short defaults: 30 s timeout, 1 retry."""
    import json

    data: dict[str, object] = {"version": 1, "defaults": {"timeout": "30s", "retries": 1}}
    data.update(top)
    data["tasks"] = tasks
    path = folder / name
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def user_state(repo: Path) -> dict[str, object]:
    """What a run must leave byte-for-byte as it was: files, index, HEAD, the user's branches."""
    from shoal.testing import snapshot_user_state

    return snapshot_user_state(repo, ignore_branches=SHOAL_BRANCHES)


def git_out(repo: Path, *args: str, check: bool = True) -> str:
    from shoal.process import run
    from shoal.testing import git_env

    return run(["git", "--no-optional-locks", *args], cwd=repo, env=git_env(), check=check).text


def show(repo: Path, rev: str, path: str) -> str | None:
    """The text of `path` at `rev`, None when it is not there."""
    from shoal.process import run
    from shoal.testing import git_env

    done = run(["git", "show", f"{rev}:{path}"], cwd=repo, env=git_env(), check=False)
    return done.text + "\n" if done.ok else None


def merge_keys(repo: Path, branch: str) -> list[str]:
    """``Shoal-Merge`` trailer values along the first-parent history of `branch`, oldest first."""
    out = git_out(repo, "log", "--first-parent", "--reverse",
                  "--format=%(trailers:key=Shoal-Merge,valueonly)%x00", branch)
    return [line.strip() for chunk in out.split("\0") for line in chunk.splitlines() if line.strip()]


def open_store(repo: Path):  # type: ignore[no-untyped-def]
    from shoal.store import Store, default_db_path

    return Store.open(default_db_path(Git(repo).common_dir()))


def run_events(repo: Path, run_id: str, *kinds: str) -> list:  # type: ignore[type-arg]
    store = open_store(repo)
    try:
        return list(store.events(run_id, kinds=kinds or None))
    finally:
        store.close()


def attempts(repo: Path, run_id: str, task_id: str | None = None) -> list:  # type: ignore[type-arg]
    store = open_store(repo)
    try:
        return store.attempts(run_id, task_id)
    finally:
        store.close()


def py_command(code: str) -> str:
    """A verify/setup command (split with shlex, run without a shell) running Python `code`."""
    import shlex
    import sys

    return shlex.join([sys.executable, "-c", code])


def fake_agent(scenario: str, *args: str) -> dict[str, dict[str, object]]:
    """``agent_settings`` for the command agent running shoal's fake agent CLI."""
    import sys

    return {"command": {"command": [
        sys.executable, "-m", "shoal.testing.fake_agent", "--prompt-file", "{prompt_file}",
        "--cwd", "{workdir}", "--scenario", scenario, *args]}}


@pytest.fixture
def worker_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """An identity for workers that run `git commit` themselves (the tests' git has none)."""
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Worker")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "worker@shoal.invalid")


def alive_with(marker: str) -> list[int]:
    """Live (not zombie) processes whose command line holds `marker`."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cmdline = Path(entry.path, "cmdline").read_bytes()
            state = Path(entry.path, "stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state != b"Z":
            found.append(int(entry.name))
    return found


def start_cli(tmp_path: Path, *args: object, name: str = "orchestrator") -> subprocess.Popen[bytes]:
    """`python -m shoal ARGS` in a session of its own, its output in tmp_path/<name>.log."""
    out = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "shoal", *map(str, args)], stdout=out,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)


def wait_for_run(repo: Path, ready, proc: subprocess.Popen[bytes],  # type: ignore[no-untyped-def]
                 timeout: float = 60) -> str:
    """Poll the state database until `ready(store, run_id)` holds for the latest run, while
    the orchestrator `proc` still runs; the run's id."""
    import time

    from shoal.store import Store, default_db_path

    path = default_db_path(repo / ".git")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the orchestrator ended before the moment the test waits for"
        if path.exists():
            store = Store.open(path, create=False)
            try:
                run = store.latest_run()
                if run is not None and ready(store, run.id):
                    return run.id
            finally:
                store.close()
        time.sleep(0.02)  # a poll inside the deadline
    raise AssertionError("timed out waiting for the run to get there")
