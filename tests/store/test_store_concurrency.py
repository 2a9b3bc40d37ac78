"""Readers in other processes while a run writes (WAL)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from store_replay import check_log_matches_tables

from shoal.store import EventKind, Store

READER = r"""
import json, sys, time
from shoal.store import Store
t0 = time.monotonic()
with Store.open(sys.argv[1], create=False) as s:
    run = s.latest_run()
    out = {"run": run.id, "tasks": [t.task_id for t in s.tasks(run.id)],
           "kinds": [str(e.kind.value) for e in s.events(run.id)]}
out["seconds"] = time.monotonic() - t0
print(json.dumps(out))
"""


def read_in_child(db_path: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", READER, str(db_path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_child_reads_while_a_write_transaction_is_open(store: Store, db_path: Path) -> None:
    run = store.create_run(repo="/r", task_ids=["a", "b"])
    writer = sqlite3.connect(str(db_path), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(
            "INSERT INTO events (run_id, ts, kind, data) VALUES (?, 0, 'task_ready', '{}')",
            (run.id,),
        )
        seen = read_in_child(db_path)
        # not blocked by the writer (busy timeout is 5 s), and sees only committed state
        assert seen["seconds"] < 4
        assert seen["run"] == run.id and seen["tasks"] == ["a", "b"]
        assert seen["kinds"] == ["run_started", "tasks_added"]
        writer.execute("COMMIT")
    finally:
        writer.close()
    assert read_in_child(db_path)["kinds"][-1] == "task_ready"


WRITER = r"""
import sys, time
from pathlib import Path
from shoal.model import TaskState
from shoal.store import AttemptState, EventKind, RunState, Store

meet = Path(sys.argv[2])
with Store.open(sys.argv[1]) as store:
    run = store.create_run(repo="/r", task_ids=[f"t{i}" for i in range(40)], run_id="busy")
    for i in range(40):
        if i in (10, 20, 30):  # wait, mid-write, until the reader has read what is there
            (meet / f"pause-{i}").touch()
            deadline = time.monotonic() + 60
            while not (meet / f"ack-{i}").exists() and time.monotonic() < deadline:
                time.sleep(0.005)
        tid = f"t{i}"
        n = store.start_attempt(run.id, tid)
        store.append_event(run.id, EventKind.TASK_OUTPUT, task_id=tid, data={"line": i})
        store.finish_attempt(run.id, tid, n, AttemptState.SUCCEEDED)
        if i % 5 == 4:
            store.set_task_state(run.id, tid, TaskState.FAILED, reason="x")
        else:
            store.record_merge(run.id, tid, f"m{i}")
    store.set_run_state(run.id, RunState.SUCCEEDED)
"""


def test_reader_sees_consistent_snapshots_while_a_child_writes(db_path: Path) -> None:
    Store.open(db_path).close()
    meet = db_path.parent / "meet"
    meet.mkdir()
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(db_path), str(meet)],
                             stderr=subprocess.PIPE)
    reads_during_write = 0
    last_seq = 0
    tailed = []
    with Store.open(db_path, create=False) as reader:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            alive = child.poll() is None
            runs = reader.list_runs()
            if runs:
                check_log_matches_tables(reader, "busy")
                new = list(reader.events("busy", last_seq))
                tailed.extend(new)
                if new:
                    last_seq = new[-1].seq
                reads_during_write += alive
                for pause in meet.glob("pause-*"):  # the writer waits on these mid-write
                    (meet / pause.name.replace("pause", "ack")).touch()
            if not alive:
                break
            time.sleep(0.005)
        _, err = child.communicate(timeout=60)
        assert child.returncode == 0, err.decode()
        tailed.extend(reader.events("busy", last_seq))
        assert [e.seq for e in tailed] == [e.seq for e in reader.events("busy")]
        assert tailed[-1].kind == EventKind.RUN_FINISHED
        assert len(reader.merges("busy")) == 32
    assert reads_during_write >= 3
