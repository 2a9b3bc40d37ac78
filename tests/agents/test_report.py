"""The worker report block and the JSON helpers adapters use."""

from __future__ import annotations

import pytest

from shoal.agents import TestResults, WorkerReport, find_report, json_lines, trailing_json


def test_from_json_full():
    report = WorkerReport.from_json(
        '{"status": "pass", "files_modified": ["a"], "files_created": ["b"],'
        ' "test_results": {"ran": 5, "passed": 4, "failed": 1}, "blocker": null,'
        ' "notes": "n", "duration_minutes": 15}'
    )
    assert report == WorkerReport("pass", ("a",), ("b",), TestResults(5, 4, 1), None, "n", 15.0)
    assert WorkerReport.from_json(report.to_json()) == report


@pytest.mark.parametrize(("raw", "status"), [
    ("PASS", "pass"), ("passed", "pass"), ("success", "pass"), ("Failed", "fail"),
    ("error", "fail"), ("blocked", "blocked"),
])
def test_status_spellings(raw, status):
    assert WorkerReport.from_json({"status": raw}).status == status


@pytest.mark.parametrize(("value", "message"), [
    ("[1, 2]", "not a JSON object"),
    ("{", "not valid JSON"),
    ('{"notes": "x"}', "no 'status' key"),
    ('{"status": "unknown"}', "none of pass, fail, blocked"),
    ('{"status": 1}', "none of pass, fail, blocked"),
])
def test_from_json_errors(value, message):
    with pytest.raises(ValueError, match=message):
        WorkerReport.from_json(value)


def test_sloppy_fields_are_tolerated():
    report = WorkerReport.from_json({"status": "fail", "files_modified": "one.py",
                                     "test_results": "n/a", "blocker": "", "duration_minutes": "x"})
    assert report.files_modified == ("one.py",)
    assert report.test_results is None
    assert report.blocker is None
    assert report.duration_minutes is None


def test_find_report_crlf_and_inline_opening():
    text = 'Result: ```json\r\n{"status": "pass"}\r\n```\r\n'
    report, notes = find_report(text)
    assert report is not None and report.status == "pass" and notes == ()


def test_find_report_unclosed_fences_stay_linear():
    report, notes = find_report("```json\n" * 50_000)
    assert report is None
    assert len(notes) == 4 and notes[-1] == "ignored 24997 more ```json blocks"


def test_json_lines():
    text = 'banner\n{"type": "system"}\n[1]\n{"type": "result", "ok": true}\n{broken\n'
    assert [e["type"] for e in json_lines(text)] == ["system", "result"]


def test_trailing_json():
    text = 'warning: x\n{\n  "response": "hi",\n  "stats": {\n    "a": 1\n  }\n}\n'
    assert trailing_json(text) == {"response": "hi", "stats": {"a": 1}}
    assert trailing_json('{"a": 1}') == {"a": 1}
    assert trailing_json("no json here") is None
    assert trailing_json('{"a": 1}\ntrailing words') is None


def test_find_report_shoal_report_line():
    """The form a worker gives where a fence would be taken for a file (aider's whole format)."""
    text = ('src/a.py\n```\nprint(1)\n```\n\n'
            'shoal-report: {"status": "blocked", "files_modified": ["src/a.py"], '
            '"blocker": "no spec", "notes": "n"}\n')
    report, notes = find_report(text)
    assert report is not None and notes == ()
    assert (report.status, report.files_modified, report.blocker) == ("blocked", ("src/a.py",), "no spec")


@pytest.mark.parametrize("line", [
    'SHOAL-REPORT: {"status": "pass"}',
    '**shoal-report:** {"status": "pass"} and some words after it',
    '`shoal_report: {"status": "pass"}`',
    'shoal-report:\n{\n  "status": "pass",\n  "notes": "over\nlines"\n}',  # a string broken by a terminal
])
def test_find_report_shoal_report_line_spellings(line):
    report, _ = find_report(f"Done.\n\n{line}\n")
    assert report is not None and report.status == "pass"


def test_find_report_the_last_of_both_forms_wins():
    block = '```json\n{"status": "fail"}\n```'
    line = 'shoal-report: {"status": "pass"}'
    assert find_report(f"{block}\n{line}\n")[0].status == "pass"
    assert find_report(f"{line}\n{block}\n")[0].status == "fail"
    # a shoal-report line inside a fenced json block is part of that block, not a report
    report, notes = find_report(f'```json\n{line}\n```\n')
    assert report is None and notes[0].startswith("ignored a ```json block: not valid JSON")


def test_find_report_broken_shoal_report_lines_are_notes():
    text = ('```json\n{"status": "pass"}\n```\n'
            'shoal-report: {"status": "maybe"}\n'
            'shoal-report: {"status": \n'
            'shoal-report: [1]\n')
    report, notes = find_report(text)
    assert report is not None and report.status == "pass"  # the broken later ones are skipped
    assert notes == ("ignored a shoal-report line: not a JSON object",
                     "ignored a shoal-report line: not valid JSON "
                     "(Expecting value: line 1 column 12 (char 11))",
                     "ignored a shoal-report line: status 'maybe' is none of pass, fail, blocked")


def test_find_report_a_flood_of_shoal_report_lines_stays_bounded():
    report, notes = find_report('shoal-report: {"status": [\n' * 20_000)
    assert report is None and notes[-1] == "ignored 19997 more shoal-report lines"
