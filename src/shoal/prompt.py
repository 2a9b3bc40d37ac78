"""The worker prompt of seed 001, rendered from a Jinja2 template a plan may override."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ShoalError, UnknownTaskError
from .model import Plan, Task

if TYPE_CHECKING:
    import jinja2

DEFAULT_TEMPLATE = "worker_prompt.md.j2"


class PromptError(ShoalError):
    """A prompt file or template could not be read or rendered."""


@dataclass(frozen=True)
class ParallelContext:
    """Where the task stands in the schedule, as the prompt tells the worker."""

    wave: int | None = None
    concurrent: tuple[str, ...] = ()
    conflict_risk: str = "low"  # low | medium (read/write hazard) | high (serialised overlap)


@lru_cache(maxsize=1)
def default_template_text() -> str:
    return resources.files("shoal.templates").joinpath(DEFAULT_TEMPLATE).read_text("utf-8")


def _confined(root: Path, relative: str, what: str) -> Path:
    # Plan data names these files; keep them inside the plan's folder.
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        raise PromptError(
            f"{what} {relative!r} lies outside the plan folder {root}",
            hint="keep prompt files and templates inside the plan's folder",
        )
    return path


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        raise PromptError(f"{what} {path} does not exist", hint="fix the path in the plan") from None
    except UnicodeDecodeError as exc:
        raise PromptError(
            f"{what} {path} is not UTF-8 text (byte {exc.start})", hint="save it as UTF-8"
        ) from None
    except OSError as exc:
        raise PromptError(f"cannot read {what} {path}: {exc.strerror}") from None


def _plan_root(plan: Plan) -> Path:
    return Path(plan.root or ".")


def task_body(plan: Plan, task: Task) -> str:
    """The task's own text: its `prompt`, else the contents of its `prompt_file`."""
    if task.prompt:
        return task.prompt.strip()
    if task.prompt_file:
        path = _confined(_plan_root(plan), task.prompt_file, "prompt file")
        return _read_text(path, f"prompt file of task {task.id}").strip()
    return ""


@lru_cache(maxsize=32)
def _compile(source: str, trusted: bool = False) -> jinja2.Template:
    import jinja2  # here, not at the top: `shoal check` and `shoal plan` never render prompts
    from jinja2.sandbox import SandboxedEnvironment

    # Compiling costs ~15 ms (most of a trivial task's overhead when done per task); a compiled
    # template is immutable and safe to render from several threads.
    # Sandboxed: a plan's template is data from the plan author, not code to trust. shoal's own
    # template is trusted, and rendering it unsandboxed takes a third of the time.
    kind = jinja2.Environment if trusted else SandboxedEnvironment
    env = kind(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    return env.from_string(source)


def _template(plan: Plan) -> jinja2.Template:
    import jinja2

    if plan.prompt_template:
        path = _confined(_plan_root(plan), plan.prompt_template, "prompt template")
        source, name, trusted = _read_text(path, "prompt template"), str(path), False
    else:
        source, name, trusted = default_template_text(), DEFAULT_TEMPLATE, True
    try:
        return _compile(source, trusted)
    except jinja2.TemplateSyntaxError as exc:
        raise PromptError(
            f"template syntax error: {exc.message}",
            file=name,
            line=exc.lineno,
            hint="see https://jinja.palletsprojects.com/templates/ for the syntax",
        ) from None


def render_prompt(plan: Plan, task_id: str, parallel: ParallelContext | None = None) -> str:
    """The prompt exactly as the worker for ``task_id`` receives it."""
    try:
        task = plan.task(task_id)
    except KeyError:
        raise UnknownTaskError(
            f"the plan has no task {task_id!r}",
            hint="tasks: " + ", ".join(plan.ids[:20]) + (" ..." if len(plan.ids) > 20 else ""),
        ) from None
    import jinja2

    parallel = parallel or ParallelContext()
    template = _template(plan)
    forbidden = tuple(dict.fromkeys(task.forbids + plan.defaults.shared_readonly))
    try:
        return template.render(
            task=task,
            plan=plan,
            context=plan.context,
            body=task_body(plan, task),
            forbidden=forbidden,
            verify=tuple(dict.fromkeys(plan.defaults.verify + task.verify)),
            wave=parallel.wave,
            concurrent=parallel.concurrent,
            conflict_risk=parallel.conflict_risk,
        )
    except jinja2.TemplateError as exc:
        raise PromptError(
            f"cannot render the prompt of task {task_id}: {exc}",
            hint="check the variables the template uses: task, plan, context, body, "
            "forbidden, verify, wave, concurrent, conflict_risk",
        ) from None
