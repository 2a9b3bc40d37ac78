"""The trie index finds exactly the overlapping pairs that comparing all pairs finds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shoal.analysis.pathindex import OWN, READ, RO, PathIndex
from shoal.analysis.pattern import PatternError, overlap, parse_pattern

NAMES = ["src", "lib", "a", "a.py", "b.md", "x", "node.d"]
GLOBS = ["*", "*.py", "?", "a*", "[ab]*", "*.d"]


@st.composite
def pattern_text(draw: st.DrawFn) -> str:
    n = draw(st.integers(1, 4))
    segs = []
    for _ in range(n):
        roll = draw(st.integers(0, 9))
        if roll < 6:
            segs.append(draw(st.sampled_from(NAMES)))
        elif roll < 9:
            segs.append(draw(st.sampled_from(GLOBS)))
        else:
            segs.append("**")
    text = "/".join(segs)
    return text + draw(st.sampled_from(["", "", "", "/", "/**"]))


def _parse(text: str):
    try:
        return parse_pattern(text)
    except PatternError:
        return None


entries = st.lists(
    st.tuples(pattern_text(), st.integers(0, 5), st.sampled_from([OWN, OWN, READ, RO])),
    min_size=0, max_size=25,
)


def brute_force(items):
    own_own, own_read, own_ro = set(), set(), set()
    for i, (p, t, k) in enumerate(items):
        for q, u, m in items[i + 1 :]:
            if t == u or overlap(p, q) is None:
                continue
            if k == OWN and m == OWN:
                own_own.add(frozenset([(t, p.text), (u, q.text)]))
            elif {k, m} == {OWN, READ}:
                own_read.add(((t, p.text), (u, q.text)) if k == OWN else ((u, q.text), (t, p.text)))
            elif {k, m} == {OWN, RO}:
                own_ro.add(((t, p.text), (u, q.text)) if k == OWN else ((u, q.text), (t, p.text)))
    return own_own, own_read, own_ro


@settings(max_examples=400, deadline=None)
@given(entries)
def test_index_agrees_with_all_pairs(raw) -> None:
    items = []
    for text, task, kind in raw:
        p = _parse(text)
        if p is not None:
            items.append((p, -1 if kind == RO else task, kind))
    index = PathIndex()
    for p, t, k in items:
        index.add(p, t, k)
    found = index.pairs()
    own_own, own_read, own_ro = brute_force(items)
    got_own = {frozenset([(a, pa.text), (b, pb.text)]) for a, pa, b, pb in found.own_own}
    got_read = {((a, pa.text), (b, pb.text)) for a, pa, b, pb in found.own_read}
    got_ro = {((a, pa.text), (b, pb.text)) for a, pa, b, pb in found.own_ro}
    assert got_own == own_own
    assert got_read == own_read
    assert got_ro == own_ro


def test_each_pair_is_reported_once() -> None:
    index = PathIndex()
    for t, text in enumerate(["src/**", "src/a.py", "*.py", "src/*.py", "src/a.py"]):
        index.add(parse_pattern(text), t, OWN)
    found = index.pairs()
    keys = [frozenset([(a, pa.text), (b, pb.text)]) for a, pa, b, pb in found.own_own]
    assert len(keys) == len(set(keys))


def test_many_readers_of_one_file_cost_one_group() -> None:
    index = PathIndex()
    for t in range(1000):
        index.add(parse_pattern("common/types.py"), t, READ)
    index.add(parse_pattern("common/"), 5000, OWN)
    found = index.pairs()
    assert len(found.own_read) == 1000
    assert {a for a, _, _, _ in found.own_read} == {5000}
