"""`process.spawn` and `Child`: long-running workers on real child processes."""

from __future__ import annotations

import os
import resource
import sys
import threading
import time
from pathlib import Path

import pytest

from shoal.process import Child, ExecutableNotFound, spawn

from .helpers import alive, read_pid, wait_for

PY = sys.executable


def py(code: str) -> list[str]:
    return [PY, "-c", code]


def write_pid(pidfile: Path, expr: str) -> str:
    """Child code that atomically writes the pid `expr` evaluates to into `pidfile`."""
    return (f"open({str(pidfile)!r} + '.tmp', 'w').write(str({expr}))\n"
            f"os.replace({str(pidfile)!r} + '.tmp', {str(pidfile)!r})\n")


def family(tmp_path: Path, *, ignore_term: bool) -> str:
    """A child that starts a sleeping grandchild (same group), records its pid and sleeps."""
    ignore = "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if ignore_term else ""
    grandchild = f"import signal, time\n{ignore}time.sleep(600)"
    return (
        "import os, signal, subprocess, sys, time\n"
        f"{ignore}"
        f"p = subprocess.Popen([sys.executable, '-c', {grandchild!r}])\n"
        + write_pid(tmp_path / "grandchild.pid", "p.pid")
        + "time.sleep(600)\n"
    )


def test_output_goes_to_the_log(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "task.log"
    child = spawn(py("import sys; print('to stdout'); print('to stderr', file=sys.stderr)"),
                  cwd=tmp_path, log_path=log)
    assert child.wait(20) == 0
    assert log.read_text().splitlines() == ["to stdout", "to stderr"]
    assert child.output_size() == len(log.read_bytes())


def test_log_streams_while_running(tmp_path: Path) -> None:
    log, go = tmp_path / "task.log", tmp_path / "go"
    code = ("import os, time\nprint('working', flush=True)\n"
            f"while not os.path.exists({str(go)!r}): time.sleep(0.01)\nprint('done')")
    with spawn(py(code), cwd=tmp_path, log_path=log) as child:
        assert wait_for(lambda: b"working" in log.read_bytes())
        assert child.poll() is None  # still running, yet its output is visible
        assert child.output_size() == len(b"working\n")
        go.touch()
        assert child.wait(20) == 0
    assert log.read_text() == "working\ndone\n"


def test_log_is_appended_and_size_counts_only_this_worker(tmp_path: Path) -> None:
    log = tmp_path / "task.log"
    log.write_bytes(b"previous attempt\n")
    child = spawn(py("print('again')"), cwd=tmp_path, log_path=log)
    child.wait(20)
    assert log.read_bytes() == b"previous attempt\nagain\n"
    assert child.output_size() == len(b"again\n")


def test_stdin_is_closed(tmp_path: Path) -> None:
    child = spawn(py("import sys; print(repr(sys.stdin.read()))"), cwd=tmp_path,
                  log_path=tmp_path / "log")
    assert child.wait(20) == 0
    assert (tmp_path / "log").read_text() == "''\n"


def test_own_process_group(tmp_path: Path) -> None:
    with spawn(py("import time; time.sleep(600)"), cwd=tmp_path, log_path=tmp_path / "log") as child:
        assert os.getpgid(child.pid) == child.pid != os.getpgid(0)


def test_last_output_time(tmp_path: Path) -> None:
    go = tmp_path / "go"
    code = (f"import os, time\nwhile not os.path.exists({str(go)!r}): time.sleep(0.01)\n"
            "print('x', flush=True)\ntime.sleep(600)")
    with spawn(py(code), cwd=tmp_path, log_path=tmp_path / "log") as child:
        assert child.last_output_time() >= child.started  # nothing written yet: the start time
        time.sleep(0.3)
        go.touch()
        assert wait_for(lambda: child.output_size() > 0)
        written = child.last_output_time()
        assert written >= child.started and written <= time.time()
        time.sleep(0.5)
        assert time.time() - child.last_output_time() >= 0.4  # idle since


def test_stop_well_behaved_child(tmp_path: Path) -> None:
    child = spawn(py("import time; time.sleep(600)"), cwd=tmp_path, log_path=tmp_path / "log")
    start = time.monotonic()
    assert child.stop(grace=10) == -15  # a TERM death, negative like subprocess
    assert time.monotonic() - start < 5
    assert not alive(child.pid) and child.returncode == -15


def test_stop_kills_term_ignoring_child_and_grandchild(tmp_path: Path) -> None:
    child = spawn(py(family(tmp_path, ignore_term=True)), cwd=tmp_path, log_path=tmp_path / "log")
    grandchild = read_pid(tmp_path / "grandchild.pid")
    assert alive(child.pid) and alive(grandchild)
    start = time.monotonic()
    assert child.stop(grace=0.5) == -9
    assert time.monotonic() - start >= 0.5  # the grace period was honoured
    assert not alive(child.pid)
    assert not alive(grandchild)


def test_stop_kills_grandchild_that_ignores_term_when_child_obeys(tmp_path: Path) -> None:
    code = family(tmp_path, ignore_term=True).replace(
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\np =", "p =", 1
    )
    child = spawn(py(code), cwd=tmp_path, log_path=tmp_path / "log")
    grandchild = read_pid(tmp_path / "grandchild.pid")
    assert child.stop(grace=0.5) == -15
    assert not alive(grandchild)


def test_stop_after_exit_kills_leftover_grandchildren(tmp_path: Path) -> None:
    code = family(tmp_path, ignore_term=False).removesuffix("time.sleep(600)\n") + "print('bye')\n"
    child = spawn(py(code), cwd=tmp_path, log_path=tmp_path / "log")
    assert child.wait(20) == 0  # the worker itself finished...
    grandchild = read_pid(tmp_path / "grandchild.pid")
    assert alive(grandchild)  # ...but left something running in its group
    assert child.stop(grace=5) == 0
    assert not alive(grandchild)


def test_stop_is_idempotent_and_reaps(tmp_path: Path) -> None:
    child = spawn(py("import sys; sys.exit(4)"), cwd=tmp_path, log_path=tmp_path / "log")
    assert child.wait(20) == 4
    assert child.stop() == 4
    assert child.stop() == 4
    with pytest.raises(ChildProcessError):  # reaped: no zombie left behind
        os.waitpid(child.pid, os.WNOHANG)


def test_concurrent_stops_agree(tmp_path: Path) -> None:
    child = spawn(py(family(tmp_path, ignore_term=True)), cwd=tmp_path, log_path=tmp_path / "log")
    read_pid(tmp_path / "grandchild.pid")
    codes: list[int] = []
    threads = [threading.Thread(target=lambda: codes.append(child.stop(grace=0.3))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert codes == [-9, -9, -9]


def test_context_manager_stops_on_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), spawn(py(family(tmp_path, ignore_term=False)),
                                            cwd=tmp_path, log_path=tmp_path / "log") as child:
        grandchild = read_pid(tmp_path / "grandchild.pid")
        raise RuntimeError("orchestrator failed")
    assert isinstance(child, Child) and child.returncode == -15
    assert not alive(child.pid) and not alive(grandchild)


def test_wait_timeout_returns_none(tmp_path: Path) -> None:
    with spawn(py("import time; time.sleep(600)"), cwd=tmp_path, log_path=tmp_path / "log") as child:
        assert child.wait(0.1) is None and child.poll() is None


def test_flood_goes_to_disk_not_to_memory(tmp_path: Path) -> None:
    size = 50 * 1024 * 1024
    code = ("import sys\nchunk = b'x' * 1048575 + b'\\n'\n"
            f"for _ in range({size // 1048576}): sys.stdout.buffer.write(chunk)\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    child = spawn(py(code), cwd=tmp_path, log_path=tmp_path / "log")
    seen = 0
    while child.poll() is None:  # a watchdog can read the size while it grows
        seen = max(seen, child.output_size())
        time.sleep(0.005)
    assert child.returncode == 0
    assert child.output_size() == size == (tmp_path / "log").stat().st_size
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 20 * 1024  # shoal never held the output


def test_missing_executable(tmp_path: Path) -> None:
    with pytest.raises(ExecutableNotFound, match="shoal-missing-agent"):
        spawn(["shoal-missing-agent"], cwd=tmp_path, log_path=tmp_path / "log")


def test_spawn_env_is_cleaned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_WORK_TREE", "/elsewhere")
    monkeypatch.setenv("CLAUDECODE", "1")
    code = "import os; print(os.environ.get('GIT_WORK_TREE'), os.environ.get('CLAUDECODE'))"
    child = spawn(py(code), cwd=tmp_path, log_path=tmp_path / "log")
    child.wait(20)
    assert (tmp_path / "log").read_text() == "None None\n"
