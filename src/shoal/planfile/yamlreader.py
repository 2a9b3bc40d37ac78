"""YAML to plain data plus ``Lines``, built from libyaml's parser events.

Building from events (rather than ``yaml.compose`` + a walk over the nodes)
keeps every line number and reads a 10,000-task plan about three times
faster; only scalars that may be something other than text go through
PyYAML's resolver and constructor. The first of duplicate keys wins (the
duplicates are recorded in the ``Lines``); ``<<`` merge keys work as in
PyYAML; an alias shares its anchor's value, and one that refers to itself is
refused.
"""

from __future__ import annotations

from typing import Any

import yaml  # type: ignore[import-untyped]
from yaml.constructor import ConstructorError, SafeConstructor  # type: ignore[import-untyped]
from yaml.events import (  # type: ignore[import-untyped]
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import ScalarNode  # type: ignore[import-untyped]
from yaml.resolver import Resolver  # type: ignore[import-untyped]

from shoal.planfile.lines import Lines

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_RESOLVER = Resolver()
_CONSTRUCTOR = SafeConstructor()
# first characters with which a plain scalar may be something other than text
_SPECIAL_START = frozenset(Resolver.yaml_implicit_resolvers) | {""}
# a resolver registered for any first character would make every scalar suspect
_ALWAYS_RESOLVE = None in Resolver.yaml_implicit_resolvers
_NOTHING = object()
# Plans are a few levels deep; libyaml slows down quadratically on deep flow
# nesting, so stop early rather than spend minutes on a pathological file.
MAX_DEPTH = 200


class _Frame:
    __slots__ = ("anchor", "data", "is_map", "key", "key_line", "lines", "merges")

    def __init__(
        self, data: Any, lines: Lines, is_map: bool, anchor: str | None
    ) -> None:
        self.data, self.lines, self.is_map, self.anchor = data, lines, is_map, anchor
        self.key: Any = _NOTHING
        self.key_line: int | None = None
        self.merges: list[tuple[Any, Lines]] = []


def read_yaml(text: str, line_offset: int = 0) -> tuple[Any, Lines]:
    """Data and lines of a one-document YAML text; raises ``yaml.YAMLError``."""
    loader = _LOADER(text)
    try:
        return _Builder(line_offset).build(loader)
    finally:
        loader.dispose()


class _Builder:
    def __init__(self, line_offset: int) -> None:
        self.offset = line_offset + 1
        self.anchors: dict[str, tuple[Any, Lines]] = {}
        self.open_anchors: set[str] = set()
        self.stack: list[_Frame] = []
        self.result: tuple[Any, Lines] | None = None
        self.documents = 0

    def build(self, loader: Any) -> tuple[Any, Lines]:
        while loader.check_event():
            event = loader.get_event()
            kind = type(event)
            if kind is ScalarEvent:
                self.add(
                    self.scalar(event),
                    Lines(event.start_mark.line + self.offset),
                    event,
                )
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                is_map = kind is MappingStartEvent
                frame = _Frame(
                    {} if is_map else [],
                    Lines(event.start_mark.line + self.offset),
                    is_map,
                    event.anchor,
                )
                if event.anchor is not None:
                    self.anchors[event.anchor] = (frame.data, frame.lines)
                    self.open_anchors.add(event.anchor)
                self.stack.append(frame)
                if len(self.stack) > MAX_DEPTH:
                    raise RecursionError(f"nested more than {MAX_DEPTH} levels deep")
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                frame = self.stack.pop()
                if frame.merges:
                    self.merge(frame)
                if frame.anchor is not None:
                    self.open_anchors.discard(frame.anchor)
                self.add(frame.data, frame.lines, event)
            elif kind is AliasEvent:
                if event.anchor not in self.anchors:
                    raise ConstructorError(
                        None,
                        None,
                        f"found undefined alias {event.anchor!r}",
                        event.start_mark,
                    )
                if event.anchor in self.open_anchors:
                    raise ConstructorError(
                        None,
                        None,
                        f"alias {event.anchor!r} refers to itself",
                        event.start_mark,
                    )
                self.add(*self.anchors[event.anchor], event)
            elif kind is DocumentStartEvent:
                self.documents += 1
                if self.documents > 1:
                    raise ConstructorError(
                        "expected a single document in the stream",
                        None,
                        "but found another document",
                        event.start_mark,
                    )
        if self.result is None:
            return None, Lines(self.offset)
        return self.result

    def scalar(self, event: ScalarEvent) -> Any:
        tag, value = event.tag, event.value
        if tag is None or tag == "!":
            plain = event.implicit[0]
            if plain and (_ALWAYS_RESOLVE or value[:1] in _SPECIAL_START):
                tag = _RESOLVER.resolve(ScalarNode, value, event.implicit)
            else:
                return (
                    value  # quoted, or plain text that cannot be a number, bool or null
                )
        if tag == _STR:
            return value
        if tag == _MERGE:
            return _MergeKey
        node = ScalarNode(tag, value, event.start_mark, event.end_mark, event.style)
        try:
            return _CONSTRUCTOR.construct_object(node, deep=True)
        except (ValueError, TypeError, OverflowError) as exc:  # e.g. `!!int abc`
            raise ConstructorError(
                None, None, f"cannot read this value: {exc}", event.start_mark
            ) from None

    def add(self, value: Any, lines: Lines, event: Any) -> None:
        if not self.stack:
            self.result = (value, lines)
            return
        frame = self.stack[-1]
        if not frame.is_map:
            frame.lines.children[len(frame.data)] = lines
            frame.data.append(value)
            return
        if frame.key is _NOTHING:  # this value is a key
            try:
                hash(value)
            except TypeError:
                value = repr(value)
            frame.key, frame.key_line = value, lines.line
            return
        key, key_line = frame.key, frame.key_line
        frame.key = _NOTHING
        if key is _MergeKey:
            frame.merges.append((value, lines))
        elif key in frame.data:
            frame.lines.duplicates.append(
                (key, frame.lines.children[key].line, key_line)
            )
        else:
            frame.data[key] = value
            frame.lines.children[key] = Lines(
                key_line, lines.children, lines.duplicates
            )

    def merge(self, frame: _Frame) -> None:
        """``<<: *base`` (or a list of them): keys not written in the mapping itself."""
        for value, lines in frame.merges:
            sources = (
                [(value, lines)]
                if isinstance(value, dict)
                else [(item, lines.get(i)) for i, item in enumerate(value)]
                if isinstance(value, list)
                else []
            )
            if not sources or not all(isinstance(s, dict) for s, _ in sources):
                raise ConstructorError(
                    "while constructing a mapping",
                    None,
                    "a merge key `<<` needs a mapping or a list of mappings",
                    None,
                )
            for source, source_lines in sources:
                for key, item in source.items():
                    if key not in frame.data:
                        frame.data[key] = item
                        frame.lines.children[key] = source_lines.get(key)


class _MergeKey:
    """Marks the ``<<`` key while a mapping is being built."""
