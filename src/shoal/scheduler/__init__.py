"""Scheduling: which task runs when. Pure: no I/O, no clock, no threads.

- ``PlanGraph.build(plan, conflicts)``: the static facts, built once.
- ``next_tasks(graph, running=..., succeeded=..., finished=..., max_parallel=...)``:
  what to start now; the run engine calls it on every event.
- ``blocked_by_failure``: tasks to mark skipped, with the dependency to blame.
- ``waves`` / ``execution_mode`` / ``critical_path`` / ``simulate`` /
  ``execution_strategy``: what ``shoal plan`` shows.
"""

from .graph import DEFAULT_ESTIMATE_S, PlanGraph, as_graph, critical_path, task_estimates
from .policy import Blocked, blocked_by_failure, next_tasks
from .simulation import Simulation, Span, simulate
from .strategy import execution_strategy
from .wave import Wave, execution_mode, plan_waves, waves

__all__ = [
    "DEFAULT_ESTIMATE_S",
    "Blocked",
    "PlanGraph",
    "Simulation",
    "Span",
    "Wave",
    "as_graph",
    "blocked_by_failure",
    "critical_path",
    "execution_mode",
    "execution_strategy",
    "next_tasks",
    "plan_waves",
    "simulate",
    "task_estimates",
    "waves",
]
