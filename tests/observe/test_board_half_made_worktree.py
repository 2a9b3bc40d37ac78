"""The live board shows a running worker's changes only once its worktree is complete.

While ``git worktree add`` makes an attempt's worktree (after the attempt's start is already
recorded), the worktree is locked ("initializing"), has no index yet and only some of its files:
looked into then, every file of the repository seems deleted or added, and the board showed
``changed 167  violations .devcontainer/devcontainer.js…`` that the run never had."""

from __future__ import annotations

import subprocess
from pathlib import Path

import shoal
from shoal.display.source import RunReader
from shoal.engine import naming
from shoal.git import Git
from shoal.store import AttemptStart, Store, default_db_path
from shoal.testing import git_env, make_repo

FILES = {f"src/m{i}.py": f"x = {i}\n" for i in range(40)}
FILES[".devcontainer/devcontainer.json"] = "{}\n"
FILES["README.md"] = "# demo\n"

PLAN = """\
version: 1
copy: [.env, secrets/]
tasks:
  - {id: a, owns: [a.txt], run: ['echo a > a.txt']}
"""


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=git_env(), capture_output=True, text=True,
                          check=True).stdout.strip()


def test_board_shows_no_changes_of_a_half_made_worktree(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    plan_path = tmp_path / "plan.yaml"
    plan_path.write_text(PLAN)
    plan = shoal.load_plan(plan_path)
    common = Git(repo).common_dir()
    base = _git(repo, "rev-parse", "HEAD")
    store = Store.open(default_db_path(common))
    try:
        run = store.create_run(repo=str(repo), task_ids=["a"], base_commit=base)
        folder = naming.worktree_dir(tmp_path / "workspaces" / run.id, "a", 1)
        branch = naming.task_branch(run.id, "a", 1)
        store.start_attempts(run.id, [AttemptStart(
            "a", workspace=str(folder), branch=branch, base_commit=base,
            log_path=str(tmp_path / "output.log"))])
        reader = RunReader(store, run.id, common_dir=common, plan=plan, git_every_s=0.0)

        # as `git worktree add` leaves it midway: registered, HEAD on the new branch, locked
        # while it initialises, no index yet, some files written and the rest still to come
        folder.parent.mkdir(parents=True)
        _git(repo, "worktree", "add", "--quiet", "--no-checkout", "-b", branch, str(folder), base)
        gitdir = Path(_git(folder, "rev-parse", "--absolute-git-dir"))
        (gitdir / "locked").write_text("initializing")
        for name in list(FILES)[:10]:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(FILES[name])
        assert not (gitdir / "index").exists()

        half = reader.extras()["a"]
        assert half.changed_paths is None, half  # nothing known yet, nothing invented
        assert half.violations is None, half

        # the lock is gone but the index not yet written: still not complete
        (gitdir / "locked").unlink()
        assert reader.extras()["a"].violations is None

        _git(folder, "reset", "--quiet", "--hard")  # git finishes the checkout
        done = reader.extras()["a"]
        assert done.changed_paths == ()
        assert done.violations == ()

        (folder / ".env").write_text("KEY=1\n")  # the plan's copy files: shoal's, not the worker's
        (folder / "secrets").mkdir()
        (folder / "secrets" / "token").write_text("t\n")
        assert reader.extras()["a"].changed_paths == ()

        (folder / "a.txt").write_text("a\n")  # the worker's own changes do show
        (folder / "stray.txt").write_text("x\n")
        working = reader.extras()["a"]
        assert working.changed_paths is not None
        assert set(working.changed_paths) == {"a.txt", "stray.txt"}
        assert working.violations == ("stray.txt",)
    finally:
        store.close()
