"""The opencode adapter: its argument list, every output shape of the fake OpenCode (a real
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


def test_default_arguments(make_request):
    invocation = get_agent("opencode").prepare(make_request(prompt="# Task\n"))
    assert invocation.argv == ("opencode", "run", "# Task\n", "--format", "json")
    assert invocation.stdin is None
    assert invocation.env["OPENCODE_DISABLE_AUTOUPDATE"] == "1"
    assert "OPENCODE_PERMISSION" not in invocation.env


def test_settings_become_flags(make_request):
    agent = get_agent("opencode", {"model": "anthropic/claude-sonnet-4-5", "agent": "build",
                                   "variant": "high", "permission": {"edit": "allow", "bash": "deny"},
                                   "extra_args": ["--title", "shoal"]})
    invocation = agent.prepare(make_request(prompt="# T\n"))
    assert invocation.argv == ("opencode", "run", "# T\n", "--format", "json",
                               "--model", "anthropic/claude-sonnet-4-5", "--agent", "build",
                               "--variant", "high", "--title", "shoal")
    assert json.loads(invocation.env["OPENCODE_PERMISSION"]) == {"edit": "allow", "bash": "deny"}


@pytest.mark.parametrize("prompt", ["x" * (MAX_PROMPT_ARG_BYTES + 1), "--looks like a flag\n"])
def test_prompts_that_cannot_be_an_argument_go_on_stdin(make_request, prompt):
    invocation = get_agent("opencode").prepare(make_request(prompt=prompt))
    assert invocation.argv == ("opencode", "run", "--format", "json")
    assert invocation.stdin == prompt.encode()


def test_bad_settings():
    with pytest.raises(AgentSetupError, match="permission must be a mapping or a string"):
        get_agent("opencode", {"permission": ["edit"]})
    with pytest.raises(AgentSetupError, match="did you mean 'agent'"):
        get_agent("opencode", {"agnet": "build"})


def attempt(fake_cli, make_request, run, scenario, settings=None, timeout=20.0, **env):
    fake_cli("opencode", scenario, **env)
    agent = get_agent("opencode", settings)
    outcome = run(agent.prepare(make_request(prompt=PROMPT)), timeout=timeout)
    return agent, outcome, agent.interpret(outcome)


def test_ok(fake_cli, make_request, run, workdir):
    _, _, result = attempt(fake_cli, make_request, run, "ok")
    assert (result.status, result.source) == (ResultStatus.SUCCEEDED, ResultSource.REPORT)
    assert (workdir / "src/out.txt").read_text() == "written by fake opencode for t1\n"
    assert result.session_id.startswith("ses_") and result.turns == 2
    assert (result.tokens_in, result.tokens_out) == (2 * 4200, 2 * 100)
    assert result.cost_usd == pytest.approx(0.0073)


def test_the_message_reaches_the_child(fake_cli, make_request, run):
    log = fake_cli("opencode", "ok")
    run(get_agent("opencode").prepare(make_request(prompt=PROMPT)))
    (call,) = calls(log)
    # opencode puts an argument holding spaces in double quotes: the text is all there
    assert call["prompt"] == f'"{PROMPT}"' and call["stdin"] is False


def test_a_long_prompt_reaches_the_child_on_stdin(fake_cli, make_request, run):
    log = fake_cli("opencode", "ok")
    prompt = PROMPT + "context line\n" * 10_000
    outcome = run(get_agent("opencode").prepare(make_request(prompt=prompt)))
    (call,) = calls(log)
    assert call["stdin"] is True and call["prompt"] == "\n" + prompt
    assert get_agent("opencode").interpret(outcome).ok


def test_worker_reports_fail(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "fail")
    assert (result.status, result.source) == (ResultStatus.FAILED, ResultSource.REPORT)


def test_error_event(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "api-error")
    assert (result.status, result.source, result.error) == (
        ResultStatus.FAILED, ResultSource.STRUCTURED, ErrorKind.AUTHENTICATION)
    assert result.summary.startswith("opencode: APIError: Incorrect API key provided")


def test_the_error_events_status_decides_the_kind(outcome_for):
    def kind(error):
        log = json.dumps({"type": "error", "sessionID": "ses_1", "error": error}) + "\n"
        return get_agent("opencode").interpret(outcome_for(log, exit_code=1)).error

    assert kind({"name": "APIError", "data": {"message": "no", "statusCode": 401}}) is ErrorKind.AUTHENTICATION
    assert kind({"name": "APIError", "data": {"message": "pay up", "statusCode": 402}}) is ErrorKind.BILLING
    assert kind({"name": "APIError", "data": {"message": "busy", "statusCode": 529}}) is ErrorKind.RATE_LIMITED
    assert kind({"name": "APIError", "data": {"message": "oops", "statusCode": 500}}) is ErrorKind.CRASH


def test_rate_limit(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "rate-limit")
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.RATE_LIMITED)


def test_rejected_permission(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "denied")
    assert result.ok and result.permission_denials == ("bash",)


def test_no_final_step_is_bad_output(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "no-result")
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.BAD_OUTPUT)
    assert result.turns == 1


def test_invalid_json_lines_are_skipped(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "garbage")
    assert result.ok and result.source is ResultSource.REPORT


def test_huge_output(fake_cli, make_request, run):
    _, outcome, result = attempt(fake_cli, make_request, run, "flood", SHOAL_FAKE_FLOOD_MB="3")
    assert outcome.log_path.stat().st_size > 3 * 1024 * 1024 and result.ok


def test_crash(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "crash")
    assert result.status is ResultStatus.FAILED
    assert "exited with code 1: error: Unexpected end of JSON input" in result.summary


def test_hang_after_result(fake_cli, make_request, run):
    agent, outcome, result = attempt(fake_cli, make_request, run, "hang-after-result", timeout=1.5)
    assert outcome.timed_out and result.ok
    assert agent.final_output_seen(outcome.log_path.read_bytes())


def test_silent_hang(fake_cli, make_request, run):
    agent, outcome, result = attempt(fake_cli, make_request, run, "hang", timeout=1.0)
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.TIMEOUT)
    assert not agent.final_output_seen(outcome.log_path.read_bytes())


def test_unknown_argument(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "ok", {"extra_args": ["--yolo"]})
    assert result.status is ResultStatus.FAILED and "Unknown argument: yolo" in result.summary


def test_final_output_seen():
    agent = get_agent("opencode")
    finish = b'{"type":"step_finish","part":{"type":"step-finish","reason":"%s"}}\n'
    assert agent.final_output_seen(finish % b"stop")
    assert not agent.final_output_seen(finish % b"tool-calls")
    assert not agent.final_output_seen(finish % b"stop" + b'{"type":"step_start","part":{}}\n')
    assert agent.final_output_seen(b'{"type":"error","error":{"name":"APIError"}}\n')


def test_a_step_after_an_error_recovers(outcome_for):
    lines = [{"type": "error", "sessionID": "s", "error": {"name": "APIError", "data": {"message": "429"}}},
             {"type": "step_start", "sessionID": "s", "part": {}},
             {"type": "text", "sessionID": "s", "part": {"text": "TASK COMPLETE"}},
             {"type": "step_finish", "sessionID": "s", "part": {"reason": "stop", "cost": 0.5}}]
    result = get_agent("opencode").interpret(outcome_for("\n".join(json.dumps(e) for e in lines)))
    assert result.ok and result.cost_usd == 0.5


def test_three_tasks_end_to_end(fake_cli, tmp_path):
    fake_cli("opencode", "ok")
    result, repo = three_tasks(tmp_path, "opencode", {"model": "anthropic/claude-sonnet-4-5"})
    assert_all_landed(result, repo, "opencode")
    assert all(r.result["cost_usd"] == pytest.approx(0.0073) for r in attempts(repo, result.run_id))


def test_three_tasks_with_an_error_event(fake_cli, tmp_path):
    fake_cli("opencode", "ok,b=api-error")
    result, repo = three_tasks(tmp_path, "opencode")
    stored = assert_failed_with(result, repo, "b", "APIError: Incorrect API key provided")
    assert stored["session_id"].startswith("ses_")
    # refused credentials stop the run: a, beside b, finished or was stopped with it
    assert result.task("a").state in (TaskState.SUCCEEDED, TaskState.CANCELLED)
