"""The worker's own report: seed 001's fenced JSON block.

Workers end with a block such as::

    ```json
    {"status": "pass", "files_modified": [...], "files_created": [...],
     "test_results": {"ran": 5, "passed": 5, "failed": 0},
     "blocker": null, "notes": "...", "duration_minutes": 15}
    ```

or, where a fence would be taken for something else (aider's ``whole`` edit format reads
every fenced block of a reply as the content of a file), with the same JSON object after
``shoal-report:`` at the start of a line, outside any fence::

    shoal-report: {"status": "pass", "files_modified": [...], "notes": "..."}
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Lenient about the spelling of a status: models paraphrase.
_STATUS_WORDS = {
    "pass": "pass",
    "passed": "pass",
    "success": "pass",
    "succeeded": "pass",
    "ok": "pass",
    "done": "pass",
    "complete": "pass",
    "completed": "pass",
    "fail": "fail",
    "failed": "fail",
    "failure": "fail",
    "error": "fail",
    "blocked": "blocked",
}

# A line ending in ```json opens a block; a line starting with ``` closes it.
# Scanned line by line so a flood of unclosed fences stays linear.
_MAX_NOTES = 3
_OPENING = re.compile(r"```[ \t]*json[ \t]*$", re.IGNORECASE)
# ``shoal-report:`` at the start of a line (markdown emphasis or a quote before it tolerated),
# then a JSON object that may run over the next lines, read up to a bounded length.
REPORT_LINE_PREFIX = "shoal-report:"
_REPORT_LINE = re.compile(r"^[ \t>*_`]*shoal[-_ ]report[*_`]*[ \t]*:[*_`]*[ \t]*", re.IGNORECASE)
_LINE_REPORT_LINES = 200
_LINE_REPORT_CHARS = 65_536
_DECODER = json.JSONDecoder(strict=False)  # a line broken inside a string by a terminal


@dataclass(frozen=True)
class TestResults:
    __test__ = False  # not a pytest test class, despite the name

    ran: int = 0
    passed: int = 0
    failed: int = 0

    @classmethod
    def from_json(cls, value: Any) -> TestResults | None:
        if not isinstance(value, Mapping):
            return None
        return cls(
            ran=_count(value.get("ran")),
            passed=_count(value.get("passed")),
            failed=_count(value.get("failed")),
        )


@dataclass(frozen=True)
class WorkerReport:
    """The parsed block. ``status`` is normalised to ``pass``, ``fail`` or ``blocked``."""

    status: str
    files_modified: tuple[str, ...] = ()
    files_created: tuple[str, ...] = ()
    test_results: TestResults | None = None
    blocker: str | None = None
    notes: str = ""
    duration_minutes: float | None = None

    @classmethod
    def from_json(cls, value: str | Mapping[str, Any]) -> WorkerReport:
        """Build from JSON text or a decoded object.

        Raises ``ValueError`` saying what is wrong: not JSON, not an object, no
        ``status`` or a status that is none of pass / fail / blocked.
        """
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise ValueError(f"not valid JSON ({exc})") from None
        if not isinstance(value, Mapping):
            raise ValueError("not a JSON object")
        if "status" not in value:
            raise ValueError("no 'status' key")
        raw = value["status"]
        status = _STATUS_WORDS.get(str(raw).strip().lower()) if isinstance(raw, str) else None
        if status is None:
            raise ValueError(f"status {raw!r} is none of pass, fail, blocked")
        blocker = value.get("blocker")
        notes = value.get("notes")
        duration = value.get("duration_minutes")
        return cls(
            status=status,
            files_modified=_strings(value.get("files_modified")),
            files_created=_strings(value.get("files_created")),
            test_results=TestResults.from_json(value.get("test_results")),
            blocker=str(blocker) if blocker not in (None, "") else None,
            notes=str(notes) if notes is not None else "",
            duration_minutes=_number(duration),
        )

    def to_json(self) -> dict[str, Any]:
        tests = self.test_results
        return {
            "status": self.status,
            "files_modified": list(self.files_modified),
            "files_created": list(self.files_created),
            "test_results": None
            if tests is None
            else {"ran": tests.ran, "passed": tests.passed, "failed": tests.failed},
            "blocker": self.blocker,
            "notes": self.notes,
            "duration_minutes": self.duration_minutes,
        }


def find_report(text: str) -> tuple[WorkerReport | None, tuple[str, ...]]:
    """The report from the LAST fenced ``json`` block or ``shoal-report:`` line of ``text``
    that is one.

    Returns the report (or None) and notes about later blocks that were skipped
    because they were broken, so a bad block is reported, never fatal.
    """
    notes: list[str] = []
    skipped: list[str] = []
    report = None
    for kind, body in reversed(_candidates(text)):
        try:
            report = WorkerReport.from_json(body)
            break
        except ValueError as exc:
            skipped.append(kind)
            if len(skipped) <= _MAX_NOTES:
                notes.append(f"ignored a {kind}: {exc}")
    if len(skipped) > _MAX_NOTES:
        kinds = set(skipped[_MAX_NOTES:])
        what = f"{kinds.pop()}s" if len(kinds) == 1 else "```json blocks and shoal-report lines"
        notes.append(f"ignored {len(skipped) - _MAX_NOTES} more {what}")
    return report, tuple(notes)


def _candidates(text: str) -> list[tuple[str, str | Mapping[str, Any]]]:
    """Every fenced ``json`` block's body and every ``shoal-report:`` line's JSON, in order."""
    found: list[tuple[str, str | Mapping[str, Any]]] = []
    lines = text.splitlines()
    body: list[str] | None = None
    for i, line in enumerate(lines):
        if body is not None:
            if line.lstrip().startswith("```"):
                found.append(("```json block", "\n".join(body)))
                body = None
            else:
                body.append(line)
        elif _OPENING.search(line.rstrip()):
            body = []
        elif match := _REPORT_LINE.match(line):
            found.append(("shoal-report line", _line_report(lines, i, match.end())))
    return found


def _line_report(lines: list[str], index: int, start: int) -> str | Mapping[str, Any]:
    """The JSON object after ``shoal-report:``, decoded (the text, when it does not decode:
    `WorkerReport.from_json` then says why)."""
    parts, size = [lines[index][start:]], len(lines[index]) - start
    for line in lines[index + 1:index + _LINE_REPORT_LINES]:
        if size > _LINE_REPORT_CHARS:
            break
        parts.append(line)
        size += len(line) + 1
    rest = "\n".join(parts).lstrip()
    try:
        value, _ = _DECODER.raw_decode(rest)
    except ValueError:
        return rest.split("\n", 1)[0][:200] or "(nothing after it)"
    return value if isinstance(value, Mapping) else json.dumps(value)


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value if v is not None)
    return ()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(value: Any) -> float | None:
    return float(value) if _is_number(value) else None


def _count(value: Any) -> int:
    return int(value) if _is_number(value) and value >= 0 else 0
