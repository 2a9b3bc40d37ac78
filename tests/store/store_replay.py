"""Rebuild task states from the event log, to check that log and tables agree."""

from __future__ import annotations

from collections import Counter

from shoal.store import EventKind, Store

_STATE_KINDS = {
    EventKind.TASK_RETRY,
    EventKind.TASK_SKIPPED,
    EventKind.TASK_BLOCKED,
    EventKind.TASK_STATE,
    EventKind.MERGE_FAILED,
}


def check_log_matches_tables(store: Store, run_id: str) -> None:
    """Assert that replaying the run's events gives the tasks' states, attempts and merges."""
    with store.snapshot():
        tasks = store.tasks(run_id)
        events = list(store.events(run_id))
        merges = store.merges(run_id)
        attempts = store.attempts(run_id)
    states: dict[str, str] = {}
    started: Counter[str] = Counter()
    finished: Counter[str] = Counter()
    merged: set[str] = set()
    for ev in events:
        if ev.kind == EventKind.TASKS_ADDED:
            states.update({t: "pending" for t in ev.data["tasks"]})
        elif ev.kind == EventKind.TASK_STARTED:
            states[ev.task_id] = "running"
            started[ev.task_id] += 1
        elif ev.kind == EventKind.TASK_FINISHED:
            finished[ev.task_id] += 1
        elif ev.kind in _STATE_KINDS:
            states[ev.task_id] = ev.data["state"]
        elif ev.kind == EventKind.MERGED:
            states[ev.task_id] = "succeeded"
            merged.add(ev.task_id)
        elif ev.kind == EventKind.RUN_INTERRUPTED:
            states.update({t: "pending" for t in ev.data["requeued"]})
    assert {t.task_id: t.state.value for t in tasks} == states
    assert {t.task_id: t.attempts for t in tasks if t.attempts} == dict(started)
    assert {m.task_id for m in merges} == merged
    assert {t.task_id for t in tasks if t.merged_commit} == merged
    ended = Counter(a.task_id for a in attempts if a.state.value != "running")
    assert ended == finished
