"""`shoal audit` and the observing side of `shoal status` (metrics, per-task cost, --branches)
end to end on real repositories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from observe.logs import drop, event, rows, write_run  # tests/observe/logs.py

from shoal.engine import run as run_plan
from shoal.git import Git
from shoal.model import TaskState
from shoal.store import AttemptState, RunState, Store, default_db_path
from shoal.testing import make_repo

COMMIT = "git -c user.name=Worker -c user.email=worker@shoal.invalid commit -q -m"


def _plan(folder: Path, tasks: list[dict[str, object]]) -> Path:
    path = folder / "plan.json"
    path.write_text(json.dumps({"version": 1, "defaults": {"timeout": "30s", "retries": 0},
                                "tasks": tasks}), encoding="utf-8")
    return path


def together(folder: Path, me: str, *others: str) -> str:
    """A shell command: note that `me` has started, then wait (at most 60 s) until `others`
    have too, so that tasks started together overlap however loaded the machine is."""
    flags = folder / "started"
    waiting = " || ".join(f"[ ! -f {flags / o} ]" for o in others)
    return (f"mkdir -p {flags} && touch {flags / me}; i=0; "
            f"while {{ {waiting}; }} && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done")


def _store(repo: Path) -> Store:
    return Store.open(default_db_path(Git(repo).common_dir()), create=False)


@pytest.fixture
def ran(tmp_path: Path) -> tuple[Path, str]:
    """A real run: a and b side by side, c after both."""
    repo = make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    plan = _plan(tmp_path, [
        {"id": "a", "owns": ["a.txt"], "run": [together(tmp_path, "a", "b"), "echo a > a.txt"]},
        {"id": "b", "owns": ["b.txt"], "run": [together(tmp_path, "b", "a"), "echo b > b.txt"]},
        {"id": "c", "owns": ["c.txt"], "after": ["a", "b"], "run": ["echo c > c.txt"]},
    ])
    result = run_plan(plan, repo=repo, grace=0.5)
    assert result.ok, result.to_json()
    return repo, result.run_id


def test_audit_passes_on_a_real_run(shoal, ran):  # type: ignore[no-untyped-def]
    repo, run_id = ran
    text = shoal("audit", "--repo", repo)
    assert text.code == 0, text.out + text.err
    assert "audit passed" in text.out and "wave 1 (a, b): ran in parallel" in text.out
    data = shoal("audit", run_id, "--repo", repo, "--format", "json")
    assert data.code == 0
    report = data.json()
    assert report["ok"] is True and report["breaches"] == [] and report["run_id"] == run_id
    assert report["really_parallel"] is True and report["parallel"][0]["overlapped"] is True


def test_audit_fails_on_a_tampered_log(shoal, ran):  # type: ignore[no-untyped-def]
    repo, run_id = ran
    with _store(repo) as store:
        lost = drop(rows(store, run_id), event("merged", "c"))
        bad = write_run(store, run_id, lost, new_id=f"{run_id}-lost")
    text = shoal("audit", bad, "--repo", repo)
    assert text.code == 1 and "audit failed: 1 breach(es)" in text.out
    assert "not_terminal" in text.out and "task c is running" in text.out
    data = shoal("audit", bad, "--repo", repo, "--format", "json")
    assert data.code == 1
    assert [(b["kind"], b["tasks"]) for b in data.json()["breaches"]] == [("not_terminal", ["c"])]


def test_audit_without_runs_or_with_an_unknown_run(shoal, tmp_path):  # type: ignore[no-untyped-def]
    repo = make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    none = shoal("audit", "--repo", repo)
    assert none.code == 2 and "no shoal runs yet" in none.err and "Traceback" not in none.err
    (repo / ".git" / "shoal").mkdir()
    Store.open(default_db_path(Git(repo).common_dir())).close()
    unknown = shoal("audit", "no-such-run", "--repo", repo)
    assert unknown.code == 2 and "no-such-run" in unknown.err


def test_status_shows_metrics(shoal, ran):  # type: ignore[no-untyped-def]
    repo, run_id = ran
    data = shoal("status", "--repo", repo, "--format", "json").json()
    metrics = data["metrics"]
    assert metrics["run_id"] == run_id and metrics["tasks_total"] == 3
    assert metrics["max_concurrent"] == 2 and metrics["workers_spawned"] == 3
    assert [t["id"] for t in metrics["tasks"]] == ["a", "b", "c"]
    assert metrics["speedup"] == pytest.approx(metrics["sequential_s"] / metrics["wall_s"], rel=0.01)
    assert "branches" not in data
    text = shoal("status", "--repo", repo)
    line = next(x for x in text.out.splitlines() if x.strip().startswith("metrics:"))
    assert "max 2 at once" in line and "3 workers" in line and "speedup" in line


def test_status_shows_cost_and_tokens_per_task(shoal, tmp_path):  # type: ignore[no-untyped-def]
    repo = make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    with Store.open(default_db_path(Git(repo).common_dir())) as store:
        store.create_run(repo=str(repo), task_ids=["a", "b"], run_id="20240101-000000-abcd", at=100)
        store.start_attempt("20240101-000000-abcd", "a", at=100)
        store.finish_attempt("20240101-000000-abcd", "a", 1, AttemptState.SUCCEEDED, at=104,
                             result={"status": "succeeded", "cost_usd": 0.25, "tokens_in": 12000,
                                     "tokens_out": 800, "turns": 4, "session_id": "sess-1"},
                             task_state=TaskState.SUCCEEDED)
        store.set_task_state("20240101-000000-abcd", "b", TaskState.SKIPPED, at=104)
        store.set_run_state("20240101-000000-abcd", RunState.FAILED, at=105)
    text = shoal("status", "--repo", repo)
    row = next(x for x in text.out.splitlines() if x.strip().startswith("a "))
    assert "$0.2500" in row and "tokens 12.0k in / 800 out" in row
    assert "$0.2500" in next(x for x in text.out.splitlines() if "metrics:" in x)
    tasks = shoal("status", "--repo", repo, "--format", "json").json()["metrics"]["tasks"]
    assert (tasks[0]["cost_usd"], tasks[0]["session_id"], tasks[1]["cost_usd"]) == (0.25, "sess-1", None)


def test_status_branches_counts_commits_agents_made(shoal, tmp_path):  # type: ignore[no-untyped-def]
    repo = make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    plan = _plan(tmp_path, [
        # commits as it goes: two commits of its own, nothing left for shoal to commit
        {"id": "steps", "owns": ["s.txt"], "run": [
            "echo 1 > s.txt", "git add s.txt", f"{COMMIT} one",
            "echo 2 >> s.txt", "git add s.txt", f"{COMMIT} two"]},
        {"id": "plain", "owns": ["p.txt"], "run": ["echo p > p.txt"]},  # shoal commits for it
        {"id": "broken", "owns": ["x.txt"], "run": ["exit 1"]},
        {"id": "after", "owns": ["y.txt"], "after": ["broken"], "run": ["echo y > y.txt"]},
    ])
    result = run_plan(plan, repo=repo, grace=0.5)
    assert result.task("steps").state is TaskState.SUCCEEDED, result.to_json()
    data = shoal("status", "--repo", repo, "--branches", "--format", "json").json()
    got = {b["id"]: (b["commits"], b["exists"]) for b in data["branches"]}
    assert got == {"steps": (2, True), "plain": (1, True), "broken": (0, True),
                   "after": (None, False)}
    steps = next(b for b in data["branches"] if b["id"] == "steps")
    assert steps["branch"] == f"shoal-task/{result.run_id}/steps/1"
    text = shoal("status", "--repo", repo, "--branches")
    assert text.code == 0
    board = text.out.split("task branches (commits beyond the commit each started from):")[1]
    lines = {x.split()[0]: x for x in board.splitlines() if x.strip()}
    assert "2 commits" in lines["steps"] and "1 commit" in lines["plain"]
    assert "not started" in lines["after"]


def test_audit_names_an_ungated_merge_and_notes_a_bisection(shoal, tmp_path):  # type: ignore[no-untyped-def]
    from observe.gated import Gated, batch_with_culprit  # tests/observe/gated.py

    repo = make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    with Store.open(default_db_path(Git(repo).common_dir())) as store:
        batch_with_culprit(store, repo=str(repo), run_id="bisected")
        run = Gated(store, ["a", "b"], repo=str(repo), run_id="ungated")
        run.ready("ab", 0, 1)
        run.gate(["a"], 2, 3)
        run.merged("a", 3)
        run.merged("b", 3)
        run.end(4)
    bisected = shoal("audit", "bisected", "--repo", repo)
    assert bisected.code == 0, bisected.out
    assert "the gate failed on batch a, b, c: bisected in 3 more gate run(s), culprits c" in (
        bisected.out)
    ungated = shoal("audit", "ungated", "--repo", repo, "--format", "json")
    assert ungated.code == 1
    [breach] = ungated.json()["breaches"]
    assert breach["kind"] == "ungated_merge" and breach["tasks"] == ["b"]
    text = shoal("audit", "ungated", "--repo", repo)
    assert "ungated_merge" in text.out and "verify_policy batch" in text.out
