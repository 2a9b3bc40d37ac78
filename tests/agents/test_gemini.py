"""The gemini adapter: its argument list, every output shape of the fake Gemini CLI (a real
child process), and three-task runs on real repositories."""

from __future__ import annotations

import json
import uuid

import pytest

from shoal.agents import (
    AgentSetupError,
    ErrorKind,
    ResultSource,
    ResultStatus,
    get_agent,
)
from shoal.agents.gemini import STDIN_PROMPT, final_document
from shoal.agents.headless import MAX_PROMPT_ARG_BYTES
from shoal.model import TaskState

from .clis import (
    assert_all_landed,
    assert_failed_with,
    attempts,
    calls,
    fake_cli,
    three_tasks,
)

__all__ = ["fake_cli"]  # a fixture

PROMPT = "# Task\n\n## Files to Modify\n- src/out.txt\n"


def chosen_session(argv: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """``argv`` without the ``--session-id <new UUID>`` shoal adds, and that id."""
    at = argv.index("--session-id")
    return argv[:at] + argv[at + 2:], str(uuid.UUID(argv[at + 1]))


def test_default_arguments(make_request):
    invocation = get_agent("gemini").prepare(make_request(prompt="-starts with a dash\n"[1:]))
    argv, _ = chosen_session(invocation.argv)
    assert argv == ("gemini", "--output-format", "json", "--approval-mode", "auto_edit",
                    "--skip-trust", "--prompt=starts with a dash\n")
    assert invocation.stdin is None


def test_settings_become_flags(make_request):
    agent = get_agent("gemini", {"model": "gemini-2.5-flash", "approval_mode": "yolo",
                                 "allowed_tools": ["run_shell_command(git status)", "read_file"],
                                 "include_directories": "../shared", "extra_args": ["--debug"]})
    argv, _ = chosen_session(agent.prepare(make_request(prompt="# T\n")).argv)
    assert argv == ("gemini", "--output-format", "json", "--approval-mode", "yolo",
                    "--skip-trust", "--model", "gemini-2.5-flash", "--allowed-tools=run_shell_command(git status)",
                    "--allowed-tools=read_file", "--include-directories=../shared", "--debug",
                    "--prompt=# T\n")


def test_an_untrusted_workspace_is_refused_and_said_so(fake_cli, make_request, run, workdir):
    """Issue 13: Gemini CLI 0.61 refuses (exit 55) any folder it was not told to trust, and every
    attempt's workspace is a new folder; shoal passes --skip-trust unless told not to."""
    _, _, result = attempt(fake_cli, make_request, run, "ok", {"trust_workspace": False})
    assert result.status is ResultStatus.FAILED
    assert "untrusted folder" in result.summary and "exit 55" in result.summary
    assert not (workdir / "src/out.txt").exists()
    _, _, result = attempt(fake_cli, make_request, run, "ok")
    assert result.status is ResultStatus.SUCCEEDED
    with pytest.raises(AgentSetupError, match="trust_workspace must be true or false"):
        get_agent("gemini", {"trust_workspace": "yes"})


def test_a_long_prompt_goes_on_stdin(make_request):
    prompt = "z" * (MAX_PROMPT_ARG_BYTES + 1)
    invocation = get_agent("gemini").prepare(make_request(prompt=prompt))
    assert invocation.argv[-1] == f"--prompt={STDIN_PROMPT}" and invocation.stdin == prompt.encode()


def test_gemini_has_no_max_turns_flag():
    with pytest.raises(AgentSetupError, match="has no setting 'max_turns'") as info:
        get_agent("gemini", {"max_turns": 5})
    assert "approval_mode" in (info.value.hint or "")


def attempt(fake_cli, make_request, run, scenario, settings=None, timeout=20.0, **env):
    fake_cli("gemini", scenario, **env)
    agent = get_agent("gemini", settings)
    outcome = run(agent.prepare(make_request(prompt=PROMPT)), timeout=timeout)
    return agent, outcome, agent.interpret(outcome)


def test_ok(fake_cli, make_request, run, workdir):
    _, _, result = attempt(fake_cli, make_request, run, "ok")
    assert (result.status, result.source) == (ResultStatus.SUCCEEDED, ResultSource.REPORT)
    assert (workdir / "src/out.txt").read_text() == "written by fake gemini for t1\n"
    assert result.session_id and (result.turns, result.tokens_in, result.tokens_out) == (3, 24939, 20)
    assert result.cost_usd is None


def test_a_long_prompt_reaches_the_child_on_stdin(fake_cli, make_request, run):
    log = fake_cli("gemini", "ok")
    prompt = PROMPT + "more context\n" * 10_000
    outcome = run(get_agent("gemini").prepare(make_request(prompt=prompt)))
    (call,) = calls(log)
    assert call["stdin"] is True and call["prompt"] == prompt + "\n\n" + STDIN_PROMPT
    assert get_agent("gemini").interpret(outcome).ok


def test_worker_reports_fail(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "fail")
    assert (result.status, result.source) == (ResultStatus.FAILED, ResultSource.REPORT)


def test_authentication_error(fake_cli, make_request, run):
    _, outcome, result = attempt(fake_cli, make_request, run, "auth-exit")
    assert outcome.exit_code == 41
    assert (result.status, result.source) == (ResultStatus.FAILED, ResultSource.STRUCTURED)
    assert "authentication failed" in result.summary and "API key not valid" in result.summary
    assert result.error is ErrorKind.AUTHENTICATION  # from the exit status (41), not the words


def test_a_key_the_api_refuses_is_an_authentication_error(fake_cli, make_request, run):
    """Gemini CLI 0.61.0 as seen against the API's answer to a bad key: 400 API_KEY_INVALID,
    the error document on stderr, exit 144 (400's low byte)."""
    _, outcome, result = attempt(fake_cli, make_request, run, "api-error")
    assert outcome.exit_code == 144
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.AUTHENTICATION)
    assert "API key not valid" in result.summary and "GEMINI_API_KEY" in result.summary


def test_rate_limit(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "rate-limit")
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.RATE_LIMITED)
    assert "RESOURCE_EXHAUSTED" in result.summary


def test_turn_limit_is_exit_53(fake_cli, make_request, run):
    _, outcome, result = attempt(fake_cli, make_request, run, "turn-limit")
    assert outcome.exit_code == 53 and result.status is ResultStatus.FAILED
    assert "turn limit" in result.summary and "maxSessionTurns" in result.summary
    assert result.error is ErrorKind.CRASH


def test_turn_limit_without_a_document(outcome_for):
    result = get_agent("gemini").interpret(outcome_for("Loaded cached credentials.\n", exit_code=53))
    assert result.status is ResultStatus.FAILED and "turn limit" in result.summary


def test_rejected_tools_are_permission_denials(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "denied")
    assert result.ok and result.permission_denials == ("run_shell_command",)


def test_no_document_is_bad_output(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "no-result")
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.BAD_OUTPUT)
    assert "Loaded cached credentials." in result.summary


def test_invalid_json_before_the_document(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "garbage")
    assert result.ok and result.source is ResultSource.REPORT


def test_huge_output(fake_cli, make_request, run):
    _, outcome, result = attempt(fake_cli, make_request, run, "flood", SHOAL_FAKE_FLOOD_MB="3")
    assert outcome.log_path.stat().st_size > 3 * 1024 * 1024 and result.ok


def test_crash(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "crash")
    assert result.status is ResultStatus.FAILED
    assert "exited with code 1: TypeError: Cannot read properties" in result.summary


def test_hang_after_result(fake_cli, make_request, run):
    agent, outcome, result = attempt(fake_cli, make_request, run, "hang-after-result", timeout=1.5)
    assert outcome.timed_out and result.ok
    assert agent.final_output_seen(outcome.log_path.read_bytes())


def test_silent_hang(fake_cli, make_request, run):
    agent, outcome, result = attempt(fake_cli, make_request, run, "hang", timeout=1.0)
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.TIMEOUT)
    assert not agent.final_output_seen(outcome.log_path.read_bytes())


def test_final_document_is_found_among_other_output():
    doc = {"session_id": "s", "response": "done", "stats": {"models": {"m": {"tokens": {
        "prompt": 1, "candidates": 2}, "api": {"totalRequests": 1}}}}}
    pretty = json.dumps(doc, indent=2)
    assert final_document(f"noise\n{{broken\n{pretty}\n[WARN] after it\n") == doc
    assert final_document('{"unrelated": 1}\n') is None
    assert final_document(pretty[:-5]) is None  # cut off
    nested = {"response": "x", "stats": {"tools": {"byName": {f"t{i}": {"decisions": {}} for i in range(300)}}}}
    assert final_document(json.dumps(nested, indent=2)) == nested


def test_three_tasks_end_to_end(fake_cli, tmp_path):
    log = fake_cli("gemini", "ok")
    result, repo = three_tasks(tmp_path, "gemini", {"model": "gemini-2.5-pro"})
    assert_all_landed(result, repo, "gemini")
    assert all(r.result["tokens_in"] == 24939 for r in attempts(repo, result.run_id))
    assert len(calls(log)) == 3


def test_three_tasks_with_a_turn_limit(fake_cli, tmp_path):
    fake_cli("gemini", "ok,b=turn-limit")
    result, repo = three_tasks(tmp_path, "gemini")
    stored = assert_failed_with(result, repo, "b", "turn limit", "exit 53")
    assert stored["session_id"]
    assert result.task("a").state is TaskState.SUCCEEDED


def test_final_output_seen_when_the_document_is_longer_than_the_tail():
    doc = json.dumps({"session_id": "s", "response": "r" * 100_000, "stats": {"models": {}}}, indent=2)
    agent = get_agent("gemini")
    assert agent.final_output_seen(doc.encode()[-64 * 1024:])
    assert not agent.final_output_seen(doc.encode()[-64 * 1024:-30])  # not finished printing
    assert not agent.final_output_seen(b"Loaded cached credentials.\n")
