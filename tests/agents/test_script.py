"""The script agent: run: commands under sh, stopping at the first failure; run for real."""

from __future__ import annotations

import pytest

from shoal.agents import (
    AgentResult,
    AgentSetupError,
    ErrorKind,
    ResultSource,
    ResultStatus,
    get_agent,
)
from shoal.agents.script import build_script


def test_argv_is_sh_c_with_one_script(make_request, attempt_dir):
    invocation = get_agent("script").prepare(make_request(run=("echo one", "echo two")))
    assert invocation.argv[:2] == ("sh", "-c")
    assert len(invocation.argv) == 3
    script = invocation.argv[2]
    assert script.startswith("set -e\n")
    assert script.index("echo one") < script.index("echo two")
    assert invocation.stdin is None
    assert invocation.files == {attempt_dir / "prompt.md": b"# Task\n"}
    assert invocation.env["SHOAL_PROMPT_FILE"] == str(attempt_dir / "prompt.md")
    assert invocation.env["SHOAL_TASK_ID"] == "t1"


def test_prepare_writes_nothing(make_request, attempt_dir):
    get_agent("script").prepare(make_request(run=("true",)))
    assert list(attempt_dir.iterdir()) == []


def test_commands_run_in_order_in_the_workdir(make_request, run, workdir):
    agent = get_agent("script")
    request = make_request(run=("mkdir sub", "cd sub", "pwd > where.txt", "X=5", "echo $X >> where.txt"))
    result = agent.interpret(run(agent.prepare(request)))
    assert result.status is ResultStatus.SUCCEEDED
    assert (workdir / "sub" / "where.txt").read_text() == f"{workdir / 'sub'}\n5\n"


@pytest.mark.parametrize("failing", ["false", "exit 4", "false && true", "false; true",
                                     "ls /nonexistent-dir", "test 1 = 2 || false"])
def test_first_failing_command_fails_the_task(make_request, run, workdir, failing):
    agent = get_agent("script")
    request = make_request(run=("touch before", failing, "touch after"))
    result = agent.interpret(run(agent.prepare(request)))
    assert result.status is ResultStatus.FAILED
    assert result.error is ErrorKind.CRASH
    assert (workdir / "before").exists()
    assert not (workdir / "after").exists()
    assert result.summary.startswith("command 2/3 (")


def test_failure_summary_names_the_command(make_request, run):
    agent = get_agent("script")
    request = make_request(run=("echo fine", "echo oops >&2; exit 7", "echo never"))
    result = agent.interpret(run(agent.prepare(request)))
    assert result.summary == (
        "command 2/3 (echo oops >&2; exit 7) exited with code 7; last output: oops")


def test_multiline_command_and_heredoc(make_request, run, workdir):
    agent = get_agent("script")
    command = "cat > out.txt <<'EOF'\nline $HOME\nEOF\nif [ -f out.txt ]; then\n  echo yes >> out.txt\nfi"
    result = agent.interpret(run(agent.prepare(make_request(run=(command,)))))
    assert result.ok
    assert (workdir / "out.txt").read_text() == "line $HOME\nyes\n"


def test_missing_command_is_not_installed(make_request, run):
    agent = get_agent("script")
    result = agent.interpret(run(agent.prepare(make_request(run=("no-such-tool-xyz --go",)))))
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.NOT_INSTALLED)
    assert "command 1/1 (no-such-tool-xyz --go)" in result.summary
    assert "127" in result.summary


def test_prompt_file_is_there_for_scripts(make_request, run, workdir):
    agent = get_agent("script")
    request = make_request(prompt="hello prompt\n", run=('cp "$SHOAL_PROMPT_FILE" got.md',))
    assert agent.interpret(run(agent.prepare(request))).ok
    assert (workdir / "got.md").read_text() == "hello prompt\n"


def test_script_may_report_with_a_json_block(make_request, run):
    agent = get_agent("script")
    command = "printf '```json\\n{\"status\": \"fail\", \"blocker\": \"db down\"}\\n```\\n'"
    result = agent.interpret(run(agent.prepare(make_request(run=(command,)))))
    assert (result.status, result.source) == (ResultStatus.FAILED, ResultSource.REPORT)
    assert result.summary == "worker reported fail: db down"


def test_plan_data_in_commands_is_not_reinterpreted(make_request, run, workdir):
    # A run: item is shell by design, but shoal adds no layer of expansion of its own.
    agent = get_agent("script")
    request = make_request(run=("printf '%s\\n' '{task_id} $(id) ;' > out.txt",))
    assert agent.interpret(run(agent.prepare(request))).ok
    assert (workdir / "out.txt").read_text() == "{task_id} $(id) ;\n"


def test_no_run_commands_is_a_setup_error(make_request):
    with pytest.raises(AgentSetupError) as info:
        get_agent("script").prepare(make_request(run=("", "  ")))
    assert info.value.message == "task t1 has no run: commands for the script agent"
    assert "allow_empty" in info.value.hint
    result = AgentResult.setup_failed(info.value)
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.SETUP)
    assert result.summary == "task t1 has no run: commands for the script agent"


def test_allow_empty_succeeds_doing_nothing(make_request, run, workdir):
    agent = get_agent("script", {"allow_empty": True})
    result = agent.interpret(run(agent.prepare(make_request())))
    assert (result.status, result.source) == (ResultStatus.SUCCEEDED, ResultSource.EXIT_CODE)
    # the same from a task's options
    agent = get_agent("script")
    assert agent.interpret(run(agent.prepare(make_request(options={"allow_empty": True})))).ok


def test_build_script_shape():
    script = build_script(["echo 'a b'", "two\nlines"])
    assert "printf '%s\\n' '[shoal] run 1/2: echo '\"'\"'a b'\"'\"'' >&2" in script
    assert "[shoal] run 2/2: two …" in script
