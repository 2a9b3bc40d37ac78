"""Brute-force oracles for the pattern tests, independent of shoal's own matcher.

- ``pathspec_covers``: pathspec's gitwildmatch regex for a pattern anchored at the root
  (a ``/`` put in front, as plan paths mean), with the one other change shoal makes on
  purpose (git's rule that ``[...]`` never matches ``/``).
- ``alignments``: a deliberately naive recursive matcher that also says, for each name
  of a path, what role the pattern gave it, so the plausibility rule can be checked.
- ``plausible_overlap``: enumerate every path of a small universe and look for one
  that both patterns cover and whose directories are all plausible.
"""

from __future__ import annotations

import itertools
import re
import warnings
from functools import cache

from pathspec.patterns.gitignore.base import _GitIgnoreBasePattern
from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern


def anchor(text: str) -> str:
    """A plan path as gitignore writes it: anchored at the root by a leading ``/``."""
    return text if text.startswith("/") else "/" + text


@cache
def pathspec_regex(text: str) -> re.Pattern[str] | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        regex, _include = GitIgnoreSpecPattern.pattern_to_regex(anchor(text))
    if regex is None:
        return None
    return re.compile(regex.replace("[^", "[^/"))  # git: a bracket never matches "/"


def pathspec_covers(text: str, path: str) -> bool:
    regex = pathspec_regex(text)
    return regex is not None and regex.search(path) is not None


def universe(names: list[str], depth: int) -> list[str]:
    out: list[str] = []
    for d in range(1, depth + 1):
        out.extend("/".join(p) for p in itertools.product(names, repeat=d))
    return out


# -- the naive matcher with roles ------------------------------------------------------

DECL, SPELLED, GLOB, SPAN = "decl", "spelled", "glob", "span"


@cache
def _oracle_parse(text: str) -> tuple[tuple[object, ...], bool]:
    """pathspec's normalisation of an anchored pattern, redone by hand: (segments,
    only-below-the-match)."""
    raw = anchor(text)[1:].split("/")
    below = len(raw) > 1 and raw[-1] == ""
    if below:
        raw = raw[:-1]
    segs: list[object] = []
    for s in raw:
        if s == "**":
            if not segs or segs[-1] != "**":
                segs.append("**")
        else:
            rx = _GitIgnoreBasePattern._translate_segment_glob(s, "raise").replace("[^", "[^/")
            segs.append((re.compile(rx), not any(c in s for c in "*?[")))
    if len(segs) > 1 and segs[-1] == "**":
        segs.pop()
        below = True
    return tuple(segs), below


def alignments(text: str, names: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every way ``text`` covers the path ``names``, as one role per name."""
    segs, below = _oracle_parse(text)
    if segs == ("**",) and not below:
        return [tuple(SPAN for _ in names)]
    out: list[tuple[str, ...]] = []

    def later_explicit(i: int) -> bool:
        return any(s != "**" for s in segs[i + 1 :])

    def go(i: int, k: int, roles: tuple[str, ...]) -> None:
        if i == len(segs):
            if k == 0 or (below and k == len(names)):
                return
            out.append(roles + (SPAN,) * (len(names) - k))
            return
        seg = segs[i]
        if seg == "**":
            go(i + 1, k, roles)
            if k < len(names):
                go(i, k + 1, roles + (SPAN,))
            return
        if k < len(names) and seg[0].fullmatch(names[k]):  # type: ignore[index]
            if later_explicit(i) or below:
                role = DECL
            else:
                role = SPELLED if seg[1] else GLOB  # type: ignore[index]
            go(i + 1, k + 1, roles + (role,))

    go(0, 0, ())
    return out


def _dir_ok(name: str, roles: tuple[str, ...]) -> bool:
    if DECL in roles:
        return True
    if SPELLED in roles:
        return "." not in name[1:]
    return "." not in name


def plausible_witness(p: str, q: str, path: str) -> bool:
    names = tuple(path.split("/"))
    for rp in alignments(p, names):
        for rq in alignments(q, names):
            if all(_dir_ok(names[k], (rp[k], rq[k])) for k in range(len(names) - 1)):
                return True
    return False


def plausible_overlap(p: str, q: str, paths: list[str]) -> str | None:
    for path in paths:
        if pathspec_covers(p, path) and pathspec_covers(q, path) and plausible_witness(p, q, path):
            return path
    return None
