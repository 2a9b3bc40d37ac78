"""The aider adapter: its argument list, every output shape of the fake Aider (a real child
process, which commits its own work), and three-task runs on real repositories."""

from __future__ import annotations

import json

import pytest

from shoal.agents import (
    AgentSetupError,
    ErrorKind,
    ResultSource,
    ResultStatus,
    get_agent,
)
from shoal.agents.aider import ANALYTICS_LOG
from shoal.model import Task, TaskId, TaskState
from shoal.testing import make_repo

from .clis import (
    assert_all_landed,
    assert_failed_with,
    attempts,
    calls,
    fake_cli,
    git_out,
    three_tasks,
)

__all__ = ["fake_cli"]  # a fixture

PROMPT = "# Task\n\n## Files to Modify\n- src/out.txt\n"
TASK = Task(id=TaskId("t1"), owns=("src/out.txt",), reads=("docs/",))


def test_arguments(make_request, workdir, attempt_dir):
    (workdir / "src/auth").mkdir(parents=True)
    (workdir / "src/auth/login.py").write_text("x\n")
    (workdir / "src/auth/notes.md").write_text("x\n")
    (workdir / "docs").mkdir()
    (workdir / "docs/api.md").write_text("x\n")
    task = Task(id=TaskId("auth"), owns=("src/auth/*.py", "src/auth/new.py", "tests/new/"),
                reads=("docs/", "common/types.py"))
    argv = get_agent("aider").prepare(make_request(task)).argv
    assert argv[:3] == ("aider", "--message-file", str(attempt_dir / "prompt.md"))
    for flag in ("--yes-always", "--no-stream", "--no-pretty", "--no-check-update", "--no-gitignore",
                 "--no-analytics", "--no-show-release-notes"):
        assert flag in argv
    assert argv[argv.index("--analytics-log") + 1] == str(attempt_dir / ANALYTICS_LOG)
    assert argv[argv.index("--chat-history-file") + 1].startswith(str(attempt_dir))
    assert argv[argv.index("--input-history-file") + 1].startswith(str(attempt_dir))
    reads = [argv[i + 1] for i, a in enumerate(argv) if a == "--read"]
    assert reads == ["docs/api.md", "common/types.py"]  # a folder as its files
    # globs expanded to files that exist; a literal file may be new; a missing folder is dropped
    assert argv[argv.index("--") + 1:] == ("src/auth/login.py", "src/auth/new.py")
    assert "--no-auto-commits" not in argv and "--model" not in argv


def test_settings_become_flags(make_request):
    agent = get_agent("aider", {"model": "sonnet", "edit_format": "whole", "map_tokens": 0,
                                "auto_commits": False, "extra_args": ["--no-auto-lint"]})
    argv = list(agent.prepare(make_request(TASK)).argv)
    assert argv[argv.index("--model") + 1] == "sonnet"
    assert argv[argv.index("--edit-format") + 1] == "whole"
    assert argv[argv.index("--map-tokens") + 1] == "0"
    assert "--no-auto-commits" in argv
    assert argv.index("--no-auto-lint") < argv.index("--")


@pytest.mark.parametrize(("settings", "message"), [
    ({"auto_commits": "no"}, "auto_commits must be true or false"),
    ({"map_tokens": -1}, "map_tokens must be a positive whole number"),
    ({"permission_mode": "acceptEdits"}, "has no setting 'permission_mode'"),
])
def test_bad_settings(settings, message):
    with pytest.raises(AgentSetupError, match=message):
        get_agent("aider", settings)


@pytest.fixture
def repo_workdir(workdir):
    """Aider works in a git repository (its own commits need one)."""
    return make_repo(workdir, {"README.md": "# r\n"})


def attempt(fake_cli, make_request, run, scenario, settings=None, timeout=20.0, **env):
    fake_cli("aider", scenario, **env)
    agent = get_agent("aider", settings)
    outcome = run(agent.prepare(make_request(TASK, prompt=PROMPT)), timeout=timeout)
    return agent, outcome, agent.interpret(outcome)


def test_ok(fake_cli, make_request, run, repo_workdir):
    _, _, result = attempt(fake_cli, make_request, run, "ok")
    assert (result.status, result.source) == (ResultStatus.SUCCEEDED, ResultSource.REPORT)
    assert (result.turns, result.tokens_in, result.tokens_out) == (1, 2300, 150)
    assert result.cost_usd == pytest.approx(0.012)
    # aider committed its own work; its tag cache is gone, its history is in the attempt folder
    assert git_out(repo_workdir, "log", "-1", "--format=%an|%s") == "Fake Aider (aider)|feat: t1 by fake aider"
    assert git_out(repo_workdir, "status", "--porcelain", "--untracked-files=all") == ""
    assert not list(repo_workdir.glob(".aider*"))


def test_no_auto_commits_leaves_the_work_for_shoal(fake_cli, make_request, run, repo_workdir):
    _, _, result = attempt(fake_cli, make_request, run, "ok", {"auto_commits": False})
    assert result.ok
    assert git_out(repo_workdir, "status", "--porcelain", "--untracked-files=all") == "?? src/out.txt"


def test_api_error_with_exit_0_is_a_failure(fake_cli, make_request, run, repo_workdir):
    _, outcome, result = attempt(fake_cli, make_request, run, "api-error")
    assert outcome.exit_code == 0
    assert (result.status, result.source, result.error) == (
        ResultStatus.FAILED, ResultSource.STRUCTURED, ErrorKind.CRASH)
    assert "aider got no reply from the model" in result.summary
    assert "not able to authenticate you" in result.summary


def test_rate_limit(fake_cli, make_request, run, repo_workdir):
    _, outcome, result = attempt(fake_cli, make_request, run, "rate-limit")
    assert outcome.exit_code == 0
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.RATE_LIMITED)


def test_worker_reports_fail(fake_cli, make_request, run, repo_workdir):
    _, _, result = attempt(fake_cli, make_request, run, "fail")
    assert (result.status, result.source) == (ResultStatus.FAILED, ResultSource.REPORT)


def test_a_reply_without_a_report_counts_by_the_exit_code(fake_cli, make_request, run, repo_workdir):
    _, _, result = attempt(fake_cli, make_request, run, "no-result")
    assert (result.status, result.source) == (ResultStatus.SUCCEEDED, ResultSource.EXIT_CODE)
    assert result.tokens_in == 2300
    _, _, strict = attempt(fake_cli, make_request, run, "no-result", {"require_report": True})
    assert (strict.status, strict.error) == (ResultStatus.FAILED, ErrorKind.BAD_OUTPUT)


def test_broken_analytics_lines_are_skipped(fake_cli, make_request, run, repo_workdir):
    _, _, result = attempt(fake_cli, make_request, run, "garbage")
    assert result.ok and result.turns == 1


def test_huge_output(fake_cli, make_request, run, repo_workdir):
    _, outcome, result = attempt(fake_cli, make_request, run, "flood", SHOAL_FAKE_FLOOD_MB="3")
    assert outcome.log_path.stat().st_size > 3 * 1024 * 1024 and result.ok


def test_crash(fake_cli, make_request, run, repo_workdir):
    _, _, result = attempt(fake_cli, make_request, run, "crash")
    assert result.status is ResultStatus.FAILED
    assert "exited with code 1: ModuleNotFoundError" in result.summary


def test_hang_after_result(fake_cli, make_request, run, repo_workdir):
    agent, outcome, result = attempt(fake_cli, make_request, run, "hang-after-result", timeout=1.5)
    assert outcome.timed_out and result.ok
    assert not agent.final_output_seen(outcome.log_path.read_bytes())  # aider prints no end marker


def test_silent_hang(fake_cli, make_request, run, repo_workdir):
    _, _, result = attempt(fake_cli, make_request, run, "hang", timeout=1.0)
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.TIMEOUT)


def test_usage_error_from_an_old_version(fake_cli, make_request, run, repo_workdir):
    _, outcome, result = attempt(fake_cli, make_request, run, "ok", SHOAL_FAKE_HIDE_FLAGS="--no-gitignore")
    assert outcome.exit_code == 2 and result.status is ResultStatus.FAILED
    assert "unrecognized arguments: --no-gitignore" in result.summary


def test_analytics_by_hand(outcome_for, attempt_dir):
    (attempt_dir / ANALYTICS_LOG).write_text("\n".join(json.dumps(e) for e in [
        {"event": "launched", "properties": {}},
        {"event": "message_send", "properties": {"prompt_tokens": 10, "completion_tokens": 5, "total_cost": 0.5}},
        {"event": "message_send", "properties": {"prompt_tokens": 20, "completion_tokens": 1, "total_cost": 0.75}},
    ]) + "\n")
    result = get_agent("aider").interpret(outcome_for("TASK COMPLETE\n"))
    assert result.ok and (result.turns, result.tokens_in, result.tokens_out) == (2, 30, 6)
    assert result.cost_usd == 0.75  # total_cost is the session's running total


def test_three_tasks_end_to_end(fake_cli, tmp_path):
    log = fake_cli("aider", "ok")
    result, repo = three_tasks(tmp_path, "aider", {"model": "sonnet"})
    assert_all_landed(result, repo, "aider")
    log_lines = git_out(repo, "log", "--format=%an|%s", result.integration_branch).splitlines()
    assert {f"Fake Aider (aider)|feat: {t} by fake aider" for t in "abc"} <= set(log_lines)
    for record in attempts(repo, result.run_id):
        assert record.result["cost_usd"] == pytest.approx(0.012)
    assert all(c["files"] == [f"{c['argv'][-1]}"] for c in calls(log))
    assert git_out(repo, "ls-tree", "-r", "--name-only", result.integration_branch).count(".aider") == 0


def test_three_tasks_with_an_api_error(fake_cli, tmp_path):
    fake_cli("aider", "ok,b=api-error")
    result, repo = three_tasks(tmp_path, "aider")
    assert_failed_with(result, repo, "b", "aider got no reply from the model", "authenticate")
    assert result.task("a").state is TaskState.SUCCEEDED
