"""End to end: the boundary check after each worker — deletions, writes outside the owned
paths under each --on-violation policy, git state a worker may not touch (the user's branches,
the integration branch), and the leftovers a worker did not commit."""

from __future__ import annotations

from pathlib import Path

import pytest

import shoal
from shoal.model import TaskState
from shoal.store import RunState

from .conftest import fake_agent, git_out, merge_keys, show, user_state, write_plan


def test_deleting_an_owned_file_merges_the_deletion(repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, [{"id": "auth", "owns": ["src/auth/**"], "prompt": "remove login"}])
    result = shoal.run(plan, repo=repo, agent="command", grace=0.5,
                       agent_settings=fake_agent("delete", "--delete", "src/auth/login.py"))
    assert result.ok, result.to_json()
    assert show(repo, result.integration_branch, "src/auth/login.py") is None
    assert result.task("auth").changed_paths == ("src/auth/login.py",)
    assert (repo / "src/auth/login.py").exists()  # the user's tree keeps it


def test_deleting_a_file_it_does_not_own_is_a_violation(repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, [
        {"id": "docs", "owns": ["docs/**"], "run": ["echo more >> docs/guide.md",
                                                     "rm src/billing/pay.py"]},
    ])
    before = user_state(repo)
    result = shoal.run(plan, repo=repo, grace=0.5)
    docs = result.task("docs")
    assert docs.state is TaskState.FAILED
    assert "boundary violation" in (docs.reason or "") and "src/billing/pay.py" in (docs.reason or "")
    assert [v["path"] for v in docs.violations] == ["src/billing/pay.py"]
    assert "deleted src/billing/pay.py" in docs.violations[0]["detail"]
    assert show(repo, result.integration_branch, "src/billing/pay.py") == "def pay():\n    return 0\n"
    assert show(repo, result.integration_branch, "docs/guide.md") == "guide\n"
    assert user_state(repo) == before


@pytest.mark.parametrize("policy", ["fail", "revert", "warn"])
def test_writes_outside_owned_paths(repo: Path, tmp_path: Path, policy: str) -> None:
    plan = write_plan(tmp_path, [
        {"id": "auth", "owns": ["src/auth/**"], "agent": "command",
         "prompt": "work\n\n## Files to Modify\n- src/auth/login.py\n"},
        {"id": "other", "owns": ["b.txt"], "run": ["echo b > b.txt"]},
    ])
    before = user_state(repo)
    settings = fake_agent("outside", "--outside", "src/billing/pay.py")

    result = shoal.run(plan, repo=repo, on_violation=policy, grace=0.5, agent_settings=settings)

    auth, branch = result.task("auth"), result.integration_branch
    assert result.task("other").state is TaskState.SUCCEEDED
    assert [v["path"] for v in auth.violations] == ["src/billing/pay.py"]
    assert auth.violations[0]["kind"] == "outside-owned"
    assert auth.violations[0]["policy"] == policy
    login = show(repo, branch, "src/auth/login.py")
    pay = show(repo, branch, "src/billing/pay.py")
    if policy == "fail":
        assert auth.state is TaskState.FAILED and result.state is RunState.FAILED
        assert "src/billing/pay.py" in (auth.reason or "") and (auth.branch or "") in (auth.reason or "")
        assert login == "def login():\n    return True\n" and pay == "def pay():\n    return 0\n"
        # the work is kept on the task's branch for inspection
        assert "fake agent" in (show(repo, auth.branch or "", "src/auth/login.py") or "")
        assert show(repo, auth.branch or "", "src/billing/pay.py") == "written outside the owned paths\n"
        assert f"{result.run_id}/auth" not in merge_keys(repo, branch)
    elif policy == "revert":
        assert auth.state is TaskState.SUCCEEDED
        assert "fake agent" in (login or "")
        assert pay == "def pay():\n    return 0\n"  # dropped
    else:
        assert auth.state is TaskState.SUCCEEDED
        assert "fake agent" in (login or "")
        assert pay == "written outside the owned paths\n"  # merged and reported
    assert user_state(repo) == before


@pytest.mark.usefixtures("worker_identity")
def test_leftovers_are_committed_with_a_conventional_message(repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, [{
        "id": "auth", "title": "Add logout [R:YELLOW]", "owns": ["src/auth/**"],
        "prompt": "Add a logout function.\n\nMore detail here.",
        "run": [
            "echo 'def logout(): pass' > src/auth/logout.py",
            "git add src/auth/logout.py && git commit -q -m 'feat: my own commit'",
            "echo changed >> src/auth/login.py",  # modified, not staged
            "mkdir -p src/auth/new && echo n > src/auth/new/n.py",  # untracked
        ],
    }])
    result = shoal.run(plan, repo=repo, grace=0.5)
    assert result.ok, result.to_json()
    branch, run_id = result.integration_branch, result.run_id
    subjects = git_out(repo, "log", "--no-merges", "--format=%s", f"main..{branch}").splitlines()
    assert subjects == ["feat(auth): Add logout", "feat: my own commit"]
    body = git_out(repo, "log", "-1", "--no-merges", "--format=%b", branch)
    assert "Add a logout function." in body and "More detail" not in body
    assert f"Shoal-Task: {run_id}/auth" in body
    assert show(repo, branch, "src/auth/new/n.py") == "n\n"
    assert show(repo, branch, "src/auth/login.py") == "def login():\n    return True\nchanged\n"
    assert set(result.task("auth").changed_paths) == {
        "src/auth/logout.py", "src/auth/login.py", "src/auth/new/n.py"}


# -- git state ------------------------------------------------------------------------------------
def _branches(repo: Path) -> dict[str, str]:
    out = git_out(repo, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/")
    return {n: s for n, s in (line.split() for line in out.splitlines())
            if not n.startswith(("shoal/", "shoal-task/"))}


GIT_MISCHIEF = {
    "new-branch": ["git checkout -q -b sneaky", "echo x > src/auth/x.py", "git add -A",
                   "git commit -q -m sneaky"],
    "commit-elsewhere": ["git checkout -q feature", "echo y > src/auth/y.py", "git add -A",
                         "git commit -q -m elsewhere", "git checkout -q -"],
    "stay-elsewhere": ["git checkout -q feature", "echo y > src/auth/y.py", "git add -A",
                       "git commit -q -m elsewhere"],
    "delete-branch": ["git branch -D feature", "echo z > src/auth/z.py"],
    "move-branch": ["echo w > src/auth/w.py", "git add -A", "git commit -q -m w",
                    "git branch -f feature HEAD"],
    "move-integration": ["echo v > src/auth/v.py", "git add -A", "git commit -q -m v",
                         'git branch -f "shoal/$SHOAL_RUN_ID" HEAD'],
    "detach-head": ["echo u > src/auth/u.py", "git checkout -q --detach"],
    "unlink-worktree": ["echo t > src/auth/t.py", "rm .git"],
    "remove-workspace": ['cd .. && rm -rf "$SHOAL_WORKDIR"'],
    "unfinished-merge": ["git checkout -q --detach", "echo 1 > src/auth/m.py", "git add -A",
                         "git commit -q -m one", "one=$(git rev-parse HEAD)", "git checkout -q -",
                         "echo 2 > src/auth/m.py", "git add -A", "git commit -q -m two",
                         'git merge "$one" || true'],
}


@pytest.mark.usefixtures("worker_identity")
@pytest.mark.parametrize("mischief", sorted(GIT_MISCHIEF))
def test_worker_may_not_touch_branches(repo: Path, tmp_path: Path, mischief: str) -> None:
    git_out(repo, "branch", "feature")
    plan = write_plan(tmp_path, [
        {"id": "auth", "owns": ["src/auth/**"], "retries": 2, "run": GIT_MISCHIEF[mischief]},
        {"id": "docs", "owns": ["docs/**"], "run": ["sleep 0.5", "echo d >> docs/guide.md"]},
    ])
    before, branches = user_state(repo), _branches(repo)

    result = shoal.run(plan, repo=repo, grace=0.5)

    auth = result.task("auth")
    assert auth.state is TaskState.FAILED, result.to_json()
    assert auth.attempts == 1  # a boundary break is not retried
    assert any(v["kind"] == "git-state" for v in auth.violations), auth.violations
    assert "git state" in (auth.reason or "")
    assert _branches(repo) == branches
    assert user_state(repo) == before
    # the integration branch holds exactly the other task's merge
    assert merge_keys(repo, result.integration_branch) == [f"{result.run_id}/docs"]
    assert show(repo, result.integration_branch, "docs/guide.md") == "guide\nd\n"
    # `feature` can still be checked out: no shoal worktree holds it
    assert "sneaky" not in git_out(repo, "worktree", "list", "--porcelain")
    for line in git_out(repo, "worktree", "list", "--porcelain").splitlines():
        assert line != "branch refs/heads/feature"


@pytest.mark.usefixtures("worker_identity")
def test_the_users_own_commits_during_a_run_are_kept(repo: Path, tmp_path: Path) -> None:
    """The branch checked out in the user's tree moving is the user at work, not a worker."""
    plan = write_plan(tmp_path, [
        {"id": "auth", "owns": ["src/auth/**"],
         "run": [f"git -C {repo} commit -q --allow-empty -m 'user: meanwhile'",
                 "echo a >> src/auth/login.py"]},
    ])
    result = shoal.run(plan, repo=repo, grace=0.5)
    assert result.ok, result.to_json()
    assert git_out(repo, "log", "-1", "--format=%s", "main") == "user: meanwhile"


@pytest.mark.usefixtures("worker_identity")
def test_a_branch_created_outside_shoals_worktrees_is_never_deleted(repo: Path, tmp_path: Path) -> None:
    """A new branch nobody in a shoal worktree has checked out may be the user's: keep it."""
    plan = write_plan(tmp_path, [
        {"id": "auth", "owns": ["src/auth/**"],
         "run": [f"git -C {repo} branch user-made", "echo a >> src/auth/login.py"]},
    ])
    result = shoal.run(plan, repo=repo, grace=0.5)
    assert result.ok, result.to_json()
    assert "user-made" in _branches(repo)
