"""What `shoal doctor` checks, as data: which agent CLIs are installed, their versions,
whether each supports the flags its adapter passes, and the tools a run needs (git 2.38 or
later for ``merge-tree --write-tree``, a POSIX sh for the script agent). Never prints.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from shoal import process
from shoal.agents.permissions import edit_blocker
from shoal.agents.registry import get_agent, known_agents

GIT_MINIMUM = (2, 38)
TIMEOUT_S = 20.0
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


class Status(str, Enum):
    OK = "ok"
    MISSING = "missing"  # not installed, and nothing asked for it
    PROBLEM = "problem"  # a run that needs it will fail


@dataclass(frozen=True)
class Check:
    """One program and what doctor found out about it."""

    name: str
    kind: str  # "agent" or "tool"
    status: Status
    detail: str
    path: str | None = None
    version: str | None = None
    missing_flags: tuple[str, ...] = ()
    hint: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "status": self.status.value,
                "detail": self.detail, "path": self.path, "version": self.version,
                "missing_flags": list(self.missing_flags), "hint": self.hint}


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(c.status is not Status.PROBLEM for c in self.checks)

    @property
    def problems(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status is Status.PROBLEM)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "python": sys.version.split()[0],
                "checks": [c.to_json() for c in self.checks]}


def diagnose(agents: Sequence[str] | None = None, *, env: Mapping[str, str] | None = None,
             settings: Mapping[str, Mapping[str, Any]] | None = None,
             workspaces: Path | None = None) -> DoctorReport:
    """Check the tools a run needs and the agent CLIs: ``agents`` (each one that is missing is
    a problem) or every adapter that runs a program (a missing one is only noted).
    ``settings`` are agent settings by name (an ``executable`` there is what is checked).
    With ``workspaces`` (where a run's workspaces would go), also whether each agent, with its
    settings, will edit files there. Raises `UnknownAgentError` for an agent name that is not
    registered."""
    env = dict(process.clean_env() if env is None else env)
    names = list(agents) if agents else [n for n in known_agents()
                                         if getattr(get_agent(n), "executable", None)]
    checks = [check_git(env), check_sh(env)]
    for name in names:
        agent = get_agent(name, (settings or {}).get(name))  # unknown names raise here
        checks.append(check_agent(agent, env, required=bool(agents)))
        if workspaces is not None and getattr(agent, "executable", None):
            checks.append(check_edits(agent, workspaces))
    return DoctorReport(tuple(checks))


def check_edits(agent: Any, workspaces: Path) -> Check:
    """Will ``agent``, with its settings, edit a file in a workspace under ``workspaces``?"""
    why_not = edit_blocker(agent.name, agent.settings, workspaces)  # task slugs never start with "."
    if why_not is not None:
        return Check(f"{agent.name} edits", "workspace", Status.PROBLEM, why_not, str(workspaces),
                     hint="set workspace_root (plan defaults), --workspace-root or "
                          "$SHOAL_WORKSPACE_ROOT to a folder outside it, or change the setting")
    return Check(f"{agent.name} edits", "workspace", Status.OK,
                 "can edit files in the workspaces with these settings", str(workspaces))


def check_agent(agent: Any, env: Mapping[str, str], *, required: bool = True) -> Check:
    """Is ``agent``'s program installed, which version, does its help list the flags?"""
    name = agent.name
    program = getattr(agent, "program", None)
    executable = program(agent.settings) if callable(program) else getattr(agent, "executable", None)
    if not executable:
        return Check(name, "agent", Status.OK, "runs no program of its own")
    path = _which(executable, env)
    if path is None:
        return Check(name, "agent", Status.PROBLEM if required else Status.MISSING,
                     f"{executable!r} is not on PATH", hint=agent.install_hint)
    version = _first_line(_run([path, *agent.version_args], env))
    help_text = _run([path, *agent.help_args], env)
    if help_text is None:
        return Check(name, "agent", Status.PROBLEM, f"`{executable} {' '.join(agent.help_args)}` "
                     "failed or printed nothing", path, version, hint=agent.install_hint)
    missing = tuple(f for f in agent.required_flags if not _lists_flag(help_text, f))
    if missing:
        return Check(name, "agent", Status.PROBLEM,
                     f"this version does not support {', '.join(missing)}", path, version,
                     missing, hint=f"upgrade {executable}; shoal's {name} adapter needs "
                                   f"{', '.join(agent.required_flags)}")
    return Check(name, "agent", Status.OK, "installed, with every flag shoal passes", path, version)


def check_git(env: Mapping[str, str]) -> Check:
    path = _which("git", env)
    if path is None:
        return Check("git", "tool", Status.PROBLEM, "git is not on PATH",
                     hint="install git 2.38 or later")
    line = _first_line(_run([path, "--version"], env))
    match = _VERSION.search(line or "")
    version = match.group(0) if match else line
    if match is None or (int(match.group(1)), int(match.group(2))) < GIT_MINIMUM:
        return Check("git", "tool", Status.PROBLEM,
                     f"git {version or '(version unknown)'} is older than 2.38: the merge queue "
                     "needs `git merge-tree --write-tree`", path, version,
                     hint="install git 2.38 or later")
    return Check("git", "tool", Status.OK, "merge-tree --write-tree is available", path, version)


def check_sh(env: Mapping[str, str]) -> Check:
    path = _which("sh", env)
    if path is None:
        return Check("sh", "tool", Status.PROBLEM, "no POSIX sh on PATH: the script agent "
                     "cannot run", hint="install a POSIX shell (dash, bash)")
    return Check("sh", "tool", Status.OK, "the script agent can run", path)


def _which(program: str, env: Mapping[str, str]) -> str | None:
    return shutil.which(program, path=env.get("PATH", os.defpath))


def _run(argv: list[str], env: Mapping[str, str]) -> str | None:
    """stdout and stderr of a short command, or None when it failed or could not start."""
    try:
        done = process.run(argv, cwd=Path.home().resolve() if Path.home().is_dir() else Path("/"),
                           env=env, timeout=TIMEOUT_S, check=False)
    except process.ExecutableNotFound:
        return None
    text = (done.stdout + b"\n" + done.stderr).decode("utf-8", "replace").strip()
    return text if done.ok and not done.timed_out and text else None


def _first_line(text: str | None) -> str | None:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:200]
    return None


def _lists_flag(help_text: str, flag: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", help_text) is not None
