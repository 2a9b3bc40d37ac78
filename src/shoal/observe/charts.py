"""The geometry of the report's two pictures: the Gantt timeline and the dependency graph.

Pure: records and plan in, coordinates out (SVG user units); the template draws them. Every
bar keeps the exact times it was drawn from, so a reader (or a test) can check the picture
against the state database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from ..model import Plan, TaskId
from ..scheduler import PlanGraph
from ..store import AttemptRecord, MergeRecord, TaskRecord
from .gates import PLAN, GateRun

LABEL_W = 170  # the task names left of the plot
ROW_H = 22
BAR_H = 14
AXIS_H = 28
_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
          14400, 28800, 86400)


@dataclass(frozen=True)
class Bar:
    task_id: str
    attempt: int
    start: float  # as recorded (epoch seconds)
    end: float | None  # None: still running (drawn up to the report's end time)
    outcome: str  # the attempt's state
    x: float
    y: float
    width: float
    log_path: str | None
    error: str | None


@dataclass(frozen=True)
class MergeMark:
    task_id: str
    at: float
    commit: str
    x: float
    y: float  # middle of the row
    wait_x: float | None  # end of the attempt that was merged: the queue and verify wait


@dataclass(frozen=True)
class GateBar:
    """A gate run: a plan gate in a lane of its own below the tasks, a task gate on its row."""

    run: GateRun
    x: float
    y: float
    width: float
    height: float
    label: str  # the tasks it covered, cut to what fits in the bar

    @property
    def outcome(self) -> str:
        g = self.run
        if g.cancelled:
            return "cancelled"
        if g.ok is None:
            return "running" if g.end is None else "unfinished"
        return "passed" if g.ok else "failed"


@dataclass(frozen=True)
class PhaseBand:
    name: str
    start: float
    end: float
    x: float
    width: float


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class GanttRow:
    task_id: str
    y: float  # top of the row
    state: str


@dataclass(frozen=True)
class Gantt:
    t0: float
    t1: float
    width: float
    height: float
    plot_x: float
    plot_w: float
    rows: tuple[GanttRow, ...]
    bars: tuple[Bar, ...]
    merges: tuple[MergeMark, ...]
    phases: tuple[PhaseBand, ...]
    ticks: tuple[Tick, ...]
    gates: tuple[GateBar, ...] = ()  # plan gates, then task gates
    gate_lanes: tuple[float, ...] = ()  # top of each plan gate lane (one per overlapping run)

    def x_of(self, t: float) -> float:
        return self.plot_x + (t - self.t0) / (self.t1 - self.t0) * self.plot_w


def _tick_label(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:g}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s" if secs else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"


def build_gantt(tasks: Sequence[TaskRecord], attempts: Sequence[AttemptRecord],
                merges: Sequence[MergeRecord], *, t0: float, t1: float,
                phase_of: Mapping[str, str] | None = None, phase_order: Sequence[str] = (),
                width: float = 1100.0, gates: Sequence[GateRun] = ()) -> Gantt:
    """One row per task (plan order), one bar per attempt at its recorded times; merges as
    marks at their times; a band per phase from its first start to its last end. Below the
    tasks, each plan gate run is a bar of its own (in as many lanes as runs overlapped); a
    task's own gate runs lie on its row."""
    t1 = max(t1, t0 + 1e-3, *(a.ended_at or a.started_at for a in attempts),
             *(m.merged_at for m in merges), *(g.end or g.start for g in gates))
    t0 = min(t0, *(a.started_at for a in attempts)) if attempts else t0
    plot_x, plot_w = float(LABEL_W), width - LABEL_W - 16
    span = t1 - t0

    def x(t: float) -> float:
        return plot_x + (t - t0) / span * plot_w

    row_y = {t.task_id: AXIS_H + i * ROW_H for i, t in enumerate(tasks)}
    rows = tuple(GanttRow(t.task_id, row_y[t.task_id], t.state.value) for t in tasks)
    bars = []
    for a in attempts:
        if a.task_id not in row_y:
            continue
        end = a.ended_at if a.ended_at is not None else t1
        bars.append(Bar(a.task_id, a.number, a.started_at, a.ended_at, a.state.value,
                        x(a.started_at), row_y[a.task_id] + (ROW_H - BAR_H) / 2,
                        max(1.5, x(end) - x(a.started_at)), a.log_path, a.error))
    marks = []
    for m in merges:
        if m.task_id not in row_y:
            continue
        done = [a.ended_at for a in attempts if a.task_id == m.task_id
                and a.state.value == "succeeded" and a.ended_at is not None
                and a.ended_at <= m.merged_at]
        marks.append(MergeMark(m.task_id, m.merged_at, m.commit, x(m.merged_at),
                               row_y[m.task_id] + ROW_H / 2, x(max(done)) if done else None))
    bands = []
    for name in phase_order:
        mine = [a for a in attempts if (phase_of or {}).get(a.task_id) == name]
        if not mine:
            continue
        start = min(a.started_at for a in mine)
        end = max(a.ended_at if a.ended_at is not None else t1 for a in mine)
        ends = [m.merged_at for m in merges if (phase_of or {}).get(m.task_id) == name]
        end = max(end, *ends) if ends else end
        bands.append(PhaseBand(name, start, end, x(start), max(1.0, x(end) - x(start))))
    step = next((s for s in _STEPS if span / s <= 10), _STEPS[-1])
    ticks = tuple(Tick(x(t0 + i * step), _tick_label(i * step))
                  for i in range(int(span / step) + 1))
    top = AXIS_H + ROW_H * max(1, len(tasks))
    lane_of = _lanes([g for g in gates if g.scope == PLAN], t1)
    lanes = tuple(top + i * ROW_H for i in range(max(lane_of.values(), default=-1) + 1))
    gate_bars = []
    for g in gates:
        if g.scope == PLAN:
            y, h = lanes[lane_of[g.gate, g.start_seq]] + (ROW_H - BAR_H) / 2, float(BAR_H)
        elif g.tasks and TaskId(g.tasks[0]) in row_y:  # below its attempt's bar, on its row
            y, h = row_y[TaskId(g.tasks[0])] + ROW_H - (ROW_H - BAR_H) / 2 - 4, 4.0
        else:
            continue
        w = max(1.5, x(g.end if g.end is not None else t1) - x(g.start))
        label = _fit(", ".join(g.tasks), w) if g.scope == PLAN else ""
        gate_bars.append(GateBar(g, x(g.start), y, w, h, label))
    height = top + ROW_H * len(lanes) + 8
    return Gantt(t0, t1, width, height, plot_x, plot_w, rows, tuple(bars), tuple(marks),
                 tuple(bands), ticks, tuple(gate_bars), lanes)


def _lanes(runs: Sequence[GateRun], t1: float) -> dict[tuple[int, int], int]:
    """Each run in the first lane free when it starts: runs that overlapped (speculation)
    lie one above the other."""
    free: list[float] = []  # lane -> when its last run ends
    out = {}
    for g in sorted(runs, key=lambda g: (g.start, g.start_seq)):
        lane = next((i for i, end in enumerate(free) if end <= g.start), len(free))
        if lane == len(free):
            free.append(0.0)
        free[lane] = g.end if g.end is not None else t1
        out[g.gate, g.start_seq] = lane
    return out


CHAR_W = 6.2  # a character of the bars' 11px labels, about


def _fit(text: str, width: float) -> str:
    """``text`` cut to fit ``width``; nothing when not even a few characters would."""
    room = int((width - 6) / CHAR_W)
    if len(text) <= room:
        return text
    return text[: room - 1] + "…" if room >= 4 else ""


# -- the dependency graph -----------------------------------------------------------------------
NODE_W = 150
NODE_H = 30
GAP_X = 56
GAP_Y = 14
MARGIN = 16


@dataclass(frozen=True)
class Node:
    task_id: str
    x: float
    y: float
    layer: int
    critical: bool


@dataclass(frozen=True)
class Edge:
    source: str  # the dependency
    target: str  # the task that waits for it
    path: str  # SVG path data
    critical: bool


@dataclass(frozen=True)
class DepGraph:
    width: float
    height: float
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    critical_path: tuple[str, ...]


def build_graph(plan: Plan, critical_path: Sequence[str] = ()) -> DepGraph:
    """A layered drawing, left to right: a task's column is the length of the longest chain of
    dependencies before it; within a column, tasks sit near the mean row of what they wait
    for (one sweep), so most edges run straight."""
    graph = PlanGraph.build(plan)
    ids, index, deps = graph.ids, graph.index, graph.deps
    layer: dict[TaskId, int] = {}
    for t in graph.topo:  # dependencies first (a cycle's members last: they count as roots)
        layer[t] = 1 + max((layer[d] for d in deps[t] if d in layer), default=-1)
    columns: dict[int, list[TaskId]] = {}
    for t in ids:
        columns.setdefault(layer[t], []).append(t)
    row: dict[TaskId, float] = {}
    for k in sorted(columns):
        def centre(t: TaskId) -> float:
            parents = [row[d] for d in deps[t] if d in row]
            return sum(parents) / len(parents) if parents else float(index[t])
        ordered = sorted(columns[k], key=lambda t: (centre(t), index[t]))
        for i, t in enumerate(ordered):
            row[t] = float(i)
    on_path = set(critical_path)
    path_edges = set(pairwise(critical_path))
    nodes = {t: Node(t, MARGIN + layer[t] * (NODE_W + GAP_X), MARGIN + row[t] * (NODE_H + GAP_Y),
                     layer[t], t in on_path) for t in ids}
    edges = []
    for t in ids:
        for d in sorted(deps[t], key=index.__getitem__):
            a, b = nodes[d], nodes[t]
            x1, y1 = a.x + NODE_W, a.y + NODE_H / 2
            x2, y2 = b.x, b.y + NODE_H / 2
            mid = (x1 + x2) / 2
            path = f"M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
            edges.append(Edge(d, t, path, (d, t) in path_edges))
    width = MARGIN * 2 + (max(layer.values(), default=0) + 1) * (NODE_W + GAP_X) - GAP_X
    rows = max((len(c) for c in columns.values()), default=1)
    height = MARGIN * 2 + rows * (NODE_H + GAP_Y) - GAP_Y
    return DepGraph(width, height, tuple(nodes.values()), tuple(edges), tuple(critical_path))
