"""Whole plan patterns: what they cover, and the exact test of whether two overlap.

A pattern is a sequence of segments (literal names, :class:`Glob` segments and ``**``,
which spans zero or more directories), as pathspec's gitwildmatch normalises it, except
that every pattern is anchored at the repository root: ``*.py`` and ``build/`` match at
the root only (gitignore would match them at any depth), ``**/*.py`` at any depth, and a
leading ``/`` changes nothing. A trailing ``/`` or ``/**`` means "everything below". A
pattern *covers* a path if it matches the path or one of its ancestor directories.

Two patterns overlap when some path is covered by both. No filesystem is consulted, so
that path may be invented, and one rule keeps inventions plausible: **a file is never
made into a directory.** A directory in the example path (any name but the last) must be

- declared one by either pattern: matched by a segment followed by more segments, or by
  the last segment of a pattern ending in ``/`` or ``/**`` (``lodash.merge/index.js``,
  ``x.py/``), or named by a literal path that exists as a directory in the repository; or
- spelled out literally by a pattern and not look like a file (``src``, ``Makefile``,
  ``.github``, but not ``app.py``: see :func:`~shoal.analysis.paths.looks_like_file`); or
- an invented name (from ``*``, ``?``, ``[..]`` or ``**``) without any dot.

Without it ``**/*.lock`` would overlap ``src/app.py`` (through ``src/app.py/x.lock``) and
every pattern starting with ``**/`` would overlap every path. Within that rule the test is
exact, with no false positives and no false negatives: tests/analysis check it by brute
force against pathspec, given each pattern with a leading ``/``. The price is that a dotted
directory owned without a trailing ``/`` (``vendor/lib.d``) is taken for a file unless the
repository is given and has it.
"""

from __future__ import annotations

import re
from collections import deque
from sys import intern

from .glob import ANY_SEGMENT, Glob, GlobError, meet, parse_segment
from .paths import ROOT, looks_like_file

__all__ = ["STAR2", "Pattern", "PatternError", "covers", "overlap", "parse_pattern"]


class _Star2:
    __slots__ = ()

    def __repr__(self) -> str:
        return "**"


STAR2 = _Star2()  # the ``**`` segment
Segment = str | Glob | _Star2


class PatternError(ValueError):
    """A pattern that matches nothing, or that pathspec rejects."""


class Pattern:
    """A parsed, normalised pattern. Compared by identity (one object per distinct text
    comes from the path reader, and hashing in C keeps the index cheap)."""

    __slots__ = (
        "category",
        "declared_dir",
        "dir_only",
        "end_extendable",
        "fixed",
        "kind",
        "literal",
        "prefix",
        "segs",
        "text",
    )

    def __init__(self, text: str, segs: tuple[Segment, ...], dir_only: bool, declared_dir: bool) -> None:
        self.text = text
        self.segs = segs
        self.dir_only = dir_only  # trailing "/" or "/**": only what is below the match
        self.declared_dir = declared_dir  # the last segment is known to be a directory
        prefix: list[str] = []
        for s in segs:
            if type(s) is not str:
                break
            prefix.append(s)  # type: ignore[arg-type]
        self.prefix: tuple[str, ...] = tuple(prefix)
        self.literal = len(prefix) == len(segs)
        # "lit": no wildcard; "deep": ``**`` right after the prefix; "glob": a glob after it
        if self.literal:
            self.kind = "lit"
        else:
            self.kind = "deep" if segs[len(prefix)] is STAR2 else "glob"
        self.fixed = STAR2 not in segs  # every path it matches has the same depth
        # like kind, but "single" for ``A/**/S`` (e.g. ``**/*.md``)
        rest = segs[len(prefix) + 1 :]
        self.category = "single" if self.kind == "deep" and len(rest) == 1 and rest[0] is not STAR2 else self.kind
        # whether something may lie below what it matches: it is (or may be) a directory
        last = segs[-1] if segs else STAR2
        if declared_dir or last is STAR2:
            self.end_extendable = True
        elif type(last) is str:
            self.end_extendable = not looks_like_file(last)  # type: ignore[arg-type]
        else:
            self.end_extendable = last.witness(need_dir=True) is not None  # type: ignore[union-attr]

    def __repr__(self) -> str:
        return f"Pattern({self.text!r})"

    def as_directory(self) -> Pattern:
        """The same pattern with its last segment known to be a directory."""
        return Pattern(self.text, self.segs, self.dir_only, True)


def parse_pattern(text: str) -> Pattern:
    """Parse a normalised, non-negated pattern; raise :class:`PatternError` if it can
    match nothing (empty, a comment, a bad ``[``) or pathspec rejects it."""
    if text == ROOT:
        return Pattern(text, (STAR2,), False, False)  # the repository root: everything
    if _PLAIN.fullmatch(text):
        return literal_pattern(text)
    if text.endswith("/**") and _PLAIN.fullmatch(text[:-2]):
        return literal_pattern(text[:-2], text)  # "dir/**" is "dir/"
    if not text or text.startswith("#"):
        raise PatternError("matches nothing (empty, or a `#` comment in gitignore syntax)")
    raw = text.removeprefix("/").split("/")  # anchored either way
    dir_only = raw[-1] == "" and len(raw) > 1
    if dir_only:
        raw = raw[:-1]
    if any(s == "" for s in raw):
        raise PatternError("has an empty segment (`//`)")
    if raw == ["**"] and dir_only:
        raw, dir_only = ["*"], True  # "**/": any path with a directory in it, like "*/"
    segs: list[Segment] = []
    for s in raw:
        if s == "**":
            if not segs or segs[-1] is not STAR2:
                segs.append(STAR2)
            continue
        try:
            seg = parse_segment(s)
        except GlobError as exc:
            raise PatternError(str(exc)) from None
        if isinstance(seg, Glob) and seg.witness() is None:
            raise PatternError(f"segment `{s}` matches no name")
        if isinstance(seg, str) and seg in (".", ".."):
            raise PatternError(f"has a `{seg}` segment")
        segs.append(seg)
    if len(segs) > 1 and segs[-1] is STAR2:
        segs.pop()  # "a/**" is "a/": everything below a
        dir_only = True
    return Pattern(text, tuple(segs), dir_only, dir_only)


# a plain path: no wildcard, escape, "." or ".." segment (nor ":", "!", "~", a leading "/"
# or a trailing blank, which other checks look at)
_PLAIN = re.compile(r"(?:[\w\-+@=,][^/*?\[\\#:]*/)*[\w\-+@=,][^/*?\[\\#:]*/?(?<!\s)")


def literal_pattern(path: str, text: str | None = None) -> Pattern:
    """A plain path (``_PLAIN``) as a pattern, without the general parser: the
    bulk of any plan is such paths. ``text`` is how it was written, if not ``path``."""
    dir_only = path[-1] == "/"
    # interned: names repeat across a plan (src, tests, mod3), so sharing them saves memory
    # and makes the index's dictionary lookups compare by identity
    segs = tuple(map(intern, (path[:-1] if dir_only else path).split("/")))
    p = Pattern.__new__(Pattern)
    p.text, p.segs, p.dir_only, p.declared_dir = text or path, segs, dir_only, dir_only
    p.prefix, p.literal, p.kind, p.category, p.fixed = segs, True, "lit", "lit", True
    p.end_extendable = dir_only or not looks_like_file(segs[-1])
    return p


def covers(pattern: Pattern, path: str) -> bool:
    """Whether ``pattern`` matches the concrete ``path`` or one of its ancestors (the
    same answer as pathspec, except that ``[...]`` never matches ``/``)."""
    names = [s for s in path.split("/") if s]
    segs = pattern.segs
    n = len(segs)
    positions: set[int] | list[int] = _closure(segs, 0)
    for name in names:
        nxt: set[int] = set()
        for i in positions:
            if i >= n:
                nxt.add(n + 1)  # below a match
                continue
            seg = segs[i]
            if seg is STAR2:
                nxt.update(_closure(segs, i))
            elif (seg == name) if type(seg) is str else seg.matches(name):  # type: ignore[union-attr]
                nxt.update(_closure(segs, i + 1))
        positions = nxt
        if not positions:
            return False
    return any(_accepts(pattern, i) for i in positions)


def _closure(segs: tuple[Segment, ...], i: int) -> list[int]:
    out = [i]
    while i < len(segs) and segs[i] is STAR2:
        i += 1
        out.append(i)
    return out


def _accepts(p: Pattern, i: int) -> bool:
    n = len(p.segs)
    return i == n + 1 or (i == n and not p.dir_only)


def overlap(p: Pattern, q: Pattern) -> str | None:
    """A path both patterns cover (see the module doc for the one plausibility rule),
    or None when they cannot overlap."""
    if p.literal and q.literal:
        return _literal_literal(p, q)
    if q.fixed and p.kind == "deep" and STAR2 not in p.segs[len(p.prefix) + 1 :]:
        return _deep_fixed(p, q)
    if p.fixed and q.kind == "deep" and STAR2 not in q.segs[len(q.prefix) + 1 :]:
        return _deep_fixed(q, p)
    key = (p, q) if p.text <= q.text else (q, p)
    if key in _cache:
        return _cache[key]
    result = _search(p, q)
    if len(_cache) > 200_000:
        _cache.clear()
    _cache[key] = result
    return result


_cache: dict[tuple[Pattern, Pattern], str | None] = {}


def _join(names: tuple[str, ...] | list[str], below: bool) -> str:
    return "/".join(names) + ("/x" if below else "")


def _literal_literal(p: Pattern, q: Pattern) -> str | None:
    a, b = p.segs, q.segs
    if len(a) > len(b):
        p, q, a, b = q, p, b, a
    if b[: len(a)] != a:
        return None
    # the shorter one's last name becomes a directory only when the longer spells it out
    return _join(b, q.dir_only or (len(a) == len(b) and p.dir_only))  # type: ignore[arg-type]


def _deep_fixed(p: Pattern, q: Pattern) -> str | None:
    """``A/**/r1/../rm`` (one ``**``) against a pattern without ``**`` (whose paths all
    have its depth): slide the ``r``s along ``q``'s segments below ``A``, or past its end.

    Exact: along the window each position is spelled out by one side or the other (so
    it is a declared directory whenever it is not the last), and past ``q``'s end its
    last segment must be fit to be a directory (``end_extendable``)."""
    a = p.prefix
    qs = q.segs
    rest = p.segs[len(a) + 1 :]
    head: list[str] = []
    for u in range(min(len(a), len(qs))):
        name = meet(a[u], qs[u], False)  # type: ignore[arg-type]
        if name is None:
            return None
        head.append(name)
    if len(qs) <= len(a):
        # q ends at or above A: whatever p covers lies below what q matches there
        return _example(p)
    below = qs[len(a) :]
    k, m = len(below), len(rest)
    if m == 1 and q.literal:
        # the common case (``**/*.md`` against a path), kept cheap
        s = rest[0]
        path = "/".join(qs)  # type: ignore[arg-type]
        test = s.__eq__ if type(s) is str else s.matcher()  # type: ignore[union-attr]
        hits = [t for t, name in enumerate(below) if test(name)]  # type: ignore[arg-type]
        if hits:
            # below a match at t < k - 1 lies q's own next name; at k - 1 p may need more
            more = q.dir_only or (hits[0] == k - 1 and p.dir_only)
            return path + "/x" if more else path
        if not q.end_extendable:
            return None
        below_end = _seg_example(s)
        return None if below_end is None else path + "/" + below_end + ("/x" if p.dir_only else "")
    for t in range(k + 1):
        inside = min(m, k - t)
        window: list[str] = []
        for u in range(inside):
            common = meet(rest[u], below[t + u], False)  # type: ignore[arg-type]
            if common is None:
                break
            window.append(common)
        if len(window) < inside:
            continue
        if t == k and not q.end_extendable:
            continue  # the ``**`` would have to pass through a file
        # spanned by ``**``: q's own segments, directories by declaration, except q's last
        # when the r's start past it (then it must be fit to be a directory)
        spanned = [_seg_example(g) for g in below[: min(t, k - 1)]]
        if t == k:
            spanned.append(meet(below[-1], ANY_SEGMENT, not q.declared_dir))  # type: ignore[arg-type]
        after = [_seg_example(g) for g in below[t + inside :]]
        tail = [_seg_example(s) for s in rest[inside:]]
        names: list[str | None] = [*spanned, *window, *after, *tail]
        if None in names:
            continue
        needs_below = (q.dir_only or (t + m == k and p.dir_only)) if not tail else p.dir_only
        return _join([*head, *names], needs_below)  # type: ignore[list-item]
    return None


def _name_matches(seg: Segment, name: str) -> bool:
    return seg == name if type(seg) is str else seg.matches(name)  # type: ignore[union-attr]


def _seg_example(seg: Segment) -> str | None:
    return meet(seg, ANY_SEGMENT, False)  # type: ignore[arg-type]


def _example(p: Pattern) -> str | None:
    names: list[str] = []
    for s in p.segs:
        if s is STAR2:
            continue  # spans nothing in the example
        name = _seg_example(s)
        if name is None:
            return None
        names.append(name)
    if not names:
        names = ["x"]
    return _join(names, p.dir_only)


def _moves(p: Pattern, i: int) -> list[tuple[Segment, int, bool]]:
    """One path segment's worth of progress from position ``i``: (what the segment must
    match, the next position, whether this makes it a declared directory). Position
    ``len(segs)`` is "matched"; ``len(segs) + 1`` is "below the match"."""
    n = len(p.segs)
    if i >= n:
        return [(ANY_SEGMENT, n + 1, False)]
    seg = p.segs[i]
    if seg is STAR2:
        return [(ANY_SEGMENT, i, False)]
    return [(seg, i + 1, i + 1 < n or p.declared_dir)]


def _search(p: Pattern, q: Pattern) -> str | None:
    """Breadth-first search over pairs of positions in the two patterns, one witness
    segment per step. A step that is not the last makes its segment a directory, which
    it may only be if either side declares it or a non-file-looking name fits."""
    starts = [(i, j) for i in _closure(p.segs, 0) for j in _closure(q.segs, 0)]
    parent: dict[tuple[int, int], tuple[tuple[int, int], str] | None] = {s: None for s in starts}
    queue = deque(starts)

    def trail(state: tuple[int, int]) -> list[str]:
        names: list[str] = []
        node: tuple[int, int] | None = state
        while parent[node] is not None:  # type: ignore[index]
            node, name = parent[node]  # type: ignore[index, misc]
            names.append(name)
        return names[::-1]

    while queue:
        state = queue.popleft()
        i, j = state
        for sa, ni, da in _moves(p, i):
            for sb, nj, db in _moves(q, j):
                close_a, close_b = _closure(p.segs, ni), _closure(q.segs, nj)
                if any(_accepts(p, x) for x in close_a) and any(_accepts(q, y) for y in close_b):
                    last = meet(sa, sb, False)  # type: ignore[arg-type]
                    if last is not None:
                        return "/".join(trail(state) + [last])
                name = meet(sa, sb, not (da or db))  # type: ignore[arg-type]
                if name is None:
                    continue
                for x in close_a:
                    for y in close_b:
                        if (x, y) not in parent:
                            parent[(x, y)] = (state, name)
                            queue.append((x, y))
    return None
