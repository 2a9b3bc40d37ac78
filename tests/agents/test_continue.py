"""Continuing an interrupted attempt's session (issue 14, item 1): the argument list each adapter
builds with and without `AgentRequest.continue_session`, `session_in_log` on logs shaped as the
real CLIs print them (cut off mid-line too), an id the CLI cannot resume as
`ErrorKind.NO_SESSION`, and the fakes continuing as the real CLIs were seen to."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from shoal.agents import (
    AgentRequest,
    ErrorKind,
    ProcessOutcome,
    ResultStatus,
    get_agent,
)
from shoal.agents.gemini import SESSION_FILE
from shoal.agents.output import read_head

from .clis import calls, fake_cli
from .conftest import run_invocation

__all__ = ["fake_cli"]  # a fixture

PROMPT = "# Task\n\n## Files to Modify\n- src/out.txt\n"
CLAUDE_ID = "c15c3cd4-3dbd-4f0c-a222-5944198e9b43"
CODEX_ID = "01a2424c-8df0-7052-98bc-38a76597eb2c"
OPENCODE_ID = "ses_dbdaf11c4ffecwsS9AZp4VfV6D"
GEMINI_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"

# The first lines Claude Code 2.1.197 printed against the mock model (lists shortened).
CLAUDE_LOG = (
    '{"type":"system","subtype":"init","cwd":"/tmp/exp/r","session_id":"' + CLAUDE_ID + '",'
    '"tools":["Task","Bash","Edit","Read","Write"],"mcp_servers":[],"model":"claude-opus-4-8[1m]",'
    '"permissionMode":"acceptEdits","slash_commands":["review"],"apiKeySource":"ANTHROPIC_API_KEY",'
    '"claude_code_version":"2.1.197","output_style":"default","agents":[],"skills":[],"plugins":[],'
    '"uuid":"8369a3f8-8734-4401-9dc8-eb1c805f60a5","fast_mode_state":"off"}\n'
    '{"type":"assistant","message":{"id":"msg_mock741c","type":"message","role":"assistant",'
    '"model":"claude-opus-4-8","content":[{"type":"tool_use","id":"toolu_mockd29e","name":"Read",'
    '"input":{"file_path":"/tmp/exp/r/notes.txt"}}],"stop_reason":null},'
    '"parent_tool_use_id":null,"session_id":"' + CLAUDE_ID + '"}\n'
    '{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_mockd29e",'
    '"type":"tool_result","content":"1\\tfirst\\n2\\t"}]},"parent_tool_use_id":null,"session_id":"'
    + CLAUDE_ID + '","uuid":"a304b687","tool_use_result":{"type":"text","file":{"filePath":"/tmp/ex')
# codex-cli 0.169.1, stderr and stdout in one log
CODEX_LOG = (
    'WARNING: proceeding, even though we could not create PATH aliases: Refusing to create helper '
    'binaries under temporary dir "/tmp"\n'
    '{"type":"thread.started","thread_id":"' + CODEX_ID + '"}\n'
    '{"type":"item.completed","item":{"id":"item_0","type":"error","message":"Model metadata for '
    '`mock-model` not found."}}\n{"type":"turn.started"}\n'
    '{"type":"item.started","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc')
# OpenCode 1.18.33
OPENCODE_LOG = (
    '{"type":"step_start","timestamp":1796408934997,"sessionID":"' + OPENCODE_ID + '","part":{'
    '"id":"prt_2425","messageID":"msg_2425","sessionID":"' + OPENCODE_ID + '","snapshot":"3d7f",'
    '"type":"step-start"}}\n'
    '{"type":"tool_use","timestamp":1796408935014,"sessionID":"' + OPENCODE_ID + '","part":{"type":'
    '"tool","tool":"read","callID":"call_mock186d","state":{"status":"completed","input":{"filePa')


def request_for(make_request, prompt: str = PROMPT, session: str | None = None,
                **options: object) -> AgentRequest:
    request: AgentRequest = make_request(prompt=prompt, options=options)
    return replace(request, continue_session=session)


def outcome(log: Path, text: str, exit_code: int = 1) -> ProcessOutcome:
    log.write_text(text, encoding="utf-8")
    return ProcessOutcome(exit_code=exit_code, log_path=log, workdir=log.parent, attempt_dir=log.parent)


# -- which agents continue --------------------------------------------------------------------
@pytest.mark.parametrize(("name", "continues"), [
    ("claude", True), ("codex", True), ("gemini", True), ("opencode", True), ("aider", False),
    ("script", False), ("command", False)])
def test_which_agents_continue_sessions(name, continues):
    settings = {"run": ["true"]} if name == "script" else {"command": ["true"]} if name == "command" else {}
    assert get_agent(name, settings).continues_sessions is continues


def test_the_request_field_is_last_and_optional(make_request):
    request = make_request()
    assert request.continue_session is None
    assert list(AgentRequest.__dataclass_fields__)[-1] == "continue_session"


# -- argument lists ---------------------------------------------------------------------------
def test_claude_resumes_by_id_in_print_mode(make_request):
    agent = get_agent("claude", {"model": "sonnet", "append_system_prompt": False})
    cold = agent.prepare(request_for(make_request)).argv
    warm = agent.prepare(request_for(make_request, session=CLAUDE_ID)).argv
    assert "--resume" not in cold
    assert warm == (*cold[:cold.index("--")], "--resume", CLAUDE_ID, *cold[cold.index("--"):])
    long = agent.prepare(request_for(make_request, "x" * 200_000, CLAUDE_ID))
    assert long.argv[-2:] == ("--resume", CLAUDE_ID) and long.stdin == b"x" * 200_000


def test_codex_resume_comes_after_every_exec_option(make_request):
    agent = get_agent("codex", {"model": "o3", "extra_args": ["--skip-git-repo-check"]})
    cold = agent.prepare(request_for(make_request)).argv
    warm = agent.prepare(request_for(make_request, session=CODEX_ID)).argv
    assert cold[-2:] == ("--", PROMPT) and "resume" not in cold
    assert warm == (*cold[:-2], "resume", CODEX_ID, "--", PROMPT)
    long = agent.prepare(request_for(make_request, "x" * 200_000, CODEX_ID))
    assert long.argv[-3:] == ("resume", CODEX_ID, "-") and long.stdin == b"x" * 200_000


def test_codex_continues_only_a_uuid(make_request):
    """codex takes any other id for a thread name and, none having it, starts a new thread."""
    argv = get_agent("codex").prepare(request_for(make_request, session="my-thread")).argv
    assert "resume" not in argv


def test_gemini_chooses_the_id_of_a_new_session_and_records_it(make_request, attempt_dir):
    invocation = get_agent("gemini").prepare(request_for(make_request))
    argv = invocation.argv
    chosen = argv[argv.index("--session-id") + 1]
    assert str(uuid.UUID(chosen)) == chosen and "--resume" not in argv
    assert invocation.files[attempt_dir / SESSION_FILE] == chosen.encode()
    again = get_agent("gemini").prepare(request_for(make_request)).argv
    assert again[again.index("--session-id") + 1] != chosen  # a used id is refused


def test_gemini_resumes_without_a_new_id(make_request, attempt_dir):
    invocation = get_agent("gemini").prepare(request_for(make_request, session=GEMINI_ID))
    argv = invocation.argv
    assert argv[argv.index("--resume") + 1] == GEMINI_ID and "--session-id" not in argv
    assert argv[-1] == f"--prompt={PROMPT}"
    assert invocation.files[attempt_dir / SESSION_FILE] == GEMINI_ID.encode()


@pytest.mark.parametrize("extra", [["--session-id", GEMINI_ID], ["--resume=latest"], ["-r", "2"]])
def test_gemini_leaves_the_session_to_extra_args_that_choose_one(make_request, extra):
    for session in (None, GEMINI_ID):
        argv = get_agent("gemini", {"extra_args": extra}).prepare(
            request_for(make_request, session=session)).argv
        assert sum(a.split("=")[0] in ("--session-id", "--resume", "-r") for a in argv) == 1


def test_opencode_continues_with_session(make_request):
    agent = get_agent("opencode", {"model": "mock/mock-model"})
    cold = agent.prepare(request_for(make_request)).argv
    warm = agent.prepare(request_for(make_request, session=OPENCODE_ID)).argv
    assert "--session" not in cold and warm == (*cold, "--session", OPENCODE_ID)


def test_aider_ignores_the_session(make_request):
    agent = get_agent("aider")
    assert (agent.prepare(request_for(make_request, session="anything")).argv
            == agent.prepare(request_for(make_request)).argv)


# -- session_in_log ---------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "log", "expected"), [
    ("claude", CLAUDE_LOG, CLAUDE_ID), ("codex", CODEX_LOG, CODEX_ID),
    ("opencode", OPENCODE_LOG, OPENCODE_ID)])
def test_the_session_of_an_attempt_cut_off_mid_line(tmp_path, name, log, expected):
    path = tmp_path / "output.log"
    path.write_text(log, encoding="utf-8")  # each ends inside a line, as a killed CLI's log does
    assert get_agent(name).session_in_log(path) == expected


@pytest.mark.parametrize(("name", "log"), [
    ("claude", CLAUDE_LOG), ("codex", CODEX_LOG), ("opencode", OPENCODE_LOG)])
def test_no_session_before_the_event_that_names_it(tmp_path, name, log):
    path = tmp_path / "output.log"
    first = log.index("{")
    cut = log[:log.index("\n", first) - 20]  # the naming event itself cut off
    for text in ("", "Loading...\n", cut):
        path.write_text(text, encoding="utf-8")
        assert get_agent(name).session_in_log(path) is None, text
    assert get_agent(name).session_in_log(tmp_path / "missing.log") is None


def test_only_claude_s_init_names_the_session_it_started(tmp_path):
    """A --resume Claude Code refused prints the id it was given in its result: no session."""
    path = tmp_path / "output.log"
    path.write_text(f"No conversation found with session ID: {CLAUDE_ID}\n" + json.dumps(
        {"type": "result", "subtype": "error_during_execution", "is_error": True,
         "session_id": CLAUDE_ID, "errors": [f"No conversation found with session ID: {CLAUDE_ID}"]}))
    assert get_agent("claude").session_in_log(path) is None


def test_the_head_of_a_huge_log_is_enough(tmp_path):
    path = tmp_path / "output.log"
    with open(path, "w", encoding="utf-8") as out:
        out.write(CLAUDE_LOG + "\n")
        out.write('{"type":"assistant","message":{"content":"flood"}}\n' * 100_000)
    assert get_agent("claude").session_in_log(path) == CLAUDE_ID
    assert len(read_head(path, 1000).encode()) <= 1000
    late = tmp_path / "late.log"
    late.write_text("x" * 300_000 + "\n" + CLAUDE_LOG + "\n")  # beyond the head: not looked for
    assert get_agent("claude").session_in_log(late) is None


def test_read_head_drops_only_a_line_cut_by_the_window(tmp_path):
    path = tmp_path / "log"
    path.write_bytes(b"one\ntwo\nthree")
    assert read_head(path, 100) == "one\ntwo\nthree"
    assert read_head(path, 6) == "one\n"
    assert read_head(path, 2) == ""
    assert read_head(tmp_path / "none") == ""


def test_gemini_s_session_is_the_one_shoal_gave_it(tmp_path):
    agent = get_agent("gemini")
    log = tmp_path / "output.log"
    log.write_text("Loaded cached credentials.\n")  # json output names the session only at the end
    assert agent.session_in_log(log) is None
    (tmp_path / SESSION_FILE).write_text(GEMINI_ID)
    assert agent.session_in_log(log) == GEMINI_ID


def test_gemini_s_finished_attempt_names_its_session_in_its_document(tmp_path):
    log = tmp_path / "output.log"
    log.write_text("Loaded cached credentials.\n" + json.dumps(
        {"session_id": GEMINI_ID, "response": "done", "stats": {}}, indent=2) + "\n")
    assert get_agent("gemini").session_in_log(log) == GEMINI_ID


def test_agents_that_do_not_continue_name_no_session(tmp_path):
    log = tmp_path / "output.log"
    log.write_text(CLAUDE_LOG)
    assert get_agent("aider").session_in_log(log) is None
    assert get_agent("script", {"run": ["true"]}).session_in_log(log) is None


# -- an id the CLI cannot resume --------------------------------------------------------------
CLAUDE_REFUSED = (
    f"No conversation found with session ID: {CLAUDE_ID}\n" + json.dumps(
        {"type": "result", "subtype": "error_during_execution", "duration_ms": 0, "is_error": True,
         "num_turns": 0, "stop_reason": None, "session_id": CLAUDE_ID, "total_cost_usd": 0,
         "usage": {"input_tokens": 0, "output_tokens": 0}, "modelUsage": {},
         "permission_denials": [], "errors": [f"No conversation found with session ID: {CLAUDE_ID}"]},
        separators=(",", ":")) + "\n")


@pytest.mark.parametrize(("name", "log", "code", "said"), [
    ("claude", CLAUDE_REFUSED, 1, "No conversation found"),
    ("claude", json.dumps({"type": "result", "subtype": "error_during_execution", "is_error": True,
                           "errors": [("Error: --resume requires a valid session ID or session "
                                       "title when used with --print.")]}) + "\n",
     1, "requires a valid"),
    ("codex", ("WARNING: proceeding, even though we could not create PATH aliases\nError: "
               f"thread/resume: thread/resume failed: no rollout found for thread id {CODEX_ID} "
               "(code -32600)\n\nStack backtrace:\n   0: <unknown>\n"), 1, "no rollout found"),
    ("codex", (f"Error: thread/resume: thread/resume failed: thread {CODEX_ID} already has an "
               "active writer (code -32600)\n"), 1, "active writer"),
    ("gemini", ("Warning: 256-color support not detected.\nError resuming session: Invalid session "
                f'identifier "{GEMINI_ID}".\n  Searched for sessions in /h/.gemini/tmp/r/chats.\n'),
     42, "Invalid session identifier"),
    ("gemini", "Error resuming session: No previous sessions found for this project.\n", 42,
     "No previous sessions"),
    ("opencode", "\x1b[91m\x1b[1mError: \x1b[0mSession not found\n", 1, "Error: Session not found"),
])
def test_an_id_the_cli_cannot_resume_is_no_session(tmp_path, name, log, code, said):
    result = get_agent(name).interpret(outcome(tmp_path / "output.log", log, code))
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.NO_SESSION), result
    assert said in result.summary and "\x1b" not in result.summary
    assert result.summary.startswith(f"{name} could not continue the earlier session")


def test_other_failures_are_not_no_session(tmp_path):
    log = tmp_path / "output.log"
    assert get_agent("opencode").interpret(outcome(log, "Error: Model not found\n")).error \
        is not ErrorKind.NO_SESSION
    assert get_agent("gemini").interpret(outcome(log, "Error: bad flag\n", 42)).error \
        is not ErrorKind.NO_SESSION


# -- the fakes, continued through the adapters ------------------------------------------------
def attempt(name: str, make_request, workdir: Path, folder: Path, session: str | None = None,
            prompt: str = PROMPT, timeout: float = 20.0, **options: object):
    """One attempt of ``name`` (its fake on PATH) with its own attempt folder."""
    folder.mkdir(parents=True, exist_ok=True)
    request = replace(make_request(prompt=prompt, options=options), attempt_dir=folder,
                      continue_session=session)
    agent = get_agent(name, dict(options))
    done = run_invocation(agent.prepare(request), request.workdir, folder, timeout=timeout)
    return agent, done, agent.interpret(done)


@pytest.mark.parametrize("name", ["claude", "codex", "gemini", "opencode"])
def test_a_fake_continues_its_session_in_the_same_folder(name, fake_cli, make_request, workdir, tmp_path):
    recorded = fake_cli(name)
    agent, first, result = attempt(name, make_request, workdir, tmp_path / "a1")
    assert result.ok, result
    session = agent.session_in_log(first.log_path)
    assert session and session == result.session_id
    _, second, again = attempt(name, make_request, workdir, tmp_path / "a2", session,
                               prompt="Continue where you left off.")
    assert again.ok and again.session_id == session, again
    assert agent.session_in_log(second.log_path) == session
    last = calls(recorded)[-1]
    assert last["resumed"] and last["session"] == session and PROMPT in last["prompt"]
    line = f"written by fake {name} for t1\n"
    assert (workdir / "src/out.txt").read_text() == line  # what the session did is not redone
    assert again.report is not None and again.report.files_modified == ("src/out.txt",)


@pytest.mark.parametrize("name", ["claude", "codex", "gemini", "opencode"])
def test_a_fake_refuses_an_unknown_id_as_the_real_one(name, fake_cli, make_request, workdir, tmp_path):
    fake_cli(name)
    if name == "gemini":  # with a session of the folder saved, the other message
        attempt(name, make_request, workdir, tmp_path / "a0")
    unknown = "ses_0000000000000000000000000a" if name == "opencode" else str(uuid.uuid4())
    _, done, result = attempt(name, make_request, workdir, tmp_path / "a1", unknown)
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.NO_SESSION), result
    assert done.exit_code == {"gemini": 42}.get(name, 1)


def test_claude_s_fake_keeps_sessions_per_folder(fake_cli, make_request, workdir, tmp_path):
    fake_cli("claude")
    agent, first, _ = attempt("claude", make_request, workdir, tmp_path / "a1")
    session = agent.session_in_log(first.log_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    request = replace(make_request(prompt=PROMPT), workdir=elsewhere, attempt_dir=tmp_path / "a2",
                      continue_session=session)
    (tmp_path / "a2").mkdir()
    done = run_invocation(agent.prepare(request), elsewhere, tmp_path / "a2")
    assert agent.interpret(done).error is ErrorKind.NO_SESSION


def test_codex_s_fake_refuses_sandbox_after_resume(fake_cli, make_request, workdir, attempt_dir):
    fake_cli("codex")
    argv = ("codex", "exec", "--json", "resume", "--sandbox", "workspace-write", CODEX_ID, "hi")
    invocation = replace(get_agent("codex").prepare(make_request(prompt=PROMPT)), argv=argv)
    done = run_invocation(invocation, workdir, attempt_dir)
    assert done.exit_code == 2 and "unexpected argument '--sandbox'" in done.tail()


def test_codex_s_fake_counts_the_whole_thread(fake_cli, make_request, workdir, tmp_path):
    """codex-cli 0.169.1's turn.completed usage of a resumed thread includes the earlier turns."""
    fake_cli("codex")
    agent, first, cold = attempt("codex", make_request, workdir, tmp_path / "a1")
    _, _, warm = attempt("codex", make_request, workdir, tmp_path / "a2",
                         agent.session_in_log(first.log_path))
    assert cold.tokens_in and warm.tokens_in == 2 * cold.tokens_in


def test_opencode_s_fake_works_elsewhere_and_waits_from_another_folder(fake_cli, make_request,
                                                                       workdir, tmp_path):
    """OpenCode 1.18.33 continues a session in the folder it started in and, run from another,
    prints nothing until it is stopped."""
    fake_cli("opencode")
    agent, first, _ = attempt("opencode", make_request, workdir, tmp_path / "a1")
    session = agent.session_in_log(first.log_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    more = "## Files to Modify\n- src/more.txt\n"
    request = replace(make_request(prompt=more), workdir=elsewhere,
                      attempt_dir=tmp_path / "a2", continue_session=session)
    (tmp_path / "a2").mkdir()
    done = run_invocation(agent.prepare(request), elsewhere, tmp_path / "a2", timeout=0.5)
    assert done.timed_out and done.tail() == ""
    assert (workdir / "src/more.txt").exists() and not (elsewhere / "src").exists()
