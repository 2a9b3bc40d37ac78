"""One plain line per event, for CI logs and anything that is not a terminal."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..store import Event


def _short(text: Any, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_event(event: Event) -> str | None:
    """The sentence a person reads for ``event``, or None for events not worth a line."""
    kind = str(getattr(event.kind, "value", event.kind))
    d, task = event.data, event.task_id
    if kind == "run_started":
        return f"run {event.run_id} started from {str(d.get('base_commit') or '')[:12]}"
    if kind == "task_started":
        return f"{task}: started (attempt {d.get('attempt')}, slot {d.get('slot')})"
    if kind == "task_finished":
        error = f": {_short(d['error'])}" if d.get("error") else ""
        return f"{task}: attempt {d.get('attempt')} {d.get('outcome')}{error}"
    if kind == "task_retry":
        return f"{task}: will retry ({_short(d.get('reason') or '')})"
    if kind in ("task_skipped", "task_blocked"):
        return f"{task}: {kind.removeprefix('task_')} ({_short(d.get('reason') or '')})"
    if kind == "task_state":
        reason = f" ({_short(d['reason'])})" if d.get("reason") else ""
        return f"{task}: {d.get('state')}{reason}"
    if kind == "boundary_violation":
        paths = ", ".join(str(v.get("path")) for v in d.get("violations", [])[:5])
        return f"{task}: boundary violation: {paths}"
    if kind == "merge_started":
        return f"{task}: merging"
    if kind == "merged":
        return f"{task}: merged as {str(d.get('commit') or d.get('commit_sha') or '')[:12]}"
    if kind in ("merge_failed", "verify_failed"):
        return f"{task}: {kind.replace('_', ' ')}: {_short(d.get('reason') or '')}"
    if kind in ("gate_started", "gate_finished", "gate_bisected"):
        return _gate(kind, d, task)
    if kind in ("fallback_sequential", "fail_fast", "note"):
        return _short(d.get("message") or kind, 300)
    if kind == "run_stopped":
        hint = f" (hint: {d['hint']})" if d.get("hint") else ""
        return "run stopped: " + _short(str(d.get("message") or kind) + hint, 400)
    if kind == "run_finished":
        return f"run {event.run_id} {d.get('state')}"
    if kind == "run_interrupted":
        return f"run {event.run_id} interrupted: `shoal resume {event.run_id}` finishes it"
    if kind == "run_resumed":
        return f"run {event.run_id} resumed"
    return None


def _gate(kind: str, d: dict[str, Any], task: str | None) -> str:
    tasks = ", ".join(str(t) for t in d.get("tasks") or ())
    if kind == "gate_bisected":
        culprits = ", ".join(str(t) for t in d.get("culprits") or ()) or "none"
        landed = ", ".join(str(t) for t in d.get("landed") or ()) or "nothing"
        return _short(f"bisected {tasks} in {d.get('gate_runs')} more gate runs: culprits "
                      f"{culprits}; landing {landed}", 300)
    own = d.get("scope") == "task" or (d.get("scope") is None and task is not None)
    name = f"{task}: its own gate" if own else f"gate #{d.get('gate')}"
    if kind == "gate_started":
        how = [str(d.get("policy"))] if d.get("policy") and not own else []
        how += [w for w in ("bisect", "speculative") if d.get(w)]
        what = f" ({', '.join(how)})" if how else ""
        return _short(f"{name}{what} started" + ("" if own else f" on {tasks}"), 300)
    outcome = "cancelled" if d.get("cancelled") else "passed" if d.get("ok") else "failed"
    took = f" in {d['duration_s']:.1f}s" if isinstance(d.get("duration_s"), (int, float)) else ""
    failed = next((r for r in d.get("results") or () if isinstance(r, dict)
                   and (r.get("exit_code") not in (0, None) or r.get("timed_out"))), None)
    why = ""
    if failed is not None and not d.get("ok"):
        end = "timed out" if failed.get("timed_out") else f"exit {failed.get('exit_code')}"
        why = f": `{failed.get('command')}` {end}"
    return _short(f"{name} {outcome}{took}" + ("" if own else f" on {tasks}") + why, 300)


class PlainDisplay:
    """Prints ``[HH:MM:SS] sentence`` per event through ``write`` (click.echo in the CLI)."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write

    def __call__(self, events: list[Event]) -> None:
        for event in events:
            line = describe_event(event)
            if line:
                stamp = time.strftime("%H:%M:%S", time.localtime(event.ts))
                self.write(f"[{stamp}] {line}")

    def close(self) -> None:
        pass
