"""The boundary check (pure) and the revert of violating paths (on a real repository)."""

from __future__ import annotations

from pathlib import Path

from shoal.engine.boundary import (
    MARKER_FILES,
    Violation,
    check_changes,
    covering,
    moved_branches,
    revert_paths,
    user_branches,
)
from shoal.engine.workspace import backend_for
from shoal.git import Git
from shoal.gitparse import Change
from shoal.model import Isolation
from shoal.process import run
from shoal.testing import git_env

from .conftest import task


def kinds(violations: tuple[Violation, ...]) -> dict[str, str]:
    return {v.path: v.kind for v in violations}


def test_owned_changes_pass() -> None:
    t = task(owns=("src/auth/", "tests/test_auth.py", "**/*.md"))
    changes = [Change("M", "src/auth/login.py"), Change("A", "src/auth/deep/new.py"),
               Change("D", "tests/test_auth.py"), Change("A", "docs/x/notes.md")]
    assert check_changes(changes, t) == ()


def test_outside_owned() -> None:
    t = task(owns=("src/auth/**",))
    found = check_changes([Change("M", "src/auth/login.py"), Change("A", "src/app.py"),
                           Change("D", "README.md")], t)
    assert kinds(found) == {"src/app.py": "outside-owned", "README.md": "outside-owned"}
    assert "added src/app.py" in found[0].detail and "src/auth/**" in found[0].detail
    assert "deleted README.md" in found[1].detail


def test_globs_follow_gitignore_semantics_anchored_at_the_root() -> None:
    t = task(owns=("src/*/api.py", "./build/", "docs", "/lib/", "*.cfg"))
    assert check_changes([Change("M", "src/users/api.py"), Change("A", "build/x/y.o"),
                          Change("A", "docs/a/b.md"), Change("A", "lib/c.py"),
                          Change("M", "setup.cfg")], t) == ()
    deeper = [Change("M", "src/users/deep/api.py"), Change("A", "tests/docs/c.md"),
              Change("A", "src/build/y.o"), Change("M", "tools/setup.cfg")]
    assert set(kinds(check_changes(deeper, t)).values()) == {"outside-owned"}
    assert len(check_changes(deeper, t)) == 4


def test_a_forbidden_root_folder_spares_one_of_that_name_deeper() -> None:
    """Issue 14: forbidding common/ (or /common/) must not forbid src/features/analysis/common/."""
    for forbid in ("common/", "/common/"):
        t = task(owns=("src/features/analysis/", "common/"), forbids=(forbid,))
        found = check_changes([Change("A", "src/features/analysis/common/x.py"),
                               Change("M", "common/types.py")], t)
        assert kinds(found) == {"common/types.py": "forbidden"}, forbid
    t = task(owns=("src/",), forbids=("**/common/",))
    assert kinds(check_changes([Change("A", "src/a/common/x.py")], t)) == {"src/a/common/x.py": "forbidden"}


def test_forbidden_even_if_owned() -> None:
    t = task(owns=("src/**",), forbids=("src/billing/**",))
    found = check_changes([Change("M", "src/auth/login.py"), Change("M", "src/billing/pay.py")], t)
    assert kinds(found) == {"src/billing/pay.py": "forbidden"}
    assert "src/billing/**" in found[0].detail


def test_read_only_only_during_a_parallel_phase() -> None:
    t = task(owns=("src/**", "common/**"))
    changes = [Change("M", "common/types.py")]
    found = check_changes(changes, t, shared_readonly=("common/**",))
    assert kinds(found) == {"common/types.py": "read-only"}
    assert check_changes(changes, t, shared_readonly=("common/**",), parallel_phase=False) == ()


def test_renames_count_both_sides() -> None:
    t = task(owns=("src/auth/**",))
    into = Change("R", "src/auth/types.py", "common/types.py", 100)
    out = Change("R", "lib/login.py", "src/auth/login.py", 95)
    inside = Change("R", "src/auth/b.py", "src/auth/a.py", 100)
    assert kinds(check_changes([into], t)) == {"common/types.py": "outside-owned"}
    assert kinds(check_changes([out], t)) == {"lib/login.py": "outside-owned"}
    assert check_changes([inside], t) == ()
    assert "renamed common/types.py to src/auth/types.py" in check_changes([into], t)[0].detail


def test_markers_ignored() -> None:
    t = task(owns=("src/auth/**",))
    changes = [Change("A", name) for name in MARKER_FILES] + [Change("A", "sub/.claude-task-complete")]
    assert check_changes(changes, t) == ()


def test_each_path_reported_once() -> None:
    t = task(owns=())
    found = check_changes([Change("M", "a.py"), Change("M", "a.py")], t)
    assert [v.path for v in found] == ["a.py"] and "owns (none)" in found[0].detail


def test_bad_patterns_cover_nothing() -> None:
    for pattern in ("../x", "/etc/passwd", "!src/**", "", "a//b"):
        assert covering([pattern], "src/app.py") is None
    assert covering(["nope", "src/"], "src/app.py") == "src/"


def test_user_branches_and_moves(git: Git, repo: Path) -> None:
    git.create_branch("shoal/r1", "main")
    git.create_branch("shoal-task/r1/a/1", "main")
    before = user_branches(git)
    assert list(before) == ["main"]
    git.create_branch("feature", "main")
    found = moved_branches(before, user_branches(git))
    assert [(v.path, v.kind) for v in found] == [("refs/heads/feature", "git-state")]
    assert "created" in found[0].detail
    assert moved_branches(before, before) == ()


# -- revert --------------------------------------------------------------------------------
def write(root: Path, files: dict[str, str | None]) -> None:
    for rel, text in files.items():
        path = root / rel
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)


def show(repo: Path, rev: str, path: str) -> str | None:
    done = run(["git", "show", f"{rev}:{path}"], cwd=repo, env=git_env(), check=False)
    return done.text if done.ok else None


def test_revert_keeps_owned_changes_and_drops_others(git: Git, repo: Path) -> None:
    backend = backend_for(Isolation.WORKTREE, git, "r1")
    t = task(owns=("src/auth/**",))
    ws = backend.create(t, 1, "main")
    write(ws.path, {"src/auth/login.py": "def login():\n    return False\n",  # owned
                    "src/app.py": "changed\n",                               # outside, modified
                    "stray.txt": "new\n",                                    # outside, added
                    "docs/guide.md": None})                                  # outside, deleted
    run(["git", "mv", "common/types.py", "src/auth/types.py"], cwd=ws.path, env=git_env())
    collected = backend.collect(ws, t)
    violations = check_changes(collected.changes, t)
    assert set(kinds(violations)) == {"src/app.py", "stray.txt", "docs/guide.md", "common/types.py"}

    head = revert_paths(Git(ws.path), ws, violations)
    assert head is not None and head != collected.head
    assert show(repo, head, "src/auth/login.py") == "def login():\n    return False"
    assert show(repo, head, "src/app.py") == show(repo, "main", "src/app.py")
    assert show(repo, head, "stray.txt") is None
    assert show(repo, head, "docs/guide.md") == "guide"
    # the rename crossed the boundary: undone as a whole, nothing lost
    assert show(repo, head, "common/types.py") == "ID = int"
    assert show(repo, head, "src/auth/types.py") is None
    assert check_changes(git.changed_paths(ws.base_commit, head), t) == ()
    message = run(["git", "log", "-1", "--format=%B", head], cwd=repo, env=git_env()).text
    assert message.startswith("revert(auth): drop changes outside owned paths")
    assert "Shoal-Task: r1/auth" in message
    assert not Git(ws.path).is_dirty()


def test_revert_with_nothing_to_drop_keeps_head(git: Git) -> None:
    backend = backend_for(Isolation.WORKTREE, git, "r1")
    t = task()
    ws = backend.create(t, 1, "main")
    write(ws.path, {"src/auth/login.py": "x\n"})
    head = backend.collect(ws, t).head
    assert revert_paths(Git(ws.path), ws, ()) == head
