"""Event logs by hand and by tampering: the audit's evidence, rewritten as a new run.

The events table is append-only, so a tampered log is a *new run* in the same database: its
run row copies the original's (plan, options), and its events are the original's events,
changed, appended in the new order through the store's public API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from shoal.store import Event, Store

_HEAD = ("run_started", "tasks_added")  # create_run writes these itself


@dataclass(frozen=True)
class Row:
    """One event to write: kind, task, data, time."""

    kind: str
    task_id: str | None
    data: dict[str, Any]
    ts: float

    @classmethod
    def of(cls, e: Event) -> Row:
        return cls(str(getattr(e.kind, "value", e.kind)), e.task_id, dict(e.data), e.ts)


def rows(store: Store, run_id: str) -> list[Row]:
    return [Row.of(e) for e in store.events(run_id)]


def write_run(store: Store, like: str, events: Sequence[Row], *, new_id: str,
              plan_path: str | None | type = ..., snapshot: dict[str, Any] | None = None,
              options: dict[str, Any] | None = None) -> str:
    """A new run `new_id` with the plan and options of run `like` and exactly `events`
    (whose first two must be run_started and tasks_added, as every run's are)."""
    run = store.get_run(like)
    assert [e.kind for e in events[:2]] == list(_HEAD), events[:2]
    store.create_run(
        repo=run.repo, plan_path=run.plan_path if plan_path is ... else plan_path,
        plan_format=run.plan_format,
        plan_snapshot=run.plan_snapshot if snapshot is None else snapshot,
        base_commit=run.base_commit, integration_branch=run.integration_branch,
        options=run.options if options is None else options,
        task_ids=events[1].data["tasks"], run_id=new_id, at=events[0].ts,
    )
    for e in events[2:]:
        store.append_event(new_id, e.kind, task_id=e.task_id, data=e.data, at=e.ts)
    return new_id


# -- edits -----------------------------------------------------------------------------------
Match = Callable[[Row], bool]


def event(kind: str, task: str | None = None, **data: Any) -> Match:
    """A matcher: this kind, for this task, with these data values."""
    return lambda r: (r.kind == kind and (task is None or r.task_id == task)
                      and all(r.data.get(k) == v for k, v in data.items()))


def index(events: Sequence[Row], match: Match, nth: int = 0) -> int:
    found = [i for i, r in enumerate(events) if match(r)]
    assert len(found) > nth, "no such event in the log"
    return found[nth]


def move(events: Sequence[Row], what: Match, *, after: Match) -> list[Row]:
    """The events with the (first) one matching `what` moved to just after `after`."""
    out = list(events)
    row = out.pop(index(out, what))
    out.insert(index(out, after) + 1, row)
    return out


def move_task(events: Sequence[Row], task: str, *, after: Match) -> list[Row]:
    """Every event of `task` moved, in order, to just after `after`."""
    mine = [r for r in events if r.task_id == task]
    out = [r for r in events if r.task_id != task]
    at = index(out, after) + 1
    return out[:at] + mine + out[at:]


def drop(events: Sequence[Row], what: Match) -> list[Row]:
    out = list(events)
    del out[index(out, what)]
    return out


def duplicate(events: Sequence[Row], what: Match) -> list[Row]:
    out = list(events)
    i = index(out, what)
    out.insert(i + 1, out[i])
    return out


def edit(events: Sequence[Row], what: Match, **data: Any) -> list[Row]:
    out = list(events)
    i = index(out, what)
    out[i] = replace(out[i], data={**out[i].data, **data})
    return out


def starts(events: Iterable[Row]) -> list[str]:
    """Task ids in the order the log starts them."""
    return [r.task_id for r in events if r.kind == "task_started" and r.task_id]
