"""`process.run`: short commands on real child processes."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from shoal.errors import ExitCode, ShoalError
from shoal.process import (
    CommandFailed,
    CommandTimedOut,
    Completed,
    ExecutableNotFound,
    run,
)

from .helpers import alive, read_pid, wait_for

PY = sys.executable


def py(code: str) -> list[str]:
    return [PY, "-c", code]


def test_captures_stdout_stderr_and_returncode(tmp_path: Path) -> None:
    done = run(py("import sys; print('out'); print('err', file=sys.stderr)"), cwd=tmp_path)
    assert isinstance(done, Completed)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"out\n", b"err\n")
    assert done.ok and done.text == "out" and not done.timed_out
    assert done.argv == (PY, "-c", "import sys; print('out'); print('err', file=sys.stderr)")
    assert done.duration > 0


def test_runs_in_the_given_cwd(tmp_path: Path) -> None:
    assert run(py("import os; print(os.getcwd())"), cwd=tmp_path).text == str(tmp_path)


def test_pwd_names_the_cwd_not_the_orchestrators_folder(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13: OpenCode takes its project folder from $PWD; with the orchestrator's PWD a
    worker edited the user's checkout instead of its workspace."""
    monkeypatch.setenv("PWD", "/somewhere/else")
    code = "import os; print(os.environ['PWD'])"
    assert run(py(code), cwd=tmp_path).text == str(tmp_path)
    given = {"PATH": os.environ["PATH"], "PWD": "/elsewhere"}
    assert run(py(code), cwd=tmp_path, env=given).text == str(tmp_path)
    as_bytes = {b"PATH": os.environb[b"PATH"], b"PWD": b"/elsewhere"}
    assert run(py(code), cwd=tmp_path, env=as_bytes).text == str(tmp_path)  # type: ignore[arg-type]


def test_stdin_is_closed(tmp_path: Path) -> None:
    # would hang on an inherited terminal; closed stdin reads as EOF at once
    done = run(py("import sys; print(repr(sys.stdin.read()))"), cwd=tmp_path, timeout=20)
    assert done.text == "''"


def test_input_is_fed_to_stdin(tmp_path: Path) -> None:
    done = run(py("import sys; sys.stdout.write(sys.stdin.read().upper())"), cwd=tmp_path,
               input=b"hello")
    assert done.stdout == b"HELLO"


def test_nonzero_exit_raises_command_failed_with_details(tmp_path: Path) -> None:
    code = "import sys; print('some output'); sys.stderr.write('line1\\nboom: it broke\\n'); sys.exit(3)"
    with pytest.raises(CommandFailed) as info:
        run(py(code), cwd=tmp_path)
    e = info.value
    assert isinstance(e, ShoalError) and e.exit_code == ExitCode.PROBLEMS
    assert e.returncode == 3 and e.argv == (PY, "-c", code)
    assert e.stdout == b"some output\n" and "boom: it broke" in e.stderr_tail
    assert "exit code 3" in e.message and "boom: it broke" in e.message
    assert e.hint and str(tmp_path) in e.hint


def test_stderr_tail_keeps_only_the_end(tmp_path: Path) -> None:
    code = "import sys; [print(f'line {i}', file=sys.stderr) for i in range(1000)]; sys.exit(1)"
    with pytest.raises(CommandFailed) as info:
        run(py(code), cwd=tmp_path)
    tail = info.value.stderr_tail
    assert tail.endswith("line 999") and "line 900" not in tail and len(tail) <= 2000


def test_check_false_returns_the_failure(tmp_path: Path) -> None:
    done = run(py("import sys; sys.exit(5)"), cwd=tmp_path, check=False)
    assert done.returncode == 5 and not done.ok


def test_signal_death_is_negative_and_named(tmp_path: Path) -> None:
    code = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    assert run(py(code), cwd=tmp_path, check=False).returncode == -9
    with pytest.raises(CommandFailed, match="killed by SIGKILL"):
        run(py(code), cwd=tmp_path)


def test_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    code = (
        "import os, subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(pidfile)!r} + '.tmp', 'w').write(str(p.pid))\n"
        f"os.replace({str(pidfile)!r} + '.tmp', {str(pidfile)!r})\n"
        "print('started', flush=True)\n"
        "time.sleep(600)\n"
    )
    start = time.monotonic()
    with pytest.raises(CommandTimedOut) as info:
        run(py(code), cwd=tmp_path, timeout=2)
    assert time.monotonic() - start < 10
    assert info.value.timeout == 2 and "did not finish within 2s" in info.value.message
    assert info.value.stdout == b"started\n"  # what it printed before the timeout is kept
    grandchild = read_pid(pidfile)
    assert wait_for(lambda: not alive(grandchild), 5)  # KILL is delivered asynchronously


def test_timeout_without_check_reports_timed_out(tmp_path: Path) -> None:
    done = run(py("import time; time.sleep(600)"), cwd=tmp_path, timeout=0.5, check=False)
    assert done.timed_out and done.returncode == -9


def test_missing_executable_is_a_readable_error(tmp_path: Path) -> None:
    with pytest.raises(ExecutableNotFound) as info:
        run(["shoal-no-such-agent-cli", "--print"], cwd=tmp_path)
    e = info.value
    assert e.program == "shoal-no-such-agent-cli"
    assert "cannot run 'shoal-no-such-agent-cli': no such program" in str(e)
    assert e.hint and "PATH" in e.hint and "Traceback" not in str(e)


def test_missing_executable_with_check_false_still_raises(tmp_path: Path) -> None:
    with pytest.raises(ExecutableNotFound):
        run([str(tmp_path / "nope")], cwd=tmp_path, check=False)


def test_not_executable_file(tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    with pytest.raises(ExecutableNotFound, match="permission denied"):
        run([str(script)], cwd=tmp_path)


def test_missing_cwd_is_not_reported_as_a_missing_program(tmp_path: Path) -> None:
    with pytest.raises(ShoalError) as info:
        run(py("print(1)"), cwd=tmp_path / "gone")
    assert not isinstance(info.value, ExecutableNotFound)
    assert str(tmp_path / "gone") in info.value.message


def test_relative_cwd_and_string_argv_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="absolute"):
        run(py("print(1)"), cwd=Path("relative"))
    with pytest.raises(ValueError, match="list"):
        run("echo hi", cwd=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        run([], cwd=tmp_path)


def test_no_shell_interpretation(tmp_path: Path) -> None:
    done = run([PY, "-c", "import sys; print(sys.argv[1:])", "$HOME", "a b", ";rm -rf /"], cwd=tmp_path)
    assert done.text == "['$HOME', 'a b', ';rm -rf /']"


def test_default_env_is_cleaned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_DIR", "/elsewhere/.git")
    monkeypatch.setenv("GIT_INDEX_FILE", "/elsewhere/index")
    monkeypatch.setenv("CLAUDECODE", "1")
    monkeypatch.setenv("CLAUDE_CODE_ENTRYPOINT", "cli")
    monkeypatch.setenv("SHOAL_TEST_KEEP", "kept")
    code = "import json, os; print(json.dumps(dict(os.environ)))"
    import json

    env = json.loads(run(py(code), cwd=tmp_path).text)
    for name in ("GIT_DIR", "GIT_INDEX_FILE", "CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT"):
        assert name not in env
    assert env["GIT_TERMINAL_PROMPT"] == "0" and env["SHOAL_TEST_KEEP"] == "kept"
    assert env["PATH"] == os.environ["PATH"]


def test_explicit_env_is_used_as_is(tmp_path: Path) -> None:
    done = run(py("import os; print(os.environ.get('ONLY'), 'PATH' in os.environ)"), cwd=tmp_path,
               env={"ONLY": "this"})
    assert done.text == "this False"


def test_failure_message_redacts_secrets(tmp_path: Path) -> None:
    with pytest.raises(CommandFailed) as info:
        run([PY, "-c", "import sys; sys.exit(1)", "--api-key", "hunter2"], cwd=tmp_path)
    assert "hunter2" not in str(info.value) and "--api-key '***'" in str(info.value)
