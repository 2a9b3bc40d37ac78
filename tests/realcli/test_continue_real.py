"""Each real agent CLI that can continue a session, driven by shoal's adapter (its own argument
list) against the mock model: cut off mid-turn, then continued in the same folder (issue 14,
item 1).

The first attempt is killed (SIGKILL to its process group) once its second model turn has
reached the mock, which holds it (a scripted delay): one tool call done, the next in flight.
`session_in_log` reads the session from that cut-off log; the continued attempt, told only
that it was cut off (no task id, no files), finishes the task: the mock, which knows the task
and its files only from the earlier prompt, saw the earlier conversation. An id the CLI does
not know, and for the CLIs that keep sessions per folder the same id from another folder, end
the attempt with `ErrorKind.NO_SESSION`.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import urllib.request
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from shoal import process
from shoal.agents import AgentRequest, AgentResult, ErrorKind, ProcessOutcome, get_agent
from shoal.agents.base import BaseAgent
from shoal.model import Plan, Task, TaskId
from shoal.testing import make_repo
from shoal.testing.mockmodel import MockModel

from .clis import FILES, TIMEOUT_S, shoal_prompt

CLIS = ["claude", "codex", "gemini", "opencode"]
TASK = "cut"
OWNS = ["notes.txt", "new/fresh.txt"]
DELAY_S = 2.0  # how long the mock holds each turn of the first attempt: the kill comes in it
CONTINUE = ("Your work was cut off: shoal stopped your session. It has now been resumed in the "
            "same workspace, with everything you had changed still in place. Finish the task as "
            "first asked and end with the report exactly as instructed at the start.")
# the CLIs that keep sessions per folder (codex finds a thread from any folder; OpenCode, from
# another folder, works in the old one and never ends)
PER_FOLDER = ("claude", "gemini")


class Attempts:
    """Attempts of one CLI through shoal's adapter, in one HOME, each in a folder of its own."""

    def __init__(self, cli: str, real_bin: Path, root: Path) -> None:
        self.cli, self.real_bin, self.root = cli, real_bin, root
        self.home = root / "home"
        self.home.mkdir(exist_ok=True)
        self.count = 0

    def agent(self, mock: MockModel) -> BaseAgent:
        settings: dict[str, Any] = mock.agent_settings_for(self.cli)
        settings["executable"] = str(self.real_bin / self.cli)
        settings["env"] = {**settings.get("env", {}), "HOME": str(self.home),
                           "CODEX_HOME": str(self.home / ".codex"),
                           "XDG_CONFIG_HOME": str(self.home / ".config"),
                           "XDG_DATA_HOME": str(self.home / ".local/share")}
        (self.home / ".codex").mkdir(exist_ok=True)
        agent = get_agent(self.cli, settings)
        assert isinstance(agent, BaseAgent)
        return agent

    def start(self, agent: BaseAgent, workdir: Path, prompt: str,
              session: str | None = None) -> tuple[process.Child, ProcessOutcome]:
        """Start one attempt as the engine does (`shoal.process.spawn`: its own process group,
        stdout and stderr into its log, stdin a file or closed); the outcome needs its exit."""
        self.count += 1
        folder = self.root / f"attempt-{self.count}"
        folder.mkdir()
        task = Task(id=TaskId(TASK), title="cut off", owns=tuple(OWNS))
        request = AgentRequest(task=task, plan=Plan(tasks=(task,)), prompt=prompt, workdir=workdir,
                               attempt_dir=folder, attempt=self.count, continue_session=session)
        invocation = agent.prepare(request)
        invocation.write_files()
        env = {**os.environ, **invocation.env}
        for name in ("ANTHROPIC_AUTH_TOKEN", "OPENAI_BASE_URL", "CLAUDECODE"):
            env.pop(name, None)
        stdin = folder / "stdin" if invocation.stdin else None
        if stdin is not None:
            stdin.write_bytes(invocation.stdin or b"")
        log = folder / "output.log"
        child = process.spawn(invocation.argv, cwd=workdir, env=env, log_path=log, stdin_path=stdin)
        return child, ProcessOutcome(exit_code=None, log_path=log, workdir=workdir,
                                     attempt_dir=folder, argv=invocation.argv)

    def run(self, agent: BaseAgent, workdir: Path, prompt: str,
            session: str | None = None) -> tuple[ProcessOutcome, AgentResult]:
        child, outcome = self.start(agent, workdir, prompt, session)
        with child:
            code = child.wait(TIMEOUT_S)
        done = replace(outcome, exit_code=code, timed_out=code is None)
        return done, agent.interpret(done)


def kill(child: process.Child) -> None:
    """SIGKILL to the whole group, no TERM first (codex's npm launcher has the real program as a
    child), then what the engine does: wait until none of it is left, and reap."""
    with suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)
    child.stop()


def log_text(outcome: ProcessOutcome) -> str:
    return outcome.log_path.read_text(encoding="utf-8", errors="replace")


def cut_off(attempts: Attempts, workdir: Path) -> tuple[BaseAgent, ProcessOutcome]:
    """The first attempt, killed while the mock holds its second turn."""
    with MockModel({"*": {"delay": DELAY_S}}, log=attempts.root / "mock-first.jsonl") as mock:
        agent = attempts.agent(mock)
        child, outcome = attempts.start(agent, workdir, shoal_prompt(TASK, OWNS))
        try:
            reached = mock.wait_for_turns(TASK, 2, TIMEOUT_S)
        finally:
            kill(child)
        assert reached, f"{attempts.cli} never asked for a second turn:\n{log_text(outcome)[-3000:]}"
    return agent, outcome


@pytest.mark.parametrize("cli", CLIS)
def test_a_cut_off_attempt_is_continued_in_the_same_folder(cli: str, real_bin: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "scratch", FILES)
    attempts = Attempts(cli, real_bin, tmp_path)
    agent, first = cut_off(attempts, repo)
    session = agent.session_in_log(first.log_path)
    assert session, f"no session in the cut-off log of {cli}:\n{log_text(first)[:3000]}"

    with MockModel(log=tmp_path / "mock-continued.jsonl") as mock:
        done, result = attempts.run(attempts.agent(mock), repo, CONTINUE, session)
        served = mock.model_requests()
    detail = f"{cli} exited {done.exit_code}\n{log_text(done)[-4000:]}"
    assert result.ok and result.report is not None, (result, detail)
    assert result.session_id == session, detail  # the same session, as the CLI printed it
    assert agent.session_in_log(done.log_path) == session, detail
    # the continued message names no task: the mock found it in the earlier conversation
    assert served and {r["task"] for r in served} == {TASK}, [r["task"] for r in served]
    assert any(CONTINUE in json.dumps(r["body"]) for r in served)
    assert served[-1]["step"] == "final"
    assert (repo / "notes.txt").read_text() == f"first line\nedited by {TASK}\n", detail
    assert (repo / "new" / "fresh.txt").read_text() == f"edited by {TASK}\n", detail


@pytest.mark.parametrize("cli", CLIS)
def test_an_unknown_session_is_no_session(cli: str, real_bin: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "scratch", FILES)
    attempts = Attempts(cli, real_bin, tmp_path)
    unknown = "ses_0000000000000000000000000a" if cli == "opencode" else str(uuid.uuid4())
    with MockModel(log=tmp_path / "mock.jsonl") as mock:
        if cli == "gemini":  # with a session of this folder saved, the other refusal
            attempts.run(attempts.agent(mock), repo, shoal_prompt(TASK, OWNS))
        done, result = attempts.run(attempts.agent(mock), repo, CONTINUE, unknown)
        served = [r for r in mock.model_requests() if CONTINUE in json.dumps(r["body"])]
    assert result.error is ErrorKind.NO_SESSION, (result, log_text(done)[-3000:])
    assert not result.ok and not served  # refused before any model call


@pytest.mark.parametrize("cli", PER_FOLDER)
def test_a_session_is_not_found_from_another_folder(cli: str, real_bin: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "scratch", FILES)
    other = make_repo(tmp_path / "other", FILES)
    attempts = Attempts(cli, real_bin, tmp_path)
    with MockModel(log=tmp_path / "mock.jsonl") as mock:
        agent = attempts.agent(mock)
        first, _ = attempts.run(agent, repo, shoal_prompt(TASK, OWNS))
        session = agent.session_in_log(first.log_path)
        assert session
        done, result = attempts.run(agent, other, CONTINUE, session)
    assert result.error is ErrorKind.NO_SESSION, (result, log_text(done)[-3000:])
    assert (other / "notes.txt").read_text() == "first line\n"


def test_the_mock_counts_turns_it_still_holds() -> None:
    """`MockModel.wait_for_turns` sees a turn as it arrives, before its scripted delay."""
    body = {"model": "m", "max_tokens": 10, "tools": [{"name": "Read"}], "messages": [
        {"role": "user", "content": shoal_prompt(TASK, OWNS)}]}
    with MockModel({"*": {"delay": 30}}) as mock:
        request = urllib.request.Request(f"{mock.url}/v1/messages", json.dumps(body).encode(),
                                         {"content-type": "application/json"})
        threading.Thread(target=lambda: _ignore(urllib.request.urlopen, request, timeout=60),
                         daemon=True).start()
        assert mock.wait_for_turns(TASK, 1, 10)
        assert mock.model_requests() == []  # arrived, not yet answered
        assert not mock.wait_for_turns(TASK, 2, 0.1)


def _ignore(call: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    try:
        call(*args, **kwargs)
    except OSError:
        pass
