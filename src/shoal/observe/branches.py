"""Seed 002's branch monitor: commits on each task's branch, for agents that commit as they go.

Each task's latest attempt works on ``shoal-task/<run>/<task>/<attempt>``, started from the
integration head of that moment (the task's ``base_commit``); the commits it has beyond that
commit are the worker's own, counted with ``git rev-list --count base..branch``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..engine import naming
from ..git import Git, GitError
from ..store import Store


@dataclass(frozen=True)
class BranchState:
    task_id: str
    state: str
    attempts: int
    branch: str | None  # None: the task has not started, or its isolation has no branches
    base: str | None  # the commit its latest attempt started from
    head: str | None  # where the branch points now; None when it is gone
    commits: int | None  # commits on the branch beyond `base`; None when it cannot be counted
    attempt_branches: int  # branches of all its attempts still in the repository

    def to_json(self) -> dict[str, Any]:
        return {"id": self.task_id, "state": self.state, "attempts": self.attempts,
                "branch": self.branch, "base": self.base, "head": self.head,
                "commits": self.commits, "exists": self.head is not None,
                "attempt_branches": self.attempt_branches}


def branch_states(git: Git, store: Store, run_id: str) -> list[BranchState]:
    """Per task of the run (plan order): its latest branch and the commits on it."""
    run = store.get_run(run_id)
    existing = git.list_branches(naming.task_branch_prefix(run.id))
    out = []
    for task in store.tasks(run.id):
        prefix = f"{naming.task_branch_prefix(run.id)}{naming.task_slug(task.task_id)}/"
        mine = [b for b in existing if b.startswith(prefix)]
        branch = task.branch
        head = existing.get(branch) if branch else None
        base = task.base_commit or run.base_commit
        commits = None
        if head is not None and base:
            try:
                commits = git.log_count(base, head)
            except GitError:
                commits = None
        out.append(BranchState(task.task_id, task.state.value, task.attempts, branch, base,
                               head, commits, len(mine)))
    return out
