"""Resume without paying twice for a worker that was cut off: its agent continues the session
it had started, in the workspace it was working in, told why it stopped.

Only worktree isolation keeps an interrupted attempt's workspace (the shared ones are given
back), and Claude Code keeps its sessions per folder, so the continued attempt runs in that
same worktree, on its branch, from its base. It applies to the first attempt of each such
task after `shoal resume`; an agent that cannot continue (`continues_sessions` false), a log
with no session id, a workspace that is gone, or `continue_sessions: false` start it cold.
When the CLI then refuses the session (`ErrorKind.NO_SESSION`), the next attempt starts cold
without counting against the task's retries (`shoal.engine.retries`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..agents import Agent
from ..model import Isolation, Task
from ..store import AttemptRecord, AttemptState, Store
from .workspace import Workspace


@dataclass(frozen=True)
class CutOff:
    """The attempt of a task that was running when its run was interrupted."""

    attempt: int
    log_path: Path
    workspace: Path
    branch: str
    base_commit: str
    why: str


def last_attempts(store: Store, run_id: str) -> dict[str, AttemptRecord]:
    """Task -> its attempt with the highest number."""
    last: dict[str, AttemptRecord] = {}
    for attempt in store.attempts(run_id):
        if attempt.task_id not in last or attempt.number > last[attempt.task_id].number:
            last[attempt.task_id] = attempt
    return last


def cut_off_attempts(store: Store, run_id: str, skip: set[str] | frozenset[str] = frozenset()
                     ) -> dict[str, CutOff]:
    """Task -> its last attempt, for the tasks (not in `skip`) still to run whose last attempt
    was interrupted with its workspace recorded."""
    last = last_attempts(store, run_id)
    cut: dict[str, CutOff] = {}
    for task in store.tasks(run_id):
        attempt = last.get(task.task_id)
        if (task.task_id in skip or task.state not in ("pending", "running") or attempt is None
                or attempt.state != AttemptState.INTERRUPTED.value or not attempt.log_path
                or not task.workspace or not task.branch or not task.base_commit):
            continue
        cut[task.task_id] = CutOff(attempt.number, Path(attempt.log_path), Path(task.workspace),
                                   task.branch, task.base_commit,
                                   attempt.error or "the run was interrupted")
    return cut


@dataclass(frozen=True)
class Continued:
    """How an attempt continues a cut-off one: the agent's session, the workspace, the message."""

    session: str
    workspace: Workspace
    prompt: str
    attempt: int  # the cut-off one

    @property
    def note(self) -> str:
        return (f"continuing the session {self.session} of attempt {self.attempt}, which was cut "
                f"off, in its workspace {self.workspace.path}")


def continuation(cut: CutOff, agent: Agent, *, enabled: bool, isolation: Isolation, task: Task,
                 run_id: str) -> Continued | None:
    """How the first attempt after a resume continues `cut`, or None: it starts cold."""
    # An `Agent` need only prepare and interpret; continuing is what `BaseAgent`s may add.
    continues = getattr(agent, "continues_sessions", False)
    if not (enabled and continues and isolation is Isolation.WORKTREE and cut.workspace.is_dir()):
        return None
    session = agent.session_in_log(cut.log_path) if hasattr(agent, "session_in_log") else None
    if not session:
        return None
    workspace = Workspace(task.id, cut.attempt, cut.workspace, cut.branch, cut.base_commit,
                          isolation, run_id)
    return Continued(session, workspace, continue_prompt(task, cut), cut.attempt)


def continue_prompt(task: Task, cut: CutOff) -> str:
    """What the continued session is told: why it stopped, and to finish as first asked."""
    return (
        f"Your work on task {task.id} was cut off: shoal stopped your session ({cut.why}). It "
        "has now been resumed in the same workspace, with everything you had changed still in "
        "place. Look at what is already done (`git status`, `git diff`), finish the task as "
        "first asked, within the same paths, and end with the report exactly as instructed "
        "at the start."
    )
