"""The one way benchmarks write their results: each owns a marked section of docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, start: str, end: str, text: str) -> None:
    """Replace only the text between ``start`` and ``end`` (other benchmarks own the other
    sections of the file); add the markers at the end when they are missing."""
    block = f"{start}\n{text.rstrip()}\n{end}"
    doc = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if start in doc and end in doc and doc.index(start) < doc.index(end):
        before, rest = doc.split(start, 1)
        doc = before + block + rest.split(end, 1)[1]
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc, encoding="utf-8")
