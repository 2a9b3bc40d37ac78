"""Fixtures for agent tests: requests, and a tiny engine that runs an Invocation for real."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from shoal.agents import AgentRequest, Invocation, ProcessOutcome
from shoal.model import Plan, Task, TaskId


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def attempt_dir(tmp_path: Path) -> Path:
    path = tmp_path / "attempt"
    path.mkdir()
    return path


@pytest.fixture
def make_request(workdir: Path, attempt_dir: Path) -> Callable[..., AgentRequest]:
    def make(
        task: Task | None = None,
        *,
        prompt: str = "# Task\n",
        options: dict | None = None,
        run: tuple[str, ...] = (),
    ) -> AgentRequest:
        task = task or Task(id=TaskId("t1"), title="a task", run=run)
        return AgentRequest(
            task=task,
            plan=Plan(tasks=(task,)),
            prompt=prompt,
            workdir=workdir,
            attempt_dir=attempt_dir,
            options=options or {},
        )

    return make


def run_invocation(
    invocation: Invocation,
    workdir: Path,
    attempt_dir: Path,
    *,
    timeout: float = 20.0,
    grace: float = 0.3,
) -> ProcessOutcome:
    """What the engine does, minimally: files, own process group, log, timeout, TERM, KILL, reap."""
    invocation.write_files()
    log_path = attempt_dir / "worker.log"
    env = {**os.environ, **invocation.env}
    started = time.monotonic()
    try:
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                invocation.argv,
                cwd=workdir,
                env=env,
                stdin=subprocess.PIPE if invocation.stdin is not None else subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    except OSError as exc:  # the engine's wrapper raises ExecutableNotFound with this message
        reason = "no such program" if isinstance(exc, FileNotFoundError) else exc.strerror
        return ProcessOutcome.not_started(
            f"cannot run {invocation.argv[0]!r}: {reason}", log_path=log_path, workdir=workdir, argv=invocation.argv,
            attempt_dir=attempt_dir,
        )
    timed_out = False
    try:
        proc.communicate(invocation.stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    code = proc.wait()
    return ProcessOutcome(
        exit_code=code,
        log_path=log_path,
        workdir=workdir,
        duration_s=time.monotonic() - started,
        timed_out=timed_out,
        attempt_dir=attempt_dir,
        argv=invocation.argv,
    )


@pytest.fixture
def run(workdir: Path, attempt_dir: Path) -> Callable[..., ProcessOutcome]:
    def go(invocation: Invocation, timeout: float = 20.0) -> ProcessOutcome:
        return run_invocation(invocation, workdir, attempt_dir, timeout=timeout)

    return go


@pytest.fixture
def outcome_for(workdir: Path, attempt_dir: Path) -> Callable[..., ProcessOutcome]:
    """A ProcessOutcome over a log file written with ``text`` (no process)."""

    def make(text: str | bytes = "", exit_code: int | None = 0, **kwargs) -> ProcessOutcome:
        log = attempt_dir / "worker.log"
        log.write_bytes(text.encode() if isinstance(text, str) else text)
        return ProcessOutcome(exit_code=exit_code, log_path=log, workdir=workdir,
                              attempt_dir=attempt_dir, **kwargs)

    return make
