"""The claude adapter: its argument list, every output shape of the fake Claude Code (a real
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
from shoal.model import Task, TaskId, TaskState

from .clis import (
    assert_all_landed,
    assert_failed_with,
    attempts,
    calls,
    fake_cli,
    three_tasks,
)

__all__ = ["fake_cli"]  # a fixture


def test_default_arguments(make_request, workdir):
    invocation = get_agent("claude").prepare(make_request(prompt="# Task\ndo it\n"))
    argv = invocation.argv
    assert argv[:7] == ("claude", "-p", "--output-format", "stream-json", "--verbose",
                        "--permission-mode", "acceptEdits")
    system = argv[argv.index("--append-system-prompt") + 1]
    assert "task t1" in system and "Do not change any file" in system
    assert argv[-2:] == ("--", "# Task\ndo it\n")
    assert invocation.stdin is None
    assert invocation.env["SHOAL_WORKDIR"] == str(workdir)


def test_settings_become_flags(make_request):
    task = Task(id=TaskId("auth"), owns=("src/auth/**",), reads=("common/types.py",),
                forbids=("src/billing/**",))
    agent = get_agent("claude", {
        "model": "opus", "permission_mode": "bypassPermissions", "allowed_tools": ["Read", "Bash(git diff:*)"],
        "disallowed_tools": "WebFetch", "max_turns": 12, "max_budget_usd": 2.5,
        "append_system_prompt": "Prefer small commits.", "extra_args": ["--debug"],
        "env": {"ANTHROPIC_MODEL": "x"}, "executable": "/opt/claude/bin/claude"})
    invocation = agent.prepare(make_request(task))
    argv = list(invocation.argv)
    assert argv[0] == "/opt/claude/bin/claude"
    assert argv[argv.index("--permission-mode") + 1] == "bypassPermissions"
    assert argv[argv.index("--model") + 1] == "opus"
    tools = argv.index("--allowedTools")
    assert argv[tools + 1: tools + 3] == ["Read", "Bash(git diff:*)"]
    assert argv[argv.index("--disallowedTools") + 1] == "WebFetch"
    assert argv[argv.index("--max-turns") + 1] == "12"
    assert argv[argv.index("--max-budget-usd") + 1] == "2.5"
    system = argv[argv.index("--append-system-prompt") + 1]
    assert "src/auth/**" in system and "common/types.py" in system and "src/billing/**" in system
    assert system.endswith("Prefer small commits.")
    # extra args come before the `--` that ends the options, so the prompt stays the prompt
    assert argv.index("--debug") < argv.index("--") == len(argv) - 2
    assert invocation.env["ANTHROPIC_MODEL"] == "x"


def test_append_system_prompt_can_be_left_out(make_request):
    argv = get_agent("claude", {"append_system_prompt": False}).prepare(make_request()).argv
    assert "--append-system-prompt" not in argv


def test_a_long_prompt_goes_on_stdin(make_request):
    prompt = "x" * (MAX_PROMPT_ARG_BYTES + 1)
    invocation = get_agent("claude").prepare(make_request(prompt=prompt))
    assert invocation.stdin == prompt.encode()
    assert "--" not in invocation.argv and prompt not in invocation.argv


@pytest.mark.parametrize(("settings", "message"), [
    ({"max_turn": 3}, "did you mean 'max_turns'"),
    ({"max_turns": 0}, "max_turns must be a positive whole number"),
    ({"max_turns": 2.5}, "max_turns must be a positive whole number"),
    ({"max_budget_usd": "lots"}, "max_budget_usd must be a positive number"),
    ({"allowed_tools": [1, 2]}, "allowed_tools must be a list of strings"),
    ({"append_system_prompt": 3}, "append_system_prompt must be true, false or a string"),
    ({"env": ["A=1"]}, "env must be a mapping"),
    ({"sandbox": "read-only"}, "has no setting 'sandbox'"),
])
def test_bad_settings_are_refused_when_the_agent_is_built(settings, message):
    with pytest.raises(AgentSetupError, match=message):
        get_agent("claude", settings)


def test_bad_task_options_fail_the_attempt_setup(make_request):
    with pytest.raises(AgentSetupError, match="max_turns"):
        get_agent("claude").prepare(make_request(options={"max_turns": -1}))


# -- the fake Claude Code, one output shape at a time ---------------------------------------
PROMPT = "# Task\n\n## Files to Modify\n- src/out.txt\n"


def attempt(fake_cli, make_request, run, scenario, settings=None, timeout=20.0, **env):
    fake_cli("claude", scenario, **env)
    agent = get_agent("claude", settings)
    outcome = run(agent.prepare(make_request(prompt=PROMPT)), timeout=timeout)
    return agent, outcome, agent.interpret(outcome)


def test_ok(fake_cli, make_request, run, workdir):
    _, _, result = attempt(fake_cli, make_request, run, "ok")
    assert (result.status, result.source) == (ResultStatus.SUCCEEDED, ResultSource.REPORT)
    assert (workdir / "src/out.txt").read_text() == "written by fake claude for t1\n"
    assert result.report is not None and result.report.files_modified == ("src/out.txt",)
    assert result.session_id and len(result.session_id) == 36
    assert (result.turns, result.tokens_in, result.tokens_out) == (3, 120 + 2000 + 8000, 450)
    assert result.cost_usd == pytest.approx(0.0421)
    assert result.permission_denials == ()


def test_the_child_gets_exactly_the_prompt_and_the_flags(fake_cli, make_request, run, tmp_path):
    log = fake_cli("claude", "ok")
    agent = get_agent("claude", {"max_turns": 4})
    run(agent.prepare(make_request(prompt=PROMPT)))
    (call,) = calls(log)
    assert call["prompt"] == PROMPT and call["stdin"] is False
    assert call["argv"][call["argv"].index("--max-turns") + 1] == "4"


def test_a_long_prompt_reaches_the_child_on_stdin(fake_cli, make_request, run):
    log = fake_cli("claude", "ok")
    prompt = PROMPT + "\n" + "padding line\n" * 10_000
    outcome = run(get_agent("claude").prepare(make_request(prompt=prompt)))
    (call,) = calls(log)
    assert call["stdin"] is True and call["prompt"] == prompt
    assert get_agent("claude").interpret(outcome).ok


def test_worker_reports_fail(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "fail")
    assert (result.status, result.source) == (ResultStatus.FAILED, ResultSource.REPORT)
    assert "the fake was told to fail" in result.summary


def test_is_error_with_subtype_success_is_a_failure(fake_cli, make_request, run):
    """A failed API call reports subtype "success" with is_error true: the agent's message shows."""
    _, _, result = attempt(fake_cli, make_request, run, "api-error")
    assert (result.status, result.source, result.error) == (
        ResultStatus.FAILED, ResultSource.STRUCTURED, ErrorKind.CRASH)
    assert "Invalid API key" in result.summary and "is_error: True" in result.summary


def test_rate_limit(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "rate-limit")
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.RATE_LIMITED)
    assert "429" in result.summary


def test_turn_limit(fake_cli, make_request, run):
    """2.1.197: exit 1, subtype error_max_turns, the reason only in `errors`, no `result`."""
    _, outcome, result = attempt(fake_cli, make_request, run, "turn-limit", {"max_turns": 2})
    assert outcome.exit_code == 1
    assert (result.status, result.source) == (ResultStatus.FAILED, ResultSource.STRUCTURED)
    assert result.summary == ("claude stopped at its turn limit (--max-turns): "
                              "Reached maximum number of turns (2)")
    assert result.turns == 2


def test_permission_denials(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "denied")
    assert result.ok and result.permission_denials == ("Bash(git push)",)


def test_no_result_event_is_bad_output(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "no-result")
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.BAD_OUTPUT)
    assert "without printing its result event" in result.summary
    assert result.session_id  # read from the init event


def test_invalid_json_lines_are_skipped(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "garbage")
    assert (result.status, result.source) == (ResultStatus.SUCCEEDED, ResultSource.REPORT)


def test_huge_output_still_yields_the_result(fake_cli, make_request, run):
    _, outcome, result = attempt(fake_cli, make_request, run, "flood", SHOAL_FAKE_FLOOD_MB="3")
    assert outcome.log_path.stat().st_size > 3 * 1024 * 1024
    assert result.ok and result.cost_usd == pytest.approx(0.0421)


def test_crash_shows_the_agents_message(fake_cli, make_request, run):
    _, outcome, result = attempt(fake_cli, make_request, run, "crash")
    assert outcome.exit_code == 1
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.CRASH)
    assert "exited with code 1: Error: ENOENT" in result.summary


def test_hang_after_result(fake_cli, make_request, run):
    agent, outcome, result = attempt(fake_cli, make_request, run, "hang-after-result", timeout=1.5)
    assert outcome.timed_out
    assert agent.final_output_seen(outcome.log_path.read_bytes())
    assert result.ok and any("then stopped at its time limit" in n for n in result.notes)


def test_silent_hang(fake_cli, make_request, run):
    agent, outcome, result = attempt(fake_cli, make_request, run, "hang", timeout=1.0)
    assert outcome.timed_out
    assert not agent.final_output_seen(outcome.log_path.read_bytes())
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.TIMEOUT)


def test_a_version_without_a_needed_flag(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "ok", SHOAL_FAKE_HIDE_FLAGS="--permission-mode")
    assert result.status is ResultStatus.FAILED
    assert "unknown option '--permission-mode'" in result.summary


def test_unknown_extra_args_are_refused_by_the_cli(fake_cli, make_request, run):
    _, _, result = attempt(fake_cli, make_request, run, "ok", {"extra_args": ["--no-such-flag"]})
    assert result.status is ResultStatus.FAILED and "unknown option '--no-such-flag'" in result.summary


def test_final_output_seen():
    agent = get_agent("claude")
    result = json.dumps({"type": "result", "subtype": "success", "is_error": False}).encode()
    assert agent.final_output_seen(b'{"type":"system","subtype":"init"}\n' + result + b"\n")
    assert agent.final_output_seen(result + b"\nsome stderr line after it\n")
    assert not agent.final_output_seen(b'{"type":"assistant","message":{"content":"result"}}\n')
    assert not agent.final_output_seen(b'{"type":"result", "subtype": "succ')  # cut off
    assert not agent.final_output_seen(b"")


def test_parsing_a_log_written_by_hand(outcome_for):
    """The shapes as documented, with fields missing or of the wrong type."""
    agent = get_agent("claude")
    odd = {"type": "result", "subtype": "success", "is_error": False, "result": "done",
           "num_turns": "three", "total_cost_usd": True, "usage": "none", "permission_denials": [7]}
    result = agent.interpret(outcome_for(json.dumps(odd) + "\n"))
    assert result.ok and (result.turns, result.cost_usd, result.tokens_in) == (None, None, None)
    budget = {"type": "result", "subtype": "error_max_budget_usd", "is_error": False}
    result = agent.interpret(outcome_for(json.dumps(budget) + "\n"))
    assert result.status is ResultStatus.FAILED and "stopped at its budget" in result.summary
    # a result that is not the last line (stderr after it) still counts
    result = agent.interpret(outcome_for(json.dumps({**odd, "result": "TASK COMPLETE"}) + "\nbye\n"))
    assert result.ok


# -- end to end ------------------------------------------------------------------------------
def test_three_tasks_end_to_end(fake_cli, tmp_path):
    log = fake_cli("claude", "ok")
    result, repo = three_tasks(tmp_path, "claude", {"model": "sonnet", "max_turns": 30})
    assert_all_landed(result, repo, "claude")
    records = attempts(repo, result.run_id)
    assert all(r.result["session_id"] and r.result["cost_usd"] == pytest.approx(0.0421) for r in records)
    assert all(r.result["tokens_out"] == 450 for r in records)
    argvs = [c["argv"] for c in calls(log)]
    assert len(argvs) == 3 and all(a[a.index("--model") + 1] == "sonnet" for a in argvs)


def test_three_tasks_with_an_api_error(fake_cli, tmp_path):
    fake_cli("claude", "ok,b=api-error")
    result, repo = three_tasks(tmp_path, "claude")
    stored = assert_failed_with(result, repo, "b", "Invalid API key")
    assert stored["source"] == "structured" and stored["session_id"]
    assert result.task("a").state is TaskState.SUCCEEDED


def test_three_tasks_when_claude_is_not_installed(tmp_path):
    result, _ = three_tasks(tmp_path, "claude", {"executable": "claude-not-installed-here"})
    for task in ("a", "b"):
        reason = result.task(task).reason or ""
        assert result.task(task).state is TaskState.FAILED
        assert "claude-not-installed-here" in reason and "npm install" in reason
    assert result.task("c").state is TaskState.SKIPPED



def test_final_output_seen_when_the_result_line_is_longer_than_the_tail():
    line = json.dumps({"type": "result", "subtype": "success", "result": "x" * 100_000,
                       "session_id": "s", "total_cost_usd": 1.0, "usage": {},
                       "permission_denials": []}, separators=(",", ":")).encode()
    agent = get_agent("claude")
    assert agent.final_output_seen(line[-64 * 1024:] + b"\n")
    quoted = json.dumps({"type": "user", "content": line.decode()}, separators=(",", ":")).encode()
    assert not agent.final_output_seen(quoted[-64 * 1024:])  # the keys escaped in a message


def test_a_long_prompt_reaches_the_cli_on_stdin_through_a_real_run(fake_cli, tmp_path):
    import shoal
    from shoal.testing import make_repo

    log = fake_cli("claude", "ok")
    repo = make_repo(tmp_path / "repo", {"README.md": "# demo\n"})
    body = "Create a.txt.\n" + "background line\n" * 12_000  # ~190 KB: too long for one argument
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 1, "defaults": {"agent": "claude", "retries": 0},
                                "tasks": [{"id": "a", "owns": ["a.txt"], "prompt": body}]}))

    result = shoal.run(plan, repo=repo, grace=0.5)

    assert result.ok, result.to_json()
    (call,) = calls(log)
    assert call["stdin"] is True and body.strip() in call["prompt"]


# -- what Claude Code 2.1.197 was seen to do ------------------------------------------------
def test_bypass_as_root_gets_is_sandbox(make_request, monkeypatch):
    """As root, Claude Code refuses bypassPermissions without IS_SANDBOX=1: the plan chose to
    bypass, so shoal sets it; a user's own IS_SANDBOX is kept."""
    monkeypatch.delenv("IS_SANDBOX", raising=False)
    monkeypatch.setattr("os.geteuid", lambda: 0)
    bypass = get_agent("claude", {"permission_mode": "bypassPermissions"})
    assert bypass.prepare(make_request()).env["IS_SANDBOX"] == "1"
    flag = get_agent("claude", {"extra_args": ["--dangerously-skip-permissions"]})
    assert flag.prepare(make_request()).env["IS_SANDBOX"] == "1"
    assert "IS_SANDBOX" not in get_agent("claude").prepare(make_request()).env
    own = get_agent("claude", {"permission_mode": "bypassPermissions", "env": {"IS_SANDBOX": "0"}})
    assert own.prepare(make_request()).env["IS_SANDBOX"] == "0"
    monkeypatch.setenv("IS_SANDBOX", "yes")  # the user's: shoal leaves it as it is
    assert "IS_SANDBOX" not in bypass.prepare(make_request()).env
    monkeypatch.delenv("IS_SANDBOX")
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert "IS_SANDBOX" not in bypass.prepare(make_request()).env


def test_the_fake_refuses_bypass_as_root_without_is_sandbox(fake_cli, make_request, run, monkeypatch,
                                                           workdir):
    monkeypatch.delenv("IS_SANDBOX", raising=False)
    monkeypatch.setattr("os.geteuid", lambda: 1000)  # shoal thinks it is not root: no IS_SANDBOX
    _, outcome, result = attempt(fake_cli, make_request, run, "ok",
                                 {"permission_mode": "bypassPermissions"}, SHOAL_FAKE_EUID="0")
    assert outcome.exit_code == 1 and not (workdir / "src/out.txt").exists()
    assert result.status is ResultStatus.FAILED
    assert ("--dangerously-skip-permissions cannot be used with root/sudo privileges for "
            "security reasons") in result.summary
    monkeypatch.setattr("os.geteuid", lambda: 0)  # as root, shoal sets IS_SANDBOX=1
    _, outcome, result = attempt(fake_cli, make_request, run, "ok",
                                 {"permission_mode": "bypassPermissions"}, SHOAL_FAKE_EUID="0")
    assert outcome.exit_code == 0 and result.ok


def test_the_fake_knows_the_protected_folders_shoal_knows():
    from shoal.agents.permissions import (
        CLAUDE_PROTECTED_FOLDERS,
        CLAUDE_PROTECTED_PAIRS,
    )
    from shoal.testing.fakes import claude as fake

    assert fake.PROTECTED_FOLDERS == CLAUDE_PROTECTED_FOLDERS
    assert fake.PROTECTED_PAIRS == CLAUDE_PROTECTED_PAIRS


def _fake_claude(folder, *options, env=None):
    import os
    import subprocess

    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["claude", "-p", "--output-format", "stream-json", "--verbose", *options,
                           "--", PROMPT], cwd=folder, capture_output=True, text=True, timeout=30, check=False,
                          env={**os.environ, "SHOAL_TASK_ID": "t1", **(env or {})})
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return done, lines, next(e for e in lines if e["type"] == "result")


@pytest.mark.parametrize("options", [
    ("--permission-mode", "acceptEdits"), ("--permission-mode", "default"),
    ("--permission-mode", "dontAsk"), ("--permission-mode", "auto"),
    ("--permission-mode", "acceptEdits", "--allowedTools", "Write(src/out.txt)", "Edit"),
], ids=lambda o: "-".join(o[1:]).replace("/", "_"))
@pytest.mark.parametrize("under", [".git/x", ".claude", ".config/git/w", ".vscode/a/b"])
def test_the_fake_refuses_edits_under_protected_folders(fake_cli, tmp_path, options, under):
    fake_cli("claude", "ok")
    plain, _, ok = _fake_claude(tmp_path / "plain", *options)
    assert plain.returncode == 0 and ok["permission_denials"] == []
    assert (tmp_path / "plain/src/out.txt").read_text() == "written by fake claude for t1\n"

    folder = tmp_path / under
    done, lines, result = _fake_claude(folder, *options)
    target = (folder / "src/out.txt").resolve()
    assert done.returncode == 0 and not target.exists()
    (denial,) = result["permission_denials"]
    assert denial["tool_name"] == "Write" and denial["tool_use_id"]
    assert denial["tool_input"] == {"file_path": str(target),
                                    "content": "written by fake claude for t1\n"}
    said = f"Claude requested permissions to edit {target} which is a sensitive file."
    assert said in result["result"]
    assert any(said in str(e) for e in lines if e["type"] in ("user", "assistant") and e is not result)


def test_the_fake_edits_under_protected_folders_when_bypassing(fake_cli, tmp_path):
    fake_cli("claude", "ok")
    folder = tmp_path / ".git/x"
    done, _, result = _fake_claude(folder, "--permission-mode", "bypassPermissions",
                                   env={"IS_SANDBOX": "1"})
    assert done.returncode == 0 and result["permission_denials"] == []
    assert (folder / "src/out.txt").read_text() == "written by fake claude for t1\n"


def test_budget_limit_reason_from_errors(outcome_for):
    """error_max_budget_usd, like error_max_turns, gives its reason only in `errors`."""
    event = {"type": "result", "subtype": "error_max_budget_usd", "is_error": True, "num_turns": 4,
             "total_cost_usd": 0.31, "usage": {}, "permission_denials": [],
             "errors": ["Reached maximum budget ($0.3)"], "session_id": "s"}
    result = get_agent("claude").interpret(outcome_for(json.dumps(event) + "\n", exit_code=1))
    assert result.status is ResultStatus.FAILED
    assert result.summary == "claude stopped at its budget (--max-budget-usd): Reached maximum budget ($0.3)"


def _retry(status, error, attempt=1):
    return json.dumps({"type": "system", "subtype": "api_retry", "attempt": attempt, "max_retries": 10,
                       "retry_delay_ms": 512.3, "error_status": status, "error": error,
                       "session_id": "s"})


def test_fatal_errors_from_retry_events_status_fields():
    agent = get_agent("claude")
    init = '{"type":"system","subtype":"init","session_id":"s"}\n'
    seen = agent.fatal_error_seen((init + _retry(401, "authentication_failed") + "\n").encode())
    assert seen is not None and seen.error is ErrorKind.AUTHENTICATION and seen.ok is False
    assert seen.message.startswith("claude could not authenticate (HTTP 401 authentication_failed)")
    assert "ANTHROPIC_API_KEY" in seen.message
    seen = agent.fatal_error_seen((_retry(403, "unknown") + "\n").encode())
    assert seen is not None and seen.error is ErrorKind.AUTHENTICATION
    billing = json.dumps({"type": "assistant", "message": {"content": [
        {"type": "text", "text": "Credit balance is too low"}]}, "error": "billing_error"})
    seen = agent.fatal_error_seen((billing + "\n").encode())
    assert seen is not None and seen.error is ErrorKind.BILLING and "Credit balance" in seen.message
    # rate limits and overloads are waited out (the engine's backoff), never fatal
    for status, error in ((429, "rate_limit"), (529, "overloaded"), (500, "server_error"), (None, "unknown")):
        assert agent.fatal_error_seen((_retry(status, error) + "\n").encode()) is None
    assert agent.fatal_error_seen(b'{"type":"user","message":"error_status 401 authentication_failed"}\n') is None


@pytest.mark.parametrize(("status", "kind"), [
    (401, ErrorKind.AUTHENTICATION), (403, ErrorKind.AUTHENTICATION),
    (429, ErrorKind.RATE_LIMITED), (529, ErrorKind.RATE_LIMITED), (500, ErrorKind.CRASH)])
def test_the_result_events_api_error_status_decides_the_kind(outcome_for, status, kind):
    """The status field, not the text (which changes between versions), says what failed."""
    event = {"type": "result", "subtype": "success", "is_error": True, "api_error_status": status,
             "result": "API Error: something went wrong", "session_id": "s", "num_turns": 1}
    result = get_agent("claude").interpret(outcome_for(json.dumps(event) + "\n", exit_code=1))
    assert (result.status, result.error) == (ResultStatus.FAILED, kind)
    assert f"HTTP {status}" in result.summary


def test_auth_error_after_the_retries(fake_cli, make_request, run):
    _, outcome, result = attempt(fake_cli, make_request, run, "auth-error", SHOAL_FAKE_RETRY_MS="1")
    assert outcome.exit_code == 1
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.AUTHENTICATION)
    assert "could not authenticate (HTTP 401 authentication_failed)" in result.summary
    assert "Invalid API key · Fix external API key" in result.summary


def test_billing_error(fake_cli, make_request, run):
    _, outcome, result = attempt(fake_cli, make_request, run, "billing-error")
    assert outcome.exit_code == 1
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.BILLING)
    assert "Credit balance is too low" in result.summary


def _stopping_run(tmp_path, scenario, **options):
    """Four tasks: a, b and d side by side (two slots), c after a and b; retries allowed."""
    import time

    import shoal
    from shoal.testing import make_repo

    repo = make_repo(tmp_path / "repo", {"README.md": "# demo\n"})
    plan = {"version": 1, "defaults": {"agent": "claude", "timeout": "5m", "retries": 2,
                                       "max_parallel": 2},
            "tasks": [{"id": t, "owns": [f"{t}.txt"], "prompt": f"Create {t}.txt.",
                       **({"after": ["a", "b"]} if t == "c" else {})} for t in "abcd"]}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    started = time.monotonic()
    result = shoal.run(path, repo=repo, grace=0.5, **options)
    return result, repo, time.monotonic() - started


def _events(repo, run_id, kind):
    from shoal.git import Git
    from shoal.store import Store, default_db_path

    with Store.open(default_db_path(Git(repo).common_dir())) as store:
        return [e for e in store.events(run_id) if str(getattr(e.kind, "value", e.kind)) == kind]


@pytest.mark.parametrize("isolation", ["worktree", "none"])  # workers on threads; on the supervisor's
def test_an_authentication_error_stops_the_run_at_once(fake_cli, tmp_path, isolation):
    """Claude Code retries a 401 about ten times over minutes (the fake: 160 s); shoal stops
    the worker at the first retry event, and the run: no retry, the other worker stopped,
    nothing new started, one run error."""
    log = fake_cli("claude", "hang,b=auth-error")
    result, repo, took = _stopping_run(tmp_path, "hang,b=auth-error", isolation=isolation)
    assert took < 30, took
    assert result.state.value == "failed"
    b = result.task("b")
    assert b.state is TaskState.FAILED and b.attempts == 1
    assert "could not authenticate (HTTP 401 authentication_failed)" in (b.reason or "")
    assert result.task("a").state is TaskState.CANCELLED and result.task("a").attempts == 1
    assert "stopped" in (result.task("a").reason or "")
    assert result.task("c").state is TaskState.SKIPPED and result.task("c").attempts == 0  # after b
    d = result.task("d")
    assert d.state is TaskState.CANCELLED and d.attempts == 0
    assert "not started: claude could not authenticate" in (d.reason or "")
    assert sorted(c["scenario"] for c in calls(log)) == ["auth-error", "hang"]
    (stopped,) = _events(repo, result.run_id, "run_stopped")
    assert stopped.data["message"].startswith("claude could not authenticate (HTTP 401 authentication_failed)")
    assert "ANTHROPIC_API_KEY" in stopped.data["message"] and stopped.data["hint"]
    (finished,) = _events(repo, result.run_id, "run_finished")
    assert finished.data["reason"] == stopped.data["message"]


def test_a_billing_error_stops_the_run(fake_cli, tmp_path):
    fake_cli("claude", "hang,b=billing-error")
    result, repo, took = _stopping_run(tmp_path, "hang,b=billing-error")
    assert took < 30, took
    assert result.state.value == "failed"
    assert result.task("b").state is TaskState.FAILED and result.task("b").attempts == 1
    assert "Credit balance is too low" in (result.task("b").reason or "")
    assert [result.task(t).attempts for t in "acd"] == [1, 0, 0]
    (stopped,) = _events(repo, result.run_id, "run_stopped")
    assert "billing" in stopped.data["message"]


def test_rate_limits_from_retry_events_do_not_stop_the_run(fake_cli, tmp_path):
    fake_cli("claude", "ok,b=rate-limit,b@2=ok")
    result, repo = three_tasks(tmp_path, "claude", rate_limit_backoff=0.1)
    assert result.ok and result.task("b").attempts == 2, result.to_json()
    assert _events(repo, result.run_id, "rate_limited")
    assert _events(repo, result.run_id, "run_stopped") == []


def test_a_worker_that_neither_reports_nor_changes_anything_fails(fake_cli, tmp_path):
    """Exit 0 and a final message, but no report and no edit: not a task done."""
    fake_cli("claude", "ok,b=no-report")
    result, repo = three_tasks(tmp_path, "claude")
    stored = assert_failed_with(result, repo, "b", "claude finished without a report and changed nothing")
    assert stored["error"] == "bad_output"
    assert any("everything seems to be in order" in n for n in stored["notes"])
    assert result.task("a").state is TaskState.SUCCEEDED


def test_unproven_keeps_every_other_result():
    from shoal.agents import AgentResult
    from shoal.agents.report import find_report
    from shoal.agents.result import unproven

    said = AgentResult(ResultStatus.SUCCEEDED, ResultSource.STRUCTURED, "all done")
    failed = unproven(said, "codex", changed=False)
    assert (failed.status, failed.error) == (ResultStatus.FAILED, ErrorKind.BAD_OUTPUT)
    assert failed.summary == "codex finished without a report and changed nothing"
    assert unproven(said, "codex", changed=True) is said
    report, _ = find_report('```json\n{"status": "pass", "files_modified": []}\n```')
    reported = AgentResult(ResultStatus.SUCCEEDED, ResultSource.REPORT, "ok", report=report)
    assert report is not None and unproven(reported, "codex", changed=False) is reported
    crash = AgentResult(ResultStatus.FAILED, ResultSource.EXIT_CODE, "boom", ErrorKind.CRASH)
    assert unproven(crash, "codex", changed=False) is crash
