"""One path segment of a gitignore pattern (``*.py``, ``test_?[0-9]``), and whether two
segments can match a common name.

Parsing follows pathspec's gitwildmatch translation exactly (``*``, ``?``, ``[...]`` with
``!``/``^`` negation and a leading ``]`` taken literally, backslash escapes outside
brackets, backslashes literal inside them; an unclosed ``[`` or a trailing backslash make
the pattern invalid) with one deliberate difference taken from git itself: a bracket
expression never matches ``/`` (pathspec's ``[!a]`` would).

Character sets are kept as sorted intervals of code points, so intersections are exact
over all of Unicode rather than over a sample alphabet.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from functools import lru_cache

from .paths import looks_like_file

MAX_CHAR = 0x10FFFF
SLASH = ord("/")
DOT = ord(".")

Intervals = tuple[tuple[int, int], ...]  # sorted, disjoint, never containing "/"
STAR = None  # the ``*`` token; every other token is an Intervals
ANY_CHAR: Intervals = ((0, SLASH - 1), (SLASH + 1, MAX_CHAR))
_PREFERRED = "xabcdefghijklmnopqrstuvwyz0123456789_-"  # readable witness characters


class GlobError(ValueError):
    """A segment that pathspec would reject or discard (so it matches nothing)."""


def _merge(iv: list[tuple[int, int]]) -> Intervals:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(iv):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return _remove(tuple(out), SLASH)


def _remove(iv: Intervals, code: int) -> Intervals:
    out: list[tuple[int, int]] = []
    for lo, hi in iv:
        if lo <= code <= hi:
            if lo < code:
                out.append((lo, code - 1))
            if code < hi:
                out.append((code + 1, hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def _complement(iv: Intervals) -> Intervals:
    out: list[tuple[int, int]] = []
    nxt = 0
    for lo, hi in iv:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= MAX_CHAR:
        out.append((nxt, MAX_CHAR))
    return _remove(tuple(out), SLASH)


@lru_cache(maxsize=4096)
def intersect(a: Intervals, b: Intervals) -> Intervals:
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _contains(iv: Intervals, code: int) -> bool:
    k = bisect_right(iv, (code, MAX_CHAR + 1)) - 1
    return k >= 0 and iv[k][0] <= code <= iv[k][1]


def _pick(iv: Intervals) -> str:
    for ch in _PREFERRED:
        if _contains(iv, ord(ch)):
            return ch
    return chr(iv[0][0])


class Glob:
    """A segment with wildcards. Literal segments are plain ``str`` instead."""

    __slots__ = ("_regex", "text", "tokens")

    def __init__(self, text: str, tokens: tuple[Intervals | None, ...]) -> None:
        self.text = text
        self.tokens = tokens
        self._regex: re.Pattern[str] | None = None

    def __repr__(self) -> str:
        return f"Glob({self.text!r})"

    def matches(self, name: str) -> bool:
        """Whether this glob matches one segment name (no ``/`` in it)."""
        return self.matcher()(name) is not None

    def matcher(self) -> Callable[[str], object]:
        """The compiled test: returns something true when it matches a name."""
        if self._regex is None:
            self._regex = re.compile(_to_regex(self.tokens), re.DOTALL)
        return self._regex.fullmatch

    def witness(self, need_dir: bool = False) -> str | None:
        """A name this glob matches (one that does not look like a file when
        ``need_dir``), or None when there is none."""
        return _meet_tokens(self.tokens, ANY_SEGMENT.tokens, need_dir)


ANY_SEGMENT = Glob("*", (STAR,))


def _to_regex(tokens: tuple[Intervals | None, ...]) -> str:
    parts: list[str] = []
    for tok in tokens:
        if tok is STAR:
            parts.append("[^/]*")
        elif len(tok) == 1 and tok[0][0] == tok[0][1]:
            parts.append(re.escape(chr(tok[0][0])))
        else:
            ranges = "".join(
                re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}"
                for lo, hi in tok
            )
            parts.append(f"[{ranges}]" if ranges else "(?!)")
    return "".join(parts)


_segment_cache: dict[str, str | Glob] = {}


def parse_segment(text: str) -> str | Glob:
    """A literal name (escapes removed) or a :class:`Glob`; raises :class:`GlobError`."""
    cached = _segment_cache.get(text)
    if cached is not None:
        return cached
    if not any(c in text for c in "*?[\\"):
        result: str | Glob = text
    else:
        tokens = _tokens(text)
        if all(t is not STAR and len(t) == 1 and t[0][0] == t[0][1] for t in tokens):
            result = "".join(chr(t[0][0]) for t in tokens)  # type: ignore[index]
        else:
            result = Glob(text, tokens)
    if len(_segment_cache) < 100_000:
        _segment_cache[text] = result
    return result


def _tokens(text: str) -> tuple[Intervals | None, ...]:
    tokens: list[Intervals | None] = []
    i, end = 0, len(text)
    while i < end:
        ch = text[i]
        i += 1
        if ch == "\\":
            if i >= end:
                raise GlobError("ends with a backslash that escapes nothing")
            tokens.append(((ord(text[i]), ord(text[i])),) if text[i] != "/" else ())
            i += 1
        elif ch == "*":
            if not tokens or tokens[-1] is not STAR:
                tokens.append(STAR)
        elif ch == "?":
            tokens.append(ANY_CHAR)
        elif ch == "[":
            j = i
            if j < end and text[j] in "!^":
                j += 1
            if j < end and text[j] == "]":
                j += 1
            while j < end and text[j] != "]":
                j += 1
            if j >= end:
                raise GlobError("has a `[` that is never closed (escape it as `\\[`)")
            negated = text[i] in "!^"
            body = text[i + 1 if negated else i : j]
            members = _class_members(body)
            tokens.append(_complement(members) if negated else members)
            i = j + 1
        else:
            tokens.append(((ord(ch), ord(ch)),))
    return tuple(tokens)


def _class_members(body: str) -> Intervals:
    # Python's regex class syntax, which pathspec hands the body to (backslashes literal)
    iv: list[tuple[int, int]] = []
    k = 0
    while k < len(body):
        lo = ord(body[k])
        if k + 2 < len(body) and body[k + 1] == "-":
            hi = ord(body[k + 2])
            if hi < lo:
                raise GlobError(f"has a bad character range `{body[k:k + 3]}`")
            iv.append((lo, hi))
            k += 3
        else:
            iv.append((lo, lo))
            k += 1
    return _merge(iv)


def meet(x: str | Glob, y: str | Glob, need_dir: bool) -> str | None:
    """A segment name both ``x`` and ``y`` match (not one that looks like a file when
    ``need_dir``), or None when there is none."""
    if type(x) is str:
        if type(y) is str:
            ok = x == y
        else:
            ok = y.matches(x)  # type: ignore[union-attr]
        return x if ok and not (need_dir and looks_like_file(x)) and x not in (".", "..") else None
    if type(y) is str:
        return meet(y, x, need_dir)
    return _meet_tokens(x.tokens, y.tokens, need_dir)  # type: ignore[union-attr]


def _meet_tokens(
    a: tuple[Intervals | None, ...], b: tuple[Intervals | None, ...], need_dir: bool
) -> str | None:
    # prefer a name that does not start with a dot: "x.py" reads better than ".py"
    return _meet_search(a, b, need_dir, False) or _meet_search(a, b, need_dir, True)


@lru_cache(maxsize=65536)
def _meet_search(
    a: tuple[Intervals | None, ...], b: tuple[Intervals | None, ...], need_dir: bool, lead_dot: bool
) -> str | None:
    """Shortest common name by breadth-first search over the two token positions.

    The extra state ``cs`` keeps the name valid: 0 empty, 1 ``.``, 2 ``..``, 3 anything
    else (only 3 accepts: ``.`` and ``..`` are not names). With ``need_dir`` the name
    must be fit to be an invented directory: no dot at all.
    """

    def closure(toks: tuple[Intervals | None, ...], i: int) -> list[int]:
        out = [i]
        while i < len(toks) and toks[i] is STAR:
            i += 1
            out.append(i)
        return out

    starts = [(i, j, 0) for i in closure(a, 0) for j in closure(b, 0)]
    parent: dict[tuple[int, int, int], tuple[tuple[int, int, int], str] | None] = {s: None for s in starts}
    queue = deque(starts)
    while queue:
        state = queue.popleft()
        i, j, cs = state
        if i == len(a) and j == len(b) and cs == 3:
            chars: list[str] = []
            node: tuple[int, int, int] | None = state
            while parent[node] is not None:  # type: ignore[index]
                node, ch = parent[node]  # type: ignore[index, misc]
                chars.append(ch)
            return "".join(reversed(chars))
        if i == len(a) or j == len(b):
            continue
        sa, ni = (ANY_CHAR, i) if a[i] is STAR else (a[i], i + 1)
        sb, nj = (ANY_CHAR, j) if b[j] is STAR else (b[j], j + 1)
        common = intersect(sa, sb)  # type: ignore[arg-type]
        if not common:
            continue
        options: list[tuple[str, int]] = []
        rest = _remove(common, DOT)
        if rest:
            options.append((_pick(rest), 3))
        if _contains(common, DOT) and not need_dir and (cs != 0 or lead_dot):
            options.append((".", {0: 1, 1: 2, 2: 3, 3: 3}[cs]))
        for ch, ncs in options:
            for ci in closure(a, ni):
                for cj in closure(b, nj):
                    nxt = (ci, cj, ncs)
                    if nxt not in parent:
                        parent[nxt] = (state, ch)
                        queue.append(nxt)
    return None
