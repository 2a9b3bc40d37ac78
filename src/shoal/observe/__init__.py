"""See and prove a run: metrics from its event log, and an audit that replays that log
against the plan's rules.

- :func:`run_metrics` (``RunMetrics.to_json()``): seed 001's ``PARALLEL_METRICS`` and more —
  speedup, concurrency, idle slots, the lower bound, tokens and cost, per-task totals.
- :func:`audit_run` (``AuditReport``): every breach of the plan's rules the log shows, and
  whether tasks the plan allowed to overlap really did (seed 003's "parallel but executed
  serially").
- :func:`branch_states`: seed 002's branch monitor, commits per task branch.
- :class:`GateRun` and :func:`task_timings`: the run's gate runs (``Timeline.gates``) and where
  each task's time went (work, its own gate, the merge queue, the plan's gate).

Metrics and the audit read a run through :func:`replay`, so they agree on what "running" means.
"""

from __future__ import annotations

from .audit import (
    AuditReport,
    Breach,
    BreachKind,
    Note,
    ParallelGroup,
    audit_repo,
    audit_run,
)
from .branches import BranchState, branch_states
from .database import open_store, pick_run
from .facts import PlanFacts, plan_facts
from .gates import Bisection, GateCounts, GateRun
from .metrics import RunMetrics, TaskMetrics, run_metrics
from .timeline import Span, Timeline, replay
from .timing import TaskTiming, task_timings

__all__ = [
    "AuditReport",
    "Bisection",
    "BranchState",
    "Breach",
    "BreachKind",
    "GateCounts",
    "GateRun",
    "Note",
    "ParallelGroup",
    "PlanFacts",
    "RunMetrics",
    "Span",
    "TaskMetrics",
    "TaskTiming",
    "Timeline",
    "audit_repo",
    "audit_run",
    "branch_states",
    "open_store",
    "pick_run",
    "plan_facts",
    "replay",
    "run_metrics",
    "task_timings",
]
