"""`shoal merge` and `shoal cleanup`: land a run's work, remove what it left behind."""

from __future__ import annotations

from pathlib import Path

import click

from .. import engine
from ..engine import naming
from ..engine.merge import land
from ..engine.options import RunOptions
from ..engine.workspace import cleanup
from ..errors import ExitCode, ShoalError
from ..git import Git
from ..store import RunState, Store, default_db_path
from .commands import SUMMARIES
from .output import FORMAT_OPTION, emit_json

REPO_OPTION = click.option(
    "--repo", type=click.Path(file_okay=False, path_type=Path),
    help="The repository (default: the one containing the current folder).",
)


@click.command("merge", short_help=SUMMARIES["merge"])
@click.argument("run_id", required=False)
@click.option("--into", help="Branch to land on (default: the branch checked out now).")
@REPO_OPTION
@FORMAT_OPTION
def merge_command(run_id: str | None, into: str | None, repo: Path | None, fmt: str) -> int:
    """Land a run's integration branch (the latest run by default) on your branch.

    Fast-forwards when it can; refuses to touch a checkout with uncommitted changes.
    This is the only command that changes your working tree. A run landed already is
    reported as such, naming the branch and its commit (exit 0).
    """
    result = engine.load_result(run_id, repo=repo)
    if result.run.state == RunState.RUNNING.value:
        raise ShoalError(f"run {result.run_id} is still running", hint="wait for it, or `shoal resume` it")
    git = Git(Path(result.run.repo))
    landed = land(git, result.run_id, result.integration_branch, into)
    if fmt == "json":
        emit_json({"run": result.run_id, "into": landed.branch, "commit": str(landed),
                   "already_landed": landed.already})
    elif landed.already:
        click.echo(f"already landed: {landed.branch} at {landed[:12]} holds {result.integration_branch} "
                   "(nothing to do)")
    else:
        click.echo(f"landed {result.integration_branch} on {landed.branch} at {landed[:12]}")
    return ExitCode.OK


@click.command("cleanup", short_help=SUMMARIES["cleanup"])
@click.argument("run_id", required=False)
@click.option("--all", "all_runs", is_flag=True, help="Every finished run of the repository.")
@click.option("--delete-integration", is_flag=True,
              help="Also delete the integration branch (even of a run never merged).")
@REPO_OPTION
def cleanup_command(run_id: str | None, all_runs: bool, delete_integration: bool,
                    repo: Path | None) -> int:
    """Remove the worktrees and task branches of a finished run (the latest by default).

    The integration branch is kept unless --delete-integration is given; logs and the
    state database are kept.
    """
    git = Git(repo or Path.cwd())
    store = Store.open(default_db_path(git.common_dir()), create=False)
    try:
        runs = store.list_runs() if all_runs else [engine.load_result(run_id, repo=repo).run]
    finally:
        store.close()
    for record in runs:
        if record.state == RunState.RUNNING.value:
            click.echo(f"skipping run {record.id}: still running", err=True)
            continue
        workspaces = RunOptions.from_json(Path(record.repo), record.options).workspaces(
            git.common_dir(), record.id)
        cleanup(git, record.id, branches=True, keep_integration=not delete_integration,
                workspaces=workspaces)
        click.echo(f"cleaned up run {record.id}"
                   + ("" if delete_integration else f" (kept {naming.integration_branch(record.id)})"))
    return ExitCode.OK
