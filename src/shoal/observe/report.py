"""`shoal report`: one self-contained HTML file about a run (or Markdown for a pull request).

    >>> report = collect(store, run_id)
    >>> html = render_html(report, link_base=Path("out"))   # links to logs relative to out/

The HTML needs no network: CSS and SVG are inline, there is no script. It holds a Gantt
timeline (one row per task, one bar per attempt at its recorded times, coloured by outcome;
phases and merges marked; each plan gate run a bar below the tasks; details on hover), the
dependency graph with the critical path, the run's metrics
(:func:`~shoal.observe.metrics.run_metrics`) and every task's result, with where its time went,
and links to its logs. Plan and worker text is escaped everywhere (Jinja2 autoescape).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .._version import __version__
from ..errors import ShoalError
from ..model import Plan, format_duration, format_usd
from ..planfile import load_plan
from ..scheduler import critical_path
from ..store import AttemptRecord, MergeRecord, RunRecord, Store, TaskRecord
from .charts import DepGraph, Gantt, GateBar, build_gantt, build_graph
from .facts import plan_facts
from .gates import PLAN, GateRun
from .metrics import record_metrics
from .timeline import replay

TEMPLATE = "report.html.j2"
MAX_GRAPH_NODES = 400  # beyond this a drawing helps nobody


@dataclass(frozen=True)
class Report:
    run: RunRecord
    tasks: tuple[TaskRecord, ...]
    attempts: tuple[AttemptRecord, ...]
    merges: tuple[MergeRecord, ...]
    plan: Plan | None  # the plan as the run recorded it (None: unknown, see plan_note)
    plan_note: str | None
    metrics: dict[str, Any]  # RunMetrics.to_json()
    titles: dict[str, str]  # task titles, when the run or its plan file still has them
    until: float  # the end of the timeline: the run's end, or now while it runs
    generated_at: float
    gates: tuple[GateRun, ...] = ()  # plan and task gate runs, as the log records them

    def phase_of(self, task_id: str) -> str:
        if self.plan is None:
            return ""
        try:
            return self.plan.task(task_id).phase
        except KeyError:
            return ""


def collect(store: Store, run_id: str, *, now: float | None = None) -> Report:
    """Everything the report shows about run `run_id`, read in one consistent snapshot."""
    now = time.time() if now is None else now
    with store.snapshot():
        run = store.get_run(run_id)
        tasks = tuple(store.tasks(run_id))
        attempts = tuple(store.attempts(run_id))
        merges = tuple(store.merges(run_id))
        timeline = replay(store.events(run_id), run_id)
    metrics = record_metrics(run, timeline, attempts).to_json()
    facts, note = plan_facts(run)
    until = run.ended_at if run.ended_at is not None else now
    return Report(run, tasks, attempts, merges, facts.plan if facts else None, note, metrics,
                  _titles(run), until, now, timeline.gates)


def _titles(run: RunRecord) -> dict[str, str]:
    """Titles from the run's record of its plan, else from the plan file if it is still there
    (they only label rows: a plan file edited since can do no harm here)."""
    recorded = (run.plan_snapshot or {}).get("tasks")
    if isinstance(recorded, list) and any(isinstance(t, dict) and "title" in t for t in recorded):
        return {str(t["id"]): str(t.get("title") or "") for t in recorded
                if isinstance(t, dict) and "id" in t}
    if not run.plan_path or not Path(run.plan_path).exists():
        return {}
    try:
        plan = load_plan(run.plan_path)
    except ShoalError:
        return {}
    return {t.id: t.title for t in plan.tasks}


# -- shared pieces ------------------------------------------------------------------------------
def _clock(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _secs(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}s" if value < 60 else f"{format_duration(value)} ({value:.0f}s)"


def _attempt_secs(a: AttemptRecord, until: float) -> float:
    return max(0.0, (a.ended_at if a.ended_at is not None else until) - a.started_at)


_METRIC_ROWS: tuple[tuple[str, str, str], ...] = (
    # key, label, kind
    ("state", "run state", "text"),
    ("strategy", "strategy", "text"),
    ("slots", "slots (max parallel)", "int"),
    ("wall_s", "wall time", "secs"),
    ("makespan_s", "makespan (first worker start to last worker end)", "secs"),
    ("sequential_s", "sequential time (sum of task durations)", "secs"),
    ("estimated_sequential_s", "sequential estimate (the plan's estimates)", "secs"),
    ("speedup", "speedup (sequential time / wall time)", "times"),
    ("lower_bound_s", "lower bound max(critical path, work / slots)", "secs"),
    ("makespan_ratio", "makespan / lower bound (1.0 is the best possible)", "ratio"),
    ("critical_path", "critical path (measured durations)", "path"),
    ("critical_path_s", "critical path length", "secs"),
    ("tasks_total", "tasks", "int"),
    ("tasks_parallelised", "tasks that ran beside another", "int"),
    ("tasks_sequential", "tasks that ran alone", "int"),
    ("tasks_not_run", "tasks that never started", "int"),
    ("waves", "waves", "int"),
    ("avg_wave_s", "average wave", "secs"),
    ("max_concurrent", "most workers at once", "int"),
    ("workers_spawned", "workers spawned", "int"),
    ("workers_succeeded", "workers succeeded", "int"),
    ("workers_failed", "workers failed (incl. timeouts, crashes)", "int"),
    ("workers_interrupted", "workers interrupted", "int"),
    ("workers_retried", "retries", "int"),
    ("busy_s", "slot time used", "secs"),
    ("idle_slot_s", "idle slot time", "secs"),
    ("tokens_in", "tokens in", "int"),
    ("tokens_out", "tokens out", "int"),
    ("turns", "agent turns", "int"),
    ("cost_usd", "cost", "usd"),
    ("plan_gate_runs", "plan gate runs", "int"),
    ("plan_gates_failed", "plan gate runs failed", "int"),
    ("plan_gate_s", "plan gate time", "secs"),
    ("task_gate_runs", "task gate runs", "int"),
    ("task_gates_failed", "task gate runs failed", "int"),
    ("task_gate_s", "task gate time", "secs"),
    ("speculative_gate_runs", "speculative gate runs", "int"),
    ("bisections", "bisections", "int"),
    ("bisect_gate_runs", "gate runs bisecting took", "int"),
    ("culprits", "tasks that broke the gate", "list"),
)
# shown only for a run that logged its gates (null for one made before gates were logged)
_GATE_KEYS = frozenset(key for key, _, _ in _METRIC_ROWS[_METRIC_ROWS.index(
    ("plan_gate_runs", "plan gate runs", "int")):])


def _metric_value(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "secs":
        return _secs(float(value))
    if kind == "times":
        return f"{float(value):.2f}×"
    if kind == "ratio":
        return f"{float(value):.2f}"
    if kind == "usd":
        return format_usd(float(value))
    if kind == "path":
        return " → ".join(str(v) for v in value) or "—"
    if kind == "list":
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


def metric_rows(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) for the metrics table: the known keys in a reading order, then any
    other scalar key a newer shoal added, under its own name."""
    rows = [(label, _metric_value(metrics[key], kind))
            for key, label, kind in _METRIC_ROWS
            if key in metrics and not (key in _GATE_KEYS and metrics[key] is None)]
    known = {key for key, _, _ in _METRIC_ROWS} | {"tasks", "run_id"}
    rows += [(key, _metric_value(value, "text")) for key, value in metrics.items()
             if key not in known and not isinstance(value, (list, dict))]
    return rows


def measured_critical_path(report: Report) -> tuple[str, ...]:
    """The metrics' critical path; computed here from the attempts when they have none."""
    path = report.metrics.get("critical_path")
    if path:
        return tuple(str(t) for t in path)
    if report.plan is None or not report.plan.tasks:
        return ()
    worked: dict[str, float] = {t.id: 0.0 for t in report.plan.tasks}
    for a in report.attempts:
        if a.task_id in worked:
            worked[a.task_id] += _attempt_secs(a, report.until)
    return tuple(critical_path(report.plan, durations=worked)[0])  # type: ignore[arg-type]


def gantt(report: Report, width: float = 1100.0) -> Gantt:
    plan = report.plan
    return build_gantt(
        report.tasks, report.attempts, report.merges, t0=report.run.started_at, t1=report.until,
        phase_of={t.task_id: report.phase_of(t.task_id) for t in report.tasks},
        phase_order=[p.name for p in plan.phases] + sorted(
            {t.phase for t in plan.tasks} - {p.name for p in plan.phases}) if plan else (),
        width=width, gates=report.gates)


def dependency_graph(report: Report) -> DepGraph | None:
    if report.plan is None or not report.plan.tasks or len(report.plan.tasks) > MAX_GRAPH_NODES:
        return None
    return build_graph(report.plan, measured_critical_path(report))


# -- HTML ---------------------------------------------------------------------------------------
def _href(path: str | None, link_base: Path | None) -> str | None:
    if not path:
        return None
    target = Path(path)
    if link_base is None:
        return target.absolute().as_uri()
    return quote(os.path.relpath(target.absolute(), Path(link_base).absolute()))


def time_split(report: Report, task_id: str) -> list[tuple[str, str]]:
    """(label, time) of where a task's time went, for a run that logged its gates (else
    none): work, its own gate (when it had one), the merge queue, the plan's gate."""
    split: dict[str, Any] = next((t for t in report.metrics.get("tasks", ())
                                  if t.get("id") == task_id), {})
    if split.get("gate_s") is None:
        return []
    out = [("work", _secs(split.get("work_s")))]
    if split.get("task_gate_s"):
        out.append(("task gate", _secs(split["task_gate_s"])))
    return out + [("queue", _secs(split.get("queue_s"))), ("gate", _secs(split["gate_s"]))]


def _task_view(report: Report, task: TaskRecord, link_base: Path | None) -> dict[str, Any]:
    spec = None
    if report.plan is not None:
        try:
            spec = report.plan.task(task.task_id)
        except KeyError:
            spec = None
    attempts = [a for a in report.attempts if a.task_id == task.task_id]
    result = task.result or {}
    report_json = result.get("report") if isinstance(result.get("report"), dict) else {}
    return {
        "id": task.task_id,
        "title": report.titles.get(task.task_id) or (spec.title if spec else ""),
        "phase": spec.phase if spec else "",
        "risk": spec.risk.value if spec else "",
        "after": list(spec.after) if spec else [],
        "owns": list(spec.owns) if spec else [],
        "state": task.state.value,
        "duration": _secs(sum(_attempt_secs(a, report.until) for a in attempts))
        if attempts else "—",
        "split": time_split(report, task.task_id),
        "attempts": [{
            "number": a.number, "state": a.state.value,
            "duration": _secs(_attempt_secs(a, report.until)),
            "exit_code": a.exit_code, "error": a.error or "",
            "log": a.log_path or "", "href": _href(a.log_path, link_base),
            "exists": bool(a.log_path and Path(a.log_path).exists()),
        } for a in attempts],
        "changed": list(task.changed_paths),
        "violations": [v if isinstance(v, dict) else {"path": str(v)} for v in task.violations],
        "reason": task.reason or "",
        "summary": str(result.get("summary") or ""),
        "notes": [str(n) for n in result.get("notes") or ()]
        + [str(n) for n in (report_json or {}).get("notes", ()) if isinstance(n, str)],
        "cost": result.get("cost_usd"),
        "merged": task.merged_commit or "",
        "branch": task.branch or "",
    }


def render_html(report: Report, *, link_base: Path | None = None) -> str:
    """The report as one HTML document; links to logs are relative to `link_base` (the folder
    the file will be written to), or absolute ``file://`` URLs without it."""
    import jinja2

    source = resources.files("shoal.templates").joinpath(TEMPLATE).read_text("utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    run = report.run
    chart = gantt(report)
    return env.from_string(source).render(
        run=run, state=run.state.value, version=__version__,
        plan_name=(run.plan_snapshot or {}).get("name") or (report.plan.name if report.plan
                                                            else ""),
        started=_clock(run.started_at), ended=_clock(run.ended_at),
        generated=_clock(report.generated_at), wall=_secs(report.until - run.started_at),
        running=run.ended_at is None, plan_note=report.plan_note,
        gantt=chart, now_x=chart.x_of(report.until) if run.ended_at is None else None,
        bar_title=lambda bar: _bar_title(bar, run.started_at),
        gate_title=lambda bar: gate_title(bar, run.started_at),
        graph=dependency_graph(report), node_state={t.task_id: t.state.value for t in report.tasks},
        metrics=metric_rows(report.metrics),
        tasks=[_task_view(report, t, link_base) for t in report.tasks],
        anchors={t.task_id: i for i, t in enumerate(report.tasks, 1)},
        secs=_secs, clock=_clock, offset=lambda ts: f"+{ts - run.started_at:.1f}s",
    )


def _bar_title(bar: Any, t0: float) -> str:
    end = "still running" if bar.end is None else f"ended +{bar.end - t0:.1f}s ({_clock(bar.end)})"
    took = "" if bar.end is None else f", {bar.end - bar.start:.1f}s"
    lines = [f"{bar.task_id} · attempt {bar.attempt} · {bar.outcome}{took}",
             f"started +{bar.start - t0:.1f}s ({_clock(bar.start)})", end]
    if bar.error:
        lines.append(bar.error[:300])
    return "\n".join(lines)


def gate_title(bar: GateBar, t0: float) -> str:
    g = bar.run
    kind = f"plan gate ({g.policy})" if g.scope == PLAN else f"task gate, attempt {g.attempt}"
    took = "" if g.end is None else f", {g.duration():.1f}s"
    lines = [f"gate #{g.gate} · {kind} · {bar.outcome}{took}",
             f"covers {', '.join(g.tasks) or 'nothing'}",
             f"started +{g.start - t0:.1f}s ({_clock(g.start)})"]
    if g.bisect:
        lines.append("a run made while finding the tasks that break the gate")
    if g.speculative:
        lines.append("speculative: on top of a candidate still being gated")
    failed = [r for r in g.results if r.get("exit_code") not in (0, None) or r.get("timed_out")]
    for r in failed[:1]:
        what = "timed out" if r.get("timed_out") else f"exit {r.get('exit_code')}"
        lines.append(f"`{r.get('command')}` {what}: {str(r.get('output_tail') or '')[-300:]}")
    return "\n".join(lines)


# -- Markdown -----------------------------------------------------------------------------------
_MD_SPECIAL = set("\\`*_[]<>|~&!")


def md_text(text: object, limit: int = 200) -> str:
    """Plan or worker text made inert for a Markdown table cell: one line, every character
    that Markdown or HTML would act on escaped."""
    flat = " ".join(str(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 3] + "..."
    return "".join(f"\\{c}" if c in _MD_SPECIAL else c for c in flat)


def _mermaid_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9 _./-]", "_", text)[:60].strip() or "_"


def _mermaid_gantt(report: Report) -> list[str]:
    lines = ["```mermaid", "gantt", "  dateFormat x", "  axisFormat %H:%M:%S"]
    sections: dict[str, list[AttemptRecord]] = {}
    for a in report.attempts:
        sections.setdefault(report.phase_of(a.task_id) or "tasks", []).append(a)
    tag = {"succeeded": "done", "running": "active"}
    for i, (name, attempts) in enumerate(sections.items()):
        lines.append(f"  section {_mermaid_name(name)}")
        for j, a in enumerate(attempts):
            start = int(a.started_at * 1000)
            end = max(start + 1, int((a.ended_at if a.ended_at is not None else report.until)
                                     * 1000))
            label = _mermaid_name(f"{a.task_id} #{a.number} {a.state.value}")
            lines.append(f"  {label} :{tag.get(a.state.value, 'crit')}, a{i}_{j}, {start}, {end}")
    gates = [g for g in report.gates if g.scope == PLAN]
    if gates:
        lines.append("  section gates")
        for j, g in enumerate(gates):
            state = "done" if g.passed else "crit" if g.failed else "active"
            start = int(g.start * 1000)
            end = max(start + 1, int((g.end if g.end is not None else report.until) * 1000))
            bisect = " bisect" if g.bisect else ""
            label = _mermaid_name(f"gate {g.gate}{bisect} {', '.join(g.tasks)}")
            lines.append(f"  {label} :{state}, g{j}, {start}, {end}")
    lines.append("```")
    return lines


def render_markdown(report: Report) -> str:
    """The report for a pull request: a summary line, the metrics, a table of tasks and the
    timeline as a Mermaid Gantt chart (GitHub draws it)."""
    run = report.run
    counts: dict[str, int] = {}
    for t in report.tasks:
        counts[t.state.value] = counts.get(t.state.value, 0) + 1
    out = [f"## shoal run `{run.id}`: {run.state.value}", ""]
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    out.append(f"{len(report.tasks)} tasks ({summary}) · wall time "
               f"{_secs(report.until - run.started_at)} · started {_clock(run.started_at)}"
               + (f" · integration branch `{run.integration_branch}`"
                  if run.integration_branch else ""))
    if report.plan_note:
        out += ["", f"_{md_text(report.plan_note)}_"]
    out += ["", "### Metrics", "", "| metric | value |", "|---|---|"]
    out += [f"| {md_text(label)} | {md_text(value)} |" for label, value in
            metric_rows(report.metrics)]
    out += ["", "### Tasks", "",
            "| task | state | attempts | time | changed | violations | note |",
            "|---|---|---|---|---|---|---|"]
    for t in report.tasks:
        mine = [a for a in report.attempts if a.task_id == t.task_id]
        took = _secs(sum(_attempt_secs(a, report.until) for a in mine)) if mine else "—"
        split = time_split(report, t.task_id)
        if split:
            took += f" ({', '.join(f'{label} {value}' for label, value in split)})"
        tries = ", ".join(f"#{a.number} {a.state.value}" for a in mine) or "—"
        violations = ", ".join(str(v.get("path") if isinstance(v, dict) else v)
                               for v in t.violations)
        note = t.reason or (f"merged as {t.merged_commit[:12]}" if t.merged_commit else "")
        out.append(f"| {md_text(t.task_id)} | {t.state.value} | {md_text(tries)} | {took} | "
                   f"{len(t.changed_paths)} | {md_text(violations) or '—'} | "
                   f"{md_text(note) or '—'} |")
    if report.attempts:
        out += ["", "### Timeline", "", *_mermaid_gantt(report)]
    out += ["", f"<sub>shoal {__version__} · report generated {_clock(report.generated_at)}</sub>",
            ""]
    return "\n".join(out)
