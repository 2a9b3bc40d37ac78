"""`shoal merge` of a run landed already says so, and `shoal run` in a repository without
commits says to make one."""

from __future__ import annotations

import subprocess
from pathlib import Path

from shoal.testing import git_env, make_repo

PLAN = "version: 1\ntasks:\n  - {id: a, owns: [a.txt], run: ['echo a > a.txt']}\n"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=git_env()).stdout.strip()


def test_a_second_merge_says_already_landed(shoal, tmp_path):
    repo = make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    run = shoal("run", plan, "--repo", repo, "--progress", "off", "--format", "json")
    assert run.code == 0, run.out + run.err
    run_id = run.json()["run"]["id"]

    first = shoal("merge", "--repo", repo, "--into", "landed")
    assert first.code == 0, first.err
    assert first.out.startswith(f"landed shoal/{run_id} on landed at ")
    commit = _git(repo, "rev-parse", "landed")

    again = shoal("merge", "--repo", repo, "--into", "landed")
    assert again.code == 0, again.err
    assert again.out.startswith("already landed:"), again.out
    assert f"landed at {commit[:12]}" in again.out and f"shoal/{run_id}" in again.out
    assert _git(repo, "rev-parse", "landed") == commit  # nothing moved

    data = shoal("merge", "--repo", repo, "--into", "landed", "--format", "json")
    assert data.code == 0, data.err
    assert data.json() == {"run": run_id, "into": "landed", "commit": commit,
                           "already_landed": True}

    # the checked-out branch: fast-forwarded once, then already landed
    assert shoal("merge", "--repo", repo).code == 0
    main = _git(repo, "rev-parse", "main")
    assert main == commit
    twice = shoal("merge", "--repo", repo)
    assert twice.code == 0, twice.err
    assert twice.out.startswith(f"already landed: main at {main[:12]}"), twice.out


def test_run_in_a_repository_without_commits_says_to_make_one(shoal, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "--quiet", str(repo)], check=True, env=git_env())
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    result = shoal("run", plan, "--repo", repo, "--progress", "off")
    assert result.code == 2, result.out + result.err
    assert "has no commits yet" in result.err
    assert "make a first commit" in result.err
    assert "Traceback" not in result.err
    assert not (repo / ".git" / "shoal").exists()  # nothing started
