"""The pure parsers of git's machine formats, on literal byte strings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shoal.gitparse import (
    Change,
    MergeMessage,
    StatusEntry,
    Worktree,
    parse_merge_tree,
    parse_name_status,
    parse_status_v2,
    parse_worktree_list,
)

H1 = b"7898192261" * 4
H2 = b"4ae8ef021b" * 4
TREE = "dcd69017c46da6238ee8bd3180303030e4b5454e"


def test_status_v2_all_record_kinds() -> None:
    data = (
        b"# branch.oid " + H1 + b"\0# branch.head main\0"
        b"2 R. N... 100644 100644 100644 " + H1 + b" " + H1 + b" R100 a moved\0a\0"
        b"1 .D N... 100644 100644 000000 " + H1 + b" " + H1 + b" b c.txt\0"
        b"1 .M N... 100644 100644 100644 " + H2 + b" " + H2 + b" \xc3\xa9.txt\0"
        b"2 C. N... 100644 100644 100644 " + H1 + b" " + H1 + b" C75 copy of x\0x y\0"
        b"u UU N... 100644 100644 100644 100644 " + H1 + b" " + H2 + b" " + H1 + b" both changed.txt\0"
        b"? new file\0"
        b"? dir with space/deep \xc3\xbc.txt\0"
        b"! build/out.o\0"
    )
    assert parse_status_v2(data) == [
        StatusEntry("renamed", "a moved", "R.", "a"),
        StatusEntry("ordinary", "b c.txt", ".D"),
        StatusEntry("ordinary", "é.txt", ".M"),
        StatusEntry("copied", "copy of x", "C.", "x y"),
        StatusEntry("unmerged", "both changed.txt", "UU"),
        StatusEntry("untracked", "new file", "??"),
        StatusEntry("untracked", "dir with space/deep ü.txt", "??"),
        StatusEntry("ignored", "build/out.o", "!!"),
    ]


def test_status_entry_letters() -> None:
    entry = parse_status_v2(b"1 AM N... 000000 100644 100644 " + H1 + b" " + H2 + b" f\0")[0]
    assert (entry.index, entry.worktree) == ("A", "M")


def test_status_keeps_leading_spaces_and_newlines_in_paths() -> None:
    data = b"?  \0? line\nbreak\0"  # "-z": paths are raw, a path may be " " or hold a newline
    assert [e.path for e in parse_status_v2(data)] == [" ", "line\nbreak"]


def test_status_non_utf8_path_round_trips() -> None:
    entry = parse_status_v2(b"? caf\xe9.txt\0")[0]
    assert os.fsencode(entry.path) == b"caf\xe9.txt"


def test_status_empty_and_unknown() -> None:
    assert parse_status_v2(b"") == []
    with pytest.raises(ValueError):
        parse_status_v2(b"Q what\0")


def test_name_status() -> None:
    data = (b"R100\0a\0a moved\0D\0b c.txt\0M\0\xc3\xa9.txt\0A\0new\0"
            b"C075\0src\0dst\0T\0link\0")
    assert parse_name_status(data) == [
        Change("R", "a moved", "a", 100),
        Change("D", "b c.txt"),
        Change("M", "é.txt"),
        Change("A", "new"),
        Change("C", "dst", "src", 75),
        Change("T", "link"),
    ]
    assert parse_name_status(b"") == []


def test_worktree_list() -> None:
    data = (
        b"worktree /repo\0HEAD " + H1 + b"\0branch refs/heads/main\0\0"
        b"worktree /wt/task one\0HEAD " + H2 + b"\0branch refs/heads/shoal/task-1\0locked\0\0"
        b"worktree /wt/detached\0HEAD " + H1 + b"\0detached\0locked being used\0"
        b"prunable gitdir file points to non-existent location\0\0"
    )
    assert parse_worktree_list(data) == [
        Worktree(Path("/repo"), H1.decode(), "main"),
        Worktree(Path("/wt/task one"), H2.decode(), "shoal/task-1", locked=""),
        Worktree(Path("/wt/detached"), H1.decode(), None, detached=True, locked="being used",
                 prunable="gitdir file points to non-existent location"),
    ]


def test_worktree_list_bare() -> None:
    assert parse_worktree_list(b"worktree /srv/repo.git\0bare\0\0") == [
        Worktree(Path("/srv/repo.git"), bare=True)
    ]


def test_merge_tree_clean() -> None:
    result = parse_merge_tree(TREE.encode() + b"\0", clean=True)
    assert (result.clean, result.tree, result.conflicts, result.messages) == (True, TREE, [], [])


def test_merge_tree_clean_with_messages_section() -> None:
    result = parse_merge_tree(TREE.encode() + b"\0\0" + b"1\0f.txt\0Auto-merging\0Auto-merging f.txt\n\0",
                              clean=True)
    assert result.conflicts == [] and result.messages == [
        MergeMessage(("f.txt",), "Auto-merging", "Auto-merging f.txt")
    ]


def test_merge_tree_conflict() -> None:
    # byte for byte what git 2.39 printed for a content conflict in f.txt
    data = (TREE.encode() + b"\0f.txt\0a b/\xc3\xa9.txt\0\0"
            b"1\0f.txt\0Auto-merging\0Auto-merging f.txt\n\0"
            b"1\0f.txt\0CONFLICT (contents)\0CONFLICT (content): Merge conflict in f.txt\n\0"
            b"2\0old\0new\0CONFLICT (rename/delete)\0CONFLICT (rename/delete): old renamed to new "
            b"in HEAD, but deleted in other.\n\0")
    result = parse_merge_tree(data, clean=False)
    assert not result.clean and result.tree == TREE
    assert result.conflicts == ["f.txt", "a b/é.txt"]
    assert [(m.paths, m.kind) for m in result.messages] == [
        (("f.txt",), "Auto-merging"),
        (("f.txt",), "CONFLICT (contents)"),
        (("old", "new"), "CONFLICT (rename/delete)"),
    ]
    assert result.messages[1].text == "CONFLICT (content): Merge conflict in f.txt"


def test_merge_tree_conflict_without_conflicted_files() -> None:
    # some directory-rename conflicts list no file: the exit status decides, not the list
    data = TREE.encode() + b"\0\0" + b"1\0dir/\0CONFLICT (directory rename split)\0unclear\n\0"
    result = parse_merge_tree(data, clean=False)
    assert not result.clean and result.conflicts == []
    assert result.messages[0].kind == "CONFLICT (directory rename split)"
