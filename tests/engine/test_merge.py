"""The merge queue, resume reconciliation and landing, on real repositories."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from shoal.engine import naming
from shoal.engine.merge import LandRefused, MergeQueue, land, merged_tasks
from shoal.engine.workspace import backend_for
from shoal.git import Git
from shoal.model import Isolation, Task
from shoal.process import run
from shoal.testing import commit_files, git_env, snapshot_user_state

from .conftest import task

RUN = "r1"
INTEGRATION = naming.integration_branch(RUN)
SHOAL_BRANCHES = ("shoal/", "shoal-task/")


def py(code: str) -> str:
    return shlex.join([sys.executable, "-c", code])


def sh(cwd: Path, *args: str) -> str:
    return run(["git", *args], cwd=cwd, env=git_env()).text


def work(git: Git, t: Task, files: dict[str, str], attempt: int = 1) -> str:
    """Run task `t` by hand in a worktree started at the integration head; its head."""
    backend = backend_for(Isolation.WORKTREE, git, RUN)
    ws = backend.create(t, attempt, git.resolve_commit(INTEGRATION))
    for rel, text in files.items():
        (ws.path / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws.path / rel).write_text(text)
    head = backend.collect(ws, t).head
    backend.discard(ws)
    assert head is not None
    return head


@pytest.fixture
def start(git: Git) -> str:
    return git.create_branch(INTEGRATION, "main")


def test_clean_merge(git: Git, repo: Path, start: str) -> None:
    before = snapshot_user_state(repo, ignore_branches=SHOAL_BRANCHES)
    t = task("auth", title="Login [R:GREEN]")
    head = work(git, t, {"src/auth/login.py": "new\n"})
    outcome = MergeQueue(git, RUN, INTEGRATION).merge(t, head)
    assert outcome.state == "merged" and outcome.ok and outcome.verify == ()
    assert git.rev_parse(INTEGRATION) == outcome.commit
    assert sh(repo, "rev-list", "--parents", "-1", outcome.commit).split()[1:] == [start, head]
    assert sh(repo, "log", "-1", "--format=%B", outcome.commit) == (
        "merge(auth): Login\n\nShoal-Task: r1/auth\nShoal-Merge: r1/auth\n")
    assert not naming.verify_dir(git.common_dir(), RUN).exists()  # no gates: no scratch tree
    assert snapshot_user_state(repo, ignore_branches=SHOAL_BRANCHES) == before


def test_no_changes(git: Git, start: str) -> None:
    queue = MergeQueue(git, RUN, INTEGRATION)
    same = queue.merge(task(), start)
    assert same.state == "no-changes" and same.commit == start
    assert "although the worker reported success" in same.message
    assert "although" not in queue.merge(task(), start, changes_expected=False).message
    head = work(git, task("a"), {"x.txt": "x\n"})
    assert queue.merge(task("a"), head).state == "merged"
    assert queue.merge(task("a"), head).state == "no-changes"  # already contained


def test_identical_change_counts_as_no_changes(git: Git, start: str) -> None:
    queue = MergeQueue(git, RUN, INTEGRATION)
    first = work(git, task("a"), {"x.txt": "same\n"})
    second = work(git, task("b"), {"x.txt": "same\n"})
    assert queue.merge(task("a"), first).state == "merged"
    assert queue.merge(task("b"), second).state == "no-changes"


def test_conflict_leaves_branch_unchanged(git: Git, start: str) -> None:
    queue = MergeQueue(git, RUN, INTEGRATION)
    a = work(git, task("a"), {"src/app.py": "a\n"})
    b = work(git, task("b"), {"src/app.py": "b\n"})
    merged = queue.merge(task("a"), a).commit
    outcome = queue.merge(task("b"), b)
    assert outcome.state == "conflict" and outcome.commit is None
    assert outcome.conflicts == ("src/app.py",) and "src/app.py" in outcome.message
    assert git.rev_parse(INTEGRATION) == merged


def test_parallel_branches_both_land(git: Git, repo: Path, start: str) -> None:
    # both start from the same integration head, like two tasks running side by side
    backend = backend_for(Isolation.WORKTREE, git, RUN)
    a, b = task("a"), task("b", owns=("docs/**",))
    ws_a, ws_b = backend.create(a, 1, start), backend.create(b, 1, start)
    (ws_a.path / "src/auth/login.py").write_text("a\n")
    (ws_b.path / "docs/guide.md").write_text("b\n")
    head_a, head_b = backend.collect(ws_a, a).head, backend.collect(ws_b, b).head
    queue = MergeQueue(git, RUN, INTEGRATION)
    first = queue.merge(a, head_a or "")
    second = queue.merge(b, head_b or "")
    assert first.state == second.state == "merged"
    assert sh(repo, "rev-list", "--parents", "-1", second.commit or "").split()[1:] == [
        first.commit, head_b]  # the second merges onto the first's result
    assert sh(repo, "show", f"{INTEGRATION}:src/auth/login.py") == "a"
    assert sh(repo, "show", f"{INTEGRATION}:docs/guide.md") == "b"
    assert merged_tasks(git, RUN, INTEGRATION) == {"a": first.commit, "b": second.commit}


def test_verify_runs_on_the_candidate(git: Git, repo: Path, start: str) -> None:
    check = py("import pathlib, sys; sys.exit(0 if pathlib.Path('src/auth/login.py').read_text() "
               "== 'a\\n' and not pathlib.Path('leftover').exists() else 5)")
    dirty = py("import pathlib; pathlib.Path('leftover').write_text('x'); print('gate ok')")
    queue = MergeQueue(git, RUN, INTEGRATION, verify=[check, dirty])
    t = task("a", verify=(py("print('task gate')"),))
    outcome = queue.merge(t, work(git, t, {"src/auth/login.py": "a\n"}))
    assert outcome.state == "merged", outcome.message
    assert [v.exit_code for v in outcome.verify] == [0, 0, 0]
    assert outcome.verify[1].output_tail == "gate ok" and outcome.verify[2].output_tail == "task gate"
    assert outcome.verify[0].to_json()["command"] == check
    # the scratch worktree is reused and cleaned between merges
    t2 = task("b", owns=("docs/**",))
    assert queue.merge(t2, work(git, t2, {"docs/guide.md": "b\n"})).state == "merged"
    assert naming.verify_dir(git.common_dir(), RUN).is_dir()
    assert sh(repo, "status", "--porcelain") == ""


def test_failing_verify_leaves_branch_unchanged(git: Git, start: str) -> None:
    gate = py("import sys; print('3 tests failed'); sys.exit(3)")
    never = py("raise SystemExit('must not run')")
    queue = MergeQueue(git, RUN, INTEGRATION, verify=[gate, never])
    t = task()
    outcome = queue.merge(t, work(git, t, {"src/auth/login.py": "broken\n"}))
    assert outcome.state == "verify-failed" and outcome.commit is None
    assert len(outcome.verify) == 1  # stops at the first failing gate
    failed = outcome.verify[0]
    assert failed.exit_code == 3 and failed.output_tail == "3 tests failed" and not failed.ok
    assert "exited with 3" in outcome.message
    assert git.rev_parse(INTEGRATION) == start


def test_verify_timeout_and_missing_program(git: Git, start: str) -> None:
    slow = MergeQueue(git, RUN, INTEGRATION, verify=[py("import time; time.sleep(30)")],
                      verify_timeout=0.5)
    t = task()
    head = work(git, t, {"src/auth/login.py": "x\n"})
    outcome = slow.merge(t, head)
    assert outcome.state == "verify-failed" and outcome.verify[0].timed_out
    assert "timed out" in outcome.message
    missing = MergeQueue(git, RUN, INTEGRATION, verify=["no-such-gate-xyz"]).merge(t, head)
    assert missing.state == "verify-failed" and missing.verify[0].exit_code == 127
    assert "no-such-gate-xyz" in missing.verify[0].output_tail
    assert git.rev_parse(INTEGRATION) == start


def test_unreadable_verify_command_fails_at_once(git: Git, start: str) -> None:
    with pytest.raises(Exception, match="cannot be read"):
        MergeQueue(git, RUN, INTEGRATION, verify=["pytest 'unclosed"])


def test_ref_moved_during_verify(git: Git, repo: Path, start: str) -> None:
    other = commit_files(repo, {"elsewhere.txt": "x\n"}, "someone else")
    mover = shlex.join(["git", "-C", str(repo), "update-ref", f"refs/heads/{INTEGRATION}", other])
    queue = MergeQueue(git, RUN, INTEGRATION, verify=[mover], env=git_env())
    t = task()
    outcome = queue.merge(t, work(git, t, {"src/auth/login.py": "x\n"}))
    assert outcome.state == "ref-moved" and outcome.commit is None
    assert "only shoal's merge queue may move it" in outcome.message
    assert git.rev_parse(INTEGRATION) == other


def test_merged_tasks_reads_trailers(git: Git, repo: Path, start: str) -> None:
    assert merged_tasks(git, RUN, "shoal/nope") == {}
    queue = MergeQueue(git, RUN, INTEGRATION)
    a = queue.merge(task("a"), work(git, task("a"), {"a.txt": "a\n"}))
    # a merge from another run and a plain commit on the branch are not this run's merges
    other = Git(repo)
    foreign = other.commit_tree(sh(repo, "rev-parse", f"{a.commit}^{{tree}}"), [a.commit or ""],
                                "merge(x): x\n\nShoal-Merge: r0/x\n")
    other.update_ref(f"refs/heads/{INTEGRATION}", foreign)
    b = queue.merge(task("b c"), work(git, task("b c"), {"b.txt": "b\n"}))
    assert merged_tasks(git, RUN, INTEGRATION) == {"a": a.commit, "b c": b.commit}


# -- land ----------------------------------------------------------------------------------
def landed_run(git: Git) -> str:
    git.create_branch(INTEGRATION, "main")
    t = task()
    outcome = MergeQueue(git, RUN, INTEGRATION).merge(t, work(git, t, {"src/auth/login.py": "new\n"}))
    assert outcome.commit
    return outcome.commit


def test_land_fast_forwards_a_clean_checkout(git: Git, repo: Path) -> None:
    head = landed_run(git)
    (repo / "untracked.txt").write_text("mine\n")  # untracked files do not block
    assert land(git, RUN, INTEGRATION) == head
    assert git.rev_parse("main") == head and git.current_branch() == "main"
    assert (repo / "src/auth/login.py").read_text() == "new\n"
    assert sh(repo, "status", "--porcelain") == "?? untracked.txt"
    assert land(git, RUN, INTEGRATION) == head  # again: nothing to do


def test_land_refuses_a_dirty_checkout(git: Git, repo: Path) -> None:
    main = git.resolve_commit("main")
    landed_run(git)
    (repo / "README.md").write_text("my edit\n")
    before = snapshot_user_state(repo, ignore_branches=SHOAL_BRANCHES)
    with pytest.raises(LandRefused, match=r"uncommitted changes \(README.md\)") as caught:
        land(git, RUN, INTEGRATION)
    assert "git stash" in (caught.value.hint or "")
    assert git.rev_parse("main") == main
    assert snapshot_user_state(repo, ignore_branches=SHOAL_BRANCHES) == before


def test_land_refuses_non_fast_forward_of_a_checkout(git: Git, repo: Path) -> None:
    landed_run(git)
    mine = commit_files(repo, {"mine.txt": "x\n"}, "my own work")
    with pytest.raises(LandRefused, match="has commits that") as caught:
        land(git, RUN, INTEGRATION)
    assert "--into" in (caught.value.hint or "") and "rebase" in (caught.value.hint or "")
    assert git.rev_parse("main") == mine


def test_land_into_a_new_or_unchecked_out_branch(git: Git, repo: Path) -> None:
    before = snapshot_user_state(repo, ignore_branches=(*SHOAL_BRANCHES, "landed", "side"))
    head = landed_run(git)
    assert land(git, RUN, INTEGRATION, "landed") == head and git.rev_parse("landed") == head
    git.create_branch("side", "main")
    side = git.worktree_add(repo.parent / "side-wt", "side-tmp", "side")  # diverge "side"
    (side.path / "side.txt").write_text("s\n")
    side.add_all()
    git.update_ref("refs/heads/side", side.commit("side work") or "")
    git.worktree_remove(side.path)
    merged = land(git, RUN, INTEGRATION, "side")  # checked out nowhere: merged without a tree
    assert git.rev_parse("side") == merged and git.is_ancestor(head, merged)
    assert snapshot_user_state(repo, ignore_branches=(*SHOAL_BRANCHES, "landed", "side")) == before


def test_land_refuses_detached_head_and_shoal_branches(git: Git, repo: Path) -> None:
    landed_run(git)
    with pytest.raises(LandRefused, match="shoal's own branch"):
        land(git, RUN, INTEGRATION, INTEGRATION)
    sh(repo, "checkout", "-q", "--detach")
    with pytest.raises(LandRefused, match="detached"):
        land(git, RUN, INTEGRATION)
