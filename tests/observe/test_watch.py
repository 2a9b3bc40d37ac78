"""The live board: drawn from a snapshot of real runs, the reasons it gives for waiting agree
with the scheduler at every moment of real runs, `shoal watch` follows a run in progress from
another process (in a real terminal) and ends with it, and `shoal run --progress live` shows
the same board."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console

import shoal
from shoal.display import BoardState, LiveDisplay, TaskExtra, render_board
from shoal.display.source import RunReader, last_line
from shoal.git import Git
from shoal.model import TaskId
from shoal.observe.facts import plan_facts
from shoal.observe.report import collect, render_html
from shoal.store import Event, EventKind, Store, default_db_path
from shoal.testing import make_repo

from engine.conftest import alive_with

from .conftest import Ran, db_rows
from .test_report import parse

ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def board_of(ran: Ran, upto: int | None = None) -> BoardState:
    """The board of a finished run built from its log (the first `upto` events) and extras."""
    store = ran.store()
    try:
        facts, why = plan_facts(store.get_run(ran.run_id))
        assert facts is not None, why
        state = BoardState(facts.plan, conflicts=facts.conflicts, slots=facts.slots,
                           strategy=facts.strategy)
        reader = RunReader(store, ran.run_id, common_dir=Git(ran.repo).common_dir(),
                           plan=facts.plan)
        events = reader.events()
        state.apply(events[:upto] if upto is not None else events)
        if upto is None:
            state.enrich(reader.extras())
        return state
    finally:
        store.close()


def git_count(repo: Path, base: str, branch: str) -> int:
    done = subprocess.run(["git", "-C", str(repo), "rev-list", "--count", f"{base}..{branch}"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_board_shows_a_finished_run_as_the_database_holds_it(warn_run: Ran) -> None:
    snap = board_of(warn_run).snapshot()
    console = Console(record=True, width=220, color_system=None)
    console.print(render_board(snap, time.time()))
    text = console.export_text()
    tasks = db_rows(warn_run, "SELECT * FROM tasks WHERE run_id = ? ORDER BY position")
    lines = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    for t in tasks:
        line = lines[t["task_id"]]
        assert t["state"] in line.split()
        assert f"merged as {t['merged_commit'][:12]}" in line
        view = next(v for v in snap.tasks if v.task_id == t["task_id"])
        assert view.commits == git_count(warn_run.repo, t["base_commit"], t["branch"])
        log = Path(t["log_path"]).read_text(errors="replace").strip().splitlines()
        assert view.last_line == log[-1].strip()
    assert "stray.txt" in lines["w"]  # the violation `warn` let through
    assert f"run {warn_run.run_id}" in text and "succeeded" in text.splitlines()[0]


def test_board_keeps_worker_text_from_styling_it() -> None:
    state = BoardState(task_ids=["t"])
    state.apply([Event(1, "r", time.time(), EventKind.TASK_STARTED, TaskId("t"), {"attempt": 1})])
    state.enrich({"t": TaskExtra(last_line="[bold red]boom[/] \x1b[31m")})
    console = Console(record=True, width=120, color_system=None)
    console.print(render_board(state.snapshot(), time.time()))
    assert "[bold red]boom[/]" in console.export_text()


def test_last_line_skips_escapes_and_redrawn_progress(tmp_path: Path) -> None:
    log = tmp_path / "output.log"
    log.write_bytes(b"first\n\x1b[32mcompiling\x1b[0m 10%\r\x1b[32mcompiling\x1b[0m 90%\r\n\n  \n")
    assert last_line(log) == "compiling 90%"
    assert last_line(tmp_path / "missing.log") == ""


@pytest.mark.parametrize("name", ["parallel_run", "slots_run", "waves_run", "rules_run",
                                  "retry_run", "failing_run"])
def test_every_task_is_ready_when_the_scheduler_starts_it(name: str,
                                                          request: pytest.FixtureRequest) -> None:
    """Replayed up to each start, the board says nothing holds the task the scheduler started."""
    ran: Ran = request.getfixturevalue(name)
    store = ran.store()
    try:
        events = list(store.events(ran.run_id))
    finally:
        store.close()
    starts = [i for i, e in enumerate(events) if e.kind == "task_started"]
    assert starts
    for i in starts:
        view = {v.task_id: v for v in board_of(ran, upto=i).snapshot().tasks}
        task = events[i].task_id
        assert view[task].waiting == "ready", (task, i, view[task])


def _reasons_after(ran: Ran, task: str) -> dict[str, str]:
    """What the board says of every pending task just after `task` first started."""
    store = ran.store()
    try:
        events = list(store.events(ran.run_id))
    finally:
        store.close()
    i = next(i for i, e in enumerate(events) if e.kind == "task_started" and e.task_id == task)
    return {v.task_id: v.waiting for v in board_of(ran, upto=i + 1).snapshot().tasks
            if v.state == "pending"}


def _by_start(ran: Ran, *tasks: str) -> list[str]:
    """`tasks` in the order their first attempts started, as the database recorded it."""
    starts = {r["task_id"]: r["started_at"] for r in db_rows(
        ran, "SELECT * FROM attempts WHERE run_id = ? AND number = 1")}
    return sorted(tasks, key=starts.__getitem__)


def _first_started(ran: Ran, *tasks: str) -> str:
    return _by_start(ran, *tasks)[0]


def test_board_says_why_each_task_waits(parallel_run: Ran, slots_run: Ran, rules_run: Ran
                                        ) -> None:
    after_a = _reasons_after(parallel_run, _first_started(parallel_run, "a", "b"))
    assert after_a["c"].startswith("waits for dependency a, b")
    _, second, third = _by_start(slots_run, "a", "b", "e")
    assert _reasons_after(slots_run, second)[third] == "slot limit: 2/2 slots busy"

    s, later = _by_start(rules_run, "s1", "s2")
    assert _reasons_after(rules_run, s)[later].startswith("serial phase prep: one task at a time")
    assert _reasons_after(rules_run, s)["f"] == "waits for phase prep to finish"
    x = _first_started(rules_run, "x", "y")
    other = "y" if x == "x" else "x"
    assert _reasons_after(rules_run, x)[other] == f"conflicts with running {x} (owned paths overlap)"
    assert _reasons_after(rules_run, x)["f"] == "waits for phase main to finish"
    r = _first_started(rules_run, "r1", "r2")
    assert _reasons_after(rules_run, r)["r2" if r == "r1" else "r1"] == (
        f"risk tier: RED never runs beside RED {r}")
    k_or_g = _first_started(rules_run, "k", "g")
    waiting = _reasons_after(rules_run, k_or_g)
    if k_or_g == "k":
        assert waiting["g"] == "risk tier: CRITICAL task k runs alone"
    else:
        assert waiting["k"].startswith("risk tier: CRITICAL, waits until nothing else runs")
    assert waiting["h"].startswith("waits for dependency")


# -- shoal watch against a run in progress -----------------------------------------------------
PLAN = """\
version: 1
max_parallel: 2
defaults: {timeout: 60s, retries: 0}
tasks:
  - {id: a, owns: [a.txt], run: ['echo "working on a"; WAIT; echo a > a.txt']}
  - {id: b, owns: [b.txt], run: ['echo "working on b"; WAIT; echo b > b.txt']}
  - {id: c, owns: [c.txt], after: [a], run: ['echo c > c.txt']}
"""


def until_released(flag: Path) -> str:
    """A shell command that waits (at most 30 s) until the test creates `flag`."""
    return f"i=0; while [ ! -f {flag} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done"


def _start_run(tmp_path: Path, plan_text: str = PLAN) -> tuple[Path, subprocess.Popen[bytes]]:
    repo = make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    plan = tmp_path / "plan.yaml"
    plan.write_text(plan_text)
    run = subprocess.Popen([sys.executable, "-m", "shoal", "run", str(plan), "--repo", str(repo),
                            "--progress", "off"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return repo, run


def _status(repo: Path) -> str:
    """What went wrong, for an assertion message."""
    return subprocess.run([sys.executable, "-m", "shoal", "status", "--repo", str(repo),
                           "--format", "json"], capture_output=True, text=True, check=False).stdout


def _wait_for_attempt(repo: Path, task: str, timeout: float = 30.0) -> tuple[Store, str]:
    """Wait until `task` runs; the store (open) and the run id."""
    path = default_db_path(Git(repo).common_dir())
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists():
            store = Store.open(path, create=False)
            run = store.latest_run()
            if run is not None and any(a.task_id == task for a in store.attempts(run.id)):
                return store, run.id
            store.close()
        time.sleep(0.05)
    raise AssertionError(f"task {task} never started")


def _in_terminal(argv: list[str], columns: int = 200) -> tuple[subprocess.Popen[bytes], list[bytes]]:
    """Start `argv` on a new pseudo-terminal; its output collects in the returned list."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color"}
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True)
    os.close(slave)
    out: list[bytes] = []

    def pump() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's last writer is gone
                break
            if not chunk:
                break
            out.append(chunk)
        os.close(master)

    threading.Thread(target=pump, daemon=True).start()
    return proc, out


def _text(out: list[bytes]) -> str:
    """What the terminal showed so far, without its escape sequences."""
    return ESCAPE.sub("", b"".join(out).decode("utf-8", "replace")).replace("\r", "")


def _frames(out: list[bytes], run_id: str) -> int:
    """How many frames of the board showing a at work the terminal has had so far."""
    frames = _text(out).split(f"run {run_id}  ")
    return sum(1 for f in frames if re.search(r"^a\s+main\s+running", f, re.MULTILINE)
               and "working on a" in f)


def test_watch_follows_a_run_in_progress_and_ends_with_it(tmp_path: Path) -> None:
    release = tmp_path / "release"
    repo, run = _start_run(tmp_path, PLAN.replace("WAIT", until_released(release)))
    store, run_id = _wait_for_attempt(repo, "a")
    try:
        watch, out = _in_terminal([sys.executable, "-m", "shoal", "watch", "--repo", str(repo)])
        end = time.monotonic() + 30  # the board shows a at work before a may finish
        while _frames(out, run_id) < 3 and time.monotonic() < end:  # a few redraws while a works
            time.sleep(0.05)
        # a report of the run as it goes: the running attempts are open bars up to now
        page = parse(render_html(collect(store, run_id)))
        open_bars = [b for b in page.having("rect", "bar") if not b["data-end"]]
        assert {b["data-task"] for b in open_bars} <= {"a", "b"} and open_bars
        assert all("o-running" in (b["class"] or "") for b in open_bars)
        assert page.having("line", "now")
        release.touch()
        assert run.wait(timeout=60) == 0, _status(repo)
        run_ended = time.monotonic()
        assert watch.wait(timeout=30) == 0
        watch_ended = time.monotonic()
        ended_at = store.get_run(run_id).ended_at
    finally:
        release.touch()  # never leave a worker waiting
        store.close()
        for proc in (run, locals().get("watch")):
            if isinstance(proc, subprocess.Popen) and proc.poll() is None:
                proc.kill()
                proc.wait()
    assert ended_at is not None
    assert watch_ended - run_ended < 5.0  # it noticed the end by itself
    end = time.monotonic() + 30  # the output pump drains the terminal
    while f"run {run_id} succeeded" not in _text(out) and time.monotonic() < end:
        time.sleep(0.05)
    text = _text(out)
    frames = text.split(f"run {run_id}  ")
    assert len(frames) >= 4, text[-3000:]  # redrawn in place, again and again
    live = [f for f in frames if re.search(r"^a\s+main\s+running", f, re.MULTILINE)]
    assert live and any("working on a" in f for f in live)  # the last line of a's log
    assert any(re.search(r"^c\s+main\s+pending.*waits for dependency a", f, re.MULTILINE)
               for f in live)
    final = frames[-1]
    for task in "abc":
        assert re.search(rf"^{task}\s+main\s+succeeded\s+1\s", final, re.MULTILINE), final
    assert f"run {run_id} succeeded" in text


def test_watch_shows_a_finished_run_once(failing_run: Ran) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    done = subprocess.run([sys.executable, "-m", "shoal", "watch", failing_run.run_id, "--repo",
                           str(failing_run.repo)], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, env=env, check=False)
    assert done.returncode == 1  # the run failed
    states = {r["task_id"]: r["state"] for r in db_rows(
        failing_run, "SELECT * FROM tasks WHERE run_id = ?")}
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    for task, state in states.items():
        assert state in lines[task].split()
    assert "depends on f1, which did not succeed" in lines["d"]
    assert done.stdout.splitlines()[0].startswith(f"run {failing_run.run_id}  failed")
    assert done.stdout.rstrip().endswith(f"run {failing_run.run_id} failed")  # the last event


def test_watch_notices_when_the_orchestrator_is_gone(tmp_path: Path) -> None:
    marker = "sleep 3.217"
    repo, run = _start_run(tmp_path, PLAN.replace("WAIT", marker))
    store, run_id = _wait_for_attempt(repo, "a")
    store.close()
    run.send_signal(signal.SIGKILL)  # our own child: the orchestrator, killed outright
    run.wait()
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "shoal", "watch", "--repo", str(repo)],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                          check=False)
    assert done.returncode == 1
    assert f"run {run_id}: its orchestrator is gone" in done.stderr
    assert f"shoal resume {run_id}" in done.stderr
    assert time.monotonic() - started < 15
    # the workers it left behind finish their sleep by themselves
    end = time.monotonic() + 15
    while time.monotonic() < end and alive_with(marker):
        time.sleep(0.1)
    assert not alive_with(marker)


def test_run_progress_live_shows_the_same_board_as_watch(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    plan_path = tmp_path / "plan.yaml"
    plan_path.write_text(PLAN.replace("WAIT", "sleep 0.3"))
    plan = shoal.load_plan(plan_path)
    console = Console(record=True, width=200, force_terminal=True, color_system=None)
    display = LiveDisplay(plan, console, repo=repo)
    try:
        result = shoal.run(plan_path, repo=repo, observer=display, grace=0.5)
    finally:
        display.close()
    assert result.ok
    mine = display.state.snapshot()
    ran = Ran(repo, plan_path, result)
    theirs = board_of(ran).snapshot()
    assert mine.tasks == theirs.tasks  # every column of every row
    assert (mine.run_id, mine.state, mine.slots) == (theirs.run_id, theirs.state, theirs.slots)
    assert all(t.commits == 1 and t.state == "succeeded" for t in mine.tasks)
    text = console.export_text()
    assert re.search(r"^c\s+main\s+succeeded", text, re.MULTILINE)


def test_reader_sees_what_a_running_worker_has_done_so_far(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for who in ("AUTHOR", "COMMITTER"):  # the worker commits on its own branch
        monkeypatch.setenv(f"GIT_{who}_NAME", "Worker")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "worker@shoal.invalid")
    repo, run = _start_run(tmp_path, (
        "version: 1\n"
        "defaults: {timeout: 60s, retries: 0}\n"
        "tasks:\n"
        "  - {id: s, owns: [s.txt, t.txt], run: ['echo s > s.txt; git add s.txt; "
        "git commit -qm wip; echo t > t.txt; echo x > stray.txt; echo waiting; "
        f"{until_released(tmp_path / 'release')}']}}\n"))
    store, run_id = _wait_for_attempt(repo, "s")
    try:
        plan_record = store.get_run(run_id)
        facts, why = plan_facts(plan_record)
        assert facts is not None, why
        reader = RunReader(store, run_id, common_dir=Git(repo).common_dir(), plan=facts.plan,
                           git_every_s=0.0)
        end = time.monotonic() + 20
        extra = None
        while time.monotonic() < end:
            extra = reader.extras().get("s")
            if extra is not None and extra.last_line == "waiting":
                extra = reader.extras().get("s")  # git read again: the worker is done for now
                break
            time.sleep(0.1)
        running = [a for a in store.attempts(run_id, "s") if a.ended_at is None]
    finally:
        store.close()
        (tmp_path / "release").touch()
    assert running, "the attempt ended before the reader looked"
    assert extra is not None and extra.last_line == "waiting"
    assert extra.commits == 1  # the worker's own commit, before shoal commits the rest
    assert extra.changed_paths is not None
    assert set(extra.changed_paths) == {"s.txt", "t.txt", "stray.txt"}
    assert extra.violations == ("stray.txt",)  # outside its owned paths, seen before it ends
    assert run.wait(timeout=60) == 1  # and at the end the boundary check fails it


def test_costs_are_shown_rounded_not_as_float_noise() -> None:
    """A run's total is a float sum (0.01905 + 0.03810 = 0.057150000000000006): people read
    $0.0572, and a task's $0.0191, not $0.06 and $0.02."""
    from shoal.cli.status import _usage
    from shoal.model import format_usd
    from shoal.observe.report import metric_rows

    state = BoardState(task_ids=["a", "b"])
    state.enrich({"a": TaskExtra(cost_usd=0.01905), "b": TaskExtra(cost_usd=0.0381)})
    console = Console(record=True, width=160, color_system=None)
    console.print(render_board(state.snapshot(), time.time()))
    text = console.export_text()
    assert "cost $0.0572" in text.splitlines()[0]
    assert "$0.0191" in text and "$0.0381" in text
    total = 0.01905 + 0.0381
    assert "$0.0572" in _usage(total, None, None) and "0.05715000" not in _usage(total, None, None)
    assert dict(metric_rows({"cost_usd": total}))["cost"] == "$0.0572"
    assert [format_usd(v) for v in (0.0, 0.00001, 0.0421, 1.5, 1234.567)] == [
        "$0.0000", "<$0.0001", "$0.0421", "$1.50", "$1,234.57"]
