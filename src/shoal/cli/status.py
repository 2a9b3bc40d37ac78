"""`shoal status`: where a run stands, its metrics, and (``--branches``) the commits on each
task's branch."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .. import engine
from ..errors import ExitCode
from ..model import TaskState, format_duration, format_usd
from .commands import SUMMARIES
from .output import FORMAT_OPTION, emit_json

if TYPE_CHECKING:
    from ..observe import BranchState, RunMetrics, TaskMetrics

_COLOUR = {"succeeded": "green", "failed": "red", "blocked": "red", "skipped": "yellow",
           "cancelled": "yellow", "running": "cyan"}


def _value(state: object) -> str:
    return str(getattr(state, "value", state))


def print_summary(result: engine.RunResult, metrics: RunMetrics | None = None) -> None:
    run = result.run
    usage = {t.task_id: t for t in metrics.tasks} if metrics else {}
    click.echo("")
    click.echo(f"run {run.id}: {_value(run.state)}   integration branch: {result.integration_branch}")
    for t in result.tasks:
        state = click.style(f"{_value(t.state):<10}", fg=_COLOUR.get(_value(t.state)))
        took = f"{t.duration_s:.1f}s" if t.duration_s is not None else ""
        if t.task_id in usage:
            took += _split(usage[t.task_id])
        line = f"  {t.task_id:<24} {state} attempts {t.attempts}  {took}"
        if t.task_id in usage:
            line += _usage(usage[t.task_id].cost_usd, usage[t.task_id].tokens_in,
                           usage[t.task_id].tokens_out)
        if t.reason and TaskState(t.state) is not TaskState.SUCCEEDED:
            line += f"\n      {t.reason}"
        if t.violations:
            line += "\n      violations: " + ", ".join(str(v.get("path")) for v in t.violations[:5])
        click.echo(line)
    counts: dict[str, int] = {}
    for t in result.tasks:
        key = _value(t.state)
        counts[key] = counts.get(key, 0) + 1
    click.echo("  " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    if metrics is not None:
        click.echo("  " + metrics_line(metrics))
        if metrics.gates is not None:
            click.echo("  " + gates_line(metrics))
    click.echo(f"  files: {result.run_dir}")
    root = run.options.get("workspace_root") if isinstance(run.options, dict) else None
    if root and (Path(root) / run.id).is_dir():
        click.echo(f"  workspaces: {Path(root) / run.id}  (shoal cleanup removes them)")
    here = Path.cwd().resolve()
    repo = Path(run.repo).resolve()
    where = "" if here == repo or repo in here.parents else f" --repo {repo}"
    if result.ok:
        click.echo(f"  land it with: shoal merge {run.id}{where}")
    elif result.orchestrator_gone:
        click.secho(f"  its orchestrator is gone (killed?); finish it with: shoal resume {run.id}{where}",
                    fg="yellow")
    elif _value(run.state) == "interrupted":
        click.echo(f"  finish it with: shoal resume {run.id}{where}")
    elif _value(run.state) == "failed":
        click.echo(f"  retry the failed tasks with: shoal run --retry-failed {run.id}{where}")


@click.command("status", short_help=SUMMARIES["status"])
@click.argument("run_id", required=False)
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path),
              help="The repository (default: the one containing the current folder).")
@click.option("--branches", is_flag=True,
              help="Also show the commits on each task's branch beyond the commit it started "
              "from (for agents that commit as they go).")
@FORMAT_OPTION
def status_command(run_id: str | None, repo: Path | None, branches: bool, fmt: str) -> int:
    """Show a run (the latest by default): per task its state, attempts, duration, branch,
    changed paths, violations, result notes, log, cost and tokens; and the run's metrics
    (speedup, concurrency, lower bound, workers, cost)."""
    from ..observe import branch_states, open_store, run_metrics
    from ..store.export import with_timings

    result = engine.load_result(run_id, repo=repo)
    with open_store(repo) as (git, store):
        metrics = run_metrics(store, result.run_id)
        states = branch_states(git, store, result.run_id) if branches else None
    if fmt == "json":
        data = with_timings(result.to_json(),
                            {t.task_id: t.timing.to_json() for t in metrics.tasks})
        data["metrics"] = metrics.to_json()
        if states is not None:
            data["branches"] = [b.to_json() for b in states]
        emit_json(data)
    else:
        print_summary(result, metrics)
        if states is not None:
            _print_branches(states)
    return ExitCode.OK


def metrics_line(m: RunMetrics) -> str:
    """One line of seed 001's metrics: speedup, concurrency, lower bound, workers, cost."""
    parts = [f"wall {_secs(m.wall_s)}", f"work {_secs(m.sequential_s)}"]
    if m.speedup is not None:
        parts.append(f"speedup {m.speedup:.2f}x")
    parts.append(f"max {m.max_concurrent} at once")
    if m.waves is not None:
        parts.append(f"{m.waves} waves")
    if m.makespan_ratio is not None and m.lower_bound_s:
        parts.append(f"{m.makespan_ratio:.2f}x the lower bound {_secs(m.lower_bound_s)}")
    workers = f"{m.workers_spawned} workers"
    extra = [f"{n} {what}" for n, what in ((m.workers_failed, "failed"),
                                           (m.workers_retried, "retries")) if n]
    parts.append(workers + (f" ({', '.join(extra)})" if extra else ""))
    line = "metrics: " + ", ".join(parts)
    return line + _usage(m.cost_usd, m.tokens_in, m.tokens_out)


def gates_line(m: RunMetrics) -> str:
    """One line of the run's gates: plan and task gate runs, their time, bisections."""
    g = m.gates
    if g is None:
        return "gates: not logged"
    failed = f" ({g.plan_failed} failed)" if g.plan_failed else ""
    parts = [f"{g.plan_runs} plan gate run{'' if g.plan_runs == 1 else 's'}{failed} "
             + _secs(g.plan_s)]
    if g.task_runs:
        failed = f" ({g.task_failed} failed)" if g.task_failed else ""
        parts.append(f"{g.task_runs} task gate run{'' if g.task_runs == 1 else 's'}{failed} "
                     f"{_secs(g.task_s)}")
    if g.speculative_runs:
        parts.append(f"{g.speculative_runs} speculative")
    if g.bisections:
        culprits = ", ".join(g.culprits) or "none"
        parts.append(f"{g.bisections} bisection{'' if g.bisections == 1 else 's'} "
                     f"({g.bisect_runs} more gate runs; culprits {culprits})")
    return "gates: " + ", ".join(parts)


def _split(m: TaskMetrics) -> str:
    """Where a task's time went, for a run that logged its gates (else nothing)."""
    t = m.timing
    if t.gate_s is None:
        return ""
    parts = [f"work {_secs(t.work_s)}"]
    if t.task_gate_s:
        parts.append(f"task gate {_secs(t.task_gate_s)}")
    parts += [f"queue {_secs(t.queue_s)}", f"gate {_secs(t.gate_s)}"]
    return f" ({', '.join(parts)})"


def _secs(value: float) -> str:
    return f"{value:.1f}s" if value < 60 else format_duration(value)


def _usage(cost: float | None, tokens_in: int | None, tokens_out: int | None) -> str:
    out = ""
    if cost is not None:
        out += f"  {format_usd(cost)}"
    if tokens_in is not None or tokens_out is not None:
        out += f"  tokens {_count(tokens_in)} in / {_count(tokens_out)} out"
    return out


def _count(value: Any) -> str:
    if value is None:
        return "?"
    return f"{value / 1000:.1f}k" if value >= 10_000 else str(value)


def _print_branches(states: list[BranchState]) -> None:
    click.echo("")
    click.echo("task branches (commits beyond the commit each started from):")
    for b in states:
        if b.branch is None:
            what = "not started" if b.attempts == 0 else "no branch (this isolation mode has none)"
        elif b.head is None:
            what = f"{b.branch}: gone (removed by `shoal cleanup`?)"
        else:
            count = "?" if b.commits is None else str(b.commits)
            what = f"{b.branch}: {count} commit{'' if b.commits == 1 else 's'}"
        click.echo(f"  {b.task_id:<24} {b.state:<10} {what}")
