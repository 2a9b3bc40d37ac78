"""Whether an agent CLI, with given settings, will edit files in a folder: what each real CLI
was seen to refuse in headless mode, so `shoal doctor` can say so before a run pays for it.

Pure: nothing here starts a CLI. Facts, each seen with the pinned versions of
`shoal.testing.realclis` against a local mock model:

- Claude Code never auto-approves an edit to a path with one of its protected folder names in
  it (or a few protected files), whatever ``--permission-mode`` or ``--allowedTools`` say, except
  ``bypassPermissions``; in print mode an edit that needs approval is refused. ``plan`` mode
  edits nothing.
- Codex edits nothing with ``--sandbox read-only``.
- Gemini CLI's ``default`` approval mode asks before an edit, and headless that is a refusal.
- OpenCode refuses an edit its permission config sets to ``deny`` or ``ask``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

# Claude Code 2.1.197: folder names it protects wherever they appear in a path, and folder
# pairs it protects as a unit (read from its own bundle, and seen refusing edits under each).
CLAUDE_PROTECTED_FOLDERS = frozenset({
    ".git", ".vscode", ".idea", ".claude", ".husky", ".cargo", ".devcontainer", ".yarn", ".mvn"})
CLAUDE_PROTECTED_PAIRS = ((".config", "git"),)
_CLAUDE_EDITING_MODES = {"acceptEdits", "default", "dontAsk", "auto"}


def claude_protected_part(path: PurePath | str) -> str | None:
    """The folder of `path` that makes Claude Code refuse to edit under it, or None."""
    parts = PurePath(path).parts
    for part in parts:
        if part in CLAUDE_PROTECTED_FOLDERS:
            return part
    for first, second in CLAUDE_PROTECTED_PAIRS:
        for i in range(len(parts) - 1):
            if parts[i] == first and parts[i + 1] == second:
                return f"{first}/{second}"
    return None


def edit_blocker(agent: str, options: Mapping[str, Any], folder: PurePath | str) -> str | None:
    """Why `agent` with `options` (its plan settings) will not edit a file in `folder`, or None
    when nothing known stops it."""
    if agent == "claude":
        mode = str(options.get("permission_mode") or "acceptEdits")
        if mode == "plan":
            return "permission_mode plan makes Claude Code edit nothing"
        if mode == "bypassPermissions":
            return None
        protected = claude_protected_part(folder)
        if protected is not None:
            return (f"Claude Code refuses every edit under a folder named {protected!r} "
                    f"(with permission_mode {mode}), and {folder} is under one")
        if mode not in _CLAUDE_EDITING_MODES:
            return f"permission_mode {mode!r} is not one Claude Code edits files in headless"
        return None
    if agent == "codex" and options.get("sandbox") == "read-only":
        return "sandbox read-only makes Codex edit nothing"
    if agent == "gemini" and options.get("approval_mode") == "default":
        return ("approval_mode default makes Gemini CLI ask before each edit, and headless a "
                "question is a refusal: use auto_edit or yolo")
    if agent == "opencode":
        permission = options.get("permission")
        edit = permission.get("edit") if isinstance(permission, Mapping) else permission
        if edit in ("deny", "ask"):
            return (f"permission edit: {edit} makes OpenCode refuse edits headless "
                    "(`opencode run` rejects any call that needs a question)")
    return None
