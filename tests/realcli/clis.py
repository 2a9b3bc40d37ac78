"""Running a real agent CLI directly (not through shoal) against the mock model."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from shoal.testing import make_repo
from shoal.testing.mockmodel import MockModel

TIMEOUT_S = 120  # generous: a run against the mock takes a few seconds
FILES = {"README.md": "# scratch\n", "notes.txt": "first line\n"}


def shoal_prompt(task: str, owns: list[str]) -> str:
    """A worker prompt shaped like shoal's own (the parts the mock reads)."""
    files = "\n".join(f"- {path}" for path in owns)
    return (f"# Task Worker: Execute Task {task}\n\nYou are a task worker agent executing a single "
            f"task.\n\n## Task Details\n- **ID**: {task}\n- **Description**: Edit the files\n\n"
            f"## Files to Modify\n{files}\n\n## Expected Output\n\nEnd with the JSON report, then "
            f"state: **TASK COMPLETE**\n")


@dataclass
class CliRun:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


def scratch_repo(root: Path) -> Path:
    """A git repository whose path holds no folder Claude Code refuses to edit under."""
    return make_repo(root / "scratch", FILES)


def command(bin_dir: Path, cli: str, mock: MockModel, repo: Path, prompt: str,
            owns: list[str], extra: list[str] | None = None) -> list[str]:
    program = str(bin_dir / cli)
    extra = [*mock.args_for(cli), *(extra or [])]
    if cli == "claude":
        return [program, "-p", "--output-format", "stream-json", "--verbose",
                "--permission-mode", "acceptEdits", *extra, "--", prompt]
    if cli == "codex":
        return [program, "exec", "--json", "--sandbox", "workspace-write", "--skip-git-repo-check",
                "-C", str(repo), *extra, "--", prompt]
    if cli == "gemini":
        return [program, "--output-format", "json", "--approval-mode", "auto_edit", *extra,
                f"--prompt={prompt}"]
    if cli == "opencode":
        return [program, "run", "--format", "json", *extra, prompt]
    prompt_file = repo.parent / "prompt.md"
    prompt_file.write_text(prompt, encoding="utf-8")
    return [program, "--message-file", str(prompt_file), "--yes-always", "--no-stream", "--no-pretty",
            "--no-check-update", "--no-show-release-notes", "--no-analytics", "--no-gitignore",
            "--input-history-file", str(repo.parent / "aider.input.history"),
            "--chat-history-file", str(repo.parent / "aider.chat.history.md"),
            *extra, "--", *owns]


def run_cli(bin_dir: Path, cli: str, mock: MockModel, repo: Path, task: str, owns: list[str],
            extra: list[str] | None = None, env: dict[str, str] | None = None,
            timeout: float = TIMEOUT_S) -> CliRun:
    """Run ``cli`` once in ``repo`` with a shoal-style prompt for ``task``; its own HOME."""
    home = repo.parent / f"home-{cli}"
    home.mkdir(exist_ok=True)
    argv = command(bin_dir, cli, mock, repo, shoal_prompt(task, owns), owns, extra)
    # PWD too: OpenCode takes its project folder from $PWD, not from the process cwd
    full_env = {**os.environ, "PWD": str(repo), "HOME": str(home), "CODEX_HOME": str(home / ".codex"),
                "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
                **mock.env_for(cli), **(env or {})}
    for name in ("ANTHROPIC_AUTH_TOKEN", "OPENAI_BASE_URL", "CLAUDECODE"):
        full_env.pop(name, None)
    (home / ".codex").mkdir(exist_ok=True)
    done = subprocess.run(argv, cwd=repo, env=full_env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout, check=False)
    return CliRun(argv, done.returncode, done.stdout, done.stderr)
