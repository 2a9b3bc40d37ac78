"""Line numbers of the keys and items of a parsed plan document.

Parsers give plain data; a ``Lines`` tree, built alongside, says on which line
each key or list item was written, so problems can point at it. JSON and TOML
data come from the standard parsers; the scanners here only find lines and
assume the text has already parsed.
"""

from __future__ import annotations

import json
import re
from typing import Any

Key = str | int


class Lines:
    """The line of one value (of its key, inside a mapping) and of its children.

    A plain slotted class: a big plan has hundreds of thousands of them.
    """

    __slots__ = ("children", "duplicates", "line")

    def __init__(
        self,
        line: int | None = None,
        children: dict[Key, Lines] | None = None,
        duplicates: list[tuple[Key, int | None, int | None]] | None = None,
    ) -> None:
        self.line = line
        self.children: dict[Key, Lines] = {} if children is None else children
        # keys written more than once in this mapping: (key, first line, repeated line)
        self.duplicates: list[tuple[Key, int | None, int | None]] = (
            [] if duplicates is None else duplicates
        )

    def __repr__(self) -> str:
        return f"Lines({self.line!r}, {len(self.children)} children)"

    def get(self, key: Key) -> Lines:
        return self.children.get(key, NO_LINES)

    def at(self, *path: Key) -> Lines:
        node = self
        for key in path:
            node = node.get(key)
        return node

    def line_of(self, *path: Key) -> int | None:
        """The line of ``path``, else of the deepest part of it that was found."""
        best, node = self.line, self
        for key in path:
            node = node.children.get(key)  # type: ignore[assignment]
            if node is None:
                break
            best = node.line or best
        return best


NO_LINES = Lines()  # shared "nothing known"; never mutated


# --- JSON -----------------------------------------------------------------

# One match per JSON token, coarsened for speed: a key with its scalar value, or a whole array
# of scalars (`owns`, `after`, ...), is a single match. Most of a big plan is such pairs and
# arrays, so the Python loop below runs a few times per task instead of once per item.
_STR = r'"(?:[^"\\]|\\.)*"'
_SCALAR = rf'(?:{_STR}|[^\s{{}}\[\],:"]+)'
_ARRAY = rf"\[\s*(?:{_SCALAR}\s*(?:,\s*{_SCALAR}\s*)*)?\]"
_JSON_TOKEN = re.compile(
    rf"(?P<key>{_STR})\s*:\s*(?P<value>{_ARRAY}|{_SCALAR})?"  # a key, with its value if simple
    rf"|(?P<array>{_ARRAY})"
    r"|(?P<open>[{\[])|(?P<close>[}\]])"
    rf"|(?P<scalar>{_SCALAR})",
    re.DOTALL,
)
_JSON_ITEM = re.compile(_SCALAR, re.DOTALL)


def _key_text(token: str) -> str:
    return json.loads(token) if "\\" in token else token[1:-1]


def _array_items(node: Lines, token: str, line: int) -> None:
    # Items on lines of their own get their lines; on one line they share the array's.
    if "\n" in token:
        for index, item in enumerate(_JSON_ITEM.finditer(token, 1)):
            node.children[index] = Lines(line + token.count("\n", 0, item.start()))


def json_lines(text: str) -> Lines:
    """Lines of a JSON text that ``json.loads`` accepted (first of duplicate keys wins)."""
    root = Lines(1)
    # stack frames: [node, is_object, pending key, pending key line, next index]
    stack: list[list[Any]] = [[Lines(), False, None, None, 0]]  # a holder for the root
    count = text.count
    line, pos = 1, 0
    for match in _JSON_TOKEN.finditer(text):
        start = match.start()
        line += count("\n", pos, start)
        pos = start
        kind = match.lastgroup
        frame = stack[-1]
        if kind == "close":
            stack.pop()
            continue
        if kind == "key" or kind == "value":
            frame[2], frame[3] = _key_text(match.group("key")), line
            value = match.group("value")
            if value is None:  # an object or array follows: its own token places it
                continue
            node = _place(frame, Lines(frame[3]), stack, root)
            if value[0] == "[":
                _array_items(node, value, line + count("\n", start, match.start("value")))
            continue
        node = _place(frame, Lines(line), stack, root)
        if kind == "open":
            stack.append([node, match.group() == "{", None, None, 0])
        elif kind == "array":
            _array_items(node, match.group(), line)
    return root


def _place(frame: list[Any], node: Lines, stack: list[list[Any]], root: Lines) -> Lines:
    """Attach ``node`` where the frame expects its next value; the first value is the root."""
    if len(stack) == 1:
        root.line = node.line
        return root
    parent: Lines = frame[0]
    if frame[1]:
        key, key_line = frame[2], frame[3]
        frame[2] = None
        if key in parent.children:
            parent.duplicates.append((key, parent.children[key].line, key_line))
        else:
            node.line = key_line
            parent.children[key] = node
    else:
        parent.children[frame[4]] = node
        frame[4] += 1
    return node


# --- TOML -----------------------------------------------------------------

_TOML_HEADER = re.compile(r"^\s*(\[\[?)\s*(.+?)\s*\]\]?\s*(?:#.*)?$")
_TOML_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)
_TOML_PART = re.compile(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""")
_TOML_ID = re.compile(r"""\bid\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _toml_names(text: str) -> list[str]:
    return [p.strip("\"'") for p in _TOML_PART.findall(text)]


def toml_lines(text: str) -> tuple[Lines, dict[str, int]]:
    """Best-effort lines of a TOML text: table headers and ``key =`` lines.

    Also returns the line of every ``id = "..."`` seen, for tasks written as
    inline tables, where the table structure is not followed.
    """
    root = Lines(1)
    id_lines: dict[str, int] = {}
    current: list[Key] = []
    array_index: dict[tuple[str, ...], int] = {}
    in_string: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if in_string:  # inside a multi-line string: only look for its end
            if raw.count(in_string) % 2:
                in_string = None
            continue
        for quote in ('"""', "'''"):
            if raw.count(quote) % 2:
                in_string = quote
        for found in _TOML_ID.finditer(raw):
            id_lines.setdefault(
                found.group(1) if found.group(1) is not None else found.group(2), number
            )
        header = _TOML_HEADER.match(raw)
        if header and not _TOML_KEY.match(raw):
            names, is_array = _toml_names(header.group(2)), header.group(1) == "[["
            current = []
            for i, name in enumerate(names):
                current.append(name)
                prefix = tuple(names[: i + 1])
                if is_array and i == len(names) - 1:
                    array_index[prefix] = array_index.get(prefix, -1) + 1
                    current.append(array_index[prefix])
                elif prefix in array_index:
                    current.append(array_index[prefix])
            _ensure(root, current, number)
            continue
        key = _TOML_KEY.match(raw)
        if key:
            _ensure(root, [*current, *_toml_names(key.group(1))], number)
    return root, id_lines


def _ensure(root: Lines, path: list[Key], line: int) -> None:
    node = root
    for key in path:
        child = node.children.get(key)
        if child is None:
            child = node.children[key] = Lines(line)
        node = child
