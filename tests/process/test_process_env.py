"""`clean_env` and `redact`: pure functions."""

from __future__ import annotations

import pytest

from shoal.process import clean_env, redact

BASE = {
    "PATH": "/usr/bin",
    "HOME": "/home/u",
    "GIT_DIR": "/x/.git",
    "GIT_WORK_TREE": "/x",
    "GIT_INDEX_FILE": "/x/.git/index",
    "GIT_OBJECT_DIRECTORY": "/x/objects",
    "GIT_COMMON_DIR": "/x/.git",
    "GIT_CONFIG_PARAMETERS": "'core.worktree'='/x'",
    "GIT_PREFIX": "sub/",
    "GIT_SSH_COMMAND": "ssh -i key",
    "GIT_TERMINAL_PROMPT": "1",
    "CLAUDECODE": "1",
    "CLAUDE_CODE_ENTRYPOINT": "cli",
    "CLAUDE_CONFIG_DIR": "/home/u/.claude",
}


def test_drops_repository_redirecting_git_variables() -> None:
    env = clean_env(base=BASE)
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                 "GIT_COMMON_DIR", "GIT_CONFIG_PARAMETERS", "GIT_PREFIX"):
        assert name not in env


def test_drops_claude_code_nesting_markers_only() -> None:
    env = clean_env(base=BASE)
    assert "CLAUDECODE" not in env and "CLAUDE_CODE_ENTRYPOINT" not in env
    assert env["CLAUDE_CONFIG_DIR"] == "/home/u/.claude"  # not a nesting marker


# What a Claude Code 2.1.197 session puts in its shell's environment (`claude -p` runs with all
# of them), and credentials and settings a user sets, which workers need.
SESSION = {"CLAUDECODE": "1", "CLAUDE_CODE_CHILD_SESSION": "1", "CLAUDE_CODE_ENTRYPOINT": "cli",
           "CLAUDE_CODE_SESSION_ID": "0b7c2a52-1111-2222-3333-444455556666",
           "CLAUDE_CODE_EXECPATH": "/usr/lib/node_modules/@anthropic-ai/claude-code/bin/claude.exe",
           "CLAUDE_EFFORT": "high", "AI_AGENT": "claude-code/2.1.197"}
USER_SET = {"CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-x", "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "64000",
            "CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_USE_VERTEX": "1",
            "ANTHROPIC_API_KEY": "sk-ant-api03-x", "CLAUDE_CONFIG_DIR": "/home/u/.claude"}


def test_drops_exactly_the_claude_code_session_markers() -> None:
    env = clean_env(base={**SESSION, **USER_SET, "PATH": "/usr/bin"})
    assert not set(SESSION) & set(env)
    assert {k: env[k] for k in USER_SET} == USER_SET  # credentials and settings reach workers


def test_keeps_transport_settings_and_disables_prompts() -> None:
    env = clean_env(base=BASE)
    assert env["GIT_SSH_COMMAND"] == "ssh -i key"
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["PATH"] == "/usr/bin" and env["HOME"] == "/home/u"


def test_extra_wins() -> None:
    env = clean_env({"HOME": "/tmp/h", "GIT_INDEX_FILE": "/tmp/i"}, base=BASE)
    assert env["HOME"] == "/tmp/h" and env["GIT_INDEX_FILE"] == "/tmp/i"


def test_base_is_not_modified() -> None:
    base = dict(BASE)
    clean_env({"X": "1"}, base=base)
    assert base == BASE


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["claude", "--api-key", "sk-123", "-p", "hi"], "claude --api-key '***' -p hi"),
        (["tool", "--token=abc", "--max-tokens", "100"], "tool '--token=***' --max-tokens 100"),
        (["tool", "--auth-token", "t", "--password", "pw"], "tool --auth-token '***' --password '***'"),
        (["env", "OPENAI_API_KEY=sk-live", "GH_TOKEN=x", "DB_PASSWORD=p", "MY_SECRET=s", "LANG=C"],
         "env 'OPENAI_API_KEY=***' 'GH_TOKEN=***' 'DB_PASSWORD=***' 'MY_SECRET=***' LANG=C"),
        (["curl", "-H", "x: sk-ant-api03-abcdefghijklmnopqrstuv"], "curl -H 'x: ***'"),
        (["git", "commit", "-m", "a message"], "git commit -m 'a message'"),
        (["tool", "--keyfile", "k.pem"], "tool --keyfile k.pem"),
        (["tool", "--api-key"], "tool --api-key"),
    ],
)
def test_redact(argv: list[str], expected: str) -> None:
    assert redact(argv) == expected
