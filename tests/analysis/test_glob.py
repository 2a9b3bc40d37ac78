"""One segment: parsing like pathspec, and the common-name search against brute force."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pathspec.patterns.gitignore.base import _GitIgnoreBasePattern

from shoal.analysis.glob import Glob, GlobError, meet, parse_segment
from shoal.analysis.paths import looks_like_file

TOKENS = ["a", "b", ".", "*", "?", "[ab]", "[!a]", "[a-c]", "[]a]", "\\*", "[.]"]
# every name of up to 4 characters: two segments of at most 3 tokens share one that short
# if they share any (``aa*`` and ``*ba`` first meet at ``aaba``)
NAMES = ["".join(p) for n in range(1, 5) for p in itertools.product("ab.*c]", repeat=n)]
NAMES = [n for n in NAMES if n not in (".", "..")]


def reference(text: str) -> re.Pattern[str]:
    return re.compile(_GitIgnoreBasePattern._translate_segment_glob(text, "raise"))


segment = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=3).map("".join)


@settings(max_examples=300, deadline=None)
@given(segment)
def test_segments_match_like_pathspec(text: str) -> None:
    seg = parse_segment(text)
    ref = reference(text)
    for name in NAMES:
        mine = (seg == name) if isinstance(seg, str) else seg.matches(name)
        assert mine == bool(ref.fullmatch(name)), (text, name)


@settings(max_examples=400, deadline=None)
@given(segment, segment, st.booleans())
def test_common_name_agrees_with_brute_force(a: str, b: str, need_dir: bool) -> None:
    """With ``need_dir``, a name spelled out by a pattern may be a directory unless it
    looks like a file; a name invented from wildcards must have no dot at all."""
    sa, sb = parse_segment(a), parse_segment(b)
    ra, rb = reference(a), reference(b)
    got = meet(sa, sb, need_dir)
    if got is not None:
        assert ra.fullmatch(got) and rb.fullmatch(got) and got not in (".", "..")
    literal = sa if isinstance(sa, str) else sb if isinstance(sb, str) else None
    if literal is not None:
        fits = (bool(ra.fullmatch(literal)) and bool(rb.fullmatch(literal))
                and literal not in (".", "..") and not (need_dir and looks_like_file(literal)))
        assert (got == literal) if fits else got is None
    else:
        fits = [n for n in NAMES if ra.fullmatch(n) and rb.fullmatch(n) and not (need_dir and "." in n)]
        assert (got is not None) == bool(fits), (a, b, need_dir, got, fits[:1])
        if need_dir and got is not None:
            assert "." not in got


def test_brackets_never_match_a_slash() -> None:
    assert not Glob("[!a]", parse_segment("[!a]").tokens).matches("/")


@pytest.mark.parametrize("bad", ["[ab", "a\\", "[z-a]"])
def test_bad_segments(bad: str) -> None:
    with pytest.raises(GlobError):
        parse_segment(bad)


def test_literal_forms() -> None:
    assert parse_segment("\\*x") == "*x"
    assert parse_segment("[a]b") == "ab"
    assert isinstance(parse_segment("a*"), Glob)
