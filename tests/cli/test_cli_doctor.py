"""`shoal doctor` with fake agent CLIs (and a fake old git) on a PATH made for the test."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from shoal.testing.fakes import FAKE_CLIS, install_fake_cli


@pytest.fixture
def bare_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH holding only git and sh: no agent CLI, whatever the machine has."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for program in ("git", "sh"):
        found = shutil.which(program)
        assert found, program
        (folder / program).symlink_to(found)
    monkeypatch.setenv("PATH", str(folder))
    return folder


def by_name(data: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {c["name"]: c for c in data["checks"]}


def test_every_fake_is_found_with_its_version_and_flags(shoal, bare_bin):
    for cli in FAKE_CLIS:
        install_fake_cli(bare_bin, cli)
    result = shoal("doctor", "--format", "json")
    assert result.code == 0, result.out
    checks = by_name(result.json())
    assert result.json()["ok"] is True
    for cli in FAKE_CLIS:
        assert checks[cli]["status"] == "ok", checks[cli]
        assert checks[cli]["path"] == str(bare_bin / cli)
    assert checks["claude"]["version"] == "2.0.14 (Claude Code)"
    assert checks["codex"]["version"] == "codex-cli 0.46.0"
    assert checks["aider"]["version"] == "aider 0.86.1"
    assert checks["git"]["status"] == "ok" and checks["sh"]["status"] == "ok"


def test_missing_agents_are_noted_not_problems(shoal, bare_bin):
    result = shoal("doctor", "--format", "json")
    assert result.code == 0
    checks = by_name(result.json())
    assert {checks[c]["status"] for c in FAKE_CLIS} == {"missing"}
    assert "npm install -g @anthropic-ai/claude-code" in checks["claude"]["hint"]


def test_an_agent_asked_for_must_be_there(shoal, bare_bin):
    result = shoal("doctor", "--agent", "gemini", "--format", "json")
    assert result.code == 1
    checks = by_name(result.json())
    assert checks["gemini"]["status"] == "problem" and "claude" not in checks


def test_a_version_without_a_needed_flag(shoal, bare_bin):
    install_fake_cli(bare_bin, "codex", env={"SHOAL_FAKE_HIDE_FLAGS": "--json",
                                             "SHOAL_FAKE_VERSION": "codex-cli 0.1.0"})
    install_fake_cli(bare_bin, "claude")
    result = shoal("doctor", "--format", "json")
    assert result.code == 1
    checks = by_name(result.json())
    assert checks["codex"]["status"] == "problem"
    assert checks["codex"]["missing_flags"] == ["--json"] and checks["codex"]["version"] == "codex-cli 0.1.0"
    assert checks["claude"]["status"] == "ok"
    text = shoal("doctor")
    assert text.code == 1
    assert "codex (codex-cli 0.1.0): this version does not support --json" in text.out
    assert "1 problem found" in text.out


def test_a_cli_whose_help_fails(shoal, bare_bin):
    broken = bare_bin / "opencode"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(broken.stat().st_mode | stat.S_IXUSR)
    result = shoal("doctor", "--agent", "opencode", "--format", "json")
    assert result.code == 1
    assert "failed or printed nothing" in by_name(result.json())["opencode"]["detail"]


def test_git_older_than_2_38(shoal, bare_bin):
    (bare_bin / "git").unlink()
    fake_git = bare_bin / "git"
    fake_git.write_text("#!/bin/sh\necho 'git version 2.30.2'\n")
    fake_git.chmod(fake_git.stat().st_mode | stat.S_IXUSR)
    result = shoal("doctor", "--format", "json")
    assert result.code == 1
    git = by_name(result.json())["git"]
    assert git["status"] == "problem" and git["version"] == "2.30.2"
    assert "merge-tree --write-tree" in git["detail"]


def test_unknown_agent_is_a_usage_error(shoal, bare_bin):
    result = shoal("doctor", "--agent", "cluade")
    assert result.code == 2
    assert "unknown agent 'cluade'" in result.err and "did you mean 'claude'" in result.err


def test_text_output_lists_everything(shoal, bare_bin):
    install_fake_cli(bare_bin, "gemini")
    result = shoal("doctor")
    assert result.code == 0
    assert "gemini (0.9.0): installed, with every flag shoal passes" in result.out
    assert "claude: 'claude' is not on PATH" in result.out
    assert "everything a run needs is there" in result.out


def test_doctor_checks_that_each_agent_can_edit_in_the_workspaces(shoal, bare_bin, tmp_path,
                                                                    monkeypatch):
    """Issue 13: with workspaces under .git, Claude Code refuses every edit and doctor said all
    was well. Now it checks the folder a run would use, with the plan's settings."""
    from shoal.testing import make_repo

    for cli in FAKE_CLIS:
        install_fake_cli(bare_bin, cli)
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    monkeypatch.chdir(repo)
    checks = by_name(shoal("doctor", "--agent", "claude", "--format", "json").json())
    assert checks["claude edits"]["status"] == "ok"
    assert checks["claude edits"]["path"] == str(tmp_path / "repo.shoal")
    assert not (tmp_path / "repo.shoal").exists()  # doctor makes nothing

    monkeypatch.setenv("SHOAL_WORKSPACE_ROOT", str(tmp_path / "x" / ".git" / "ws"))
    result = shoal("doctor", "--agent", "claude", "--format", "json")
    assert result.code == 1
    edits = by_name(result.json())["claude edits"]
    assert edits["status"] == "problem" and "'.git'" in edits["detail"]
    assert "workspace_root" in edits["hint"]
    monkeypatch.delenv("SHOAL_WORKSPACE_ROOT")

    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "version: 1\ndefaults: {agent: claude, workspace_root: ../spaces/.claude/ws}\n"
        "agents:\n  codex: {sandbox: read-only}\n"
        "tasks:\n  - {id: a, owns: [a.txt], prompt: x}\n  - {id: b, owns: [b.txt], prompt: x, agent: codex}\n")
    result = shoal("doctor", "--plan", plan, "--format", "json")
    assert result.code == 1, result.out
    checks = by_name(result.json())
    assert set(checks) == {"git", "sh", "claude", "claude edits", "codex", "codex edits"}
    assert "'.claude'" in checks["claude edits"]["detail"]
    assert checks["claude edits"]["path"] == str(tmp_path / "spaces" / ".claude" / "ws")
    assert "read-only" in checks["codex edits"]["detail"]
    # bypassPermissions edits anywhere (shoal sets what the CLI needs as root)
    plan.write_text(plan.read_text().replace("agents:\n", "agents:\n  claude: {permission_mode: bypassPermissions}\n"))
    checks = by_name(shoal("doctor", "--plan", plan, "--format", "json").json())
    assert checks["claude edits"]["status"] == "ok"
