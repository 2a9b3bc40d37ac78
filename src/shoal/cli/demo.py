"""`shoal demo`: the main job end to end, with no API key and no network."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click

from .. import api, engine
from ..demo import make_demo
from ..errors import ExitCode
from ..model import format_duration
from .check import _print_text as print_check
from .commands import SUMMARIES
from .progress import PROGRESS_OPTION, progress_observer
from .status import print_summary


@click.command("demo", short_help=SUMMARIES["demo"])
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Where to make the demo (default: a new temporary folder, kept afterwards).")
@click.option("--max-parallel", type=click.IntRange(min=1), default=4, show_default=True)
@PROGRESS_OPTION
def demo_command(folder: Path | None, max_parallel: int, progress: str) -> int:
    """Make a throwaway repository with a small Python project and an eight-task plan, and
    run it end to end with the built-in script agent.

    The plan has a serial foundation phase, a parallel phase with two tasks that both own
    one file (shoal serialises them) and two RED tasks (never run together), and a serial
    docs phase. The project's tests gate every merge.
    """
    folder = folder or Path(tempfile.mkdtemp(prefix="shoal-demo-"))
    if folder.exists() and any(folder.iterdir()):
        shutil.rmtree(folder / "repo", ignore_errors=True)
    repo, plan_path = make_demo(folder)
    click.echo(f"shoal demo: repository {repo}\n            plan       {plan_path}\n")
    report = api.check(plan_path, repo=repo)
    print_check(report)
    click.echo(f"\n  watch it from another terminal:  shoal watch --repo {repo}\n")
    with progress_observer(progress, report.plan, repo=repo) as observer:
        result = engine.run(plan_path, repo=repo, max_parallel=max_parallel, observer=observer)
    print_summary(result)
    run = result.run
    work = sum(t.duration_s or 0.0 for t in result.tasks)
    wall = (run.ended_at or 0) - run.started_at
    if wall > 0:
        click.echo(f"\n  {len(result.tasks)} tasks, {format_duration(work)} of work in "
                   f"{wall:.1f}s: {work / wall:.2f}x faster than one at a time")
    click.echo(f"  see the result:  git -C {repo} log --oneline --graph {result.integration_branch}")
    click.echo(f"  its timeline:    shoal report --repo {repo}   (then open the HTML file it names)")
    click.echo(f"  prove it:        shoal audit --repo {repo}")
    click.echo(f"  status:          shoal status --repo {repo}")
    return ExitCode.OK if result.ok else ExitCode.PROBLEMS
