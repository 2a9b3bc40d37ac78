"""The settings of one run, as `shoal run` flags or `shoal.run(...)` keywords give them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from ..model import Isolation, Strategy
from . import naming


class ViolationPolicy(str, Enum):
    FAIL = "fail"  # the task fails; its work stays on its branch, unmerged
    REVERT = "revert"  # drop the paths outside its boundary, merge the rest
    WARN = "warn"  # merge everything and report


@dataclass(frozen=True)
class RunOptions:
    repo: Path
    base: str = "HEAD"
    max_parallel: int | None = None
    strategy: Strategy = Strategy.DYNAMIC
    isolation: Isolation | None = None  # None: the plan's setting
    agent: str | None = None  # overrides every task's agent
    fail_fast: bool = False
    on_violation: ViolationPolicy = ViolationPolicy.FAIL
    grace_s: float = 5.0  # TERM → KILL
    max_output_bytes: int = 1 << 30  # a worker that floods more than this is stopped
    port_base: int = 20000
    agent_settings: dict[str, Any] = field(default_factory=dict)
    idle_timeout_s: float | None = None  # None: the plan's defaults.idle_timeout
    result_grace_s: float = 30.0  # alive this long after printing its final result: stopped
    budget_usd: float | None = None  # None: the plan's defaults.budget_usd
    rate_limit_backoff_s: float = 30.0  # first pause after a rate limit; doubles, up to 10 min
    track_changes: bool = True  # isolation none: snapshot the shared tree after every task
    # the folder the run's workspaces went in, resolved when it started (None: a run made
    # before workspaces left the git dir; they are in its run folder)
    workspace_root: str | None = None

    def workspaces(self, common_dir: Path, run_id: str) -> Path:
        """The folder of this run's workspaces."""
        if self.workspace_root:
            return naming.workspaces_dir(Path(self.workspace_root), run_id)
        return naming.legacy_workspaces_dir(common_dir, run_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "max_parallel": self.max_parallel,
            "strategy": self.strategy.value,
            "isolation": self.isolation.value if self.isolation else None,
            "agent": self.agent,
            "fail_fast": self.fail_fast,
            "on_violation": self.on_violation.value,
            "grace_s": self.grace_s,
            "max_output_bytes": self.max_output_bytes,
            "port_base": self.port_base,
            "agent_settings": self.agent_settings,
            "idle_timeout_s": self.idle_timeout_s,
            "result_grace_s": self.result_grace_s,
            "budget_usd": self.budget_usd,
            "rate_limit_backoff_s": self.rate_limit_backoff_s,
            "track_changes": self.track_changes,
            "workspace_root": self.workspace_root,
        }

    @classmethod
    def from_json(cls, repo: Path, data: dict[str, Any]) -> RunOptions:
        return cls(
            repo=repo,
            base=data.get("base", "HEAD"),
            max_parallel=data.get("max_parallel"),
            strategy=Strategy(data.get("strategy", "dynamic")),
            isolation=Isolation(data["isolation"]) if data.get("isolation") else None,
            agent=data.get("agent"),
            fail_fast=bool(data.get("fail_fast", False)),
            on_violation=ViolationPolicy(data.get("on_violation", "fail")),
            grace_s=float(data.get("grace_s", 5.0)),
            max_output_bytes=int(data.get("max_output_bytes", 1 << 30)),
            port_base=int(data.get("port_base", 20000)),
            agent_settings=dict(data.get("agent_settings") or {}),
            idle_timeout_s=data.get("idle_timeout_s"),
            result_grace_s=float(data.get("result_grace_s", 30.0)),
            budget_usd=data.get("budget_usd"),
            rate_limit_backoff_s=float(data.get("rate_limit_backoff_s", 30.0)),
            track_changes=bool(data.get("track_changes", True)),
            workspace_root=data.get("workspace_root"),
        )
