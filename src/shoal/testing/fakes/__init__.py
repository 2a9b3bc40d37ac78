"""Fake agent CLIs for tests: ``claude``, ``codex``, ``gemini``, ``aider`` and ``opencode``.

Each accepts the flags shoal's adapter passes (and refuses unknown or removed ones the way
the real CLI does), edits the files the prompt lists under "Files to Modify" in its working
folder, and prints the real CLI's output shapes, misbehaviour included: see
`shoal.testing.fakes.scenario.SCENARIOS`. Run one as ``python -m shoal.testing.fakes.claude``
or as the installed ``shoal-fake-claude``; `install_fake_cli` puts one on a PATH under the
real name::

    bin_dir = install_fake_cli(tmp_path / "bin", "claude", scenario="ok,b=rate-limit")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

from .scenario import (
    CALLS_ENV,
    FLOOD_ENV,
    HIDE_ENV,
    SCENARIO_ENV,
    SCENARIOS,
    VERSION_ENV,
)

FAKE_CLIS = ("claude", "codex", "gemini", "aider", "opencode")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

__all__ = [
    "CALLS_ENV", "FAKE_CLIS", "FLOOD_ENV", "HIDE_ENV", "SCENARIOS", "SCENARIO_ENV", "VERSION_ENV",
    "install_fake_cli",
]


def install_fake_cli(
    bin_dir: str | os.PathLike[str],
    cli: str,
    *,
    scenario: str | None = None,
    env: Mapping[str, str] | None = None,
    name: str | None = None,
) -> Path:
    """Write an executable ``bin_dir/<name or cli>`` that runs the fake ``cli`` with this
    Python, ``scenario`` (see `shoal.testing.fakes.scenario.choose`) and ``env`` set; return
    ``bin_dir``. The variables are set by the wrapper, so they hold whatever the caller's
    environment says."""
    if cli not in FAKE_CLIS:
        raise ValueError(f"no fake {cli!r}; fakes: {', '.join(FAKE_CLIS)}")
    folder = Path(bin_dir)
    folder.mkdir(parents=True, exist_ok=True)
    variables = dict(env or {})
    if scenario is not None:
        variables[SCENARIO_ENV] = scenario
    source = Path(__file__).resolve().parents[3]  # the folder holding the shoal package
    lines = ["#!/bin/sh", f"PYTHONPATH={shlex.quote(str(source))}${{PYTHONPATH:+:$PYTHONPATH}}",
             "export PYTHONPATH"]
    for key, value in variables.items():
        if not _NAME.match(key):
            raise ValueError(f"not an environment variable name: {key!r}")
        lines += [f"{key}={shlex.quote(str(value))}", f"export {key}"]
    lines.append(f'exec {shlex.quote(sys.executable)} -m shoal.testing.fakes.{cli} "$@"')
    path = folder / (name or cli)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return folder
