"""What each real CLI was seen to refuse to edit, as `shoal doctor` uses it."""

from __future__ import annotations

import pytest

from shoal.agents.permissions import CLAUDE_PROTECTED_FOLDERS, claude_protected_part, edit_blocker


@pytest.mark.parametrize("folder", sorted(CLAUDE_PROTECTED_FOLDERS))
def test_claude_refuses_under_every_protected_folder(folder: str) -> None:
    path = f"/home/me/{folder}/shoal/runs/r1/worktrees/a-a1"
    assert claude_protected_part(path) == folder
    for mode in ("acceptEdits", "default", "dontAsk", "auto"):
        reason = edit_blocker("claude", {"permission_mode": mode}, path)
        assert reason is not None and repr(folder) in reason and mode in reason
    assert edit_blocker("claude", {"permission_mode": "bypassPermissions"}, path) is None


def test_claude_edits_elsewhere_and_pairs_count_as_a_unit() -> None:
    assert edit_blocker("claude", {}, "/home/me/src/repo.shoal/r1/a-a1") is None
    assert claude_protected_part("/home/me/.config/git/x") == ".config/git"
    assert claude_protected_part("/home/me/.config/other/git") is None
    assert claude_protected_part("/srv/gitlab/.github/x") is None  # only exact names
    assert "edit nothing" in (edit_blocker("claude", {"permission_mode": "plan"}, "/w") or "")


def test_other_agents_settings_that_edit_nothing() -> None:
    assert edit_blocker("codex", {"sandbox": "read-only"}, "/w") is not None
    assert edit_blocker("codex", {}, "/w/.git/x") is None  # codex has no such list
    assert edit_blocker("gemini", {"approval_mode": "default"}, "/w") is not None
    assert edit_blocker("gemini", {}, "/w") is None
    assert edit_blocker("opencode", {"permission": {"edit": "deny"}}, "/w") is not None
    assert edit_blocker("opencode", {"permission": {"edit": "allow"}}, "/w") is None
    assert edit_blocker("aider", {}, "/w/.git/x") is None
