"""`shoal report`: a self-contained HTML report of a run, or Markdown for a pull request."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from ..errors import ExitCode
from .commands import SUMMARIES


def _write(path: Path, text: str) -> None:
    """All at once: a reader (a browser reloading) never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@click.command("report", short_help=SUMMARIES["report"])
@click.argument("run_id", required=False)
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path),
              help="The repository (default: the one containing the current folder).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write it (default: report.html in the run's folder for html; "
              "standard output for md).")
@click.option("--format", "fmt", type=click.Choice(["html", "md"]), default="html",
              show_default=True, help="html: one self-contained page; md: for a pull request.")
def report_command(run_id: str | None, repo: Path | None, output: Path | None, fmt: str) -> int:
    """Write a report of a run (the latest by default): a Gantt timeline (one bar per attempt,
    coloured by outcome, phases and merges marked, details on hover), the dependency graph with
    the critical path, the run's metrics, and every task's result with links to its logs.

    The HTML file needs no network (inline CSS and SVG, no scripts). It works on a run that is
    still going, showing it up to now.
    """
    from ..engine import naming
    from ..observe.database import open_store, pick_run
    from ..observe.report import collect, render_html, render_markdown

    with open_store(repo) as (git, store):
        record = pick_run(store, run_id)
        report = collect(store, record.id)
        run_dir = naming.run_dir(git.common_dir(), record.id)
    if fmt == "md":
        text = render_markdown(report)
        if output is None:
            sys.stdout.write(text)
            sys.stdout.flush()
            return ExitCode.OK
        _write(output, text)
        click.echo(f"report: {output}")
        return ExitCode.OK
    target = (output or run_dir / "report.html").absolute()
    _write(target, render_html(report, link_base=target.parent))
    click.echo(f"report: {target}")
    click.echo(f"  open {target.as_uri()}")
    return ExitCode.OK
