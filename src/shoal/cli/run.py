"""`shoal run` and `shoal resume`: run a plan on a repository."""

from __future__ import annotations

from pathlib import Path

import click

from .. import api, engine
from ..errors import ExitCode
from ..model import Isolation, Strategy, parse_duration
from .commands import SUMMARIES
from .output import FORMAT_OPTION, emit_json, plan_errors_shown
from .progress import PROGRESS_OPTION, progress_observer, shows_board
from .status import print_summary

REPO_OPTION = click.option(
    "--repo", type=click.Path(file_okay=False, path_type=Path),
    help="The git repository to run on (default: the one containing the current folder).",
)


@click.command("run", short_help=SUMMARIES["run"])
@click.argument("plan", type=click.Path(path_type=Path), required=False)
@REPO_OPTION
@click.option("--base", default="HEAD", show_default=True, help="Commit the run starts from.")
@click.option("--max-parallel", type=click.IntRange(min=1), help="Workers at once (default: the plan's).")
@click.option("--strategy", type=click.Choice([s.value for s in Strategy]), default="dynamic",
              show_default=True, help="dynamic: start each task as soon as it may; waves: wave by wave.")
@click.option("--isolation", type=click.Choice([i.value for i in Isolation]),
              help="Where workers run (default: the plan's; worktree: a git worktree per task).")
@click.option("--agent", help="Use this agent for every task (script, command, ...).")
@click.option("--agent-command", help="For --agent command: the argument list as JSON, "
              'e.g. \'["my-agent", "--prompt-file", "{prompt_file}"]\'.')
@click.option("--fail-fast", is_flag=True, help="After a failure start nothing new; running tasks finish.")
@click.option("--on-violation", type=click.Choice(["fail", "revert", "warn"]), default="fail",
              show_default=True, help="A task that changed paths it does not own: fail it, "
              "drop those paths and merge the rest, or merge and report.")
@click.option("--idle-timeout", callback=lambda ctx, param, value: _duration(value, param),
              metavar="DURATION", help="Stop a worker that prints nothing for this long, e.g. "
              "10m (default: the plan's defaults.idle_timeout, else no limit).")
@click.option("--budget-usd", type=click.FloatRange(min=0, min_open=True),
              help="Start nothing new once the agents' reported cost reaches this many dollars "
              "(default: the plan's defaults.budget_usd).")
@click.option("--no-track-changes", "track_changes", is_flag=True, flag_value=False, default=True,
              help="Isolation none: skip the snapshots of the shared tree taken as tasks end "
              "(faster for many small tasks, but changes are no longer checked against each "
              "task's owned paths).")
@click.option("--workspace-root", type=click.Path(file_okay=False, path_type=Path),
              help="Folder the workers' workspaces go in, outside the checkout (default: "
              "$SHOAL_WORKSPACE_ROOT, the plan's defaults.workspace_root, else <repo>.shoal "
              "beside the repository).")
@click.option("--retry-failed", "retry_run", is_flag=False, flag_value="latest", default=None,
              metavar="[RUN]", help="Run again the failed, blocked and skipped tasks of a finished run.")
@PROGRESS_OPTION
@FORMAT_OPTION
def run_command(plan: Path | None, repo: Path | None, base: str, max_parallel: int | None,
                strategy: str, isolation: str | None, agent: str | None, agent_command: str | None,
                fail_fast: bool, on_violation: str, idle_timeout: float | None,
                budget_usd: float | None, track_changes: bool, workspace_root: Path | None,
                retry_run: str | None, progress: str, fmt: str) -> int:
    """Run PLAN on the repository: each task in its own worktree, merged one at a time into
    the integration branch `shoal/<run-id>`. Your working tree, index and branches are never
    changed; `shoal merge` lands the result when you ask.

    Exit 0 when every task succeeded, 1 when some did not, 130 when interrupted (the run
    can then be finished with `shoal resume`).
    """
    if retry_run is not None:
        run_id = None if retry_run == "latest" else retry_run
        with plan_errors_shown(fmt), progress_observer(progress, None, fmt) as observer:
            result = engine.retry_failed(run_id, repo=repo, observer=observer)
    else:
        if plan is None:
            raise click.UsageError("give a PLAN to run (or --retry-failed [RUN])")
        settings = {}
        if agent_command:
            import json
            try:
                settings["command"] = {"command": json.loads(agent_command)}
            except json.JSONDecodeError as exc:
                raise click.BadParameter(f"not JSON: {exc}", param_hint="--agent-command") from None
        # only the board needs the plan up front; the run reads and checks it anyway
        loaded = api.check(plan).plan if shows_board(progress) else None
        with plan_errors_shown(fmt), progress_observer(progress, loaded, fmt, repo=repo) as observer:
            result = engine.run(
                plan, repo=repo, base=base, max_parallel=max_parallel, strategy=strategy,
                isolation=isolation, agent=agent, fail_fast=fail_fast, on_violation=on_violation,
                agent_settings=settings, observer=observer, idle_timeout=idle_timeout,
                budget_usd=budget_usd, track_changes=track_changes, workspace_root=workspace_root,
            )
    return _report(result, fmt)


def _duration(value: str | None, param: click.Parameter) -> float | None:
    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None
    if seconds <= 0:
        raise click.BadParameter(f"must be more than zero, got {value!r}", param=param)
    return seconds


def _report(result: engine.RunResult, fmt: str) -> int:
    if fmt == "json":
        emit_json(result.to_json())
    else:
        print_summary(result)
    return ExitCode.OK if result.ok else ExitCode.PROBLEMS


@click.command("resume", short_help=SUMMARIES["resume"])
@click.argument("run_id", required=False)
@REPO_OPTION
@PROGRESS_OPTION
@FORMAT_OPTION
def resume_command(run_id: str | None, repo: Path | None, progress: str, fmt: str) -> int:
    """Finish an interrupted run (the latest by default) without redoing merged work."""
    with plan_errors_shown(fmt), progress_observer(progress, None, fmt) as observer:
        result = engine.resume(run_id, repo=repo, observer=observer)
    return _report(result, fmt)
