"""The fake agent CLI, run as a real child process through the command agent, scenario by scenario."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from shoal.agents import ErrorKind, ResultSource, ResultStatus, get_agent
from shoal.testing.fake_agent import SCENARIOS, files_to_modify, main

FAKE_AGENT = [sys.executable, "-m", "shoal.testing.fake_agent"]

PROMPT = """# Task Worker: Execute Task t1

## Files to Modify
- src/app.py
- `docs/guide.md`
- src/pkg/**

## Expected Output
```json
{"status": "pass|fail|blocked"}
```
"""


def fake(scenario: str, *extra: str):
    template = [*FAKE_AGENT, "--prompt-file", "{prompt_file}", "--cwd", "{workdir}",
                "--scenario", scenario, *extra]
    return get_agent("command", {"command": template})


def attempt(make_request, run, scenario, *extra, timeout=20.0, prompt=PROMPT):
    agent = fake(scenario, *extra)
    outcome = run(agent.prepare(make_request(prompt=prompt)), timeout=timeout)
    return outcome, agent.interpret(outcome)


def test_ok_writes_the_listed_files_and_reports(make_request, run, workdir):
    (workdir / "src").mkdir()
    (workdir / "src" / "app.py").write_text("old\n")
    outcome, result = attempt(make_request, run, "ok", "--write", "notes.txt=hello")
    assert outcome.exit_code == 0
    assert (result.status, result.source) == (ResultStatus.SUCCEEDED, ResultSource.REPORT)
    assert result.report.files_modified == ("src/app.py",)
    assert result.report.files_created == ("docs/guide.md", "notes.txt")
    assert (workdir / "src" / "app.py").read_text().startswith("old\n# written by")
    assert (workdir / "notes.txt").read_text() == "hello"
    assert "TASK COMPLETE" in outcome.tail()


def test_fail_json(make_request, run):
    outcome, result = attempt(make_request, run, "fail-json")
    assert outcome.exit_code == 0
    assert (result.status, result.source) == (ResultStatus.FAILED, ResultSource.REPORT)


def test_blocked(make_request, run):
    _, result = attempt(make_request, run, "blocked")
    assert result.status is ResultStatus.BLOCKED


def test_crash(make_request, run):
    outcome, result = attempt(make_request, run, "crash")
    assert outcome.exit_code == 3
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.CRASH)
    assert "simulated crash" in result.summary


def _group_gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_hang_is_killed_at_the_timeout(make_request, run):
    started = time.monotonic()
    outcome, result = attempt(make_request, run, "hang", timeout=1.5)
    assert time.monotonic() - started < 10
    assert outcome.timed_out and outcome.exit_code < 0
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.TIMEOUT)


def test_hang_ignores_sigterm(workdir):
    proc = subprocess.Popen([*FAKE_AGENT, "--scenario", "hang", "--cwd", str(workdir)],
                            stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert proc.stdout.readline().startswith(b"fake agent:")
        assert proc.stdout.readline() == b"fake agent: hanging\n"
        os.killpg(proc.pid, 15)
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(0.5)
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()
        proc.stdout.close()
    assert _group_gone(proc.pid)


def test_hang_after_result_keeps_the_result(make_request, run, workdir):
    outcome, result = attempt(make_request, run, "hang-after-result", timeout=2)
    assert outcome.timed_out
    assert result.status is ResultStatus.SUCCEEDED
    assert any("time limit" in note for note in result.notes)
    assert (workdir / "src" / "app.py").exists()


def test_flood_is_read_bounded(make_request, run):
    outcome, result = attempt(make_request, run, "flood", "--flood-mb", "6")
    assert outcome.log_path.stat().st_size > 6 * 1024 * 1024
    assert len(outcome.tail(1024 * 1024)) <= 1024 * 1024
    assert (result.status, result.source) == (ResultStatus.SUCCEEDED, ResultSource.REPORT)


def test_marker(make_request, run, workdir):
    outcome, result = attempt(make_request, run, "marker")
    assert "TASK COMPLETE" not in outcome.tail()
    assert (result.status, result.source) == (ResultStatus.SUCCEEDED, ResultSource.MARKER)
    assert not (workdir / ".claude-task-complete").exists()


def test_bad_json(make_request, run):
    _, result = attempt(make_request, run, "bad-json")
    assert (result.status, result.source) == (ResultStatus.SUCCEEDED, ResultSource.EXIT_CODE)
    assert result.report is None
    assert any("not valid JSON" in note for note in result.notes)


def test_bad_json_with_require_report_is_bad_output(make_request, run):
    template = [*FAKE_AGENT, "--cwd", "{workdir}", "--scenario", "bad-json"]
    agent = get_agent("command", {"command": template, "require_report": True})
    result = agent.interpret(run(agent.prepare(make_request())))
    assert result.error is ErrorKind.BAD_OUTPUT


def test_outside(make_request, run, workdir):
    _, result = attempt(make_request, run, "outside", "--outside", "other/x.txt")
    assert result.ok
    assert (workdir / "other" / "x.txt").exists()
    assert "other/x.txt" in result.report.files_created


def test_delete(make_request, run, workdir):
    (workdir / "src").mkdir()
    (workdir / "src" / "app.py").write_text("x")
    _, result = attempt(make_request, run, "delete")
    assert result.ok
    assert not (workdir / "src" / "app.py").exists()


def test_rate_limit(make_request, run):
    _, result = attempt(make_request, run, "rate-limit")
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.RATE_LIMITED)


def test_scenario_from_environment(make_request, run):
    template = [*FAKE_AGENT, "--prompt-file", "{prompt_file}", "--cwd", "{workdir}"]
    agent = get_agent("command", {"command": template, "env": {"SHOAL_FAKE_SCENARIO": "crash"}})
    assert run(agent.prepare(make_request())).exit_code == 3


@pytest.mark.parametrize("args", [["--bogus"], ["--scenario", "nope"], ["--write", "no-equals"],
                                  ["--cwd", "/no/such/dir"], ["--prompt-file", "/no/such/file"]])
def test_usage_errors_exit_2(args, workdir):
    proc = subprocess.run([*FAKE_AGENT, *args], cwd=workdir, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=20)
    assert proc.returncode == 2
    assert "usage: shoal-fake-agent" in proc.stderr


def test_refuses_to_write_outside_its_folder(workdir, capsys):
    assert main(["--cwd", str(workdir), "--write", "../escape.txt=x"]) == 2
    assert not (workdir.parent / "escape.txt").exists()
    assert "outside" in capsys.readouterr().err


def test_files_to_modify():
    assert files_to_modify(PROMPT) == ["src/app.py", "docs/guide.md"]
    assert files_to_modify("no headings\n- a.py\n") == []


def test_every_scenario_is_tested():
    tested = {"ok", "fail-json", "blocked", "crash", "hang", "hang-after-result", "flood",
              "marker", "bad-json", "outside", "delete", "rate-limit"}
    assert set(SCENARIOS) == tested


def test_main_is_importable_as_a_console_script():
    assert callable(main)
    proc = subprocess.run([sys.executable, "-m", "shoal.testing.fake_agent", "--help"],
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode == 0 and "--scenario" in proc.stdout
