"""The board's merge queue, from the events only (hand-built log, real store, fed as `shoal
watch` feeds it): a merging task is queued until a plan gate covering it starts and gating
until that gate ends; plan gate runs going on are listed; a task's own gate shows on its row.
A run made before gates were logged still shows `merging`."""

from __future__ import annotations

from rich.console import Console

from shoal.display import BoardState, render_board
from shoal.display.lines import describe_event
from shoal.observe.facts import plan_facts
from shoal.store import EventKind, Store

from .gated import T0, Gated, batch_with_culprit


class Board:
    """A board fed from the store after each step, as `shoal watch` tails the log."""

    def __init__(self, store: Store, run: Gated) -> None:
        self.store, self.run_id = store, run.run_id
        facts, why = plan_facts(store.get_run(run.run_id))
        assert facts is not None, why
        self.state = BoardState(facts.plan, conflicts=facts.conflicts, slots=facts.slots)

    def rows(self) -> dict[str, tuple[str, str, int | None]]:
        self.state.apply(self.store.events(self.run_id))
        return {t.task_id: (t.state, t.queue, t.gate) for t in self.state.snapshot().tasks}

    def text(self, at: float) -> str:
        console = Console(record=True, width=160, color_system=None)
        console.print(render_board(self.state.snapshot(), T0 + at))
        return console.export_text()


def test_queued_then_gating_then_merged(store: Store) -> None:
    run = Gated(store, ["a", "b", "c"])
    board = Board(store, run)
    for t in "abc":
        run.start(t, 0)
    run.done("a", 1)
    assert board.rows()["a"] == ("merging", "queued", None)
    run.done("b", 2)
    gate = run.gate_start(["a", "b"], 3)
    assert board.rows() == {"a": ("merging", "gating", gate), "b": ("merging", "gating", gate),
                            "c": ("running", "", None)}
    text = board.text(5)
    assert "2 gating" in text and f"gate #{gate} (batch) on a, b: 2s" in text
    assert f"gate #{gate} (batch) with 1 other task" in text
    own = run.gate_start(["c"], 3.5, scope="task", attempt=1)
    assert board.rows()["c"] == ("running", "", own)
    assert f"its own gate (#{own}) runs" in board.text(4)
    run.gate_end(own, ["c"], 4, started=3.5, scope="task")
    run.done("c", 4)
    assert board.rows()["c"] == ("merging", "queued", None)
    assert "1 queued, 2 gating" in board.text(4)
    run.gate_end(gate, ["a", "b"], 5, started=3)
    assert board.rows()["a"] == ("merging", "queued", None)  # passed, not landed yet
    run.merged("a", 5)
    run.merged("b", 5)
    rows = board.rows()
    assert rows["a"] == rows["b"] == ("succeeded", "", None)
    assert "gate #" not in board.text(6)


def test_a_failed_batch_goes_back_to_the_queue_until_the_bisection_gates_it(store: Store) -> None:
    run = Gated(store, ["a", "b"])
    board = Board(store, run)
    run.ready("ab", 0, 1)
    run.gate(["a", "b"], 2, 3, ok=False)
    assert {t: r[1] for t, r in board.rows().items()} == {"a": "queued", "b": "queued"}
    gate = run.gate_start(["a"], 3, bisect=True)
    assert board.rows() == {"a": ("merging", "gating", gate), "b": ("merging", "queued", None)}
    assert f"gate #{gate} (batch, bisecting) on a" in board.text(4)


def test_the_run_stopping_ends_its_gates(store: Store) -> None:
    from shoal.store import RunState

    run = Gated(store, ["a"])
    board = Board(store, run)
    run.ready("a", 0, 1)
    run.gate_start(["a"], 2)
    run.end(3, RunState.INTERRUPTED)
    board.rows()
    assert board.state.snapshot().gates == ()


def test_a_run_made_before_gates_shows_merging(store: Store) -> None:
    run = Gated(store, ["a"], policy=None)
    board = Board(store, run)
    run.ready("a", 0, 1)
    assert board.rows()["a"] == ("merging", "", None)
    assert "1 merging" in board.text(2)


def test_gate_events_read_as_lines(store: Store) -> None:
    batch_with_culprit(store)
    lines = [describe_event(e) for e in store.events("gated")
             if str(e.kind.value if isinstance(e.kind, EventKind) else e.kind).startswith("gate")]
    assert lines[:2] == ["a: its own gate started", "a: its own gate passed in 0.5s"]
    assert "gate #4 (batch) started on a, b, c" in lines
    assert "gate #4 failed in 2.0s on a, b, c: `make test` exit 1" in lines
    assert "gate #6 (batch, bisect) started on b, c" in lines
    assert lines[-1] == "bisected a, b, c in 3 more gate runs: culprits c; landing a, b"
