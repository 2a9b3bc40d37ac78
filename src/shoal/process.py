"""The one way shoal runs programs: short commands (`run`) and long-running workers (`spawn`),
each with an argument list (no shell), an absolute cwd, a cleaned environment, a closed stdin and
its own process group, so that a timeout or a stop reaches grandchildren too."""

from __future__ import annotations

import functools
import os
import re
import shlex
import select
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from .errors import ExitCode, ShoalError

# GIT_* that only pick transport, credentials, identity or config files (as pre-commit's no_git_env);
# any other (GIT_DIR, GIT_INDEX_FILE, GIT_CONFIG_PARAMETERS...) could aim git at the wrong repo.
_GIT_KEEP = frozenset({
    "GIT_ASKPASS", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSL_CAINFO", "GIT_SSL_NO_VERIFY",
    "GIT_HTTP_PROXY_AUTHMETHOD", "GIT_ALLOW_PROTOCOL", "GIT_EXEC_PATH",
    "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM",
    "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
})


# What a Claude Code session (2.1.197) puts in the environment of the commands it runs: markers
# that tie a child to that session (and CLAUDE_EFFORT, the session's effort, which a worker would
# inherit). Only these go: CLAUDE_CODE_OAUTH_TOKEN, CLAUDE_CODE_USE_BEDROCK and every other
# CLAUDE_CODE_* setting or credential the user set stays.
SESSION_MARKERS = frozenset({
    "CLAUDECODE", "CLAUDE_CODE_CHILD_SESSION", "CLAUDE_CODE_ENTRYPOINT", "CLAUDE_CODE_SESSION_ID",
    "CLAUDE_CODE_EXECPATH", "CLAUDE_EFFORT", "AI_AGENT",
})


def clean_env(extra: Mapping[str, str] | None = None, *,
              base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: ``os.environ``) without repository-redirecting ``GIT_*`` variables and
    without the markers of a Claude Code session (`SESSION_MARKERS`: a run started from inside
    Claude Code starts workers of their own), with ``GIT_TERMINAL_PROMPT=0`` (git must never
    wait for a password), then `extra` on top."""
    env = {k: v for k, v in (os.environ if base is None else base).items()
           if not (k.startswith("GIT_") and k not in _GIT_KEEP) and k not in SESSION_MARKERS}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.update(extra or {})
    return env


class CommandFailed(ShoalError):
    """A command exited non-zero (or was killed); carries argv, returncode and the stderr tail."""

    exit_code = ExitCode.PROBLEMS

    def __init__(self, argv: Sequence[str], returncode: int, stdout: bytes, stderr: bytes,
                 cwd: Path, *, what: str | None = None) -> None:
        self.argv, self.returncode, self.stdout, self.stderr = tuple(argv), returncode, stdout, stderr
        self.stderr_tail = _tail(stderr)
        if what is None and returncode < 0:
            names = {sig.value: sig.name for sig in signal.Signals}
            what = f"was killed by {names.get(-returncode, f'signal {-returncode}')}"
        what = what or f"failed with exit code {returncode}"
        text = f"`{redact(argv)}` {what}"
        super().__init__(f"{text}:\n{self.stderr_tail}" if self.stderr_tail else text,
                         hint=f"run it by hand in {cwd} to see the whole output")


class CommandTimedOut(CommandFailed):
    """A command ran past its timeout; its whole process group was killed."""

    def __init__(self, argv: Sequence[str], timeout: float, out: bytes, err: bytes, cwd: Path) -> None:
        self.timeout = timeout
        super().__init__(argv, -signal.SIGKILL, out, err, cwd,
                         what=f"did not finish within {timeout:g}s and was killed")


class ExecutableNotFound(ShoalError):
    """The program to run does not exist or cannot be executed."""

    exit_code = ExitCode.USAGE

    def __init__(self, program: str, *, reason: str = "no such program") -> None:
        self.program = program
        super().__init__(f"cannot run {program!r}: {reason}",
                         hint=f"install {Path(program).name} or add the folder that holds it to "
                              "PATH (or give its absolute path)")


@dataclass(frozen=True)
class Completed:
    """A finished short command. ``returncode`` is negative (-signal) when a signal killed it."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes
    duration: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def text(self) -> str:
        """stdout decoded as UTF-8 (undecodable bytes replaced), trailing newline removed."""
        return self.stdout.decode("utf-8", "replace").removesuffix("\n")


def run(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None,
        timeout: float | None = None, input: bytes | None = None,  # named as in subprocess
        check: bool = True) -> Completed:
    """Run a short command, capturing its output; `env` is the whole environment (default
    :func:`clean_env`). A timeout kills the process group: :class:`CommandTimedOut` with `check`,
    else ``timed_out=True``. With `check`, a non-zero exit raises :class:`CommandFailed`."""
    argv, cwd = _checked(argv, cwd)
    start = time.monotonic()
    proc = _popen(argv, cwd, env, subprocess.PIPE if input is not None else subprocess.DEVNULL,
                  subprocess.PIPE, subprocess.PIPE)
    timed_out = False
    try:
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _killpg(proc.pid, signal.SIGKILL)
            try:  # a grandchild that left the group may still hold the pipes open
                out, err = proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = b"", b""
    except BaseException:  # ^C or similar: never leave the group running or unreaped
        _killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    done = Completed(argv, proc.wait(), out, err, time.monotonic() - start, timed_out)
    if check and timed_out:
        raise CommandTimedOut(argv, timeout or 0.0, out, err, cwd)
    if check and done.returncode != 0:
        raise CommandFailed(argv, done.returncode, out, err, cwd)
    return done


def spawn(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str] | Mapping[bytes, bytes] | None = None,
          log_path: Path, stdin_path: Path | None = None) -> Child:
    """Start a long-running worker in its own process group, stdout and stderr appended straight
    to `log_path` by the child itself (no pipe for shoal to drain). Its stdin is the file at
    `stdin_path` (a file, not a pipe: any size, nothing to feed, no deadlock), else closed."""
    argv, cwd = _checked(argv, cwd)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
    try:
        log = os.open(log_path, flags, 0o644)
    except FileNotFoundError:  # its folder is not there yet (checked only then: per task)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = os.open(log_path, flags, 0o644)
    try:  # the child keeps its own copies of the descriptors
        stdin = os.open(stdin_path, os.O_RDONLY | os.O_CLOEXEC) if stdin_path else subprocess.DEVNULL
        try:
            start_size = os.lseek(log, 0, os.SEEK_END)
            proc = _popen(argv, cwd, env, stdin, log, subprocess.STDOUT)
        finally:
            if stdin != subprocess.DEVNULL:
                os.close(stdin)
    finally:
        os.close(log)
    return Child(proc, log_path, start_size)


class Child:
    """A running worker. ``returncode`` follows subprocess: negative (-signal) for a signal death.
    :meth:`stop` is safe to call twice, concurrently, and after the worker already exited; it
    always reaps. Used as a context manager, the worker is stopped on exit."""

    def __init__(self, proc: subprocess.Popen[bytes], log_path: Path, start_size: int) -> None:
        self._proc, self.pid, self.log_path, self.started = proc, proc.pid, log_path, time.time()
        self.argv = tuple(str(a) for a in proc.args)  # type: ignore[union-attr]
        self._start_size, self._lock, self._stopped = start_size, threading.Lock(), False
        try:
            self._pidfd: int | None = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):  # not Linux >= 5.3: Popen's own polling
            self._pidfd = None

    @property
    def start_size(self) -> int:
        """The log's size when this worker started (its output comes after)."""
        return self._start_size

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode

    @property
    def pidfd(self) -> int | None:
        """A descriptor that polls readable once the worker has exited (Linux >= 5.3), so one
        thread can wait for many workers; None elsewhere, and once the worker is stopped."""
        return self._pidfd

    def poll(self) -> int | None:
        return self._proc.poll()

    def wait(self, timeout: float | None = None) -> int | None:
        """The returncode, or None if still running after `timeout` seconds."""
        if timeout is not None and self._pidfd is not None and self._proc.returncode is None:
            # Popen.wait(timeout) sleep-polls (up to 50 ms late); a pidfd wakes us at the exit.
            poll = select.poll()  # not select(): it fails on descriptors past 1023
            poll.register(self._pidfd, select.POLLIN)
            poll.poll(max(0.0, timeout) * 1000)
            return self._proc.poll()
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace: float = 5.0) -> int:
        """TERM to the process group, up to `grace` seconds for the group to go, KILL, reap.
        Stray members of the group are killed even if the worker itself already exited."""
        with self._lock:
            if self._stopped:
                return self._proc.wait()
            try:
                if self._proc.poll() is None or _group_alive(self.pid):
                    _killpg(self.pid, signal.SIGTERM)
                    deadline = time.monotonic() + grace
                    while (left := deadline - time.monotonic()) > 0:
                        if self._proc.poll() is None:
                            self.wait(min(left, 0.05))
                        elif _group_alive(self.pid):
                            time.sleep(min(left, 0.02))
                        else:
                            break
            finally:  # also on ^C during the grace period
                if self._proc.poll() is None or _group_alive(self.pid):
                    _killpg(self.pid, signal.SIGKILL)
                    self._proc.wait()
                    deadline = time.monotonic() + 2  # KILL is delivered asynchronously
                    while _group_alive(self.pid) and time.monotonic() < deadline:
                        time.sleep(0.01)
                self._proc.wait()
                self._stopped = True
                if self._pidfd is not None:
                    os.close(self._pidfd)
                    self._pidfd = None
            return self._proc.returncode

    def terminate(self) -> None:
        """TERM to the worker's process group, without waiting (:meth:`stop` waits and reaps)."""
        if self._proc.returncode is None:
            _killpg(self.pid, signal.SIGTERM)

    def output_size(self) -> int:
        """Bytes this worker has written to its log so far."""
        try:
            return max(0, self.log_path.stat().st_size - self._start_size)
        except FileNotFoundError:
            return 0

    def last_output_time(self) -> float:
        """Wall-clock time (``time.time()``) of the last write to the log, or the start time."""
        try:
            return max(self.log_path.stat().st_mtime, self.started)
        except FileNotFoundError:
            return self.started

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def pidfds_work() -> bool:
    """Whether this system has pidfds (Linux >= 5.3), which :attr:`Child.pidfd` needs."""
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):
        return False
    return True


_SECRET_WORDS = frozenset({"key", "apikey", "token", "secret", "password", "passwd", "auth"})
_SECRET_ENV = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)
_SECRET_VALUE = re.compile(r"\b(sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|xox[abpr]-[\w-]{10,})")
_SECRET_NAMES = ("KEY", "TOKEN", "SECRET", "PASSWORD")
_MASK = "***"


def redact(argv: Sequence[str]) -> str:
    """A shell-quoted command line for logs, with secrets replaced by ``***``: values of flags
    whose name has a word like key/token/secret/password (``--api-key X``, ``--token=X``),
    ``NAME=value`` where NAME contains KEY/TOKEN/SECRET/PASSWORD, and well-known token shapes."""
    out: list[str] = []
    hide_next = False
    for arg in map(str, argv):
        if hide_next:
            arg, hide_next = _MASK, False
        elif arg.startswith("-") and len(arg) > 1:
            flag, eq, _ = arg.partition("=")
            if any(w in _SECRET_WORDS for w in re.split(r"[-_]+", flag.lower().lstrip("-"))):
                arg, hide_next = (f"{flag}={_MASK}", False) if eq else (arg, True)
        elif (m := _SECRET_ENV.match(arg)) and any(w in m[1].upper() for w in _SECRET_NAMES):
            arg = f"{m[1]}={_MASK}"
        out.append(_SECRET_VALUE.sub(_MASK, arg))
    return shlex.join(out)


def _checked(argv: Sequence[str], cwd: Path) -> tuple[tuple[str, ...], Path]:
    if isinstance(argv, (str, bytes)) or not argv:
        raise ValueError(f"argv must be a non-empty list of arguments, not {argv!r}")
    cwd = Path(cwd)
    if not cwd.is_absolute():  # relative cwd would depend on the orchestrator's own cwd
        raise ValueError(f"cwd must be an absolute path, not {str(cwd)!r}")
    return tuple(os.fspath(a) for a in argv), cwd


def _popen(argv: tuple[str, ...], cwd: Path, env: Mapping[str, str] | Mapping[bytes, bytes] | None,
           stdin: Any, stdout: Any, stderr: Any) -> subprocess.Popen[bytes]:
    env = clean_env() if env is None else dict(env)
    # A shell sets PWD to where it runs; some CLIs (OpenCode) take their project folder from it,
    # so the orchestrator's own PWD would send a worker's edits to the user's checkout.
    if any(isinstance(k, bytes) for k in env):
        env[b"PWD"] = os.fsencode(cwd)  # type: ignore[index,assignment]
    else:
        env["PWD"] = str(cwd)  # type: ignore[index,assignment]
    try:
        return subprocess.Popen(argv, executable=_program(argv[0], env.get("PATH", env.get(b"PATH"))),  # type: ignore[call-overload]
                                cwd=cwd, env=env, stdin=stdin, stdout=stdout, stderr=stderr,
                                start_new_session=True)
    except OSError as e:
        # CPython names the cwd in `filename` when chdir failed, the program when exec failed.
        if str(e.filename) == str(cwd) or not cwd.is_dir():
            raise ShoalError(f"cannot run {argv[0]!r} in {cwd}: {e.strerror}",
                             hint="check that the folder exists and is readable") from None
        reason = {FileNotFoundError: "no such program", PermissionError: "permission denied "
                  "(not executable)"}.get(type(e), e.strerror or str(e))
        raise ExecutableNotFound(argv[0], reason=reason) from None


@functools.lru_cache(maxsize=64)
def _program(name: str, search_path: str | bytes | None) -> str | None:
    """Where `name` is on `search_path`, looked up once per process rather than by every exec
    trying each folder in turn; None (exec searches, and reports) when it is not there or has
    a folder in it already."""
    if os.sep in name or search_path is None:
        return None
    found = shutil.which(name, path=os.fsdecode(search_path))
    return os.path.abspath(found) if found else None


def _killpg(pgid: int, sig: int) -> None:
    with suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    """True while a live (not zombie) process is in the group. Orphaned zombies wait for init
    to reap them, which can take a second in containers, so on Linux they are not counted."""
    try:
        os.killpg(pgid, 0)
        entries = [e.name for e in os.scandir("/proc") if e.name.isdigit()]
    except (ProcessLookupError, PermissionError):  # the group is gone
        return False
    except OSError:  # no /proc (macOS): trust killpg
        return True
    for pid in entries:
        with suppress(OSError):  # the process may be gone by now
            stat = Path(f"/proc/{pid}/stat").read_bytes()
            state, _ppid, pgrp = stat[stat.rfind(b")") + 2 :].split()[:3]  # comm may hold spaces
            if state != b"Z" and int(pgrp) == pgid:
                return True
    return False


def _tail(data: bytes, lines: int = 20, chars: int = 2000) -> str:
    return "\n".join(data.decode("utf-8", "replace").rstrip().splitlines()[-lines:])[-chars:]
