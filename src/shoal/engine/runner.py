"""Starting, resuming and retrying runs: the engine's public entry points.

    >>> result = shoal.run("plan.yaml", repo=".", max_parallel=4)
    >>> result.state, result.integration_branch
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from collections.abc import Callable, Mapping
from typing import Any

from .. import api
from ..agents import get_agent
from ..errors import PlanInvalidError, ShoalError
from ..git import Git
from ..model import Plan, TaskId, TaskState
from ..prompt import render_prompt
from ..scheduler import PlanGraph
from ..store import (
    AttemptState,
    RunLock,
    RunRecord,
    RunState,
    Store,
    default_db_path,
    new_run_id,
)
from . import naming
from .context import Resumed, RunContext
from .continuation import cut_off_attempts, last_attempts
from .merge import merged_tasks
from .options import RunOptions, check_names, resolve, with_workspace_root
from .orphans import stop_orphans
from .result import RunResult, open_run, repository
from .supervisor import Observer, Supervisor
from .workspace import workspace_root as workspace_root_for


def _checked_plan(plan: api.PlanLike, repo: Path) -> api.CheckReport:
    report = api.check(plan, repo=repo)
    if not report.ok:
        raise PlanInvalidError(
            f"the plan has {len(report.errors)} error(s); nothing was run",
            report.problems, hint="run `shoal check` on it to see them",
        )
    return report


def _check_agents(plan: Plan, options: RunOptions) -> None:
    """Build every agent the run will use, so an unknown agent or a bad setting is an error
    before anything starts, not a failed attempt after."""
    names = {options.agent} if options.agent else {t.agent or plan.defaults.agent for t in plan.tasks}
    for name in sorted(names):
        get_agent(name, options.agent_settings.get(name))


def _prompts(report: api.CheckReport, graph: PlanGraph, slots: int) -> Callable[[str], str]:
    contexts = api.parallel_contexts(report, graph, slots)
    return lambda task_id: render_prompt(report.plan, task_id, contexts(task_id))


def run(plan: api.PlanLike, *, repo: str | os.PathLike[str] | None = None,
        observer: Observer | None = None, origin: str = "given", **settings: Any) -> RunResult:
    """Run ``plan`` on the repository at ``repo``; the work lands on ``shoal/<run-id>``.

    ``settings`` are the run settings by name (`shoal.engine.options.RunOptions`: ``base``,
    ``max_parallel``, ``strategy``, ``isolation``, ``agent``, ``fail_fast``, ``on_violation``,
    ``idle_timeout``, ``budget_usd``, ``track_changes``, ``workspace_root``, ``grace``,
    ``result_grace``, ``rate_limit_backoff``, ``max_output_bytes``, ``port_base``,
    ``agent_settings``); what is not given comes from the plan's defaults, then the
    environment, then the built-in default. `shoal run --help` says what each does;
    ``origin`` is what the run records as the source of the given ones.

    Never touches the user's working tree, index or branches. Raises
    :class:`PlanInvalidError` for a plan with errors, :class:`RunInProgressError` when
    another run holds the repository, :class:`SettingError` for an unknown or bad setting.
    """
    git = repository(repo)
    top = git.toplevel()
    check_names(settings)
    report = _checked_plan(plan, top)
    options = resolve(top, report.plan, settings, origin=origin)
    options = with_workspace_root(options, workspace_root_for(git, options.workspace_root))
    base = options.base
    _check_agents(report.plan, options)
    base_commit = git.resolve_commit(base)
    common = git.common_dir()
    loaded = report.plan
    with RunLock(common) as lock:
        store = Store.open(default_db_path(common))
        try:
            _settle_crashed_runs(store, common)
            run_id = new_run_id(time.time())
            lock.set_run_id(run_id)
            integration = naming.integration_branch(run_id)
            git.create_branch(integration, base_commit)
            store.create_run(
                repo=str(top), plan_path=str(Path(loaded.source).resolve()) if loaded.source else None,
                plan_format=loaded.format.value, plan_snapshot=_plan_snapshot(loaded, report.analysis.conflicts),
                base_commit=base_commit, integration_branch=integration,
                options=options.to_json(), task_ids=loaded.ids, run_id=run_id,
            )
            if git.is_dirty():
                store.append_event(run_id, "note", data={
                    "message": f"your working tree has uncommitted changes; they are not part of "
                    f"this run, which starts from {base} ({base_commit[:12]})"})
            return _supervise(git, store, run_id, report, options, observer)
        finally:
            store.close()


def _settle_crashed_runs(store: Store, common: Path) -> None:
    """Runs still marked running while we hold the repository's lock lost their orchestrator
    (``kill -9``, a power cut). Their workers have their own sessions and may still run, in
    workspaces nobody watches: stop them, and mark the runs interrupted (``shoal resume``
    finishes them later)."""
    for record in store.list_runs():
        if RunState(record.state) is RunState.RUNNING:
            store.interrupt_run(record.id, reason="the orchestrator stopped unexpectedly")
            options = RunOptions.from_json(Path(record.repo), record.options)
            stop_orphans(naming.run_dir(common, record.id), record.id, options.grace)


def _plan_snapshot(plan: Plan, conflicts: Mapping[TaskId, frozenset[TaskId]]) -> dict[str, Any]:
    """The plan's rules as the run began: `shoal audit` and the metrics judge the run by these,
    not by a plan file that may have changed or gone since."""
    return {
        **api.plan_summary(plan),
        "task_count": len(plan.tasks),
        "tasks": [{"id": t.id, "title": t.title, "phase": t.phase, "after": list(t.after), "owns": list(t.owns),
                   "forbids": list(t.forbids), "risk": t.risk.value, "estimate_s": t.estimate}
                  for t in plan.tasks],
        "shared_readonly": list(plan.defaults.shared_readonly),
        "isolation": plan.defaults.isolation.value,
        "conflicts": sorted([a, b] for a, others in conflicts.items() for b in others if a < b),
    }


def _supervise(git: Git, store: Store, run_id: str, report: api.CheckReport, options: RunOptions,
               observer: Observer | None, resumed: Resumed | None = None) -> RunResult:
    run_record = store.get_run(run_id)
    run_dir = naming.run_dir(git.common_dir(), run_id)
    plan, conflicts = report.plan, report.analysis.conflicts
    graph = PlanGraph.build(plan, conflicts)  # once, for the prompts and the supervisor
    ctx = RunContext(
        plan=plan, options=options, git=git, store=store, run_id=run_id,
        integration_branch=run_record.integration_branch or naming.integration_branch(run_id),
        conflicts=conflicts,
        prompts=_prompts(report, graph, plan.effective_max_parallel(options.max_parallel)),
        run_dir=run_dir, graph=graph, resumed=resumed or Resumed(),
    )
    supervisor = Supervisor(ctx, observer)
    supervisor.run()
    run, tasks = supervisor.final or (store.get_run(run_id), store.tasks(run_id))
    return RunResult(run, tuple(tasks), run_dir)


def _reload_plan(record: RunRecord, repo: Path) -> api.CheckReport:
    if not record.plan_path or not Path(record.plan_path).exists():
        raise ShoalError(
            f"the plan of run {record.id} ({record.plan_path}) is gone",
            hint="put the plan file back where it was to resume this run",
        )
    return _checked_plan(record.plan_path, repo)


def resume(run_id: str | None = None, *, repo: str | os.PathLike[str] | None = None,
           observer: Observer | None = None, origin: str = "given", **settings: Any) -> RunResult:
    """Finish an interrupted run (Ctrl-C or a crash): merged work is not redone, work that had
    finished is merged without running it again, tasks that were still running start a new
    attempt (continuing the cut-off agent session where it can: `engine.continuation`), every
    task's work is merged exactly once.

    ``settings`` (as for `run`) change the run's recorded ones from here on; the fixed ones
    (``base``, ``isolation``, ``workspace_root``) cannot change."""
    check_names(settings)
    git = repository(repo)
    common = git.common_dir()
    with RunLock(common) as lock:
        store = Store.open(default_db_path(common))
        try:
            record = open_run(git, store, run_id)
            if RunState(record.state).terminal:
                raise ShoalError(
                    f"run {record.id} already ended ({record.state}); there is nothing to resume",
                    hint=f"`shoal run --retry-failed {record.id}` runs its failed tasks again",
                )
            lock.set_run_id(record.id)
            report = _reload_plan(record, git.toplevel())
            if RunState(record.state) is RunState.RUNNING:  # its orchestrator died
                store.interrupt_run(record.id, reason="the orchestrator stopped unexpectedly")
            recorded = RunOptions.from_json(git.toplevel(), record.options)
            options = _settings_again(store, record.id, report.plan, recorded, settings, origin)
            # Workers have their own sessions: a killed orchestrator's may still be running.
            stop_orphans(naming.run_dir(common, record.id), record.id, recorded.grace)
            awaiting = _reconcile(git, store, record)
            cut = cut_off_attempts(store, record.id, skip=set(awaiting))
            store.set_run_state(record.id, RunState.RUNNING)
            return _supervise(git, store, record.id, report, options, observer,
                              Resumed(merge_first=awaiting, cut_off=cut))
        finally:
            store.close()


def _reconcile(git: Git, store: Store, record: RunRecord) -> dict[str, str]:
    """Make the database agree with git: a merge commit on the integration branch counts.
    Returns the tasks whose worker had finished, its work committed, when the merge was cut
    off (task -> the head to merge): they go straight back to the merge queue. Only tasks whose
    worker was still running start a new attempt."""
    integration = record.integration_branch or naming.integration_branch(record.id)
    landed = merged_tasks(git, record.id, integration)
    finished = _finished_heads(store, record.id)
    awaiting: dict[str, str] = {}
    for task in store.tasks(record.id):
        if task.task_id in landed and task.merged_commit is None:
            store.record_merge(record.id, task.task_id, landed[task.task_id])
        elif TaskState(task.state) in (TaskState.RUNNING, TaskState.PENDING):
            head = finished.get(task.task_id)
            if head is not None and git.rev_parse(f"{head}^{{commit}}") == head:
                awaiting[task.task_id] = head
                store.append_event(record.id, "note", task_id=task.task_id, data={
                    "message": "its worker had finished when the run was interrupted: merging "
                               f"its work ({head[:12]}) without running it again"})
            elif TaskState(task.state) is TaskState.RUNNING:  # its worker was cut off
                store.set_task_state(record.id, task.task_id, TaskState.PENDING,
                                     reason="its attempt was interrupted; running it again")
    return awaiting


def _finished_heads(store: Store, run_id: str) -> dict[str, str]:
    """Task -> the head its last attempt handed to the merge queue, for tasks whose last
    attempt succeeded (a ``merge_started`` after it)."""
    last = last_attempts(store, run_id)
    heads: dict[str, str] = {}
    for event in store.events(run_id, kinds=["merge_started"]):
        ended = last.get(event.task_id or "")
        head = (event.data or {}).get("head")
        if (ended is not None and ended.state == AttemptState.SUCCEEDED.value
                and ended.ended_at is not None and event.ts >= ended.ended_at
                and isinstance(head, str)):
            heads[ended.task_id] = head
    return heads


def retry_failed(run_id: str | None = None, *, repo: str | os.PathLike[str] | None = None,
                 observer: Observer | None = None, origin: str = "given",
                 **settings: Any) -> RunResult:
    """Run again only the failed, blocked, skipped and cancelled tasks of a finished run,
    on top of its integration branch. ``settings`` as for `resume`."""
    check_names(settings)
    git = repository(repo)
    common = git.common_dir()
    with RunLock(common) as lock:
        store = Store.open(default_db_path(common))
        try:
            _settle_crashed_runs(store, common)
            record = open_run(git, store, run_id)
            if not RunState(record.state).terminal:
                raise ShoalError(f"run {record.id} has not ended ({record.state})",
                                 hint=f"`shoal resume {record.id}` finishes it")
            lock.set_run_id(record.id)
            report = _reload_plan(record, git.toplevel())
            recorded = RunOptions.from_json(git.toplevel(), record.options)
            options = _settings_again(store, record.id, report.plan, recorded, settings, origin)
            again = {TaskState.FAILED, TaskState.BLOCKED, TaskState.SKIPPED, TaskState.CANCELLED}
            fresh: dict[str, int] = {}
            for task in store.tasks(record.id):
                if TaskState(task.state) in again:
                    fresh[task.task_id] = task.attempts
                    store.set_task_state(record.id, task.task_id, TaskState.PENDING,
                                         reason="--retry-failed")
            if not fresh:
                raise ShoalError(f"run {record.id} has no failed, blocked or skipped task to retry")
            store.set_run_state(record.id, RunState.RUNNING)
            return _supervise(git, store, record.id, report, options, observer,
                              Resumed(ignore_attempts_before=fresh))
        finally:
            store.close()


def _settings_again(store: Store, run_id: str, plan: Plan, recorded: RunOptions,
                    given: Mapping[str, Any], origin: str) -> RunOptions:
    """`resume` and `--retry-failed`: the run's recorded settings with the given ones on top,
    recorded for what follows (and for `shoal audit`, which judges the run by them)."""
    options = resolve(recorded.repo, plan, given, recorded=recorded, origin=origin)
    _check_agents(plan, options)
    before, after = recorded.to_json(), options.to_json()
    changed = [f"{k} {before.get(k)!r} -> {v!r}" for k, v in after.items()
               if k != "sources" and before.get(k) != v]
    if changed:
        store.set_run_options(run_id, after)
        store.append_event(run_id, "note", data={
            "message": f"settings changed ({origin}): {', '.join(changed)}"})
    return options
