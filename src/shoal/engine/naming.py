"""Where a run's things live and what they are called: branches, folders, commit messages, ports.

Pure: nothing here touches the disk or git. Layout of one run::

    <git common dir>/shoal/runs/<run_id>/
        attempts/<task-slug>/<n>/        prompt.md, output.log, setup.log of attempt n
        verify/                          the merge queue's scratch worktree
    <workspace root>/<run_id>/           the run's workspaces:
        <task-slug>-a<n>/                one per attempt (isolation worktree)
        _branch/                         the one reused worktree of isolation branch
        _shared/                         the shared tree of isolation none and directory

Workspaces are where agents edit files, so they live outside the git dir and outside the
user's working tree: Claude Code refuses every edit under a folder named ``.git`` (and
``.claude``, ``.vscode``, ...), and tools that walk the checkout (ripgrep, pytest, IDE
indexers) would find copies inside it. The default root is a sibling of the repository,
``<repo>.shoal/`` (same filesystem, so worktrees stay cheap); runs made before this
layout kept them in ``<run folder>/worktrees/`` (:func:`legacy_workspaces_dir`).

Branches: ``shoal/<run_id>`` (integration) and ``shoal-task/<run_id>/<task-slug>/<n>``. The
task branches live outside ``shoal/`` because git cannot have both a branch ``shoal/<id>`` and
branches below ``shoal/<id>/``.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

from ..model import Task

INTEGRATION_PREFIX = "shoal/"
TASK_PREFIX = "shoal-task/"
TASK_TRAILER = "Shoal-Task"
MERGE_TRAILER = "Shoal-Merge"
PROMPT_FILE = "prompt.md"  # the same name as shoal.agents.PROMPT_FILE_NAME
LOG_FILE = "output.log"
SETUP_LOG_FILE = "setup.log"
BRANCH_WORKTREE = "_branch"
SHARED_WORKTREE = "_shared"
DEFAULT_PORT_BASE = 20000
PORTS_PER_SLOT = 10

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_RISK_MARKER = re.compile(r"\s*\[\s*R\s*:\s*(GREEN|YELLOW|RED|CRITICAL)\s*\]", re.IGNORECASE)
_MAX_SLUG = 60
_SUBJECT_MAX = 100
_BODY_MAX = 600


def check_run_id(run_id: str) -> str:
    """`run_id` if it can be a ref component and a folder name, else ValueError."""
    if not _RUN_ID.fullmatch(run_id) or ".." in run_id or run_id.endswith((".", ".lock")):
        raise ValueError(f"invalid run id {run_id!r}: use letters, digits, '.', '_' and '-'")
    return run_id


def task_slug(task_id: str) -> str:
    """`task_id` as one valid ref component and folder name. Characters outside
    ``[A-Za-z0-9._-]`` become ``-``; when that (or a length cut, or a ref rule such as no ``..``)
    changed the id, a hash of the original is appended, so two ids never share a slug."""
    slug = _UNSAFE.sub("-", task_id)
    slug = re.sub(r"\.(?=\.)", "-", slug).lstrip(".") or "-"
    if slug.endswith((".", ".lock")):
        slug += "-"
    if slug == task_id and len(slug) <= _MAX_SLUG:
        return slug
    digest = hashlib.sha1(task_id.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{slug[:_MAX_SLUG].rstrip('.')}-{digest}"


# -- branches ------------------------------------------------------------------------------
def integration_branch(run_id: str) -> str:
    return f"{INTEGRATION_PREFIX}{check_run_id(run_id)}"


def task_branch_prefix(run_id: str) -> str:
    """Every task branch of the run starts with this (for listing and cleanup)."""
    return f"{TASK_PREFIX}{check_run_id(run_id)}/"


def task_branch(run_id: str, task_id: str, attempt: int) -> str:
    return f"{task_branch_prefix(run_id)}{task_slug(task_id)}/{int(attempt)}"


# -- folders -------------------------------------------------------------------------------
def runs_root(common_dir: Path) -> Path:
    return Path(common_dir) / "shoal" / "runs"


@functools.lru_cache(maxsize=16)  # asked once per attempt
def run_dir(common_dir: Path, run_id: str) -> Path:
    return runs_root(common_dir) / check_run_id(run_id)


def repository_dir(common_dir: Path) -> Path:
    """The folder that names the repository: the checkout holding ``.git``, or a bare one."""
    common = Path(common_dir)
    return common.parent if common.name == ".git" else common


def default_workspace_root(common_dir: Path) -> Path:
    """``<repo>.shoal`` beside the repository: outside its working tree and its git dir."""
    repo = repository_dir(common_dir)
    return repo.parent / f"{repo.name}.shoal"


def fallback_workspace_root(common_dir: Path, cache_home: Path) -> Path:
    """Where workspaces go when the repository's parent folder cannot be written: a folder
    per repository (name and a hash of its path) under the user's cache."""
    repo = repository_dir(common_dir)
    digest = hashlib.sha1(str(repo).encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return Path(cache_home) / "shoal" / "workspaces" / f"{repo.name}-{digest}"


def workspaces_dir(workspace_root: Path, run_id: str) -> Path:
    """The folder of one run's workspaces."""
    return Path(workspace_root) / check_run_id(run_id)


def legacy_workspaces_dir(common_dir: Path, run_id: str) -> Path:
    """Where runs made by shoal versions before ``workspace_root`` kept their workspaces."""
    return run_dir(common_dir, run_id) / "worktrees"


def worktree_dir(workspaces: Path, task_id: str, attempt: int) -> Path:
    """The workspace of one attempt (isolation worktree), in the run's `workspaces_dir`."""
    return Path(workspaces) / f"{task_slug(task_id)}-a{int(attempt)}"


def branch_worktree_dir(workspaces: Path) -> Path:
    return Path(workspaces) / BRANCH_WORKTREE


def shared_worktree_dir(workspaces: Path) -> Path:
    return Path(workspaces) / SHARED_WORKTREE


def shared_index_file(common_dir: Path, run_id: str) -> Path:
    """The private index the shared tree's snapshots are built in (isolation none)."""
    return run_dir(common_dir, run_id) / "shared.index"


def attempt_dir(common_dir: Path, run_id: str, task_id: str, attempt: int) -> Path:
    return run_dir(common_dir, run_id) / "attempts" / task_slug(task_id) / str(int(attempt))


def prompt_path(common_dir: Path, run_id: str, task_id: str, attempt: int) -> Path:
    return attempt_dir(common_dir, run_id, task_id, attempt) / PROMPT_FILE


def log_path(common_dir: Path, run_id: str, task_id: str, attempt: int) -> Path:
    return attempt_dir(common_dir, run_id, task_id, attempt) / LOG_FILE


def verify_dir(common_dir: Path, run_id: str) -> Path:
    return run_dir(common_dir, run_id) / "verify"


# -- ports ---------------------------------------------------------------------------------
def ports_for(port_base: int, slot: int) -> int:
    """First port of a worker slot's block (``PORTS_PER_SLOT`` ports each), exposed to the
    worker as ``SHOAL_PORT_BASE`` so that dev servers of parallel workers do not clash."""
    if slot < 0:
        raise ValueError(f"slot must be >= 0, not {slot}")
    return port_base + slot * PORTS_PER_SLOT


# -- commit messages -----------------------------------------------------------------------
def plain_title(task: Task) -> str:
    """The task's title on one line without its ``[R:TIER]`` marker (the id when empty)."""
    title = " ".join(_RISK_MARKER.sub("", task.title).split())
    title = title or str(task.id)
    return title if len(title) <= _SUBJECT_MAX else title[: _SUBJECT_MAX - 3].rstrip() + "..."


def _scope(task_id: str) -> str:
    # a Conventional Commits scope cannot hold parentheses or line breaks
    return re.sub(r"[()\s]+", "-", task_id).strip("-") or "task"


def task_key(run_id: str, task_id: str) -> str:
    """The value of the ``Shoal-Task``/``Shoal-Merge`` trailers: ``<run_id>/<task_id>``."""
    return f"{run_id}/{' '.join(task_id.split())}"


def commit_message(task: Task, run_id: str, *, body: str | None = None) -> str:
    """``feat(<id>): <title>``, a body (by default the first paragraph of the prompt) and the
    ``Shoal-Task`` trailer: the message of the work a worker left uncommitted."""
    if body is None:
        body = task.prompt.strip().split("\n\n", 1)[0].strip()
        if len(body) > _BODY_MAX:
            body = body[: _BODY_MAX - 3].rstrip() + "..."
    parts = [f"feat({_scope(task.id)}): {plain_title(task)}"]
    if body:
        parts.append(body)
    parts.append(f"{TASK_TRAILER}: {task_key(run_id, task.id)}")
    return "\n\n".join(parts) + "\n"


def merge_message(task: Task, run_id: str) -> str:
    key = task_key(run_id, task.id)
    return (f"merge({_scope(task.id)}): {plain_title(task)}\n\n"
            f"{TASK_TRAILER}: {key}\n{MERGE_TRAILER}: {key}\n")


def revert_message(task_id: str, run_id: str) -> str:
    return (f"revert({_scope(task_id)}): drop changes outside owned paths\n\n"
            f"{TASK_TRAILER}: {task_key(run_id, task_id)}\n")


def shared_message(run_id: str) -> str:
    """The one commit of a run with isolation ``none``."""
    return (f"feat(shoal): work of run {run_id} (isolation none)\n\n"
            f"{TASK_TRAILER}: {run_id}/*\n")
