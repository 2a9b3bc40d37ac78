"""Entry point: the click group, global options and the one error handler."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence

import click

from .._version import __version__
from ..errors import ExitCode, ShoalError
from . import commands

EXIT_CODES_HELP = """\b
Exit codes:
  0    success
  1    the plan or run has problems (errors found, tasks failed)
  2    usage error or unreadable input
  3    internal error (a bug in shoal; re-run with --debug)
  130  interrupted (Ctrl-C)
"""


@click.group(
    cls=commands.LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES_HELP,
)
@click.version_option(__version__, prog_name="shoal")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Plan, check and run many coding-agent tasks in parallel on one git repository.

    Each task owns its own paths: shoal checks that tasks which may run together never
    write the same files, runs each worker in its own git worktree, checks that it stayed
    inside its paths, and merges the results one at a time into `shoal/<run-id>`.

    Start with `shoal demo`; then `shoal init` for an example plan, `shoal check PLAN`,
    `shoal plan PLAN` and `shoal run PLAN`.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _report_error(message: str, hint: str | None = None) -> None:
    click.secho(f"shoal: error: {message}", err=True, fg="red")
    if hint:
        click.echo(f"  hint: {hint}", err=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (never raises, never exits)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        result = cli.main(args=args, prog_name="shoal", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        click.echo("shoal: interrupted", err=True)
        return ExitCode.INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return ExitCode.USAGE
    except ShoalError as exc:
        where = exc.location()
        _report_error(f"{where}: {exc.message}" if where else exc.message, exc.hint)
        if debug:
            traceback.print_exc()
        return int(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("shoal: interrupted", err=True)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        return ExitCode.OK
    except Exception:  # the one place that turns a bug into exit code 3
        if debug:
            traceback.print_exc()
        else:
            _report_error(
                "internal error (this is a bug in shoal)",
                "re-run with --debug for the traceback, and report it",
            )
        return ExitCode.INTERNAL
    return int(result or 0)
