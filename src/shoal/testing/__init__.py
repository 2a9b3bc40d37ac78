"""Helpers for testing code that uses shoal (shipped like httpx's fake transport).

Repository builders with a pinned, isolated git environment; see :mod:`shoal.testing.repo`.
"""

from __future__ import annotations

from .repo import commit_files, git_env, isolate_git, make_repo, snapshot_user_state

__all__ = ["commit_files", "git_env", "isolate_git", "make_repo", "snapshot_user_state"]
