"""`shoal run` and `shoal resume`: run a plan on a repository."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .. import api, engine
from ..errors import ExitCode
from .commands import SUMMARIES
from .output import FORMAT_OPTION, emit_json, plan_errors_shown
from .progress import PROGRESS_OPTION, progress_observer, shows_board
from .settings import ORIGIN, given_settings, settings_options
from .status import print_summary

REPO_OPTION = click.option(
    "--repo", type=click.Path(file_okay=False, path_type=Path),
    help="The git repository to run on (default: the one containing the current folder).",
)


@click.command("run", short_help=SUMMARIES["run"])
@click.argument("plan", type=click.Path(path_type=Path), required=False)
@REPO_OPTION
@settings_options
@click.option("--retry-failed", "retry_run", is_flag=False, flag_value="latest", default=None,
              metavar="[RUN]", help="Run again the failed, blocked and skipped tasks of a "
              "finished run; settings given here change the run's from then on.")
@PROGRESS_OPTION
@FORMAT_OPTION
def run_command(plan: Path | None, repo: Path | None, retry_run: str | None, progress: str,
                fmt: str, **kwargs: Any) -> int:
    """Run PLAN on the repository: each task in its own worktree, merged one at a time into
    the integration branch `shoal/<run-id>`. Your working tree, index and branches are never
    changed; `shoal merge` lands the result when you ask.

    A setting not given here comes from the plan's defaults (where it has one), else its
    default; `shoal status --format json` shows where each came from.

    Exit 0 when every task succeeded, 1 when some did not, 130 when interrupted (the run
    can then be finished with `shoal resume`).
    """
    settings = given_settings(kwargs)
    if retry_run is not None:
        run_id = None if retry_run == "latest" else retry_run
        with plan_errors_shown(fmt), progress_observer(progress, None, fmt) as observer:
            result = engine.retry_failed(run_id, repo=repo, observer=observer, origin=ORIGIN,
                                         **settings)
    else:
        if plan is None:
            raise click.UsageError("give a PLAN to run (or --retry-failed [RUN])")
        # only the board needs the plan up front; the run reads and checks it anyway
        loaded = api.check(plan).plan if shows_board(progress) else None
        with plan_errors_shown(fmt), progress_observer(progress, loaded, fmt, repo=repo) as observer:
            result = engine.run(plan, repo=repo, observer=observer, origin=ORIGIN, **settings)
    return _report(result, fmt)


def _report(result: engine.RunResult, fmt: str) -> int:
    if fmt == "json":
        emit_json(result.to_json())
    else:
        print_summary(result)
    return ExitCode.OK if result.ok else ExitCode.PROBLEMS


@click.command("resume", short_help=SUMMARIES["resume"])
@click.argument("run_id", required=False)
@REPO_OPTION
@settings_options
@PROGRESS_OPTION
@FORMAT_OPTION
def resume_command(run_id: str | None, repo: Path | None, progress: str, fmt: str,
                   **kwargs: Any) -> int:
    """Finish an interrupted run (the latest by default) without redoing merged work.

    Settings given here change the run's from then on (--base, --isolation and
    --workspace-root cannot change once a run has started)."""
    settings = given_settings(kwargs)
    with plan_errors_shown(fmt), progress_observer(progress, None, fmt) as observer:
        result = engine.resume(run_id, repo=repo, observer=observer, origin=ORIGIN, **settings)
    return _report(result, fmt)
