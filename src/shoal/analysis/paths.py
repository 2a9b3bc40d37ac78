"""Path hygiene shared by the analysis and the run engine: normalise, split, and say
why a path leaves the repository.

Paths in a plan are gitignore-style patterns anchored at the repository root: ``CHANGES.md``
is the root's file only, ``common/`` the root's folder, ``*.py`` the ``.py`` files at the
root; ``**/name`` is ``name`` at any depth. (Plain gitignore would match a pattern without an
inner ``/`` at any depth, which surprised users.) A leading ``/`` changes nothing. The one
source of truth for what a plan path means is ``gitwildmatch("/" + normalise(raw))``: the
analysis and the run engine both normalise first, so they agree.
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Callable
from pathlib import Path

ROOT = "."  # what normalise() returns for the repository root itself (``.``, ``/``, ``a/..``)

_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:([\\/]|$)")
_FAST_UNSAFE = ("//", "/./", "/../", "\\")


def normalise(pattern: str) -> str:
    """The canonical form of a plan path or pattern, matching exactly what it matched.

    Strips trailing blanks (as gitignore does), leading ``/`` and ``./``, collapses ``//``,
    drops ``.`` segments and folds ``a/../b`` into ``b``. A trailing ``/`` (directory) and
    a leading ``!`` are kept; backslashes are kept as written, because in gitignore syntax
    they escape the next character. A ``..`` that would climb above the root is kept at the
    front (``../x``) for :func:`outside_reason` to report. The root itself is ``"."``; a
    blank path stays ``""`` (it matches nothing).

    Every plan path is anchored at the root, so the canonical form never starts with ``/``:
    ``/common/``, ``./common/`` and ``common/`` are all ``common/``.
    """
    text = _rstrip_blanks(pattern)
    if not text.strip():
        return ""  # blank matches nothing (gitignore); it is not the root
    if (
        not any(u in text for u in _FAST_UNSAFE)
        and text[0] not in "./!"
        and not text.endswith(("/.", "/.."))
    ):
        return text  # already canonical: the common case, kept cheap for 500k paths
    negated = text.startswith("!")
    if negated:
        text = text[1:]
    directory = text.endswith("/") and text.strip("/") != ""
    out: list[str] = []
    climbs = 0  # ``..`` that climbed above the root, kept so the caller can report them
    for seg in text.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if out:
                out.pop()
            else:
                climbs += 1
            continue
        out.append(seg)
    body = "/".join([".."] * climbs + out)
    if not body:
        body = ROOT
    elif directory:
        body += "/"
    return ("!" if negated else "") + body


def _rstrip_blanks(text: str) -> str:
    # gitignore drops trailing spaces unless the last one is escaped (``a\ ``)
    stripped = text.rstrip()
    if stripped.endswith("\\") and len(stripped) < len(text):
        return stripped + " "
    return stripped


def split(path: str) -> tuple[str, ...]:
    """The segments of a normalised path (no empty segments, trailing ``/`` ignored)."""
    return tuple(s for s in path.split("/") if s)


def looks_like_file(name: str) -> bool:
    """Whether a name looks like a file rather than a directory: a dot after its first
    character (``x.py``, ``.eslintrc.json``), but not ``src``, ``Makefile`` or ``.github``.

    The overlap test never invents a directory with such a name (see pattern.py)."""
    return "." in name[1:]


def outside_reason(raw: str) -> str | None:
    """Why a plan path is not inside the repository, or None when it is.

    Looks at the path as written (before normalising) for absolute forms, and at the
    normalised form for ``..`` climbing above the root.
    """
    text = raw.strip()
    if text and text[0] not in "!~/\\." and ".." not in text and ":" not in text[1:3]:
        return None  # the common case: a plain relative path
    text = text.removeprefix("!")
    if text.startswith("~"):
        return "starts with `~` (a home directory), which is outside the repository"
    # a single leading "/" is the repository root (see normalise); two, or a backslash, are
    # a network or Windows path
    if text.startswith(("\\\\", "//")):
        return "is a network or absolute path; plan paths are relative to the repository root"
    if text.startswith("\\"):
        return "is an absolute path; plan paths are relative to the repository root"
    if _WINDOWS_DRIVE.match(text):
        return "is an absolute Windows path; plan paths are relative to the repository root"
    norm = normalise(text)
    if norm == ".." or norm.startswith("../"):
        return "climbs above the repository root with `..`"
    if _dotdot_after_globstar(text.split("/")):
        return "has `..` after `**`, which can climb above the repository root"
    return None


def _dotdot_after_globstar(segs: list[str]) -> bool:
    seen_globstar = False
    for seg in segs:
        if seg == "**":
            seen_globstar = True
        elif seg == ".." and seen_globstar:
            return True
    return False


def literal_prefix(path: str) -> tuple[str, ...]:
    """The leading segments of a normalised pattern that contain no wildcard (empty for
    ``*.py`` or ``**/build/``, which name no fixed directory)."""
    out: list[str] = []
    for seg in split(path):
        if any(c in seg for c in "*?[\\"):
            break
        out.append(seg)
    return tuple(out)


class SymlinkGuard:
    """Finds literal path prefixes that are symlinks leading out of the repository.

    Only the components of a pattern's fixed prefix are looked at (one ``lstat`` each,
    cached), so it never walks a tree, however large.
    """

    def __init__(self, repo: Path) -> None:
        self.repo = Path(repo)
        self._real_repo = os.path.realpath(self.repo)
        self._verdict: dict[tuple[str, ...], str | None] = {}

    def escape(self, path: str) -> str | None:
        """The first component of ``path``'s fixed prefix that is a symlink pointing
        outside the repository, as ``"a/link -> /target"``; None when there is none."""
        prefix = literal_prefix(path)
        for depth in range(1, len(prefix) + 1):
            key = prefix[:depth]
            if key not in self._verdict:
                self._verdict[key] = self._check(key)
            verdict = self._verdict[key]
            if verdict == "":
                return None  # missing: nothing below it exists either
            if verdict is not None:
                return verdict
        return None

    def is_dir(self, path: str) -> bool:
        """Whether a literal repository path is an existing directory (through links
        that stay inside the repository)."""
        return os.path.isdir(os.path.join(self.repo, *split(path)))

    def _check(self, key: tuple[str, ...]) -> str | None:
        full = os.path.join(self.repo, *key)
        try:
            is_link = os.path.islink(full)
            exists = is_link or os.path.lexists(full)
        except OSError:
            return ""
        if not exists:
            return ""
        if not is_link:
            return None
        target = os.path.realpath(full)
        if target == self._real_repo or target.startswith(self._real_repo.rstrip(os.sep) + os.sep):
            return None
        return f"{'/'.join(key)} -> {target}"


class RepoNames:
    """The names in a repository, to tell a plan whose ``CHANGES.md`` (the root's only)
    finds nothing at the root that there is one deeper. Read lazily: the root on first
    use; the tree below it only when a name is missing at the root, once, breadth first
    (so the shallowest example comes first), without ``.git`` or symlinked folders and
    at most :attr:`LIMIT` entries, so a huge tree costs a bounded walk."""

    LIMIT = 200_000

    def __init__(self, repo: Path) -> None:
        self.repo = os.fspath(repo)
        self._root: set[str] | None = None
        self._deeper: dict[tuple[str, bool], str] | None = None  # -> the first path

    def at_root(self, test: Callable[[str], object]) -> bool:
        """Whether a name at the root passes ``test``."""
        if self._root is None:
            self._root = {name for name, _is_dir, _path in self._entries(self.repo, "")}
        return any(test(name) for name in self._root)

    def deeper(self, test: Callable[[str], object], dir_only: bool) -> str | None:
        """The shallowest path below the root whose last name passes ``test`` (a folder
        with a trailing ``/``), or None."""
        if self._deeper is None:
            self._deeper = self._walk()
        for (name, is_dir), path in self._deeper.items():
            if (is_dir or not dir_only) and test(name):
                return path
        return None

    def _walk(self) -> dict[tuple[str, bool], str]:
        found: dict[tuple[str, bool], str] = {}
        pending = deque(path for _name, is_dir, path in self._entries(self.repo, "") if is_dir)
        seen = 0
        while pending and seen < self.LIMIT:
            folder = pending.popleft()
            for name, is_dir, path in self._entries(os.path.join(self.repo, folder), folder + "/"):
                seen += 1
                found.setdefault((name, is_dir), path + "/" if is_dir else path)
                if is_dir:
                    pending.append(path)
        return found

    @staticmethod
    def _entries(folder: str, prefix: str) -> list[tuple[str, bool, str]]:
        try:
            with os.scandir(folder) as it:
                return [(e.name, e.is_dir(follow_symlinks=False), prefix + e.name)
                        for e in it if e.name != ".git"]
        except OSError:
            return []
