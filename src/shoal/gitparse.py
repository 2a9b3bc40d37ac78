"""Pure parsers of git's machine formats (``-z``, ``--porcelain=v2``); no I/O.

Paths are decoded with :func:`os.fsdecode`, so names that are not UTF-8 survive the round trip
back to bytes (``os.fsencode``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StatusEntry:
    """One record of ``git status --porcelain=v2``.

    ``kind`` is ``ordinary``, ``renamed``, ``copied``, ``unmerged``, ``untracked`` or
    ``ignored``; ``xy`` the index and work-tree letters (``.`` = unchanged, ``??`` untracked,
    ``!!`` ignored); ``orig_path`` the source of a rename or copy.
    """

    kind: str
    path: str
    xy: str
    orig_path: str | None = None

    @property
    def index(self) -> str:
        return self.xy[0]

    @property
    def worktree(self) -> str:
        return self.xy[1]


@dataclass(frozen=True)
class Change:
    """One record of ``git diff --name-status``: ``status`` is A, C, D, M, R, T, U or X;
    ``old_path`` is set for R (rename) and C (copy), ``score`` is their similarity (0-100)."""

    status: str
    path: str
    old_path: str | None = None
    score: int | None = None


@dataclass(frozen=True)
class Worktree:
    """One record of ``git worktree list --porcelain``; ``branch`` is the short name or None
    (detached or bare); ``locked``/``prunable`` hold the reason ("" when none given)."""

    path: Path
    head: str | None = None
    branch: str | None = None
    bare: bool = False
    detached: bool = False
    locked: str | None = None
    prunable: str | None = None


@dataclass(frozen=True)
class MergeMessage:
    """An informational record of ``git merge-tree -z``, e.g. kind ``CONFLICT (contents)``."""

    paths: tuple[str, ...]
    kind: str
    text: str


@dataclass(frozen=True)
class MergeTreeResult:
    """Result of ``git merge-tree --write-tree``. ``tree`` is always the resulting tree; after a
    conflict it holds the conflicted files with their markers (useful to show them)."""

    clean: bool
    tree: str
    conflicts: list[str]
    messages: list[MergeMessage]


def _fields(data: bytes) -> list[bytes]:
    fields = data.split(b"\0")
    if fields and fields[-1] == b"":  # every record ends with NUL
        fields.pop()
    return fields


def parse_status_v2(data: bytes) -> list[StatusEntry]:
    """``git status --porcelain=v2 -z`` output. Header lines (``# ...``) are skipped."""
    entries: list[StatusEntry] = []
    it = iter(_fields(data))
    for rec in it:
        tag = rec[:1]
        if tag == b"1":  # 1 XY sub mH mI mW hH hI path
            parts = rec.split(b" ", 8)
            entries.append(StatusEntry("ordinary", os.fsdecode(parts[8]), parts[1].decode()))
        elif tag == b"2":  # 2 XY sub mH mI mW hH hI Xscore path NUL origPath
            parts = rec.split(b" ", 9)
            kind = "renamed" if parts[8].startswith(b"R") else "copied"
            orig = os.fsdecode(next(it))
            entries.append(StatusEntry(kind, os.fsdecode(parts[9]), parts[1].decode(), orig))
        elif tag == b"u":  # u XY sub m1 m2 m3 mW h1 h2 h3 path
            parts = rec.split(b" ", 10)
            entries.append(StatusEntry("unmerged", os.fsdecode(parts[10]), parts[1].decode()))
        elif tag == b"?":
            entries.append(StatusEntry("untracked", os.fsdecode(rec[2:]), "??"))
        elif tag == b"!":
            entries.append(StatusEntry("ignored", os.fsdecode(rec[2:]), "!!"))
        elif tag != b"#":
            raise ValueError(f"unexpected git status record: {rec[:80]!r}")
    return entries


def parse_name_status(data: bytes) -> list[Change]:
    """``git diff --name-status -z`` output: ``S NUL path NUL`` or ``Rnn NUL old NUL new NUL``."""
    changes: list[Change] = []
    it = iter(_fields(data))
    for rec in it:
        status = rec[:1].decode()
        score = int(rec[1:]) if rec[1:].isdigit() else None
        if status in ("R", "C"):
            old, new = os.fsdecode(next(it)), os.fsdecode(next(it))
            changes.append(Change(status, new, old, score))
        else:
            changes.append(Change(status, os.fsdecode(next(it)), None, score))
    return changes


def parse_worktree_list(data: bytes) -> list[Worktree]:
    """``git worktree list --porcelain -z``: attribute fields, an empty field ends a record."""
    result: list[Worktree] = []
    attrs: dict[str, str] = {}
    for field in data.split(b"\0"):
        if field:
            key, _, value = os.fsdecode(field).partition(" ")
            attrs[key] = value
            continue
        if attrs:
            branch = attrs.get("branch")
            result.append(Worktree(
                path=Path(attrs["worktree"]),
                head=attrs.get("HEAD"),
                branch=branch.removeprefix("refs/heads/") if branch else None,
                bare="bare" in attrs,
                detached="detached" in attrs,
                locked=attrs.get("locked"),
                prunable=attrs.get("prunable"),
            ))
            attrs = {}
    return result


def parse_merge_tree(data: bytes, *, clean: bool) -> MergeTreeResult:
    """``git merge-tree --write-tree -z --name-only`` output (see git-merge-tree(1), OUTPUT).

    Layout: ``tree NUL``, then one ``path NUL`` per conflicted file, then (when messages are
    written) a NUL that opens the messages section, whose records are
    ``count NUL path1 NUL ... pathN NUL type NUL message NUL``. `clean` comes from the exit
    status, never from an empty conflict list (some directory-rename conflicts list no file).
    """
    fields = data.split(b"\0")
    tree = fields[0].decode().strip()
    i, conflicts = 1, []
    while i < len(fields) and fields[i]:
        conflicts.append(os.fsdecode(fields[i]))
        i += 1
    i += 1  # the NUL that opens the messages section
    messages: list[MergeMessage] = []
    while i < len(fields) and fields[i]:
        n = int(fields[i])
        paths = tuple(os.fsdecode(p) for p in fields[i + 1 : i + 1 + n])
        kind, text = fields[i + 1 + n].decode("utf-8", "replace"), fields[i + 2 + n]
        messages.append(MergeMessage(paths, kind, text.decode("utf-8", "replace").rstrip("\n")))
        i += n + 3
    return MergeTreeResult(clean, tree, conflicts, messages)
