"""status, changed paths and snapshot trees on real repositories."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from shoal.git import Change, Git, StatusEntry
from shoal.process import run
from shoal.testing import commit_files, git_env, snapshot_user_state


@pytest.fixture
def wt(git: Git, tmp_path: Path) -> Git:
    return git.worktree_add(tmp_path / "wt", "task", "main")


def sh_git(path: Path, *args: str) -> None:
    run(["git", *args], cwd=path, env=git_env())


def test_clean_status(wt: Git) -> None:
    assert wt.status() == [] and not wt.is_dirty()


def test_status_renames_untracked_deleted_spaces_unicode(wt: Git) -> None:
    p = wt.path
    sh_git(p, "mv", "src/util.py", "src/helpers and more.py")  # staged rename
    (p / "README.md").unlink()  # unstaged deletion
    (p / "docs" / "guide é.md").write_text("changed\n")  # unstaged modification
    (p / "new dir").mkdir()
    (p / "new dir" / "naïve file.txt").write_text("new\n")  # untracked, inside an untracked dir
    (p / "ignored.log").write_text("x")
    (p / ".gitignore").write_text("*.log\n")
    entries = sorted(wt.status(), key=lambda e: e.path)
    assert entries == [
        StatusEntry("untracked", ".gitignore", "??"),
        StatusEntry("ordinary", "README.md", ".D"),
        StatusEntry("ordinary", "docs/guide é.md", ".M"),
        StatusEntry("untracked", "new dir/naïve file.txt", "??"),  # every file, not the folder
        StatusEntry("renamed", "src/helpers and more.py", "R.", "src/util.py"),
    ]
    assert wt.is_dirty()


def test_status_of_some_paths(wt: Git) -> None:
    (wt.path / "README.md").write_text("x")
    (wt.path / "src" / "app.py").write_text("y")
    assert [e.path for e in wt.status(["src"])] == ["src/app.py"]


def test_status_unmerged(wt: Git, repo: Path) -> None:
    commit_files(repo, {"README.md": "main side\n"}, "main side")
    (wt.path / "README.md").write_text("task side\n")
    wt.add_all()
    wt.commit("task side")
    done = run(["git", "merge", "--no-edit", "main"], cwd=wt.path, env=git_env(), check=False)
    assert done.returncode == 1
    assert wt.status() == [StatusEntry("unmerged", "README.md", "UU")]


def test_is_dirty_ignores_ignored_files(wt: Git) -> None:
    (wt.path / ".gitignore").write_text("*.log\n")
    wt.add_all()
    wt.commit("ignore")
    (wt.path / "x.log").write_text("log")
    assert not wt.is_dirty()


def test_status_does_not_write_the_users_index(repo: Path, git: Git) -> None:
    (repo / "README.md").write_text("edited\n")
    before = snapshot_user_state(repo)
    git.status()
    git.is_dirty()
    git.changed_paths_worktree("HEAD")
    assert snapshot_user_state(repo) == before


def test_changed_paths_with_rename_delete_add(wt: Git, git: Git) -> None:
    base = wt.resolve_commit("HEAD")
    p = wt.path
    sh_git(p, "mv", "src/util.py", "src/tools é.py")
    (p / "README.md").unlink()
    (p / "src" / "app.py").write_text("def main():\n    return 2\n")
    (p / "new file.txt").write_text("new\n")
    wt.add_all()
    head = wt.commit("work")
    assert head is not None
    assert sorted(git.changed_paths(base, head), key=lambda c: c.path) == [
        Change("D", "README.md"),
        Change("A", "new file.txt"),
        Change("M", "src/app.py"),
        Change("R", "src/tools é.py", "src/util.py", 100),
    ]
    assert git.changed_paths(base, "task") == git.changed_paths(base, head)  # names work too
    assert git.changed_paths(head, head) == []


def test_changed_paths_worktree_includes_everything_since_base(wt: Git) -> None:
    base = wt.resolve_commit("HEAD")
    p = wt.path
    (p / "committed.txt").write_text("c\n")
    wt.add_all()
    wt.commit("committed")
    (p / "staged.txt").write_text("s\n")
    sh_git(p, "add", "staged.txt")
    (p / "README.md").write_text("unstaged\n")
    (p / "src" / "util.py").unlink()
    (p / "untracked dir").mkdir()
    (p / "untracked dir" / "u.txt").write_text("u\n")
    (p / ".gitignore").write_text("*.log\n")
    (p / "skip.log").write_text("ignored\n")
    changes = {c.path: c.status for c in wt.changed_paths_worktree(base)}
    assert changes == {
        "committed.txt": "A",
        "staged.txt": "A",
        "README.md": "M",
        "src/util.py": "D",
        "untracked dir/u.txt": "A",
        ".gitignore": "A",
    }


def test_snapshot_tree_matches_add_all_and_leaves_the_index(repo: Path, git: Git) -> None:
    (repo / "README.md").write_text("edited\n")
    (repo / "src" / "util.py").unlink()
    (repo / "brand new.txt").write_text("new\n")
    before = snapshot_user_state(repo)
    tree = git.snapshot_tree()
    assert snapshot_user_state(repo) == before  # index, files, HEAD, refs untouched
    listing = run(["git", "ls-tree", "-r", "--name-only", "-z", tree], cwd=repo, env=git_env())
    names = set(listing.stdout.decode().split("\0")) - {""}
    assert names == {"README.md", "src/app.py", "docs/guide é.md", "brand new.txt"}
    blob = run(["git", "cat-file", "-p", f"{tree}:README.md"], cwd=repo, env=git_env())
    assert blob.stdout == b"edited\n"


def test_snapshot_tree_with_a_kept_index_sees_every_change(
        repo: Path, git: Git, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = tmp_path / "kept.index"
    verbs: list[str] = []
    real_run = Git._run

    def spy(self: Git, *args: str, **kwargs: object) -> object:
        verbs.append(next(a for i, a in enumerate(args) if not a.startswith("-") and
                          (i == 0 or args[i - 1] != "-c")))
        return real_run(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Git, "_run", spy)
    before = snapshot_user_state(repo)
    old = time.time() - 10  # files older than the index: git trusts its stat cache for them
    for path in (p for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts):
        os.utime(path, (old, old))
    first = git.snapshot_tree(index)
    assert first == run(["git", "rev-parse", "HEAD^{tree}"], cwd=repo, env=git_env()).text
    verbs.clear()
    assert git.snapshot_tree(index, previous=first) == first  # nothing changed: no write-tree
    assert verbs == ["add"]
    (repo / "README.md").write_text("abc\n")
    second = git.snapshot_tree(index, previous=first)
    # the same size, within the same second: git's stat cache alone cannot tell (racy git)
    (repo / "README.md").write_text("xyz\n")
    third = git.snapshot_tree(index, previous=second)
    (repo / "brand new.txt").write_text("new\n")
    fourth = git.snapshot_tree(index, previous=third)
    assert len({first, second, third, fourth}) == 4
    blob = run(["git", "cat-file", "-p", f"{third}:README.md"], cwd=repo, env=git_env())
    assert blob.stdout == b"xyz\n"
    after = snapshot_user_state(repo)
    assert after["index"] == before["index"] and after["head"] == before["head"]
    assert after["refs"] == before["refs"]


def test_an_index_without_its_checksum_is_never_taken_as_unchanged(tmp_path: Path) -> None:
    from shoal.git import _index_checksum

    index = tmp_path / "index"
    index.write_bytes(b"DIRC" + b"\x01" * 60 + b"\0" * 32)  # index.skipHash leaves zeros
    assert _index_checksum(index) is None
    index.write_bytes(b"DIRC" + b"\x01" * 60 + bytes(range(32)))
    assert _index_checksum(index) == bytes(range(32))
    assert _index_checksum(tmp_path / "missing") is None
