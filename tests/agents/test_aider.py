"""The aider adapter: its argument list, every output shape of the fake Aider (a real child
process, which commits its own work), and three-task runs on real repositories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shoal.agents import (
    AgentSetupError,
    ErrorKind,
    ResultSource,
    ResultStatus,
    get_agent,
)
from shoal.agents.aider import ANALYTICS_LOG, CHAT_HISTORY, parse_chat_history
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
    # not aider's choice for the model: "whole" (its choice for a model it does not know)
    # takes a fenced report for a file
    assert argv[argv.index("--edit-format") + 1] == "diff"


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
    # the engine decides what a success without a report and without changes is; the
    # adapter says there was no report
    assert "no worker report in aider's reply" in " ".join(result.notes)
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


# -- what real aider 0.86.2 was seen to write (openai/mock model, --no-pretty, --no-stream) ------
HEADER = """
# aider chat started at 2026-12-04 16:03:45

> Update git name with: git config user.name "Your Name"  
> /opt/aider --model openai/mock --message-file /tmp/att/prompt.md -- src/a.t...xt  
> Aider v0.86.2  
> Model: openai/mock with whole edit format  
> Added src/a.txt to the chat.  

#### # Task  
####   
#### Edit the files.  
"""
BLOCKED = ('{"status": "blocked", "files_modified": ["src/a.txt"], "blocker": "need the API spec '
           'from the platform team before going on", "notes": "n"}')
# whole format, one owned file: the raw reply in the history...
WHOLE_HISTORY = HEADER + f"""
I updated the file.

src/a.txt
```
new a
```

Here is my report:

```json
{BLOCKED}
```

> Tokens: 123 sent, 45 received.  
> Applied edit to src/a.txt  
> Commit c423322 I updated the file.  
"""
# ... and on stdout, each fenced block re-rendered as a diff against the file, wrapped at 80
WHOLE_STDOUT = """Aider v0.86.2
Model: openai/mock with whole edit format
Added src/a.txt to the chat.

I updated the file.



src/a.txt

```diff
@@ -1 +1 @@
-old a
+new a
```



Here is my report:



```diff
@@ -1 +1 @@
-old a
+{"status": "blocked", "files_modified": ["src/a.txt"], "blocker": "need the API
spec from the platform team before going on", "notes": "n"}
```


Tokens: 123 sent, 45 received.
Applied edit to src/a.txt
Commit c423322 I updated the file.
"""
# whole format, two owned files, a fenced report after a blank line: nothing applied, and
# the same after each of aider's three "reflections"
REFLECTION = """
I updated both files.

src/a.txt
```
new a
```

src/b.txt
```
new b
```

```json
{"status": "pass", "files_modified": ["src/a.txt", "src/b.txt"], "blocker": null, "notes": "n"}
```

> Tokens: 123 sent, 45 received.  
> The LLM did not conform to the edit format.  
> https://aider.chat/docs/troubleshooting/edit-errors.html  
> No filename provided before ``` in file listing  
"""
NO_FILENAME_HISTORY = HEADER + REFLECTION * 4 + "> Only 3 reflections allowed, stopping.  \n"
NO_FILENAME_STDOUT = """Model: openai/mock with whole edit format
I updated both files.

```json
{"status": "pass", "files_modified": ["src/a.txt", "src/b.txt"], "blocker":
null, "notes": "n"}
```

Tokens: 123 sent, 45 received.
The LLM did not conform to the edit format.
https://aider.chat/docs/troubleshooting/edit-errors.html

No filename provided before ``` in file listing
Only 3 reflections allowed, stopping.
"""
# diff format, a SEARCH block that matches nothing: a message of several lines
NO_MATCH = """
> Tokens: 123 sent, 45 received.  
> The LLM did not conform to the edit format.  
> https://aider.chat/docs/troubleshooting/edit-errors.html  
> # 1 SEARCH/REPLACE block failed to match!

## SearchReplaceNoExactMatch: This SEARCH block failed to exactly match lines in src/a.txt
<<<<<<< SEARCH
not there
=======
new a
>>>>>>> REPLACE

The SEARCH section must exactly match an existing block of lines including all white space  
"""


def analytics(attempt_dir, sends=1):
    send = {"event": "message_send", "properties": {"edit_format": "whole", "prompt_tokens": 123,
                                                     "completion_tokens": 45, "total_cost": 0.0}}
    (attempt_dir / ANALYTICS_LOG).write_text("\n".join(json.dumps(e) for e in [
        {"event": "launched", "properties": {}}, *[send] * sends,
        {"event": "exit", "properties": {"reason": "Completed --message-file"}}]) + "\n")


def test_the_report_is_read_from_the_chat_history(outcome_for, attempt_dir):
    """On stdout the whole format shows the report as a diff (not found) wrapped inside a
    string (not JSON): a worker that reported blocked was taken for a success."""
    analytics(attempt_dir)
    (attempt_dir / CHAT_HISTORY).write_text(WHOLE_HISTORY)
    result = get_agent("aider").interpret(outcome_for(WHOLE_STDOUT))
    assert (result.status, result.source) == (ResultStatus.BLOCKED, ResultSource.REPORT)
    assert result.report.blocker.startswith("need the API spec from the platform team")
    assert (result.tokens_in, result.tokens_out, result.turns) == (123, 45, 1)


def test_only_the_last_session_of_the_history_counts(outcome_for, attempt_dir):
    analytics(attempt_dir)
    # an earlier session (of another attempt writing to the same file) reported pass; this
    # one's reply has no report
    earlier = WHOLE_HISTORY.replace('"status": "blocked"', '"status": "pass"')
    (attempt_dir / CHAT_HISTORY).write_text(earlier + HEADER + "\nI could not do it.\n\n"
                                            "> Tokens: 123 sent, 45 received.  \n")
    result = get_agent("aider").interpret(outcome_for("I could not do it.\n"))
    assert result.report is None and result.source is ResultSource.EXIT_CODE
    assert any("no worker report in aider's reply" in note for note in result.notes)


def test_no_filename_provided_with_nothing_applied_is_a_failure(outcome_for, attempt_dir):
    """The whole format took the fenced report for a file without a name, applied nothing,
    and the run said the task succeeded with nothing to merge."""
    analytics(attempt_dir, sends=4)
    (attempt_dir / CHAT_HISTORY).write_text(NO_FILENAME_HISTORY)
    result = get_agent("aider").interpret(outcome_for(NO_FILENAME_STDOUT))
    assert (result.status, result.source, result.error) == (
        ResultStatus.FAILED, ResultSource.STRUCTURED, ErrorKind.BAD_OUTPUT)
    assert result.summary == ("aider applied none of the model's edits: "
                              "No filename provided before ``` in file listing")
    assert result.turns == 4


def test_no_filename_provided_without_a_history_file(outcome_for, attempt_dir):
    analytics(attempt_dir, sends=4)
    result = get_agent("aider").interpret(outcome_for(NO_FILENAME_STDOUT))
    assert result.status is ResultStatus.FAILED
    assert "No filename provided before ``` in file listing" in result.summary


def test_a_search_block_that_matches_nothing(outcome_for, attempt_dir):
    analytics(attempt_dir)
    reply = ('\nChanging it.\n\nsrc/a.txt\n```\n<<<<<<< SEARCH\nnot there\n=======\nnew a\n'
             '>>>>>>> REPLACE\n```\n\n```json\n{"status": "pass"}\n```\n')
    (attempt_dir / CHAT_HISTORY).write_text(HEADER + reply + NO_MATCH)
    result = get_agent("aider").interpret(outcome_for("whatever"))
    assert result.status is ResultStatus.FAILED
    assert result.summary == (
        "aider applied none of the model's edits: 1 SEARCH/REPLACE block failed to match! "
        "SearchReplaceNoExactMatch: This SEARCH block failed to exactly match lines in src/a.txt")


def test_edit_errors_do_not_hide_the_workers_own_blocked(outcome_for, attempt_dir):
    analytics(attempt_dir, sends=4)
    (attempt_dir / CHAT_HISTORY).write_text(NO_FILENAME_HISTORY.replace('"status": "pass"',
                                                                        '"status": "blocked"'))
    result = get_agent("aider").interpret(outcome_for(NO_FILENAME_STDOUT))
    assert (result.status, result.source) == (ResultStatus.BLOCKED, ResultSource.REPORT)


def test_parse_chat_history():
    reply = ("Some prose.\n\n> a quote in the reply\n\nshoal-report: "
             '{"status": "pass"}')
    chat = parse_chat_history(WHOLE_HISTORY + HEADER + f"\n{reply}\n\n" + NO_MATCH
                              + "> Applied edit to src/b.txt  \n"
                              + "> Commit abc1234 a message\n\nof several lines  \n")
    assert chat.replies == (reply,)
    assert chat.messages[:2] == ('Update git name with: git config user.name "Your Name"',
                                 "/opt/aider --model openai/mock --message-file "
                                 "/tmp/att/prompt.md -- src/a.t...xt")
    assert chat.applied == ("src/b.txt",)
    assert chat.messages[-1] == "Commit abc1234 a message\n\nof several lines"
    assert chat.reply == reply
    assert chat.edit_errors == ("1 SEARCH/REPLACE block failed to match! SearchReplaceNoExactMatch: "
                                "This SEARCH block failed to exactly match lines in src/a.txt",)


def test_the_whole_format_asks_for_a_report_line(make_request, attempt_dir):
    prompt = "# Task\n\nEnd with the ```json report.\n"
    for edit_format, noted in (("whole", True), ("editor-whole", True), (None, False),
                               ("udiff", False), ("diff-fenced", False)):
        agent = get_agent("aider", {"edit_format": edit_format} if edit_format else {})
        invocation = agent.prepare(make_request(TASK, prompt=prompt))
        message = invocation.files[attempt_dir / "prompt.md"].decode()
        assert message.startswith(prompt)
        assert ("shoal-report:" in message) is noted, edit_format
        assert (f"aider's {edit_format} edit format" in message) is noted


def test_a_report_written_into_the_owned_file_is_a_failure(outcome_for, attempt_dir, workdir):
    """Seen with the whole format and one owned file: a reply of prose and a fenced report only
    made aider replace the file's content with the report, and commit it."""
    analytics(attempt_dir)
    report = '{"status": "pass", "files_modified": [], "blocker": null, "notes": "n"}'
    (attempt_dir / CHAT_HISTORY).write_text(HEADER + f"""
I cannot do this.

```json
{report}
```

> Tokens: 123 sent, 45 received.  
> Applied edit to src/a.txt  
> Commit 9683213 I cannot do this.  
""")
    (workdir / "src").mkdir()
    (workdir / "src/a.txt").write_text(report + "\n")
    result = get_agent("aider").interpret(outcome_for(f"+{report}\n"))
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.BAD_OUTPUT)
    assert result.summary.startswith("aider wrote the worker's ```json report into src/a.txt")
    (workdir / "src/a.txt").write_text("new a\n")  # a file listing of its own: fine
    assert get_agent("aider").interpret(outcome_for("")).ok
    # the worker's own blocked stands (nothing is merged either way)
    history = (attempt_dir / CHAT_HISTORY).read_text().replace('"pass"', '"blocked"')
    (attempt_dir / CHAT_HISTORY).write_text(history)
    (workdir / "src/a.txt").write_text(report.replace('"pass"', '"blocked"') + "\n")
    assert get_agent("aider").interpret(outcome_for("")).status is ResultStatus.BLOCKED


# -- the fake, in the edit formats (it behaves as real aider 0.86.2 was seen to) ---------------
TWO = Task(id=TaskId("t2"), owns=("src/one.txt", "src/two.txt"))
TWO_PROMPT = "# Task\n\n## Files to Modify\n- src/one.txt\n- src/two.txt\n"


def two_files(fake_cli, make_request, run, settings=None, **env):
    fake_cli("aider", "ok", **env)
    agent = get_agent("aider", settings)
    outcome = run(agent.prepare(make_request(TWO, prompt=TWO_PROMPT)))
    return outcome, agent.interpret(outcome)


def test_two_files_in_the_default_format(fake_cli, make_request, run, repo_workdir, attempt_dir):
    outcome, result = two_files(fake_cli, make_request, run)
    assert (result.status, result.source) == (ResultStatus.SUCCEEDED, ResultSource.REPORT)
    assert result.report.files_modified == ("src/one.txt", "src/two.txt")
    assert "with diff edit format" in outcome.log_path.read_text()
    assert "<<<<<<< SEARCH" in (attempt_dir / CHAT_HISTORY).read_text()


def test_two_files_in_the_whole_format(fake_cli, make_request, run, repo_workdir, attempt_dir):
    """Told by shoal's note, the worker gives a shoal-report line that aider leaves alone."""
    outcome, result = two_files(fake_cli, make_request, run, {"edit_format": "whole"},
                                SHOAL_FAKE_AIDER_REPORT="blocked")
    assert (result.status, result.source) == (ResultStatus.BLOCKED, ResultSource.REPORT)
    assert result.report.blocker == "the fake was told to report blocked"
    assert git_out(repo_workdir, "log", "-1", "--format=%s") == "feat: t2 by fake aider"  # applied
    assert "shoal-report:" in (attempt_dir / CHAT_HISTORY).read_text()


def test_a_fenced_report_in_the_whole_format_with_two_files(fake_cli, make_request, run,
                                                           repo_workdir):
    """The edit format given past shoal (extra_args): no note, a fenced report, "No filename
    provided", nothing applied: a failure with aider's error, not a success with nothing."""
    outcome, result = two_files(fake_cli, make_request, run,
                                {"extra_args": ["--edit-format", "whole"]})
    log = outcome.log_path.read_text()
    assert log.count("No filename provided before ``` in file listing") == 4
    assert "Only 3 reflections allowed, stopping." in log
    assert (result.status, result.error) == (ResultStatus.FAILED, ErrorKind.BAD_OUTPUT)
    assert result.summary == ("aider applied none of the model's edits: "
                              "No filename provided before ``` in file listing")
    assert (result.turns, result.tokens_in, result.cost_usd) == (4, 9200, pytest.approx(0.048))
    assert git_out(repo_workdir, "log", "--format=%s") == "initial commit"  # nothing applied


def test_whole_format_shows_the_report_as_a_diff(fake_cli, make_request, run, repo_workdir,
                                                 attempt_dir):
    """One file, whole format, fenced report: stdout has it only as a diff; the raw reply
    in the chat history says blocked."""
    _, outcome, result = attempt(fake_cli, make_request, run, "ok",
                                 {"extra_args": ["--edit-format", "whole"]},
                                 SHOAL_FAKE_AIDER_REPORT="blocked")
    log = outcome.log_path.read_text()
    assert "```json" not in log and '+  "status": "blocked",' in log
    assert "```json" in (attempt_dir / CHAT_HISTORY).read_text()
    assert (result.status, result.source) == (ResultStatus.BLOCKED, ResultSource.REPORT)


def test_a_blocked_report_in_a_three_task_run(fake_cli, tmp_path):
    fake_cli("aider", "ok", SHOAL_FAKE_AIDER_REPORT="blocked")
    result, repo = three_tasks(tmp_path, "aider")
    assert result.task("a").state is TaskState.BLOCKED
    assert result.task("b").state is TaskState.BLOCKED
    assert git_out(repo, "ls-tree", "-r", "--name-only", result.integration_branch).count("a.txt") == 0


def test_owned_paths_expand_as_anchored_plan_paths(tmp_path: Path) -> None:
    """A leading "/" is the repository's root, not the filesystem's (issue 14, item 5)."""
    from shoal.agents.headless import expand

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("a")
    (tmp_path / "docs" / "deep").mkdir()
    (tmp_path / "docs" / "deep" / "b.md").write_text("b")
    assert expand(tmp_path, ("/CHANGES.md", "/docs/", "/")) == ["CHANGES.md", "docs/a.md",
                                                               "docs/deep/b.md"]
    assert expand(tmp_path, ("**/b.md", "*.md")) == ["docs/deep/b.md"]
