"""Waves, their rationale and the execution mode."""

from __future__ import annotations

import pytest

from shoal.model import ExecutionMode, Phase
from shoal.scheduler import execution_mode, waves

from .plans import conflicts, plan, task


def ids(ws):
    return [list(w.tasks) for w in ws]


def test_independent_tasks_make_one_wave():
    ws = waves(plan(task("a"), task("b"), task("c")), {}, 8)
    assert ids(ws) == [["a", "b", "c"]]
    assert ws[0].wave_id == 1
    assert ws[0].rationale == "3 independent tasks"
    assert execution_mode(ws) is ExecutionMode.FULLY_PARALLEL


def test_chain_is_sequential():
    ws = waves(plan(task("a"), task("b", "a"), task("c", "b")), {}, 8)
    assert ids(ws) == [["a"], ["b"], ["c"]]
    assert [w.wave_id for w in ws] == [1, 2, 3]
    assert ws[1].rationale == "b is the only task ready, after a"
    assert execution_mode(ws) is ExecutionMode.SEQUENTIAL


def test_conflicts_split_a_wave_and_are_explained():
    ws = waves(plan(task("auth"), task("api"), task("db")), conflicts(("auth", "api")), 8)
    assert ids(ws) == [["auth", "db"], ["api"]]
    assert ws[0].rationale == "2 independent tasks; api and auth kept apart: overlapping paths"
    assert execution_mode(ws) is ExecutionMode.PARALLEL_WAVES


def test_red_tasks_split_and_critical_runs_alone():
    p = plan(
        task("r1", risk="red", est=100),
        task("r2", risk="red"),
        task("m", risk="critical", est=10),
        task("g"),
    )
    ws = waves(p, {}, 8)
    assert ids(ws) == [["r1", "g"], ["r2"], ["m"]]
    assert "r2 and r1 kept apart: both RED" in ws[0].rationale
    assert "CRITICAL task m waits to run alone" in ws[0].rationale
    assert ws[2].rationale == "CRITICAL task m runs alone"


def test_serial_phase_one_task_per_wave_and_phases_never_mix():
    phases = (Phase("architecture", parallel=False), Phase("implementation"))
    p = plan(
        task("types", phase="architecture"),
        task("errors", phase="architecture"),
        task("auth", phase="implementation"),
        task("api", phase="implementation"),
        phases=phases,
    )
    ws = waves(p, {}, 8)
    assert ids(ws) == [["types"], ["errors"], ["auth", "api"]]
    assert ws[0].rationale == "serial phase architecture: one task at a time"
    assert ws[2].rationale == "2 independent tasks of phase implementation"
    assert [w.phase for w in ws] == ["architecture", "architecture", "implementation"]


def test_max_parallel_caps_a_wave():
    ws = waves(plan(*(task(f"t{i}", est=10 * (i + 1)) for i in range(5))), {}, 2)
    assert ids(ws) == [["t4", "t3"], ["t2", "t1"], ["t0"]]  # longest first
    assert "3 more ready tasks wait for a slot (max_parallel 2)" in ws[0].rationale


def test_default_max_parallel_comes_from_the_plan():
    ws = waves(plan(task("a"), task("b"), max_parallel=1))
    assert ids(ws) == [["a"], ["b"]]


def test_long_rationale_is_shortened():
    p = plan(*(task(f"t{i}") for i in range(6)))
    clash = conflicts(*(("t0", f"t{i}") for i in range(1, 6)))
    assert "2 more pairs kept apart" in waves(p, clash, 8)[0].rationale


def test_cycle_is_refused_with_names():
    with pytest.raises(ValueError, match="a, b"):
        waves(plan(task("a", "b"), task("b", "a")), {}, 2)


def test_empty_plan():
    assert waves(plan(), {}, 4) == ()
    assert execution_mode(()) is ExecutionMode.SEQUENTIAL
