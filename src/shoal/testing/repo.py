"""Build throwaway git repositories with a pinned environment, and snapshot a user's state.

Pinned: author and committer (names, emails, dates), no system config, ``HOME`` and
``XDG_CONFIG_HOME`` pointing at an empty folder, so nothing from the machine's git config leaks
in and commit ids are the same on every machine.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..process import Completed, clean_env, run

AUTHOR = ("Shoal Test", "test@shoal.invalid")
DATE = "2024-01-01T00:00:00+00:00"
_home: str | None = None


def _empty_home() -> str:
    global _home
    if _home is None or not os.path.isdir(_home):
        _home = tempfile.mkdtemp(prefix="shoal-testing-home-")
        atexit.register(shutil.rmtree, _home, True)
    return _home


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The pinned environment (see the module docstring), plus `extra`."""
    home = _empty_home()
    env = clean_env({
        "GIT_AUTHOR_NAME": AUTHOR[0], "GIT_AUTHOR_EMAIL": AUTHOR[1], "GIT_AUTHOR_DATE": DATE,
        "GIT_COMMITTER_NAME": AUTHOR[0], "GIT_COMMITTER_EMAIL": AUTHOR[1],
        "GIT_COMMITTER_DATE": DATE, "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": home, "XDG_CONFIG_HOME": home,
    })
    env.pop("GIT_CONFIG_GLOBAL", None)
    env.pop("GIT_CONFIG_SYSTEM", None)
    env.update(extra or {})
    return env


# What a machine's git setup could bring into a test: config files, and an identity.
_MACHINE_GIT = ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL",
                "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL")


def isolate_git(monkeypatch: Any, home: Path) -> None:
    """Keep the machine's git configuration and identity away from this process (and the
    workers and git commands shoal starts): `home` as HOME, no system config. `monkeypatch` is
    pytest's (or anything with ``setenv``/``delenv``), which puts everything back afterwards."""
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in _MACHINE_GIT:
        monkeypatch.delenv(name, raising=False)


def _git(repo: Path, *args: str) -> Completed:
    return run(["git", "--no-optional-locks", *args], cwd=repo, env=git_env())


def make_repo(
    path: Path, files: Mapping[str, str | bytes] | None = None, *, branch: str = "main"
) -> Path:
    """``git init`` at `path` on `branch`, write `files`, commit them (an empty commit when there
    are none, so HEAD always exists). Returns the absolute path."""
    path = Path(path).absolute()
    path.mkdir(parents=True, exist_ok=True)
    _git(path, "init", "--quiet", f"--initial-branch={branch}")
    commit_files(path, files or {}, "initial commit")
    return path


def commit_files(repo: Path, files: Mapping[str, str | bytes | None], message: str = "update") -> str:
    """Write `files` (relative path -> text or bytes; None deletes the file), stage everything
    and commit on the checked-out branch. Returns the new commit id."""
    repo = Path(repo).absolute()
    for rel, content in files.items():
        target = repo / rel
        if content is None:
            target.unlink(missing_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
    _git(repo, "add", "-A")
    _git(repo, "commit", "--quiet", "--allow-empty", "--no-verify", "-m", message)
    return _git(repo, "rev-parse", "HEAD").text


def snapshot_user_state(
    repo: Path, *, ignore_branches: str | Sequence[str] = ()
) -> dict[str, object]:
    """Everything a run must leave byte-for-byte unchanged: files on disk (except ``.git``,
    with symlinks and executable bits), the index, HEAD, and every branch except those whose
    name starts with one of `ignore_branches` (the branches the run itself creates)."""
    repo = Path(repo).absolute()
    prefixes = [ignore_branches] if isinstance(ignore_branches, str) else ignore_branches
    skip = tuple(p for p in prefixes if p)
    git_dir = Path(_git(repo, "rev-parse", "--absolute-git-dir").text)
    index = git_dir / "index"
    head = _git(repo, "rev-parse", "--verify", "--quiet", "HEAD")
    refs = _git(repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/").text
    return {
        "files": _files(repo),
        "index": (
            _git(repo, "ls-files", "--stage", "-z").stdout,
            hashlib.sha256(index.read_bytes()).hexdigest() if index.exists() else None,
        ),
        "head": ((git_dir / "HEAD").read_bytes(), head.text),
        "refs": {
            ref: sha
            for ref, sha in (line.split(" ", 1) for line in refs.splitlines())
            if not skip or not ref.removeprefix("refs/heads/").startswith(skip)
        },
    }


def _files(repo: Path) -> dict[str, tuple[object, ...]]:
    found: dict[str, tuple[object, ...]] = {}
    for root, dirs, names in os.walk(repo):
        if root == str(repo):
            dirs[:] = [d for d in dirs if d != ".git"]
            names = [n for n in names if n != ".git"]  # a linked worktree's .git file
        for name in [*dirs, *names]:
            full = os.path.join(root, name)
            rel = os.path.relpath(full, repo)
            mode = os.lstat(full).st_mode
            if stat.S_ISLNK(mode):
                found[rel] = ("symlink", os.readlink(full))
            elif stat.S_ISDIR(mode):
                found[rel] = ("dir",)
            else:
                with open(full, "rb") as f:
                    found[rel] = ("file", bool(mode & stat.S_IXUSR), f.read())
    return found
