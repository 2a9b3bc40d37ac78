"""The makespan simulator and the execution_strategy object."""

from __future__ import annotations

import json

import pytest

from shoal.model import Phase, Strategy
from shoal.scheduler import execution_strategy, simulate

from .plans import conflicts, plan, task


def test_simulation_of_independent_tasks():
    sim = simulate(plan(task("a", est=60), task("b", est=30), task("c", est=30)), {}, 2)
    assert sim.makespan == 60
    assert sim.sequential == 120
    assert sim.speedup == 2
    assert sim.lower_bound == 60
    assert (sim.span("b").start, sim.span("c").start) == (0, 30)


def test_dynamic_beats_waves_on_uneven_estimates():
    p = plan(task("a", est=100), task("b", est=10), task("c", "b", est=10), task("d", "c", est=10))
    dynamic = simulate(p, {}, 4)
    by_waves = simulate(p, {}, 4, Strategy.WAVES)
    assert dynamic.makespan == 100
    assert by_waves.makespan == 120  # wave 1 waits for a before c may start


def test_simulation_respects_conflicts_and_phases():
    phases = (Phase("one"), Phase("two", parallel=False))
    p = plan(
        task("a", phase="one", est=10),
        task("b", phase="one", est=10),
        task("c", phase="two", est=5),
        task("d", phase="two", est=5),
        phases=phases,
    )
    sim = simulate(p, conflicts(("a", "b")), 4)
    assert sim.makespan == 30
    assert sim.lower_bound == 10  # the simple bound ignores phases and conflicts


def test_durations_override_estimates():
    sim = simulate(plan(task("a", est=10), task("b", "a", est=10)), {}, 2, durations={"a": 1})
    assert sim.makespan == 11
    assert sim.critical_path_seconds == 11


def test_simulation_refuses_a_cycle():
    with pytest.raises(ValueError, match="cannot finish"):
        simulate(plan(task("a", "b"), task("b", "a")), {}, 2)


def test_zero_estimates_and_empty_plan():
    sim = simulate(plan(task("a", est=0), task("b", "a", est=0)), {}, 2)
    assert sim.makespan == 0 and sim.speedup == 1.0
    assert simulate(plan(), {}, 2).makespan == 0


def test_execution_strategy_has_the_seed_keys_and_is_json():
    p = plan(task("a", est=600), task("b", est=1200), task("c", "a", est=600))
    doc = execution_strategy(p, {}, 2)
    json.dumps(doc)
    assert doc["mode"] == "parallel_waves"
    assert doc["total_sequential_minutes"] == 40
    assert doc["estimated_parallel_minutes"] == 20  # c runs beside b
    assert doc["estimated_waves_minutes"] == 30
    assert doc["speedup"] == 2
    assert doc["critical_path"] == ["a", "c"]
    assert [w["wave_id"] for w in doc["waves"]] == [1, 2]
    assert doc["waves"][0]["tasks"] == ["a", "b"]  # equal remaining path: plan order
    assert all(isinstance(w["rationale"], str) and w["rationale"] for w in doc["waves"])


def test_execution_strategy_for_the_waves_strategy():
    p = plan(task("a", est=600), task("b", est=1200), task("c", "a", est=600))
    doc = execution_strategy(p, {}, 2, strategy=Strategy.WAVES)
    assert doc["estimated_parallel_minutes"] == 30 and doc["strategy"] == "waves"
