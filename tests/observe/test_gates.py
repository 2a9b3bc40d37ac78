"""Gate runs read back from hand-built logs (real store, explicit times): the timeline's gate
spans, each task's time split, the metrics' gate counts, and the audit's gate coverage."""

from __future__ import annotations

from shoal.observe import BreachKind, audit_run, replay, run_metrics, task_timings
from shoal.store import RunState, Store

from .gated import T0, Gated, batch_with_culprit, one_task


# -- the timeline --------------------------------------------------------------------------------
def test_gate_runs_are_spans(store: Store) -> None:
    batch_with_culprit(store)
    tl = replay(store.events("gated"), "gated")
    plan = [g for g in tl.gates if g.scope == "plan"]
    assert [(g.gate, g.tasks, g.start - T0, g.end and g.end - T0, g.ok, g.bisect)
            for g in plan] == [
        (4, ("a", "b", "c"), 4, 6, False, False), (5, ("a",), 6, 7, True, True),
        (6, ("b", "c"), 7, 8, False, True), (7, ("b",), 8, 9, True, True)]
    own = [g for g in tl.gates if g.scope == "task"]
    assert [(g.tasks, g.attempt, g.policy, g.passed) for g in own] == [
        (("a",), 1, "task", True), (("b",), 1, "task", True), (("c",), 1, "task", True)]
    [b] = tl.bisections
    assert (b.tasks, b.culprits, b.gate_runs, b.landed) == (("a", "b", "c"), ("c",), 3,
                                                           ("a", "b"))
    assert tl.oddities == ()


def test_a_gate_cut_off_by_the_run_stopping_ends_unfinished(store: Store) -> None:
    run = Gated(store, ["a"])
    run.ready("a", 0, 1)
    run.gate_start(["a"], 2)
    run.end(5, RunState.INTERRUPTED)
    [g] = replay(store.events("gated"), "gated").gates
    assert (g.end and g.end - T0, g.ok, g.passed, g.duration()) == (5, None, False, 3)


def test_a_gate_finished_but_never_started_is_odd(store: Store) -> None:
    run = Gated(store, ["a"])
    run.gate_end(9, ["a"], 3, started=1)
    tl = replay(store.events("gated"), "gated")
    assert [o.message for o in tl.oddities] == ["gate 9 finished but never started"]
    assert [g.gate for g in tl.gates] == [9]


def test_a_run_without_gate_events_has_no_gates(store: Store) -> None:
    one_task_old = Gated(store, ["a"], policy=None)
    one_task_old.start("a", 0)
    one_task_old.finish("a", 1)
    one_task_old.queue("a", 1)
    one_task_old.merged("a", 8)
    tl = replay(store.events("gated"), "gated")
    assert tl.gates == () and tl.bisections == ()


# -- the time split ------------------------------------------------------------------------------
def test_work_queue_and_gate_time(store: Store) -> None:
    one_task(store)
    [a] = run_metrics(store, "gated").tasks
    assert (a.timing.work_s, a.timing.task_gate_s, a.timing.queue_s, a.timing.gate_s) == (
        1.0, 0.0, 5.0, 2.0)
    assert a.to_json().items() >= {"work_s": 1.0, "task_gate_s": 0.0, "queue_s": 5.0,
                                   "gate_s": 2.0}.items()


def test_a_task_gate_is_not_work_whether_or_not_the_attempt_covers_it(store: Store) -> None:
    run = Gated(store, ["a", "b"])
    run.start("a", 0)
    run.start("b", 0)
    run.gate(["a"], 1, 1.5, scope="task", attempt=1)  # inside a's attempt
    run.finish("a", 1.5)
    run.finish("b", 1)
    run.gate(["b"], 1, 3, scope="task", attempt=1)  # after b's attempt
    timings = task_timings(replay(store.events("gated"), "gated"))
    assert (timings["a"].work_s, timings["a"].task_gate_s) == (1.0, 0.5)
    assert (timings["b"].work_s, timings["b"].task_gate_s) == (1.0, 2.0)


def test_the_queue_ends_at_the_first_gate_covering_the_task(store: Store) -> None:
    batch_with_culprit(store)
    timings = {t: v.to_json() for t, v in task_timings(replay(store.events("gated"))).items()}
    assert timings == {
        "a": {"work_s": 0.5, "task_gate_s": 0.5, "queue_s": 3.0, "gate_s": 3.0},
        "b": {"work_s": 1.5, "task_gate_s": 0.5, "queue_s": 2.0, "gate_s": 4.0},
        "c": {"work_s": 2.5, "task_gate_s": 0.5, "queue_s": 1.0, "gate_s": 3.0},
    }


def test_without_a_gate_the_queue_runs_to_the_merge(store: Store) -> None:
    run = Gated(store, ["a"], policy="end")
    run.ready("a", 0, 1)
    run.merged("a", 2)
    run.gate(["a"], 3, 7)
    run.end(8)
    t = task_timings(replay(store.events("gated")))["a"]
    assert (t.work_s, t.queue_s, t.gate_s) == (1.0, 1.0, 4.0)


def test_a_run_before_gates_has_no_gate_figures(store: Store) -> None:
    old = Gated(store, ["a"], policy=None, run_id="older")
    old.start("a", 0)
    old.finish("a", 1)
    old.queue("a", 1)
    old.merged("a", 8)  # verify ran inside the wait
    [a] = run_metrics(store, "older").tasks
    assert a.to_json().items() >= {"work_s": 1.0, "task_gate_s": None, "queue_s": 7.0,
                                   "gate_s": None}.items()
    assert run_metrics(store, "older").gates is None


# -- the metrics ---------------------------------------------------------------------------------
def test_gate_counts(store: Store) -> None:
    batch_with_culprit(store)
    m = run_metrics(store, "gated")
    assert {k: v for k, v in m.to_json().items() if "gate" in k or k in (
        "bisections", "culprits")} == {
        "plan_gate_runs": 4, "plan_gates_failed": 2, "plan_gate_s": 5.0,
        "task_gate_runs": 3, "task_gates_failed": 0, "task_gate_s": 1.5,
        "speculative_gate_runs": 0, "bisections": 1, "bisect_gate_runs": 3,
        "culprits": ["c"]}


def test_a_policy_without_gates_counts_zero_and_an_old_run_null(store: Store) -> None:
    run = Gated(store, ["a"], verify=None)
    run.start("a", 0)
    run.finish("a", 1)
    assert run_metrics(store, "gated").to_json()["plan_gate_runs"] == 0
    old = Gated(store, ["a"], policy=None, run_id="old")
    old.start("a", 0)
    data = run_metrics(store, "old").to_json()
    assert data["plan_gate_runs"] is None and data["culprits"] is None


# -- the audit -----------------------------------------------------------------------------------
def test_a_covered_batch_passes(store: Store) -> None:
    run = Gated(store, ["a", "b"])
    for t in "ab":
        run.start(t, 0)
    run.done("a", 1)
    run.done("b", 2)
    run.gate(["a", "b"], 3, 5)
    run.merged("a", 5)
    run.merged("b", 5)
    run.end(6)
    report = audit_run(store, "gated")
    assert report.ok, report.to_json()


def test_a_merge_without_a_passing_gate_is_a_breach(store: Store) -> None:
    run = Gated(store, ["a", "b"])
    run.ready("ab", 0, 1)
    run.gate(["a"], 2, 3)
    run.gate(["b"], 3, 4, ok=False)
    run.merged("a", 4)
    run.merged("b", 4)
    run.end(5)
    report = audit_run(store, "gated")
    [breach] = report.breaches
    assert breach.kind is BreachKind.UNGATED_MERGE and breach.tasks == ("b",)
    assert "task b" in breach.message and "verify_policy batch" in breach.message


def test_a_gate_after_the_merge_does_not_cover_it_per_batch(store: Store) -> None:
    run = Gated(store, ["a"], policy="each")
    run.ready("a", 0, 1)
    run.merged("a", 2)
    run.gate(["a"], 3, 4)
    run.end(5)
    assert [b.kind for b in audit_run(store, "gated").breaches] == [BreachKind.UNGATED_MERGE]


def test_a_bisection_is_a_note(store: Store) -> None:
    batch_with_culprit(store)
    report = audit_run(store, "gated")
    assert report.ok, report.to_json()
    [note] = [n for n in report.notes if n.kind == "gate_bisected"]
    assert note.tasks == ("a", "b", "c")
    assert "culprits c" in note.message and "3 more gate run(s)" in note.message


def test_an_end_run_covered_by_one_final_gate_passes(store: Store) -> None:
    run = Gated(store, ["a", "b"], policy="end")
    run.ready("ab", 0, 1)
    run.merged("a", 2)
    run.merged("b", 2)
    run.gate(["a", "b"], 3, 5)
    run.end(6)
    assert audit_run(store, "gated").ok


def test_an_end_run_without_its_final_gate_is_a_breach(store: Store) -> None:
    run = Gated(store, ["a", "b"], policy="end")
    run.ready("ab", 0, 1)
    run.merged("a", 2)
    run.merged("b", 2)
    run.gate(["a"], 3, 5)
    run.end(6)
    breaches = audit_run(store, "gated").breaches
    assert [(b.kind, b.tasks) for b in breaches] == [(BreachKind.UNGATED_MERGE, ("b",))]
    assert "by the end of the run (verify_policy end)" in breaches[0].message


def test_an_end_run_still_going_is_not_judged_yet(store: Store) -> None:
    run = Gated(store, ["a"], policy="end")
    run.ready("a", 0, 1)
    run.merged("a", 2)
    assert audit_run(store, "gated").ok


def test_phase_gates_come_before_the_next_phase(store: Store) -> None:
    def phases(run_id: str, gate_at: float) -> list[BreachKind]:
        run = Gated(store, ["a", "b"], policy="phase", run_id=run_id,
                    phase_of={"a": "one", "b": "two"})
        run.ready("a", 0, 1)
        run.merged("a", 2)
        if gate_at < 3:
            run.gate(["a"], gate_at, gate_at + 0.5)
        run.ready("b", 3, 4)
        run.merged("b", 5)
        if gate_at >= 3:
            run.gate(["a"], gate_at, gate_at + 0.5)
        run.gate(["b"], 6, 7)
        run.end(8)
        return [b.kind for b in audit_run(store, run_id).breaches]

    assert phases("synced", 2) == []
    assert phases("late", 5.5) == [BreachKind.UNGATED_MERGE]


def test_no_verify_commands_nothing_to_check(store: Store) -> None:
    run = Gated(store, ["a"], verify=[])
    run.ready("a", 0, 1)
    run.merged("a", 2)
    run.end(3)
    assert audit_run(store, "gated").ok


def test_a_run_made_before_gates_were_logged_is_not_checked(store: Store) -> None:
    run = Gated(store, ["a"], policy=None)
    run.ready("a", 0, 1)
    run.merged("a", 2)
    run.end(3)
    report = audit_run(store, "gated")
    assert report.ok and report.notes == ()
