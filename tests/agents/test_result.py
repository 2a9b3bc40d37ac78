"""Result precedence: structured output, JSON report, TASK COMPLETE, marker, exit code."""

from __future__ import annotations

import json

import pytest

from shoal.agents import (
    AgentResult,
    ErrorKind,
    ResultSource,
    ResultStatus,
    StructuredResult,
    decide,
)
from shoal.agents.result import RATE_LIMIT_PATTERN
from shoal.model import TaskState


def block(status: str = "pass", **fields) -> str:
    body = {"status": status, "files_modified": ["a.py"], "files_created": [],
            "test_results": {"ran": 2, "passed": 2, "failed": 0}, "blocker": None,
            "notes": "did it", **fields}
    return "```json\n" + json.dumps(body, indent=2) + "\n```\n"


def test_json_pass_decides(outcome_for):
    result = decide(outcome_for("working...\n" + block() + "TASK COMPLETE\n"))
    assert result.status is ResultStatus.SUCCEEDED
    assert result.source is ResultSource.REPORT
    assert result.report.files_modified == ("a.py",)
    assert result.report.test_results.passed == 2
    assert result.summary == "did it"


def test_json_fail_beats_exit_zero_and_task_complete(outcome_for):
    text = block("fail", blocker="tests do not pass") + "TASK COMPLETE\n"
    result = decide(outcome_for(text, exit_code=0))
    assert result.status is ResultStatus.FAILED
    assert result.source is ResultSource.REPORT
    assert result.error is None
    assert "tests do not pass" in result.summary


def test_json_blocked(outcome_for):
    result = decide(outcome_for(block("blocked", blocker="no contract")))
    assert result.status is ResultStatus.BLOCKED
    assert result.status.task_state is TaskState.BLOCKED
    assert result.summary == "worker reported blocked: no contract"


def test_last_block_wins(outcome_for):
    text = block("fail") + "then I fixed it\n" + block("pass", notes="second")
    result = decide(outcome_for(text))
    assert result.status is ResultStatus.SUCCEEDED
    assert result.summary == "second"


def test_invalid_json_falls_through_with_a_note(outcome_for):
    text = '```json\n{"status": "pass", "files_modified": [\n```\n'
    result = decide(outcome_for(text, exit_code=0))
    assert result.status is ResultStatus.SUCCEEDED
    assert result.source is ResultSource.EXIT_CODE
    assert result.report is None
    assert any("not valid JSON" in note for note in result.notes)


def test_broken_last_block_falls_back_to_an_earlier_valid_one(outcome_for):
    text = block("fail") + '```json\n{"oops"\n```\n'
    result = decide(outcome_for(text))
    assert result.status is ResultStatus.FAILED
    assert result.source is ResultSource.REPORT
    assert len(result.notes) == 1


def test_the_prompt_template_block_is_not_a_report(outcome_for):
    template = '```json\n{"status": "pass|fail|blocked", "files_modified": []}\n```\n'
    result = decide(outcome_for(template + "TASK COMPLETE\n"))
    assert result.source is ResultSource.TASK_COMPLETE
    assert any("none of pass, fail, blocked" in note for note in result.notes)


def test_block_without_status_is_skipped(outcome_for):
    result = decide(outcome_for('```json\n{"files": []}\n```\n', exit_code=0))
    assert result.source is ResultSource.EXIT_CODE
    assert any("no 'status' key" in note for note in result.notes)


def test_task_complete_needs_exit_zero(outcome_for):
    ok = decide(outcome_for("done\n**TASK COMPLETE**\n", exit_code=0))
    assert (ok.status, ok.source) == (ResultStatus.SUCCEEDED, ResultSource.TASK_COMPLETE)
    bad = decide(outcome_for("TASK COMPLETE\nSegmentation fault\n", exit_code=1))
    assert bad.status is ResultStatus.FAILED
    assert bad.error is ErrorKind.CRASH
    assert "Segmentation fault" in bad.summary


@pytest.mark.parametrize("marker", [".claude-task-complete", ".shoal-task-complete"])
def test_marker_file_decides_and_is_consumed(outcome_for, workdir, marker):
    (workdir / marker).touch()
    result = decide(outcome_for("", exit_code=0))
    assert (result.status, result.source) == (ResultStatus.SUCCEEDED, ResultSource.MARKER)
    assert not (workdir / marker).exists()  # never committed with the work


def test_marker_does_not_rescue_a_crash(outcome_for, workdir):
    (workdir / ".claude-task-complete").touch()
    result = decide(outcome_for("", exit_code=2))
    assert result.status is ResultStatus.FAILED
    assert result.error is ErrorKind.CRASH


def test_task_complete_outranks_marker(outcome_for, workdir):
    (workdir / ".claude-task-complete").touch()
    assert decide(outcome_for("TASK COMPLETE\n")).source is ResultSource.TASK_COMPLETE


def test_exit_codes(outcome_for):
    ok = decide(outcome_for("", exit_code=0))
    assert (ok.status, ok.source, ok.summary) == (
        ResultStatus.SUCCEEDED, ResultSource.EXIT_CODE, "exited with code 0")
    bad = decide(outcome_for("boom\n", exit_code=4))
    assert (bad.status, bad.error) == (ResultStatus.FAILED, ErrorKind.CRASH)
    assert bad.summary == "exited with code 4; last output: boom"
    killed = decide(outcome_for("", exit_code=-9))
    assert killed.error is ErrorKind.CRASH
    assert killed.summary == "was killed by SIGKILL"
    missing = decide(outcome_for("sh: 1: nosuch: not found\n", exit_code=127))
    assert missing.error is ErrorKind.NOT_INSTALLED
    assert "not found" in missing.summary


def test_timeout(outcome_for):
    result = decide(outcome_for("still going\n", exit_code=-9, timed_out=True, duration_s=90))
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.TIMEOUT)
    assert "1m30s" in result.summary


def test_timeout_not_rescued_by_task_complete(outcome_for):
    result = decide(outcome_for("TASK COMPLETE\n", exit_code=-15, timed_out=True))
    assert result.error is ErrorKind.TIMEOUT


def test_pass_report_then_hang_succeeds_with_a_note(outcome_for):
    result = decide(outcome_for(block(), exit_code=-9, timed_out=True, duration_s=5))
    assert result.status is ResultStatus.SUCCEEDED
    assert any("time limit" in note for note in result.notes)


def test_fail_report_then_timeout_keeps_the_timeout_kind(outcome_for):
    result = decide(outcome_for(block("fail"), exit_code=-9, timed_out=True))
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.TIMEOUT)


def test_pass_report_then_crash_is_a_crash(outcome_for):
    result = decide(outcome_for(block() + "Traceback...\n", exit_code=1))
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.CRASH)
    assert result.summary.startswith("reported pass but then exited with code 1")
    assert result.report is not None


def test_not_started(outcome_for):
    outcome = outcome_for("", exit_code=None, start_error="No such file or directory",
                          argv=("my-agent", "-p"))
    result = decide(outcome, install_hint="install my-agent")
    assert (result.status, result.source, result.error) == (
        ResultStatus.FAILED, ResultSource.START, ErrorKind.NOT_INSTALLED)
    assert result.summary == (
        "could not start 'my-agent': No such file or directory (install my-agent)")


def test_structured_failure_comes_first(outcome_for):
    structured = StructuredResult(ok=False, error=ErrorKind.RATE_LIMITED,
                                  message="usage limit reached", session_id="s1", turns=3)
    result = decide(outcome_for(block() + "TASK COMPLETE\n"), structured)
    assert (result.status, result.source, result.error) == (
        ResultStatus.FAILED, ResultSource.STRUCTURED, ErrorKind.RATE_LIMITED)
    assert (result.session_id, result.turns) == ("s1", 3)


def test_structured_success_refined_by_the_report_in_its_text(outcome_for):
    structured = StructuredResult(ok=True, text="All done.\n" + block("fail", blocker="x"),
                                  tokens_in=10, tokens_out=20, cost_usd=0.5,
                                  permission_denials=("Bash(rm)",))
    result = decide(outcome_for('{"type":"result"}\n'), structured)
    assert (result.status, result.source) == (ResultStatus.FAILED, ResultSource.REPORT)
    assert (result.tokens_in, result.tokens_out, result.cost_usd) == (10, 20, 0.5)
    assert result.permission_denials == ("Bash(rm)",)


def test_structured_success_without_report(outcome_for):
    result = decide(outcome_for(""), StructuredResult(ok=True, text="Implemented it."))
    assert (result.status, result.source, result.summary) == (
        ResultStatus.SUCCEEDED, ResultSource.STRUCTURED, "Implemented it.")
    crashed = decide(outcome_for("", exit_code=1), StructuredResult(ok=True))
    assert crashed.error is ErrorKind.CRASH


def test_structured_without_verdict_falls_through(outcome_for):
    result = decide(outcome_for("", exit_code=0), StructuredResult(ok=None, session_id="s"))
    assert (result.source, result.session_id) == (ResultSource.EXIT_CODE, "s")


def test_require_report(outcome_for):
    result = decide(outcome_for("I did some things\n"), require_report=True)
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.BAD_OUTPUT)
    assert decide(outcome_for("TASK COMPLETE\n"), require_report=True).ok


def test_rate_limit_only_when_asked_and_failed(outcome_for):
    text = "Error: 429 Too Many Requests\n"
    assert decide(outcome_for(text, exit_code=1), rate_limit=RATE_LIMIT_PATTERN).error is (
        ErrorKind.RATE_LIMITED)
    assert decide(outcome_for(text, exit_code=1)).error is ErrorKind.CRASH
    assert decide(outcome_for(text, exit_code=0), rate_limit=RATE_LIMIT_PATTERN).ok


def test_huge_log_is_read_bounded(outcome_for, attempt_dir):
    outcome = outcome_for(b"")
    size = 3 * 1024 * 1024 * 1024  # a sparse 3 GiB log: reading it whole would fail the test
    with open(outcome.log_path, "r+b") as log:
        log.write(b"TASK COMPLETE\n" + block("fail").encode())  # far outside the window
        log.seek(size)
        log.write(b"\n" + block("pass", notes="the end").encode())
    tail = outcome.tail(1024 * 1024)
    assert len(tail.encode()) <= 1024 * 1024
    result = decide(outcome)
    assert (result.status, result.summary) == (ResultStatus.SUCCEEDED, "the end")


def test_tail_drops_the_partial_first_line(outcome_for):
    outcome = outcome_for("aaaa\nbbbb\ncccc\n")
    assert outcome.tail(7) == "cccc\n"
    assert outcome.tail(100) == "aaaa\nbbbb\ncccc\n"
    assert outcome.tail(0) == ""


def test_missing_log_is_empty(outcome_for, attempt_dir):
    outcome = outcome_for("")
    outcome.log_path.unlink()
    assert decide(outcome).source is ResultSource.EXIT_CODE


def test_setup_failed_and_json_round_trip():
    result = AgentResult.setup_failed("task t has no run: commands")
    assert (result.status, result.error, result.source) == (
        ResultStatus.FAILED, ErrorKind.SETUP, ResultSource.START)
    data = result.to_json()
    assert data["status"] == "failed" and data["error"] == "setup"
    json.dumps(data)


def test_earlier_attempts_in_an_appended_log_are_ignored(outcome_for):
    first = block("pass", notes="attempt 1") + "TASK COMPLETE\n"
    outcome = outcome_for(first + "second attempt dies\n", exit_code=1,
                          log_start=len(first.encode()))
    assert outcome.tail() == "second attempt dies\n"
    result = decide(outcome)
    assert (result.status, result.error, result.report) == (ResultStatus.FAILED, ErrorKind.CRASH, None)


def test_tail_window_inside_the_attempt_drops_the_partial_line(outcome_for):
    outcome = outcome_for("old\naaaa\nbbbb\ncccc\n", log_start=4)
    assert outcome.tail(7) == "cccc\n"
    assert outcome.tail(100) == "aaaa\nbbbb\ncccc\n"


def test_not_started_message_from_the_engine_is_kept(outcome_for):
    outcome = outcome_for("", exit_code=None, argv=("claude", "-p"),
                          start_error="cannot run 'claude': no such program")
    assert decide(outcome).summary == "cannot run 'claude': no such program"


def test_json_lines_in_order_or_newest_first_with_a_needle() -> None:
    from shoal.agents import json_lines

    log = b'banner\n{"type": "a"}\n[1, 2]\n{"type": "result", "n": 1}\n{bad json\n{"type": "b"}\n'
    assert [e["type"] for e in json_lines(log)] == ["a", "result", "b"]
    assert [e["type"] for e in json_lines(log.decode(), newest_first=True)] == ["b", "result", "a"]
    assert list(json_lines(log, newest_first=True, needle='"result"')) == [{"type": "result", "n": 1}]
