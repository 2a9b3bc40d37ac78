"""Pattern overlap: the cases from the brief, and exactness against brute force."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal.analysis.paths import normalise
from shoal.analysis.pattern import PatternError, covers, overlap, parse_pattern

from .oracle import pathspec_covers, plausible_overlap, plausible_witness, universe


def ov(a: str, b: str) -> str | None:
    return overlap(parse_pattern(a), parse_pattern(b))


@pytest.mark.parametrize(
    "a, b",
    [
        ("src/auth/x.py", "src/auth/x.py"),  # same file
        ("src/auth", "src/auth/x.py"),  # a directory and a file under it
        ("src/", "src/a.py"),
        ("src/auth/**", "src/auth/deep/x.py"),
        ("src/**/*.py", "src/api/*"),  # two globs with a common path
        ("**/*.py", "docs/conf.py"),  # any depth
        ("*.py", "conf.py"),  # at the root
        ("a/*.txt", "a/b*"),
        ("**", "anything/at/all.txt"),
        ("*", "a/b.py"),
        ("**/*.lock", "src/app"),  # src/app may be a directory
        ("**/build/", "src/build/out.o"),
        ("/common/", "common/x.py"),  # a leading "/" changes nothing
        ("**/index.js", "node_modules/lodash.merge/index.js"),  # a dotted dir spelled out
        ("x.py/", "x.py"),  # declared a directory by the trailing slash
        ("a/**/b", "a/b"),  # ** spans zero directories
        ("[ab]/x", "b/*"),
        ("src/[!x]*.py", "src/main.py"),
    ],
)
def test_overlapping(a: str, b: str) -> None:
    assert ov(a, b) is not None
    assert ov(b, a) is not None
    example = ov(a, b)
    assert covers(parse_pattern(a), example) and covers(parse_pattern(b), example)


@pytest.mark.parametrize(
    "a, b",
    [
        ("a/*.txt", "a/*.md"),
        ("src/a.py", "src/b.py"),
        ("src/auth", "src/authz"),
        ("src/*.py", "lib/*.py"),
        ("**/*.lock", "src/app.py"),  # app.py is a file: nothing lies below it
        ("*.py", "docs/conf.py"),  # anchored: the root's .py files only
        ("*.lock", "src/app"),
        ("build/", "src/build/out.o"),
        ("CHANGES.md", "examples/**"),
        ("common/", "src/features/analysis/"),
        ("package-lock.json", "src/main.py"),
        ("src/**/*.py", "src/**/*.md"),  # a *.md name is never made into a directory
        ("**/index.js", "node_modules/lodash.merge"),  # lodash.merge looks like a file
        ("a/b", "a/c/b"),
        ("a/?", "a/bb"),
        ("[!a]", "a/a"),  # a root name other than "a"
    ],
)
def test_disjoint(a: str, b: str) -> None:
    assert ov(a, b) is None
    assert ov(b, a) is None


def test_existing_directory_with_a_dotted_name_is_a_directory() -> None:
    assert ov("**/index.js", "node_modules/lodash.merge") is None
    dotted = parse_pattern("node_modules/lodash.merge").as_directory()
    assert overlap(parse_pattern("**/index.js"), dotted) == "node_modules/lodash.merge/index.js"


@pytest.mark.parametrize("bad", ["", "#comment", "a[b", "x\\", "[z-a]x", "a//b"])
def test_patterns_that_match_nothing_are_rejected(bad: str) -> None:
    with pytest.raises(PatternError):
        parse_pattern(bad)


def test_witness_is_readable() -> None:
    assert ov("src/**/*.py", "src/api/*") == "src/api/x.py"
    assert ov("**/*.lock", "src/app") == "src/app/x.lock"


# -- anchored at the root (issue 14, item 5) ---------------------------------------------

def test_a_name_without_a_slash_is_the_roots_only() -> None:
    changes = parse_pattern(normalise("CHANGES.md"))
    assert covers(changes, "CHANGES.md") and not covers(changes, "docs/CHANGES.md")
    assert ov("CHANGES.md", "examples/**") is None
    common = parse_pattern(normalise("common/"))
    assert covers(common, "common/x") and not covers(common, "src/features/analysis/common/x")
    assert ov("src/features/analysis/", "common/") is None
    py = parse_pattern(normalise("*.py"))
    assert covers(py, "setup.py") and not covers(py, "src/app.py")


def test_a_leading_slash_changes_nothing() -> None:
    assert normalise("/common/") == normalise("common/") == "common/"
    for path in ("common/x", "src/common/x", "common", "commons/x"):
        assert covers(parse_pattern(normalise("/common/")), path) == \
            covers(parse_pattern(normalise("common/")), path)
    assert ov("/common/", "common/x.py") == ov("common/", "common/x.py") == "common/x.py"


def test_double_star_still_matches_at_any_depth() -> None:
    deep = parse_pattern(normalise("**/CHANGES.md"))
    assert covers(deep, "CHANGES.md") and covers(deep, "docs/release/CHANGES.md")
    assert ov("**/CHANGES.md", "examples/**") == "examples/CHANGES.md"
    assert covers(parse_pattern("**/*.py"), "a/b/c.py")


# -- exactness against brute force ------------------------------------------------------

def _segments(tokens: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(tokens), min_size=1, max_size=2).map("".join).filter(
        lambda s: s not in (".", "..") and s != "**")


def patterns(tokens: list[str], max_explicit: int) -> st.SearchStrategy[str]:
    @st.composite
    def build(draw: st.DrawFn) -> str:
        explicit = draw(st.lists(_segments(tokens), min_size=1, max_size=max_explicit))
        parts: list[str] = []
        for seg in explicit:
            if draw(st.integers(0, 3)) == 0:
                parts.append("**")
            parts.append(seg)
        text = "/".join(parts)
        if draw(st.booleans()) and draw(st.booleans()):
            text += "/"
        elif draw(st.integers(0, 5)) == 0:
            text += "/**"
        return text

    return build().filter(_valid)


def anchored(tokens: list[str], heads: list[str]) -> st.SearchStrategy[str]:
    """A literal first segment, then one more explicit segment: these are often disjoint."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        parts = [draw(st.sampled_from(heads))]
        if draw(st.integers(0, 3)) == 0:
            parts.append("**")
        parts.append(draw(_segments(tokens)))
        text = "/".join(parts)
        tail = draw(st.integers(0, 5))
        return text + ("/" if tail == 0 else "/**" if tail == 1 else "")

    return build().filter(_valid)


def _valid(text: str) -> bool:
    try:
        parse_pattern(text)
    except PatternError:
        return False
    return normalise(text) == text


def _explicit(text: str) -> int:
    return sum(1 for s in text.split("/") if s and s != "**")


PURE_TOKENS = ["a", "b", "*", "?", "[ab]", "[!a]"]
DOT_TOKENS = ["a", "b", ".", "*", "?", "[ab]", "[!a]"]
PURE_NAMES = ["a", "b", "aa", "ab", "ba", "bb"]
# every valid name of up to two characters, plus the three-character ones that `*.` and
# `.*` need (their only shorter common names, `.` and `..`, are not names)
DOT_NAMES = ["a", "b", "aa", "ab", "ba", "bb", "a.", ".a", "b.", ".b", ".a.", "..."]
_UNIVERSES: dict[tuple[str, int], list[str]] = {}


def _universe(kind: str, depth: int) -> list[str]:
    key = (kind, depth)
    if key not in _UNIVERSES:
        _UNIVERSES[key] = universe(PURE_NAMES if kind == "pure" else DOT_NAMES, depth)
    return _UNIVERSES[key]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(patterns(DOT_TOKENS, 3), st.lists(st.sampled_from(DOT_NAMES), min_size=1, max_size=4))
def test_covers_agrees_with_pathspec(text: str, names: list[str]) -> None:
    path = "/".join(names)
    assert covers(parse_pattern(text), path) == pathspec_covers(text, path)


PURE_PATTERNS = st.one_of(patterns(PURE_TOKENS, 2), anchored(PURE_TOKENS, ["a", "b"]))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(PURE_PATTERNS, PURE_PATTERNS)
def test_overlap_is_exact_against_pathspec(a: str, b: str) -> None:
    """Without dots in any name the plausibility rule never applies: plain pathspec."""
    depth = _explicit(a) + _explicit(b) + 1
    paths = _universe("pure", depth)
    expected = next((p for p in paths if pathspec_covers(a, p) and pathspec_covers(b, p)), None)
    got = ov(a, b)
    assert (got is None) == (expected is None), (a, b, got, expected)
    if got is not None:
        assert pathspec_covers(a, got) and pathspec_covers(b, got)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(patterns(DOT_TOKENS, 2), patterns(DOT_TOKENS, 1))
def test_overlap_is_exact_with_the_plausibility_rule(a: str, b: str) -> None:
    depth = _explicit(a) + _explicit(b) + 1
    expected = plausible_overlap(a, b, _universe("dot", depth))
    got = ov(a, b)
    assert (got is None) == (expected is None), (a, b, got, expected)
    if got is not None:
        assert pathspec_covers(a, got) and pathspec_covers(b, got)
        assert plausible_witness(a, b, got), (a, b, got)
    assert (ov(b, a) is None) == (got is None)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.one_of(patterns(DOT_TOKENS, 2), anchored(DOT_TOKENS, ["a", "a.", ".a"])),
       anchored(DOT_TOKENS, ["a", "a.", ".a"]))
def test_overlap_is_exact_with_the_plausibility_rule_anchored(a: str, b: str) -> None:
    """``b`` starts with a literal name, so only paths under it need enumerating."""
    head = b.split("/")[0]
    depth = _explicit(a) + _explicit(b)
    paths = [head] + [f"{head}/{rest}" for rest in _universe("dot", depth)]
    expected = plausible_overlap(a, b, paths)
    got = ov(a, b)
    assert (got is None) == (expected is None), (a, b, got, expected)
    if got is not None:
        assert plausible_witness(a, b, got), (a, b, got)
    assert (ov(b, a) is None) == (got is None)
