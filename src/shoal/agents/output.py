"""Reading what a worker printed: the bounded head or tail of its log and JSON within it.

Logs can be gigabytes (a worker that floods its output); everything here reads
at most a fixed number of bytes from the start or the end.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEFAULT_TAIL_BYTES = 2 * 1024 * 1024
DEFAULT_HEAD_BYTES = 256 * 1024  # the events a CLI prints as it starts (Claude Code's init: ~10 KB)
_MAX_TRAILING_TRIES = 200


def read_tail(path: Path, max_bytes: int = DEFAULT_TAIL_BYTES, *, start: int = 0) -> str:
    """The last ``max_bytes`` of ``path`` after offset ``start``, decoded as UTF-8.

    '' if the file does not exist. When the window begins inside the file, its
    partial first line is dropped so callers never see half a line (or half a
    UTF-8 character). ``start`` skips earlier attempts in a log that is appended to.
    """
    if max_bytes <= 0:
        return ""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            begin = max(start, size - max_bytes, 0)
            handle.seek(begin)
            data = handle.read(max(0, size - begin))  # not read(max_bytes): that allocates it all
    except FileNotFoundError:
        return ""
    if begin > start:
        newline = data.find(b"\n")
        data = data[newline + 1 :] if newline >= 0 else b""
    return data.decode("utf-8", errors="replace")


def read_head(path: Path, max_bytes: int = DEFAULT_HEAD_BYTES) -> str:
    """The first ``max_bytes`` of ``path``, decoded as UTF-8, its last line dropped when the
    window ends inside it (a log cut off mid-line keeps its partial line: parsers skip it).
    '' if the file does not exist."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        return ""
    if len(data) > max_bytes:
        data = data[: data.rfind(b"\n", 0, max_bytes) + 1]  # none: b""
    return data.decode("utf-8", errors="replace")


def json_lines(text: str | bytes, *, newest_first: bool = False,
               needle: str | None = None) -> Iterator[dict[str, Any]]:
    """Each line of ``text`` that is a JSON object, in order (JSONL / stream-json), or newest
    first; with ``needle``, lines without it are not parsed (a cheap filter on long logs).

    Lines that are not JSON objects (banners, warnings on stderr) are skipped.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = text.splitlines()
    for line in reversed(lines) if newest_first else lines:
        line = line.strip()
        if not line.startswith("{") or (needle is not None and needle not in line):
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            yield value


def trailing_json(text: str) -> dict[str, Any] | None:
    """The JSON object that ends ``text``, possibly spread over several lines.

    For CLIs that print one (pretty-printed) JSON document at the end, after
    other output: tries each line that starts with ``{`` from the last back.
    """
    decoder = json.JSONDecoder()
    stripped = text.rstrip()
    pos = len(stripped)
    for _ in range(_MAX_TRAILING_TRIES):
        pos = stripped.rfind("{", 0, pos)
        if pos < 0:
            return None
        if pos == 0 or stripped[pos - 1] == "\n":
            try:
                value, end = decoder.raw_decode(stripped, pos)
            except ValueError:
                continue
            if end == len(stripped) and isinstance(value, dict):
                return value
    return None
