"""Each real agent CLI, run directly (not through shoal), against the mock model: the edit
lands in the file, the CLI exits 0, and its final message holds the worker's JSON report."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from shoal.testing.mockmodel import MockModel

from .clis import CliRun, run_cli, scratch_repo

CLIS = ["claude", "codex", "gemini", "opencode", "aider", "aider-whole"]
EDIT_FORMAT = {"aider": ["--edit-format", "diff"], "aider-whole": ["--edit-format", "whole"]}


def json_lines(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def final_message(cli: str, run: CliRun) -> str:
    """The final message as the CLI printed it in its own structured output."""
    if cli == "claude":
        (result,) = [e for e in json_lines(run.stdout) if e.get("type") == "result"]
        assert result["subtype"] == "success" and not result["is_error"], result
        return str(result["result"])
    if cli == "codex":
        events = json_lines(run.stdout)
        assert any(e.get("type") == "turn.completed" for e in events), run.stdout
        return next(e["item"]["text"] for e in reversed(events) if e.get("type") == "item.completed"
                    and e["item"].get("type") == "agent_message")
    if cli == "gemini":
        document = json.loads(run.stdout[run.stdout.index("{"):])
        assert "error" not in document, document
        return str(document["response"])
    if cli == "opencode":
        texts = [e["part"]["text"] for e in json_lines(run.stdout) if e.get("type") == "text"]
        return texts[-1]
    return run.stdout  # aider prints the reply


def report_of(message: str) -> dict[str, Any]:
    """The fenced JSON report, or the ``shoal-report:`` line (aider's ``whole`` format), which
    aider's output may wrap over several lines."""
    if "shoal-report: " in message:
        line = message.split("shoal-report: ", 1)[1].replace("\n", " ")
        found, _ = json.JSONDecoder().raw_decode(line)
        assert isinstance(found, dict)
        return found
    match = re.search(r"```json\n(.*?)\n```", message, re.DOTALL)
    assert match, message
    report: dict[str, Any] = json.loads(match.group(1))
    return report


@pytest.mark.parametrize("variant", CLIS)
def test_the_real_cli_edits_the_file_and_reports(variant: str, real_bin: Path, mock_model: MockModel,
                                                  tmp_path: Path) -> None:
    cli = variant.split("-")[0]
    repo = scratch_repo(tmp_path)
    run = run_cli(real_bin, cli, mock_model, repo, "a", ["notes.txt", "new/fresh.txt"],
                  EDIT_FORMAT.get(variant))
    detail = f"{cli} exited {run.returncode}\nstdout:\n{run.stdout[-3000:]}\nstderr:\n{run.stderr[-3000:]}"
    assert run.returncode == 0, detail
    assert (repo / "notes.txt").read_text() == "first line\nedited by a\n", detail
    assert (repo / "new" / "fresh.txt").read_text() == "edited by a\n", detail
    message = final_message(cli, run)
    assert "TASK COMPLETE" in message
    report = report_of(message)
    assert report["status"] == "complete"
    assert report["files_modified"] == ["notes.txt", "new/fresh.txt"]
    steps = [r["step"] for r in mock_model.model_requests("a")]
    if cli == "aider":
        assert steps == ["edits"]
    else:
        assert steps == ["read:notes.txt", "write:notes.txt", "read:new/fresh.txt",
                         "write:new/fresh.txt", "final"]
