"""Preparing a workspace: the plan's ``copy`` files and ``setup`` commands.

``copy`` brings untracked files (``.env``...) from the user's tree into a new workspace; the
paths are normalised and confined to the repository. ``setup`` commands are argument lists
(``shlex.split``, never a shell) run in the workspace with a timeout; their output goes to the
attempt's ``setup.log``.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from .. import process
from ..analysis.paths import normalise, outside_reason
from ..errors import ExitCode, ShoalError


class WorkspaceError(ShoalError):
    """A workspace could not be prepared or inspected."""

    exit_code = ExitCode.PROBLEMS


def check_copy_path(raw: str) -> str:
    """A plan ``copy`` path, normalised; refuses ``..``, absolute paths and ``.git``."""
    reason = outside_reason(raw)
    if reason is None and raw.strip().startswith("/"):
        # a file in the user's tree, not a pattern: here "/etc/x" reads as an absolute path,
        # so it is refused rather than taken as the repository root, as `owns` would
        reason = "is an absolute path; `copy` paths are relative to the repository root"
    path = normalise(raw).rstrip("/")  # a folder's trailing "/" means nothing here
    if reason is None and path in (".", ""):
        reason = "names the whole repository"
    if reason is None and path.split("/", 1)[0] == ".git":
        reason = "is inside .git"
    if reason is not None:
        raise WorkspaceError(f"`copy` path {raw!r} {reason}",
                             hint="list files of your repository relative to its top folder, "
                                  "e.g. `.env`")
    return path


def copy_files(source_top: Path, dest_top: Path, paths: Sequence[str]) -> tuple[str, ...]:
    """Copy each path (file or folder) from the user's tree into a workspace; returns those
    copied. A path the workspace already has (a tracked file) keeps the committed version."""
    real_top = os.path.realpath(source_top)
    copied = []
    for rel in paths:
        src = Path(source_top, rel)
        real = os.path.realpath(src)
        if not _within(real, real_top):
            raise WorkspaceError(f"`copy` path {rel!r} leads outside the repository (to {real})",
                                 hint="copy only files inside the repository")
        if not os.path.lexists(src):
            raise WorkspaceError(f"`copy` path {rel!r} does not exist in {source_top}",
                                 hint="create it, or remove it from the plan's `copy` list")
        dest = Path(dest_top, rel)
        if os.path.lexists(dest):
            continue
        if not _within(os.path.realpath(dest.parent), os.path.realpath(dest_top)):
            raise WorkspaceError(f"`copy` path {rel!r} would be written outside the workspace "
                                 "(through a symlink)", hint="copy only files inside the repository")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if os.path.isdir(real):
            shutil.copytree(real, dest, symlinks=True)
        else:
            shutil.copy2(real, dest)
        copied.append(rel)
    return tuple(copied)


def split_command(command: str) -> list[str]:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise WorkspaceError(f"setup command `{command}` cannot be read: {exc}",
                             hint="setup commands are argument lists split like a shell "
                                  "would (no pipes or `&&`); quote arguments with spaces") from None
    if not argv:
        raise WorkspaceError("a setup command is empty", hint="remove it from `setup`")
    return argv


def run_setup(command: str, argv: Sequence[str], cwd: Path, *, env: Mapping[str, str],
              timeout: float, log: Path) -> None:
    """Run one setup command (no shell) in a workspace, its output appended to `log`;
    :class:`WorkspaceError` naming the command and its output's tail when it fails."""
    try:
        done = process.run(argv, cwd=cwd, env=env, timeout=timeout, check=False)
    except process.ExecutableNotFound as exc:
        raise WorkspaceError(f"setup command `{command}` cannot run: {exc.message}",
                             hint=exc.hint) from None
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        out.write(f"$ {process.redact(argv)}\n".encode() + done.stdout + done.stderr)
    if done.ok:
        return
    what = (f"did not finish within {timeout:g}s" if done.timed_out
            else f"failed with exit code {done.returncode}")
    tail = output_tail(done.stdout + done.stderr)
    raise WorkspaceError(f"setup command `{command}` {what} in {cwd}" + (f":\n{tail}" if tail else ""),
                         hint=f"the whole output is in {log}")


def output_tail(data: bytes, lines: int = 20, chars: int = 2000) -> str:
    """The last lines of a command's output, for messages."""
    text = data.decode("utf-8", "replace").rstrip()
    return "\n".join(text.splitlines()[-lines:])[-chars:]


def _within(real: str, top: str) -> bool:
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)
