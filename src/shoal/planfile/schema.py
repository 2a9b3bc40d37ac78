"""The canonical plan format as pydantic models (pydantic stays at this boundary).

The loaders rename aliases and drop unknown keys first, then validate each
part with these models one field at a time, so one bad field never hides the
others. ``plan_json_schema`` is generated from them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shoal.model import (
    DEFAULT_AGENT,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    Isolation,
    format_duration,
)
from shoal.planfile.fieldtypes import (
    EMPTY_LIST,
    Duration,
    IsolationMode,
    Risk,
    StrList,
    TaskRef,
    TaskRefs,
    Timeout,
)

SCHEMA_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TaskModel(_Model):
    """One unit of agent work."""

    id: TaskRef | None = Field(
        default=None,
        title="Task id",
        description="Unique name of the task; letters, digits, `-`, `_`, `.`. Required when "
        "`tasks` is a list; when `tasks` is a mapping, the key is the id.",
        examples=["auth"],
    )
    title: str = Field(
        default="",
        title="Title",
        description="One line saying what the task does. "
        "A `[R:GREEN|YELLOW|RED|CRITICAL]` marker in it sets the risk tier.",
        examples=["Create auth middleware [R:YELLOW]"],
    )
    prompt: str = Field(
        default="",
        title="Prompt",
        description="The instructions given to the agent.",
        examples=["Implement the auth middleware described in the spec."],
    )
    prompt_file: str | None = Field(
        default=None,
        title="Prompt file",
        description="A file holding the "
        "prompt, relative to the plan's folder; instead of `prompt`.",
        examples=["prompts/auth.txt"],
    )
    owns: StrList = Field(
        default_factory=list,
        json_schema_extra=EMPTY_LIST,
        title="Owned paths",
        description="Paths and globs the task may "
        "write, from the repository root (`*.md` is the root's only, `**/*.md` at any depth); "
        "each path is owned by one task among tasks that may run together.",
        examples=[["src/auth/**", "tests/test_auth.py"]],
    )
    reads: StrList = Field(
        default_factory=list,
        json_schema_extra=EMPTY_LIST,
        title="Read paths",
        description="Paths and globs the task reads but must not change.",
        examples=[["common/types.py"]],
    )
    forbids: StrList = Field(
        default_factory=list,
        json_schema_extra=EMPTY_LIST,
        title="Forbidden paths",
        description="Paths and globs the task must not touch.",
        examples=[["src/billing/**"]],
    )
    after: TaskRefs = Field(
        default_factory=list,
        json_schema_extra=EMPTY_LIST,
        title="Dependencies",
        description="Ids of the tasks that must "
        "finish (and be merged) before this one starts.",
        examples=[["types"]],
    )
    risk: Risk | None = Field(
        default=None,
        title="Risk tier",
        description="green, yellow, red or "
        "critical (default green). RED never runs beside RED; CRITICAL "
        "runs alone.",
        examples=["yellow"],
    )
    phase: str | None = Field(
        default=None,
        title="Phase",
        description="Name of one of the plan's "
        "`phases`; without phases, every task is in one parallel phase.",
        examples=["implementation"],
    )
    estimate: Duration | None = Field(
        default=None,
        title="Estimate",
        description="Expected duration, "
        "such as 90s, 15m or 1h30m (a bare number is seconds); "
        "used for the critical path.",
        examples=["15m"],
    )
    agent: str | None = Field(
        default=None,
        title="Agent",
        description="Agent that runs the task; default: the plan's `defaults.agent`.",
        examples=["claude"],
    )
    timeout: Timeout | None = Field(
        default=None,
        title="Timeout",
        description="Time limit of one attempt; default: `defaults.timeout`.",
        examples=["30m"],
    )
    retries: int | None = Field(
        default=None,
        ge=0,
        title="Retries",
        description="Extra attempts after a failed one (a failing exit, a crash, a `fail` "
        "report), each in a fresh workspace; default: `defaults.retries`. A timeout is retried "
        "once with 1.5x the limit and then blocks the task, whatever this says.",
        examples=[1],
    )
    verify: StrList = Field(
        default_factory=list,
        json_schema_extra=EMPTY_LIST,
        title="Verify commands",
        description="Shell commands that must "
        "succeed in the task's workspace after the agent finishes.",
        examples=[["python -m pytest -q tests/test_auth.py"]],
    )
    run: StrList = Field(
        default_factory=list,
        json_schema_extra=EMPTY_LIST,
        title="Script commands",
        description="Shell commands the built-in "
        "`script` agent runs instead of an AI agent.",
        examples=[["printf 'ok\\n' > src/auth/done.txt"]],
    )
    spec_sections: StrList = Field(
        default_factory=list,
        json_schema_extra=EMPTY_LIST,
        title="Spec sections",
        description="Sections of the specification to read (seed 001).",
        examples=[["3.2 Auth"]],
    )
    functions: StrList = Field(
        default_factory=list,
        json_schema_extra=EMPTY_LIST,
        title="Existing functions",
        description="Existing functions "
        "to use by their exact names (seed 001 `codebase_refs.functions`).",
        examples=[["get_user(id)"]],
    )
    patterns: StrList = Field(
        default_factory=list,
        json_schema_extra=EMPTY_LIST,
        title="Patterns",
        description="Standards and patterns to follow (seed 001 `standards.patterns`).",
        examples=[["repository pattern"]],
    )
    parallel_safe: bool | None = Field(
        default=None,
        title="Parallel safe",
        description="Seed 003's flag: whether the task may run beside others.",
        examples=[True],
    )


class PhaseModel(_Model):
    """An ordered stage; phases are synchronisation points."""

    name: str = Field(
        title="Name",
        description="The phase's name, used by tasks' `phase`.",
        examples=["implementation"],
    )
    parallel: bool = Field(
        default=True,
        title="Parallel",
        description="Whether its tasks may run at "
        "the same time; a serial phase runs one task at a time.",
        examples=[False],
    )


class ContextModel(_Model):
    """Shared project context every worker prompt carries."""

    product_pitch: str = Field(
        default="",
        title="Product pitch",
        description="What the product is, in a sentence or two.",
        examples=["An inventory service."],
    )
    tech_stack: StrList = Field(
        default_factory=list,
        json_schema_extra=EMPTY_LIST,
        title="Tech stack",
        description="Languages and frameworks.",
        examples=[["python", "fastapi"]],
    )
    branch: str | None = Field(
        default=None,
        title="Branch",
        description="The feature branch the work lands on.",
        examples=["feature/inventory"],
    )
    text: str = Field(
        default="",
        title="Text",
        description="Free text given to every worker, such as seed 002's `context.md`.",
        examples=["All money amounts are integers."],
    )
    contracts: StrList = Field(
        default_factory=list,
        json_schema_extra=EMPTY_LIST,
        title="Contracts",
        description="Files of interface contracts "
        "every worker must follow, relative to the plan's folder.",
        examples=[["contracts/api.md"]],
    )


_SETTING_DOC = {
    "max_parallel": "At most this many tasks at once; default: as many as may run.",
    "isolation": "How workers are kept apart: worktree, directory, branch or none.",
    "verify": "Shell commands that must succeed on the merged result (quality gate).",
    "shared_readonly": "Paths and globs no task may change while a parallel phase runs.",
}


class DefaultsModel(_Model):
    """Settings a task inherits unless it sets its own."""

    agent: str = Field(
        default=DEFAULT_AGENT,
        title="Agent",
        description="Agent used by tasks that set "
        "none: script, claude, codex, gemini, aider, opencode...",
        examples=["claude"],
    )
    timeout: Timeout = Field(
        default=format_duration(DEFAULT_TIMEOUT_S),
        validate_default=True,
        title="Timeout",
        description="Time limit of one "
        "attempt, such as 90s, 15m or 1h (a bare number is seconds).",
        examples=["30m"],
    )
    retries: int = Field(
        default=DEFAULT_RETRIES,
        ge=0,
        title="Retries",
        description="Extra attempts after a failed one (a failing exit, a crash, a `fail` "
        "report), each in a fresh workspace. A timeout is retried once with 1.5x the limit and "
        "then blocks the task, whatever this says; a `blocked` report is never retried.",
        examples=[1],
    )
    max_parallel: int | None = Field(
        default=None,
        ge=1,
        title="Max parallel",
        description=_SETTING_DOC["max_parallel"],
        examples=[4],
    )
    isolation: IsolationMode = Field(
        default=Isolation.WORKTREE,
        title="Isolation",
        description=_SETTING_DOC["isolation"],
        examples=["worktree"],
    )
    verify: StrList = Field(
        default_factory=list,
        json_schema_extra=EMPTY_LIST,
        title="Verify commands",
        description=_SETTING_DOC["verify"],
        examples=[["python -m pytest -q"]],
    )
    shared_readonly: StrList = Field(
        default_factory=list,
        json_schema_extra=EMPTY_LIST,
        title="Shared read-only paths",
        description=_SETTING_DOC["shared_readonly"],
        examples=[["common/**"]],
    )
    idle_timeout: Timeout | None = Field(
        default=None,
        title="Idle timeout",
        description="Stop a worker that prints nothing for this long (and count the attempt "
        "as failed), such as 10m; default: no limit besides `timeout`.",
        examples=["10m"],
    )
    budget_usd: float | None = Field(
        default=None,
        gt=0,
        title="Budget (USD)",
        description="Start no new task once the cost the agents report for this run reaches "
        "this many US dollars; running tasks finish.",
        examples=[5.0],
    )
    workspace_root: str | None = Field(
        default=None,
        min_length=1,
        title="Workspace root",
        description="Folder the workers' workspaces go in (a folder per run), outside the "
        "checkout; relative to the repository's top folder. Default: `<repo>.shoal` beside the "
        "repository (or `$SHOAL_WORKSPACE_ROOT`). Never inside the working tree, and not under a "
        "folder an agent refuses to edit in (Claude Code: `.git`, `.claude`, `.vscode`, ...).",
        examples=["../my-repo-workspaces"],
    )
    continue_sessions: bool = Field(
        default=True,
        title="Continue sessions",
        description="When `shoal resume` starts again a task whose worker was cut off, an agent "
        "that can (claude, codex, gemini, opencode) continues the interrupted session in its workspace, "
        "with a note of why, instead of starting cold and paying again for what it did. "
        "`false` starts every such attempt cold in a fresh workspace.",
        examples=[False],
    )


class SettingsModel(_Model):
    """The plan's own top-level scalars and lists (everything but its sections)."""

    version: int = Field(
        default=SCHEMA_VERSION,
        title="Format version",
        description="Always 1; required.",
        examples=[1],
    )
    name: str | None = Field(
        default=None,
        title="Name",
        description="The plan's name; default: its folder's name.",
        examples=["inventory-system"],
    )
    max_parallel: int | None = Field(
        default=None,
        ge=1,
        title="Max parallel",
        description="Same as `defaults.max_parallel`. " + _SETTING_DOC["max_parallel"],
        examples=[4],
    )
    isolation: IsolationMode | None = Field(
        default=None,
        title="Isolation",
        description="Same as `defaults.isolation`. " + _SETTING_DOC["isolation"],
        examples=["worktree"],
    )
    verify: StrList = Field(
        default_factory=list,
        json_schema_extra=EMPTY_LIST,
        title="Verify commands",
        description="Same as `defaults.verify`. " + _SETTING_DOC["verify"],
        examples=[["python -m pytest -q"]],
    )
    shared_readonly: StrList = Field(
        default_factory=list,
        json_schema_extra=EMPTY_LIST,
        title="Shared read-only paths",
        description="Same as "
        "`defaults.shared_readonly`. " + _SETTING_DOC["shared_readonly"],
        examples=[["common/**"]],
    )
    setup: StrList = Field(
        default_factory=list,
        json_schema_extra=EMPTY_LIST,
        title="Setup commands",
        description="Shell commands run in each new workspace before the agent starts.",
        examples=[["npm ci"]],
    )
    copy_: StrList = Field(
        default_factory=list,
        json_schema_extra=EMPTY_LIST,
        alias="copy",
        title="Copied files",
        description="Untracked files (such as `.env`) copied into each workspace.",
        examples=[[".env"]],
    )
    agents: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        title="Agent settings",
        description="Settings per agent name, passed to that agent: for `command`, "
        "`command` (the argument list, with `{prompt_file}`, `{workdir}`, `{task_id}`, "
        "`{attempt_dir}` placeholders), `extra_args`, `env`, `require_report`.",
        examples=[{"command": {"command": ["my-agent", "--prompt-file", "{prompt_file}"]}}],
    )
    prompt_template: str | None = Field(
        default=None,
        title="Prompt template",
        description="A Jinja2 "
        "template replacing the default worker prompt, relative "
        "to the plan's folder.",
        examples=["prompt.j2"],
    )


class PlanModel(SettingsModel):
    """A plan: shared context, settings, phases and tasks (``version: 1``)."""

    context: ContextModel = Field(
        default_factory=ContextModel,
        title="Context",
        description="Shared project context.",
    )
    defaults: DefaultsModel = Field(
        default_factory=DefaultsModel,
        title="Defaults",
        description="Settings tasks inherit.",
    )
    phases: list[PhaseModel] = Field(
        default_factory=list,
        json_schema_extra=EMPTY_LIST,
        title="Phases",
        description="Ordered stages; default: one parallel phase holding every task.",
    )
    tasks: list[TaskModel] | dict[str, TaskModel] = Field(
        default=[],
        title="Tasks",
        description="The tasks: a list, or a mapping from id to fields.",
    )


# Alternative names accepted on input, from the seeds: canonical -> aliases.
TASK_ALIASES: dict[str, tuple[str, ...]] = {
    "owns": ("files", "relevant_files", "can_modify"),
    "forbids": ("cannot_modify",),
    "after": ("blocked_by", "depends_on"),
    "title": ("summary", "description"),
}
# Nested seed 001 keys: (container, key) -> canonical field.
TASK_NESTED: dict[tuple[str, str], str] = {
    ("parallelization", "blocked_by"): "after",
    ("codebase_refs", "functions"): "functions",
    ("standards", "patterns"): "patterns",
}
CONTEXT_ALIASES: dict[str, tuple[str, ...]] = {"branch": ("branch_name",)}
BOUNDARY_ALIASES: dict[str, str] = {
    "can_modify": "owns",
    "cannot_modify": "forbids",
    "dependencies": "reads",
    "parallel_safe": "parallel_safe",
}
# Plan settings allowed both at the top level and under `defaults`.
SHARED_SETTINGS = ("max_parallel", "isolation", "verify", "shared_readonly")
