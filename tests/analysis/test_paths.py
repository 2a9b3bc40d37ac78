"""Path hygiene: normalise, outside_reason, literal prefixes, symlinks."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shoal.analysis.paths import (
    SymlinkGuard,
    literal_prefix,
    looks_like_file,
    normalise,
    outside_reason,
    split,
)

from .oracle import pathspec_covers


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("src/a.py", "src/a.py"),
        ("./src/a.py", "src/a.py"),
        ("src//a.py", "src/a.py"),
        ("src/./a.py", "src/a.py"),
        ("src/x/../a.py", "src/a.py"),
        ("src/auth/", "src/auth/"),
        ("src/auth//", "src/auth/"),
        ("src/a.py   ", "src/a.py"),  # trailing blanks go, as in gitignore
        ("a\\ ", "a\\ "),  # ...unless escaped
        (".", "."),
        ("./", "."),
        ("", ""),  # blank matches nothing: not the root
        ("   ", ""),
        ("a/..", "."),
        ("*.py", "*.py"),
        ("build/", "build/"),
        ("./build/", "build/"),  # every plan path is anchored: "./" and "/" add nothing
        ("/build/", "build/"),
        ("/common/", "common/"),
        ("./pyproject.toml", "pyproject.toml"),
        ("/src/a.py", "src/a.py"),
        ("/", "."),
        ("**/build/", "**/build/"),
        ("/**/x", "**/x"),
        ("a/../b", "b"),
        ("src\\auth", "src\\auth"),  # backslashes are escapes: kept as written
        ("!./x/y", "!x/y"),
        ("../x", "../x"),  # kept for outside_reason
        ("a/../../b", "../b"),
        (".github/workflows/", ".github/workflows/"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["./pyproject.toml", "a/../b/c", "src//x.py", "./src/*.py", "a/./b/", "./build/", "x/../*.md"],
)
def test_normalise_keeps_what_a_pattern_matches(raw: str) -> None:
    # pathspec does not tidy "./" or "..": compare with the tidy spelling it understands
    paths = ["pyproject.toml", "sub/pyproject.toml", "b/c", "src/x.py", "src/y.py", "a/b/z",
             "build/o", "sub/build/o", "a.md", "x/a.md"]
    tidy = {"./pyproject.toml": "pyproject.toml", "a/../b/c": "b/c", "src//x.py": "src/x.py",
            "./src/*.py": "src/*.py", "a/./b/": "a/b/", "./build/": "build/", "x/../*.md": "*.md"}
    for path in paths:
        assert pathspec_covers(normalise(raw), path) == pathspec_covers(tidy[raw], path)


@given(st.lists(st.sampled_from(["a", "b", ".", "..", "", "*"]), min_size=1, max_size=6))
def test_normalise_is_idempotent(parts: list[str]) -> None:
    once = normalise("/".join(parts))
    assert normalise(once) == once


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ("C:\\Users\\x", "Windows"),
        ("c:/x", "Windows"),
        ("\\\\server\\share", "network"),
        ("//server/share", "network"),
        ("~/x", "home"),
        ("~bob/x", "home"),
        ("../x", "climbs"),
        ("a/../../b", "climbs"),
        ("..", "climbs"),
        ("src/**/../../x", "after `**`"),
        ("!\\x", "absolute"),
    ],
)
def test_outside(raw: str, fragment: str) -> None:
    reason = outside_reason(raw)
    assert reason is not None and fragment in reason


@pytest.mark.parametrize("raw", ["src/a.py", "a/../b", "./x", "*.py", ".github/x", "a..b/c", "src/..a",
                                 "/common/", "/etc/passwd", "/"])  # "/" is the repository root
def test_inside(raw: str) -> None:
    assert outside_reason(raw) is None


def test_split_and_prefix() -> None:
    assert split("src/a/") == ("src", "a")
    assert literal_prefix("src/auth/*.py") == ("src", "auth")
    assert literal_prefix("src/auth/x.py") == ("src", "auth", "x.py")
    assert literal_prefix("*.py") == ()
    assert literal_prefix("build/") == ("build",)  # the root's build folder
    assert literal_prefix("**/build/") == ()  # any depth: no fixed directory
    assert literal_prefix("pyproject.toml") == ("pyproject.toml",)


def test_looks_like_file() -> None:
    assert looks_like_file("x.py") and looks_like_file(".eslintrc.json")
    assert not looks_like_file("src") and not looks_like_file(".github") and not looks_like_file("Makefile")


def test_symlink_guard(tmp_path) -> None:
    repo = tmp_path / "repo"
    outside = tmp_path / "elsewhere"
    (repo / "src").mkdir(parents=True)
    outside.mkdir()
    (repo / "src" / "real").mkdir()
    os.symlink(outside, repo / "vendor")
    os.symlink(repo / "src" / "real", repo / "src" / "alias")  # stays inside
    guard = SymlinkGuard(repo)
    escape = guard.escape("vendor/lib/x.py")
    assert escape is not None and escape.startswith("vendor -> ")
    assert guard.escape("vendor/**") is not None
    assert guard.escape("src/alias/x.py") is None
    assert guard.escape("src/missing/deeper/x.py") is None
    assert guard.escape("*.py") is None  # no fixed directory to look at
    assert guard.escape("vendor") is not None  # the root's vendor
    assert guard.is_dir("src/real") and not guard.is_dir("src/nothing")
