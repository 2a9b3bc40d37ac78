"""The settings of one run, each defined once.

Every run setting is a field of `RunOptions` carrying a `Setting` (its help, the kind of value
it takes, the plan default or environment variable that may supply it). From those come the
`shoal run`/`shoal resume` flags (`shoal.cli.settings`), the keywords of `shoal.run`,
`shoal.resume` and `shoal.retry_failed`, and the JSON a run records. `resolve` merges the layers
once, in this order, each one given overriding the ones before it:

    default < the plan's defaults < the environment < the run as recorded < given (flags, keywords)

and records where each value came from (`RunOptions.sources`). A setting marked ``fixed``
(the base, the isolation, the workspace folder) cannot change once a run has started: giving
another value to `resume` or `--retry-failed` is an error.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from pathlib import Path
from typing import Any

from ..errors import ShoalError
from ..model import Defaults, Isolation, Plan, Strategy, parse_duration
from . import naming

WORKSPACE_ROOT_ENV = "SHOAL_WORKSPACE_ROOT"


class ViolationPolicy(str, Enum):
    FAIL = "fail"  # the task fails; its work stays on its branch, unmerged
    REVERT = "revert"  # drop the paths outside its boundary, merge the rest
    WARN = "warn"  # merge everything and report


class SettingError(ShoalError):
    """A run setting that is unknown, of the wrong kind, or may not change on resume."""


@dataclass(frozen=True)
class Setting:
    """What one run setting is, beside its value. ``kind`` names the values it takes (the CLI
    picks its click type from it): ``text``, ``count`` (an integer ≥ 1), ``port`` (≥ 1024),
    ``duration`` (seconds, or ``"10m"``), ``money`` (> 0), ``flag``, ``path``, ``mapping``
    and ``choice`` (one of ``choices``)."""

    help: str
    kind: str
    choices: tuple[str, ...] = ()
    plan: str | None = None  # the plan's `defaults.<plan>` that supplies it
    env: str | None = None  # the environment variable that supplies it
    fixed: bool = False  # cannot change once the run has started
    cli: bool = True  # a flag of `shoal run` and `shoal resume`


def _setting(default: Any, help: str, kind: str, **more: Any) -> Any:
    if isinstance(default, dict):
        return field(default_factory=dict, metadata={"setting": Setting(help, kind, **more)})
    return field(default=default, metadata={"setting": Setting(help, kind, **more)})


@dataclass(frozen=True)
class RunOptions:
    repo: Path
    base: str = _setting("HEAD", "Commit the run starts from.", "text", fixed=True)
    max_parallel: int | None = _setting(
        None, "Workers at once (default: the plan's defaults.max_parallel, else one per task).",
        "count", plan="max_parallel")
    strategy: Strategy = _setting(
        Strategy.DYNAMIC, "dynamic: start each task as soon as it may; waves: wave by wave.",
        "choice", choices=tuple(s.value for s in Strategy))
    isolation: Isolation | None = _setting(
        None, "Where workers run (default: the plan's; worktree: a git worktree per task).",
        "choice", choices=tuple(i.value for i in Isolation), plan="isolation", fixed=True)
    agent: str | None = _setting(None, "Use this agent for every task (script, command, ...).",
                                 "text")
    fail_fast: bool = _setting(False, "After a failure start nothing new; running tasks finish.",
                               "flag")
    on_violation: ViolationPolicy = _setting(
        ViolationPolicy.FAIL, "A task that changed paths it does not own: fail it, drop those "
        "paths and merge the rest, or merge and report.", "choice",
        choices=tuple(v.value for v in ViolationPolicy))
    idle_timeout: float | None = _setting(
        None, "Stop a worker that prints nothing for this long, e.g. 10m (default: the plan's "
        "defaults.idle_timeout, else no limit).", "duration", plan="idle_timeout")
    budget_usd: float | None = _setting(
        None, "Start nothing new once the agents' reported cost reaches this many dollars "
        "(default: the plan's defaults.budget_usd).", "money", plan="budget_usd")
    track_changes: bool = _setting(
        True, "Isolation none: snapshot the shared tree as tasks end, to check changes against "
        "each task's owned paths (--no-track-changes is faster for many small tasks).", "flag")
    workspace_root: str | None = _setting(
        None, "Folder the workers' workspaces go in, outside the checkout (default: "
        f"${WORKSPACE_ROOT_ENV}, the plan's defaults.workspace_root, else <repo>.shoal beside "
        "the repository).", "path", plan="workspace_root", env=WORKSPACE_ROOT_ENV, fixed=True)
    continue_sessions: bool = _setting(
        True, "Resume: an agent that can (claude, codex, gemini, opencode) continues the session of a "
        "worker that was cut off, in its workspace, instead of starting cold (default: the "
        "plan's defaults.continue_sessions).", "flag", plan="continue_sessions")
    grace: float = _setting(5.0, "How long a stopped worker or gate gets between TERM and KILL.",
                            "duration")
    result_grace: float = _setting(
        30.0, "A worker still alive this long after printing its final result is stopped (its "
        "result stands).", "duration")
    rate_limit_backoff: float = _setting(
        30.0, "First pause of an agent's new starts after a rate limit; doubles each time, up "
        "to 10 minutes.", "duration")
    max_output_bytes: int = _setting(
        1 << 30, "A worker that prints more than this many bytes is stopped and fails.", "count")
    port_base: int = _setting(naming.DEFAULT_PORT_BASE, "First of the ports handed to workers (SHOAL_PORT_BASE: "
                              "a block of them per slot).", "port")
    # per agent name, on top of the plan's `agents:` (the CLI's --agent-command sets `command`)
    agent_settings: dict[str, Any] = _setting({}, "Settings per agent.", "mapping", cli=False)
    sources: dict[str, str] = field(default_factory=dict, compare=False)  # name -> layer

    def workspaces(self, common_dir: Path, run_id: str) -> Path:
        """The folder of this run's workspaces (a run recorded without a root, made before
        workspaces left the git dir, has them in its run folder)."""
        if self.workspace_root:
            return naming.workspaces_dir(Path(self.workspace_root), run_id)
        return naming.legacy_workspaces_dir(common_dir, run_id)

    def to_json(self) -> dict[str, Any]:
        data = {name: plain(getattr(self, name)) for name in SETTINGS}
        return {**data, "sources": dict(self.sources)}

    @classmethod
    def from_json(cls, repo: Path, data: Mapping[str, Any]) -> RunOptions:
        """The options a run recorded (older runs' keys and missing ones read as before)."""
        values = {LEGACY_NAMES.get(k, k): v for k, v in data.items()}
        known = {name: convert(name, v) for name, v in values.items()
                 if name in SETTINGS and v is not None}
        sources = data.get("sources")
        return cls(repo=repo, **known, sources=dict(sources) if isinstance(sources, Mapping) else {})


SETTINGS: dict[str, Setting] = {
    f.name: f.metadata["setting"] for f in fields(RunOptions) if "setting" in f.metadata
}
DEFAULTS = RunOptions(repo=Path("."))
# names earlier versions recorded, read when resuming their runs
LEGACY_NAMES = {"idle_timeout_s": "idle_timeout", "grace_s": "grace",
                "result_grace_s": "result_grace", "rate_limit_backoff_s": "rate_limit_backoff"}


def plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else str(value) if isinstance(value, Path) else value


def _choice(kind: type[Enum]) -> Callable[[Any], Any]:
    return lambda v: kind(v.value if isinstance(v, Enum) else v)


def _number(v: Any, integer: bool) -> float | int:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"not a number: {v!r}")
    return int(v) if integer else float(v)


def _duration(v: Any) -> float:
    seconds = parse_duration(v) if isinstance(v, str) else _number(v, False)
    if seconds <= 0:
        raise ValueError(f"must be more than zero, got {v!r}")
    return float(seconds)


def _count(v: Any, least: int = 1) -> int:
    n = int(_number(v, True))
    if n != v or n < least:
        raise ValueError(f"must be a whole number of at least {least}, got {v!r}")
    return n


def _money(v: Any) -> float:
    x = float(_number(v, False))
    if x <= 0:
        raise ValueError(f"must be more than zero, got {v!r}")
    return x


def _flag(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"must be true or false, got {v!r}")
    return v


def _mapping(v: Any) -> dict[str, Any]:
    if not isinstance(v, Mapping):
        raise ValueError(f"must be a mapping, got {v!r}")
    return {str(k): dict(x) if isinstance(x, Mapping) else x for k, x in v.items()}


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "text": str, "count": _count, "port": lambda v: _count(v, 1024), "duration": _duration,
    "money": _money, "flag": _flag, "path": lambda v: str(os.fspath(v)), "mapping": _mapping,
}
_ENUMS: dict[str, type[Enum]] = {"strategy": Strategy, "isolation": Isolation,
                                 "on_violation": ViolationPolicy}


def convert(name: str, value: Any) -> Any:
    """`value` as setting `name` holds it; `ValueError` when it is not one."""
    setting = SETTINGS[name]
    if setting.kind == "choice":
        return _choice(_ENUMS[name])(value)
    return _CONVERT[setting.kind](value)


def check_names(given: Mapping[str, Any]) -> None:
    for name in given:
        if name not in SETTINGS:
            close = difflib.get_close_matches(name, [*SETTINGS, *LEGACY_NAMES], n=1)
            close = [LEGACY_NAMES.get(c, c) for c in close]
            raise SettingError(f"there is no run setting {name!r}",
                               hint=f"did you mean {close[0]!r}?" if close else
                               f"the settings: {', '.join(SETTINGS)}")


def resolve(repo: Path, plan: Plan, given: Mapping[str, Any], *,
            recorded: RunOptions | None = None, origin: str = "given",
            environ: Mapping[str, str] | None = None) -> RunOptions:
    """The run's settings, merged once from every layer (see the module's docstring).

    `given` holds only what the caller set (None counts as not set); `recorded` is the run's
    options as it started, for `resume` and `--retry-failed`, where a fixed setting given
    another value is a `SettingError`. `origin` names the given layer in `sources`."""
    check_names(given)
    environ = os.environ if environ is None else environ
    plan_defaults = Defaults()
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, setting in SETTINGS.items():
        layers: list[tuple[str, Any]] = [("default", getattr(DEFAULTS, name))]
        if setting.plan and (v := getattr(plan.defaults, setting.plan)) is not None \
                and v != getattr(plan_defaults, setting.plan):
            layers.append(("plan", v))
        if setting.env and environ.get(setting.env, "").strip():
            layers.append((f"${setting.env}", environ[setting.env]))
        if recorded is not None and setting.fixed:  # as the run started, None included
            started = getattr(recorded, name)
            if started is None and name == "isolation":  # recorded as "the plan's"
                started = plan.defaults.isolation
            layers = [(recorded.sources.get(name, "run"), started)]
        elif recorded is not None and (v := getattr(recorded, name)) is not None:
            layers.append((recorded.sources.get(name, "run"), v))
        if (v := given.get(name)) is not None:
            try:
                v = convert(name, v)
            except ValueError as exc:
                raise SettingError(f"run setting {name}: {exc}") from None
            if recorded is not None and setting.fixed and not _same(repo, setting, v, layers[0][1]):
                was = layers[0][1] if layers[0][1] is not None else getattr(plan.defaults, name, None)
                raise SettingError(
                    f"run setting {name} cannot change once the run has started (it started "
                    f"with {plain(was)!r})",
                    hint="start a new run with `shoal run` to use another value")
            layers.append((origin, v))
        source, value = layers[-1]
        values[name] = value if value is None or source == "default" else convert(name, value)
        sources[name] = source
    if values["max_parallel"] is None:  # one slot per task: every ready task may start
        values["max_parallel"] = plan.effective_max_parallel()
    if values["isolation"] is None:
        values["isolation"] = plan.defaults.isolation
    values["agent_settings"] = _agent_settings(plan, recorded, given.get("agent_settings"))
    return RunOptions(repo=repo, **values, sources=sources)


def _same(repo: Path, setting: Setting, given: Any, recorded: Any) -> bool:
    if recorded is None:  # the plan's isolation, or a legacy run's workspaces in .git
        return False
    if setting.kind == "path":  # relative paths are taken from the repository
        return os.path.abspath(repo / os.path.expanduser(given)) == os.path.abspath(recorded)
    return bool(given == recorded)


def _agent_settings(plan: Plan, recorded: RunOptions | None,
                    given: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The plan's `agents:` settings, then the recorded run's, then what was given: per agent,
    per key."""
    merged: dict[str, dict[str, Any]] = {name: dict(v) for name, v in plan.agents.items()}
    for layer in (recorded.agent_settings if recorded else None, given):
        for name, values in _mapping(layer or {}).items():
            merged[name] = {**merged.get(name, {}), **_mapping(values)}
    return merged


def with_workspace_root(options: RunOptions, root: Path) -> RunOptions:
    """The options with the workspace folder as it was made (a new run resolves it once)."""
    return replace(options, workspace_root=str(root))
