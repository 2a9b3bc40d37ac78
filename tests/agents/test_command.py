"""The command agent: any CLI from an argument-list template, never through a shell."""

from __future__ import annotations

import sys

import pytest

from shoal.agents import AgentSetupError, ErrorKind, ResultSource, ResultStatus, get_agent
from shoal.agents.command import MAX_PROMPT_ARG_BYTES

TEMPLATE = ["my-agent", "--prompt-file", "{prompt_file}", "--cwd", "{workdir}"]


def test_template_is_filled(make_request, workdir, attempt_dir):
    agent = get_agent("command", {"command": TEMPLATE})
    invocation = agent.prepare(make_request(prompt="do it\n"))
    prompt_path = attempt_dir / "prompt.md"
    assert invocation.argv == ("my-agent", "--prompt-file", str(prompt_path), "--cwd", str(workdir))
    assert invocation.files == {prompt_path: b"do it\n"}
    assert invocation.stdin is None
    assert invocation.env["SHOAL_WORKDIR"] == str(workdir)


def test_all_placeholders(make_request, workdir, attempt_dir):
    agent = get_agent("command", {"command": ["a", "{task_id}", "{attempt_dir}", "-p", "{prompt}"]})
    argv = agent.prepare(make_request(prompt="text with 'quotes' && $(x)")).argv
    assert argv == ("a", "t1", str(attempt_dir), "-p", "text with 'quotes' && $(x)")


def test_injection_attempt_stays_one_item(make_request, tmp_path):
    agent = get_agent("command", {"command": ["my-agent", "{prompt_file}; rm -rf /"]})
    argv = agent.prepare(make_request()).argv
    assert len(argv) == 2
    assert argv[1].endswith("prompt.md; rm -rf /")


def test_unknown_placeholder_is_named(make_request):
    with pytest.raises(AgentSetupError, match=r"unknown placeholder \{model\}"):
        get_agent("command", {"command": ["a", "--model={model}"]})
    agent = get_agent("command")
    with pytest.raises(AgentSetupError, match=r"unknown placeholder \{home\}"):
        agent.prepare(make_request(options={"command": ["a", "{home}"]}))


def test_missing_command(make_request):
    with pytest.raises(AgentSetupError, match="needs a `command` setting") as info:
        get_agent("command").prepare(make_request())
    assert "{prompt_file}" in info.value.hint


def test_task_options_override_settings(make_request):
    agent = get_agent("command", {"command": ["a"], "extra_args": ["--x"]})
    request = make_request(options={"command": ["b", "{task_id}"], "env": {"MODE": 1}})
    invocation = agent.prepare(request)
    assert invocation.argv == ("b", "t1", "--x")
    assert invocation.env["MODE"] == "1"


def test_extra_args_are_checked_and_filled(make_request, workdir):
    agent = get_agent("command", {"command": ["a"], "extra_args": ["--cwd", "{workdir}"]})
    assert agent.prepare(make_request()).argv == ("a", "--cwd", str(workdir))
    with pytest.raises(AgentSetupError, match="extra_args item 1"):
        get_agent("command", {"command": ["a"], "extra_args": ["{x}"]})


def test_stdin_prompt(make_request):
    agent = get_agent("command", {"command": ["a"], "stdin": "prompt"})
    assert agent.prepare(make_request(prompt="hi")).stdin == b"hi"


def test_prompt_too_long_for_an_argument(make_request):
    agent = get_agent("command", {"command": ["a", "{prompt}"]})
    with pytest.raises(AgentSetupError, match="too long"):
        agent.prepare(make_request(prompt="x" * (MAX_PROMPT_ARG_BYTES + 1)))
    # the same prompt through a file is fine
    get_agent("command", {"command": ["a", "{prompt_file}"]}).prepare(
        make_request(prompt="x" * (MAX_PROMPT_ARG_BYTES + 1)))


def test_missing_executable_is_a_readable_failure(make_request, run):
    agent = get_agent("command", {"command": ["no-such-agent-cli-xyz", "{prompt_file}"]})
    outcome = run(agent.prepare(make_request()))
    assert outcome.exit_code is None and outcome.start_error
    result = agent.interpret(outcome)
    assert (result.status, result.error, result.source) == (
        ResultStatus.FAILED, ErrorKind.NOT_INSTALLED, ResultSource.START)
    assert result.summary.startswith("cannot run 'no-such-agent-cli-xyz': no such program")
    assert "install that agent CLI" in result.summary


def test_real_child_receives_exact_arguments(make_request, run, workdir):
    script = "import json, sys; open('argv.json', 'w').write(json.dumps(sys.argv[1:]))"
    agent = get_agent("command", {"command": [sys.executable, "-c", script, "{prompt_file}; rm -rf /",
                                              "$(touch pwned)", "{{literal}}"]})
    result = agent.interpret(run(agent.prepare(make_request())))
    assert result.ok
    args = (workdir / "argv.json").read_text()
    assert "; rm -rf /" in args and "$(touch pwned)" in args and "{literal}" in args
    assert not (workdir / "pwned").exists()


def test_stdin_reaches_the_child(make_request, run, workdir):
    script = "import sys; open('in.txt', 'w').write(sys.stdin.read())"
    agent = get_agent("command", {"command": [sys.executable, "-c", script], "stdin": "prompt"})
    assert agent.interpret(run(agent.prepare(make_request(prompt="via stdin")))).ok
    assert (workdir / "in.txt").read_text() == "via stdin"
