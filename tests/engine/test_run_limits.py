"""End to end: the idle watchdog, a worker that hangs after its result, rate limits with backoff,
the run's budget, a prompt fed on stdin, and isolation none without change tracking."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

import shoal
from shoal.agents import BaseAgent, Invocation, StructuredResult, json_lines, register, unregister
from shoal.agents.base import shoal_env
from shoal.model import TaskState
from shoal.store import AttemptState

from .conftest import attempts, run_events, show, write_plan


class _PyAgent(BaseAgent):
    """A stand-in headless CLI: a Python script from the task's `run:` line, printing
    stream-json-like events, with the final result event the engine's watchdog looks for."""

    def prepare(self, request):  # type: ignore[no-untyped-def]
        return Invocation(argv=(sys.executable, "-c", request.task.run[0]), env=shoal_env(request))

    def final_output_seen(self, tail: bytes) -> bool:
        return b'"type": "result"' in tail

    def structured(self, outcome):  # type: ignore[no-untyped-def]
        for event in json_lines(outcome.tail()):
            if event.get("type") == "result":
                return StructuredResult(ok=not event.get("is_error"), text=event.get("result", ""),
                                        cost_usd=event.get("total_cost_usd"))
        return None


@pytest.fixture
def py_agent():  # type: ignore[no-untyped-def]
    agent = type("PyAgent", (_PyAgent,), {"name": "test-py"})
    register(agent)
    yield "test-py"
    unregister("test-py")


def _result_then(after: str, *, cost: float = 0.0, write: str = "") -> str:
    event = {"type": "result", "is_error": False, "result": "done", "total_cost_usd": cost}
    lines = []
    if write:
        lines.append(f"open({write!r}, 'w').write('x\\n')")
    lines += [f"print({json.dumps(json.dumps(event))}, flush=True)", after]
    return "\n".join(lines)


def test_silent_worker_is_stopped_by_the_idle_timeout(repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, [
        {"id": "quiet", "owns": ["q.txt"], "retries": 0, "run": ["echo started; exec sleep 60"]},
        {"id": "chatty", "owns": ["c.txt"],
         "run": ["for i in 1 2 3 4 5 6; do echo tick $i; sleep 0.3; done; echo c > c.txt"]},
    ])
    started = time.monotonic()

    result = shoal.run(plan, repo=repo, idle_timeout=1.0, grace=0.3)

    assert time.monotonic() - started < 20
    quiet = result.task("quiet")
    assert quiet.state in (TaskState.BLOCKED, TaskState.FAILED)
    assert quiet.reason and "no output for 1s" in quiet.reason and "idle timeout" in quiet.reason
    # output every 0.3 s keeps a worker alive well past the idle limit
    assert result.task("chatty").state is TaskState.SUCCEEDED
    assert show(repo, result.integration_branch, "c.txt") == "c\n"


def test_idle_timeout_comes_from_the_plan(repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, [
        {"id": "quiet", "owns": ["q.txt"], "retries": 0, "run": ["exec sleep 60"]},
    ], defaults={"timeout": "30s", "retries": 0, "idle_timeout": "1s"})
    started = time.monotonic()
    result = shoal.run(plan, repo=repo, grace=0.3)
    assert time.monotonic() - started < 15
    assert "idle timeout" in (result.task("quiet").reason or "")


def test_worker_hanging_after_its_result_is_stopped_and_its_result_stands(
        repo: Path, tmp_path: Path, py_agent: str) -> None:
    plan = write_plan(tmp_path, [
        {"id": "hangs", "owns": ["h.txt"], "agent": py_agent,
         "run": [_result_then("import time; time.sleep(60)", write="h.txt")]},
    ])
    started = time.monotonic()

    result = shoal.run(plan, repo=repo, result_grace=0.5, grace=0.3)

    assert time.monotonic() - started < 15
    hangs = result.task("hangs")
    assert hangs.state is TaskState.SUCCEEDED
    assert hangs.result and hangs.result["notes"] == [
        "reported success, then stopped 0.5s after printing its final result"]
    assert show(repo, result.integration_branch, "h.txt") == "x\n"


def test_rate_limit_pauses_and_retries_without_counting_as_a_failure(
        repo: Path, tmp_path: Path) -> None:
    state = tmp_path / "calls"
    # the first call answers like a rate-limited API; the next one does the work
    script = (f"n=$(cat {state} 2>/dev/null || echo 0); echo $((n+1)) > {state}; "
              f"if [ $n -lt 2 ]; then echo 'Error: 429 Too Many Requests' >&2; exit 1; fi; "
              "echo done > r.txt")
    plan = write_plan(tmp_path, [{"id": "limited", "owns": ["r.txt"], "retries": 0}])
    settings = {"command": {"command": ["sh", "-c", script]}}
    started = time.monotonic()

    result = shoal.run(plan, repo=repo, agent="command", agent_settings=settings,
                       rate_limit_backoff=0.3)

    took = time.monotonic() - started
    assert result.task("limited").state is TaskState.SUCCEEDED  # retries: 0, yet it went on
    tries = attempts(repo, result.run.id, "limited")
    assert [a.state for a in tries] == [AttemptState.RATE_LIMITED, AttemptState.RATE_LIMITED,
                                        AttemptState.SUCCEEDED]
    pauses = [e.data["pause_s"] for e in run_events(repo, result.run.id, "rate_limited")]
    assert pauses == [0.3, 0.6]  # doubling
    assert took >= 0.9  # the run really waited out both pauses
    assert show(repo, result.integration_branch, "r.txt") == "done\n"


def test_budget_stops_new_starts_and_cancels_the_rest(
        repo: Path, tmp_path: Path, py_agent: str) -> None:
    tasks = [{"id": f"t{i}", "owns": [f"t{i}.txt"], "agent": py_agent,
              "run": [_result_then("", cost=1.0, write=f"t{i}.txt")]} for i in range(4)]
    plan = write_plan(tmp_path, tasks, defaults={"timeout": "30s", "retries": 0,
                                                 "budget_usd": 1.5, "max_parallel": 1})

    result = shoal.run(plan, repo=repo)

    states = {t.task_id: t.state for t in result.tasks}
    assert states == {"t0": TaskState.SUCCEEDED, "t1": TaskState.SUCCEEDED,
                      "t2": TaskState.CANCELLED, "t3": TaskState.CANCELLED}
    assert "budget of $1.50" in (result.task("t2").reason or "")
    (event,) = run_events(repo, result.run.id, "budget_reached")
    assert event.data["spent_usd"] == 2.0

    again = shoal.retry_failed(result.run.id, repo=repo)  # a fresh budget for the retry
    assert again.ok, again.to_json()


def test_command_agent_gets_the_prompt_on_stdin(repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, [{"id": "stdin", "owns": ["got.md"], "prompt": "PROMPT-BODY-42"}])
    settings = {"command": {"command": ["sh", "-c", "cat > got.md"], "stdin": "prompt"}}

    result = shoal.run(plan, repo=repo, agent="command", agent_settings=settings)

    assert result.ok
    got = show(repo, result.integration_branch, "got.md") or ""
    assert "PROMPT-BODY-42" in got and got.startswith("#")  # the whole rendered prompt


def test_isolation_none_without_change_tracking_still_lands_the_work(
        repo: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path, [
        {"id": f"n{i}", "owns": [f"n{i}.txt"], "run": [f"echo {i} > n{i}.txt"]} for i in range(3)])

    result = shoal.run(plan, repo=repo, isolation="none", track_changes=False)

    assert result.ok
    for i in range(3):
        assert show(repo, result.integration_branch, f"n{i}.txt") == f"{i}\n"
    assert [t.changed_paths for t in result.tasks] == [(), (), ()]
    tracked = shoal.run(plan, repo=repo, isolation="none")  # the default: tracked per task
    assert [t.changed_paths for t in tracked.tasks] == [("n0.txt",), ("n1.txt",), ("n2.txt",)]


def test_unknown_agent_or_bad_setting_fails_before_the_run_starts(repo: Path, tmp_path: Path) -> None:
    from shoal.agents import AgentSetupError, UnknownAgentError
    from shoal.store import Store, default_db_path
    from shoal.git import Git

    plan = write_plan(tmp_path, [{"id": "a", "owns": ["a.txt"], "agent": "cluade"}])
    with pytest.raises(UnknownAgentError, match="cluade"):
        shoal.run(plan, repo=repo)
    bad = write_plan(tmp_path, [{"id": "a", "owns": ["a.txt"]}], name="bad.yaml")
    with pytest.raises(AgentSetupError, match="stdin"):
        shoal.run(bad, repo=repo, agent="command",
                  agent_settings={"command": {"command": ["x"], "stdin": "sometimes"}})
    db = default_db_path(Git(repo).common_dir())
    if db.exists():
        with Store.open(db) as store:
            assert store.list_runs() == []  # nothing was started
