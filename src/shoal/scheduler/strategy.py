"""Seed 001's ``execution_strategy`` object, for ``shoal plan --write-strategy``.

The seed's orchestrator reads ``mode``, ``waves[].wave_id``, ``waves[].tasks``,
``waves[].rationale`` and ``total_sequential_minutes``; the other keys are
shoal's predictions, in minutes like the seed's.
"""

from __future__ import annotations

from typing import Any

from ..model import Plan, Strategy
from .graph import Conflicts, PlanGraph, as_graph
from .simulation import simulate
from .wave import execution_mode, plan_waves


def execution_strategy(
    plan: Plan | PlanGraph,
    conflicts: Conflicts | None = None,
    max_parallel: int | None = None,
    *,
    strategy: Strategy = Strategy.DYNAMIC,
) -> dict[str, Any]:
    """JSON-ready strategy: mode, waves with rationale, predicted minutes and speedup.

    ``estimated_parallel_minutes`` and ``speedup`` are for ``strategy`` (the
    default list scheduling); both strategies' predictions are also given.
    """
    graph = as_graph(plan, conflicts)
    slots = graph.slots(max_parallel)
    schedule = plan_waves(graph, slots)
    dynamic = simulate(graph, max_parallel=slots, strategy=Strategy.DYNAMIC)
    by_waves = simulate(graph, max_parallel=slots, strategy=Strategy.WAVES, waves=schedule)
    chosen = by_waves if Strategy(strategy) is Strategy.WAVES else dynamic
    return {
        "mode": execution_mode(schedule).value,
        "strategy": Strategy(strategy).value,
        "max_parallel": slots,
        "waves": [
            {
                **wave.to_json(),
                "estimated_minutes": _minutes(max(graph.estimate[t] for t in wave.tasks)),
            }
            for wave in schedule
        ],
        "total_sequential_minutes": _minutes(chosen.sequential),
        "estimated_parallel_minutes": _minutes(chosen.makespan),
        "speedup": round(chosen.speedup, 2),
        "estimated_dynamic_minutes": _minutes(dynamic.makespan),
        "estimated_waves_minutes": _minutes(by_waves.makespan),
        "lower_bound_minutes": _minutes(dynamic.lower_bound),
        "critical_path": list(dynamic.critical_path),
        "critical_path_minutes": _minutes(dynamic.critical_path_seconds),
    }


def _minutes(seconds: float) -> float:
    return round(seconds / 60.0, 2)
