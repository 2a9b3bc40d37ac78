"""The codex adapter: its argument list, every output shape of the fake Codex CLI (a real
child process), and three-task runs on real repositories."""

from __future__ import annotations

import json

import pytest

from shoal.agents import (
    AgentSetupError,
    ErrorKind,
    ResultSource,
    ResultStatus,
    get_agent,
)
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


def test_default_arguments(make_request, workdir):
    invocation = get_agent("codex").prepare(make_request(prompt="# Task\n"))
    assert invocation.argv == ("codex", "exec", "--json", "--sandbox", "workspace-write",
                               "-C", str(workdir), "--", "# Task\n")
    assert "--full-auto" not in invocation.argv and invocation.stdin is None


def test_settings_become_flags(make_request, workdir):
    agent = get_agent("codex", {"model": "gpt-5-codex", "sandbox": "danger-full-access",
                                "profile": "ci", "extra_args": ["--skip-git-repo-check"],
                                "config": {"model_reasoning_effort": "high", "tools.web_search": True,
                                           "shell_environment_policy.exclude": ["AWS_*"]}})
    argv = agent.prepare(make_request(prompt="# Task\n")).argv
    assert argv == ("codex", "exec", "--json", "--sandbox", "danger-full-access", "-C", str(workdir),
                    "--model", "gpt-5-codex", "--profile", "ci",
                    "-c", 'model_reasoning_effort="high"', "-c", "tools.web_search=true",
                    "-c", 'shell_environment_policy.exclude=["AWS_*"]',
                    "--skip-git-repo-check", "--", "# Task\n")


def test_a_long_prompt_goes_on_stdin(make_request):
    prompt = "y" * (MAX_PROMPT_ARG_BYTES + 10)
    invocation = get_agent("codex").prepare(make_request(prompt=prompt))
    assert invocation.argv[-1] == "-" and invocation.stdin == prompt.encode()


@pytest.mark.parametrize(("settings", "message"), [
    ({"max_turns": 3}, "has no setting 'max_turns'"),
    ({"config": ["a=b"]}, "config must be a mapping"),
    ({"config": {"tools": {"web_search": True}}}, r"config.tools must be a string"),
    ({"sandbox": ""}, "sandbox must be a non-empty string"),
])
def test_bad_settings(settings, message):
    with pytest.raises(AgentSetupError, match=message):
        get_agent("codex", settings)


def attempt(fake_cli, make_request, run, scenario, settings=None, timeout=20.0, **env):
    fake_cli("codex", scenario, **env)
    agent = get_agent("codex", settings)
    outcome = run(agent.prepare(make_request(prompt=PROMPT)), timeout=timeout)
    return agent, outcome, agent.interpret(outcome)


def test_ok(fake_cli, make_request, run, workdir):
    _, _, result = attempt(fake_cli, make_request, run, "ok")
    assert (result.status, result.source) == (ResultStatus.SUCCEEDED, ResultSource.REPORT)
    assert (workdir / "src/out.txt").read_text() == "written by fake codex for t1\n"
    assert result.session_id and (result.turns, result.tokens_in, result.tokens_out) == (1, 24763, 122)
    assert result.cost_usd is None  # codex reports no cost


def test_a_long_prompt_reaches_the_child_on_stdin(fake_cli, make_request, run):
    log = fake_cli("codex", "ok")
    prompt = PROMPT + "filler\n" * 20_000
    outcome = run(get_agent("codex").prepare(make_request(prompt=prompt)))
    (call,) = calls(log)
    assert call["stdin"] is True and call["prompt"] == prompt
    assert get_agent("codex").interpret(outcome).ok


def test_read_only_sandbox_writes_nothing(fake_cli, make_request, run, workdir):
    _, _, result = attempt(fake_cli, make_request, run, "ok", {"sandbox": "read-only"})
    assert result.ok and not (workdir / "src/out.txt").exists()


def test_worker_reports_fail(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "fail")
    assert (result.status, result.source) == (ResultStatus.FAILED, ResultSource.REPORT)


def test_turn_failed(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "api-error")
    assert (result.status, result.source, result.error) == (
        ResultStatus.FAILED, ResultSource.STRUCTURED, ErrorKind.AUTHENTICATION)
    assert "401 Unauthorized" in result.summary and result.session_id
    assert "OPENAI_API_KEY" in result.summary


def test_a_refused_key_is_fatal_while_codex_still_reconnects():
    """codex 0.169.1 prints no status field; its HTTP status is read from its error text."""
    agent = get_agent("codex")
    tail = (b'{"type":"thread.started","thread_id":"t1"}\n{"type":"turn.started"}\n'
            b'{"type":"error","message":"Reconnecting... 1/5 (unexpected status 401 Unauthorized: '
            b'Incorrect API key provided: x., url: http://127.0.0.1:9/v1/responses)"}\n')
    fatal = agent.fatal_error_seen(tail)
    assert fatal is not None and fatal.error is ErrorKind.AUTHENTICATION
    assert agent.fatal_error_seen(tail.replace(b"401 Unauthorized", b"500 Internal Server Error")) is None
    limited = tail.replace(b"401 Unauthorized", b"429 Too Many Requests")
    assert agent.fatal_error_seen(limited) is None  # a limit is waited out, not fatal


def test_rate_limit(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "rate-limit")
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.RATE_LIMITED)
    assert "429 Too Many Requests" in result.summary


def test_no_turn_completed_is_bad_output(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "no-result")
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.BAD_OUTPUT)
    assert "without a turn.completed event" in result.summary


def test_invalid_json_lines_are_skipped(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "garbage")
    assert result.ok and result.source is ResultSource.REPORT


def test_huge_output(fake_cli, make_request, run):
    _, outcome, result = attempt(fake_cli, make_request, run, "flood", SHOAL_FAKE_FLOOD_MB="3")
    assert outcome.log_path.stat().st_size > 3 * 1024 * 1024 and result.ok


def test_panic(fake_cli, make_request, run):
    _, outcome, result = attempt(fake_cli, make_request, run, "crash")
    assert outcome.exit_code == 101 and result.status is ResultStatus.FAILED
    assert "exited with code 101: thread 'main' panicked" in result.summary


def test_hang_after_result(fake_cli, make_request, run):
    agent, outcome, result = attempt(fake_cli, make_request, run, "hang-after-result", timeout=1.5)
    assert outcome.timed_out and result.ok
    assert agent.final_output_seen(outcome.log_path.read_bytes())


def test_silent_hang(fake_cli, make_request, run):
    agent, outcome, result = attempt(fake_cli, make_request, run, "hang", timeout=1.0)
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.TIMEOUT)
    assert not agent.final_output_seen(outcome.log_path.read_bytes())


def test_removed_full_auto_is_refused_by_the_cli(fake_cli, make_request, run):
    _, outcome, result = attempt(fake_cli, make_request, run, "ok", {"extra_args": ["--full-auto"]})
    assert outcome.exit_code == 2 and result.status is ResultStatus.FAILED
    assert "unexpected argument '--full-auto' found" in result.summary


def test_final_output_seen():
    agent = get_agent("codex")
    assert agent.final_output_seen(b'{"type":"turn.started"}\n{"type":"turn.completed","usage":{}}\n')
    assert agent.final_output_seen(b'{"type":"turn.failed","error":{"message":"x"}}\n')
    assert not agent.final_output_seen(b'{"type":"item.completed","item":{"text":"turn.completed"}}\n')
    assert not agent.final_output_seen(b'{"type":"turn.started"}\n')


def test_retries_inside_a_turn_that_then_completes_are_not_errors(outcome_for):
    lines = [{"type": "thread.started", "thread_id": "th"}, {"type": "turn.started"},
             {"type": "error", "message": "Reconnecting... 1/5 (429 Too Many Requests)"},
             {"type": "item.completed", "item": {"type": "agent_message", "text": "TASK COMPLETE"}},
             {"type": "turn.completed", "usage": {"input_tokens": 5, "output_tokens": 2}}]
    result = get_agent("codex").interpret(outcome_for("\n".join(json.dumps(e) for e in lines)))
    assert result.ok and result.summary == "TASK COMPLETE" and result.session_id == "th"


def test_three_tasks_end_to_end(fake_cli, tmp_path):
    log = fake_cli("codex", "ok")
    result, repo = three_tasks(tmp_path, "codex", {"model": "gpt-5-codex"})
    assert_all_landed(result, repo, "codex")
    assert all(r.result["session_id"] and r.result["tokens_in"] == 24763
               for r in attempts(repo, result.run_id))
    workdirs = [c["argv"][c["argv"].index("-C") + 1] for c in calls(log)]
    assert len(set(workdirs)) == 3 and all(".shoal/" in w and "/.git/" not in w for w in workdirs)


def test_three_tasks_when_a_task_uses_a_removed_flag(fake_cli, tmp_path):
    fake_cli("codex", "ok")
    result, repo = three_tasks(tmp_path, "codex", {"extra_args": ["--full-auto"]})
    assert_failed_with(result, repo, "b", "codex exited with code 2", "--full-auto")
    assert result.task("a").state is TaskState.FAILED  # every task passes it
