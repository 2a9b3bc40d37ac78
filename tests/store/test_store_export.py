"""Exported status files: atomic writes and the shapes the seeds and `shoal status` use."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from conftest import FakeClock

from shoal.errors import PlanReadError
from shoal.model import Defaults, Plan, Task, TaskId, TaskState
from shoal.store import (
    AttemptState,
    RunState,
    Store,
    atomic_write_json,
    iso,
    parallel_status,
    resource_locks,
    status_json,
    update_tasks_json,
)
from shoal.store.export import TIMING_KEYS, with_timings

T0 = 1704880800.0  # 2024-01-10T10:00:00Z


def test_iso() -> None:
    assert iso(T0) == "2024-01-10T10:00:00Z"
    assert iso(None) is None


def test_atomic_write_json_writes_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "status.json"
    atomic_write_json(target, {"b": 1, "a": ["é"]})
    assert json.loads(target.read_text(encoding="utf-8")) == {"b": 1, "a": ["é"]}
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    os.chmod(target, 0o600)
    atomic_write_json(target, {"n": 2})
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # kept
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]


def test_atomic_write_json_keeps_old_content_when_serialising_fails(tmp_path: Path) -> None:
    target = tmp_path / "status.json"
    atomic_write_json(target, {"old": True})
    with pytest.raises(TypeError):
        atomic_write_json(target, {"new": object()})
    assert json.loads(target.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]


def test_atomic_write_json_removes_temp_when_replace_fails(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside").write_text("x")  # a non-empty folder cannot be replaced by a file
    with pytest.raises(OSError):
        atomic_write_json(target, {"x": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


@pytest.fixture
def finished_run(store: Store, clock: FakeClock):
    clock.now = T0
    run = store.create_run(
        repo="/r",
        plan_path="plan.yaml",
        plan_format="canonical",
        integration_branch="shoal/integration",
        base_commit="c0",
        options={"agent": "claude", "max_parallel": 2},
        task_ids=["trading", "analysis", "report", "docs"],
    )
    store.start_attempt(run.id, "trading", log_path="/logs/trading.log", branch="shoal/trading")
    store.start_attempt(run.id, "analysis")
    clock.advance(900)
    store.finish_attempt(
        run.id, "analysis", 1, AttemptState.SUCCEEDED, exit_code=0, result={"status": "pass"}
    )
    store.record_changed_paths(run.id, "analysis", ["src/analysis/a.py"], head_commit="h")
    store.record_merge(run.id, "analysis", "m1")
    store.set_task_state(run.id, "report", TaskState.SKIPPED, reason="analysis failed")
    return store, store.get_run(run.id)


PLAN = Plan(
    tasks=(
        Task(
            id=TaskId("trading"),
            title="Trading Feature",
            owns=("/src/features/trading/",),
            agent="general-purpose",
        ),
        Task(id=TaskId("analysis"), title="Analysis Feature", owns=("/src/features/analysis/",)),
    ),
    defaults=Defaults(agent="script"),
)


def test_parallel_status_shape(finished_run) -> None:
    store, run = finished_run
    doc = parallel_status(run, store.tasks(run.id), "implementation", PLAN)
    assert doc["execution_id"] == run.id
    assert (doc["phase"], doc["started"]) == ("implementation", "2024-01-10T10:00:00Z")
    assert doc["tasks"][:2] == [
        {
            "id": "trading",
            "name": "Trading Feature",
            "agent": "general-purpose",
            "status": "in_progress",
            "paths": ["/src/features/trading/"],
            "started": "2024-01-10T10:00:00Z",
        },
        {
            "id": "analysis",
            "name": "Analysis Feature",
            "agent": "script",
            "status": "completed",
            "paths": ["/src/features/analysis/"],
            "started": "2024-01-10T10:00:00Z",
            "completed": "2024-01-10T10:15:00Z",
        },
    ]
    # without a plan: the id as name, the run's agent option, no paths
    bare = parallel_status(run, store.tasks(run.id), "main")
    assert [(t["name"], t["agent"], t["status"]) for t in bare["tasks"]] == [
        ("trading", "claude", "in_progress"),
        ("analysis", "claude", "completed"),
        ("report", "claude", "skipped"),
        ("docs", "claude", "pending"),
    ]
    json.dumps(doc)


def test_resource_locks_lists_running_tasks_only(finished_run) -> None:
    store, run = finished_run
    assert resource_locks(store.tasks(run.id), PLAN) == {
        "locks": [
            {
                "agent_id": "trading",
                "locked_paths": ["/src/features/trading/"],
                "lock_time": "2024-01-10T10:00:00Z",
            }
        ]
    }


def test_status_json_shape(finished_run) -> None:
    store, run = finished_run
    doc = status_json(run, store.tasks(run.id), store.attempts(run.id))
    assert list(doc) == ["run", "tasks", "totals"]
    assert doc["run"] == {
        "id": run.id,
        "state": "running",
        "integration_branch": "shoal/integration",
        "base_commit": "c0",
        "plan": "plan.yaml",
        "plan_format": "canonical",
        "started_at": "2024-01-10T10:00:00Z",
        "ended_at": None,
        "duration_s": None,
        "options": {"agent": "claude", "max_parallel": 2},
    }
    tasks = {t["id"]: t for t in doc["tasks"]}
    assert [t["id"] for t in doc["tasks"]] == ["trading", "analysis", "report", "docs"]
    assert set(tasks["analysis"]) >= {
        "id",
        "state",
        "attempts",
        "duration_s",
        "branch",
        "changed_paths",
        "violations",
        "result",
        "reason",
        "log_path",
    }
    a = tasks["analysis"]
    assert (a["state"], a["attempts"], a["duration_s"], a["merged_commit"]) == (
        "succeeded",
        1,
        900.0,
        "m1",
    )
    assert a["changed_paths"] == ["src/analysis/a.py"] and a["result"] == {"status": "pass"}
    assert a["attempt_history"] == [
        {
            "number": 1,
            "state": "succeeded",
            "started_at": "2024-01-10T10:00:00Z",
            "ended_at": "2024-01-10T10:15:00Z",
            "duration_s": 900.0,
            "exit_code": 0,
            "log_path": None,
            "error": None,
        }
    ]
    assert tasks["trading"]["duration_s"] is None
    assert tasks["trading"]["log_path"] == "/logs/trading.log"
    assert tasks["report"]["reason"] == "analysis failed"
    assert doc["totals"] == {
        "pending": 1,
        "running": 1,
        "succeeded": 1,
        "failed": 0,
        "blocked": 0,
        "skipped": 1,
        "cancelled": 0,
        "total": 4,
    }
    store.set_run_state(run.id, RunState.FAILED)
    ended = status_json(store.get_run(run.id), store.tasks(run.id))
    assert ended["run"]["state"] == "failed" and ended["run"]["duration_s"] == 900.0
    json.dumps(doc)


def test_with_timings_adds_every_split_key_to_every_task(finished_run) -> None:
    store, run = finished_run
    doc = with_timings(status_json(run, store.tasks(run.id)), {
        "trading": {"work_s": 1.0, "task_gate_s": 0.5, "queue_s": 5.0, "gate_s": 2.0}})
    tasks = {t["id"]: t for t in doc["tasks"]}
    assert {k: tasks["trading"][k] for k in TIMING_KEYS} == {
        "work_s": 1.0, "task_gate_s": 0.5, "queue_s": 5.0, "gate_s": 2.0}
    assert {k: tasks["docs"][k] for k in TIMING_KEYS} == dict.fromkeys(TIMING_KEYS)


def test_update_tasks_json_keeps_other_keys_and_order(finished_run, tmp_path: Path) -> None:
    store, run = finished_run
    store.set_task_state(run.id, "docs", TaskState.BLOCKED, reason="timed out twice")
    original = {
        "spec": "inventory",
        "tasks": [
            {
                "id": "analysis",
                "title": "A",
                "relevant_files": ["x"],
                "blocker": "old",
                "parallelization": {"blocked_by": []},
                "custom": {"keep": 1},
            },
            {"id": "trading", "title": "T", "status": "pending"},
            {"id": "report", "title": "R"},
            {"id": "docs", "title": "D"},
            {"id": "not-in-run", "x": 1},
        ],
        "execution_strategy": {"mode": "parallel_waves"},
    }
    (tmp_path / "spec").mkdir()
    path = tmp_path / "spec" / "tasks.json"
    path.write_text(json.dumps(original, indent=2))
    assert update_tasks_json(path, store.tasks(run.id)) == 3
    doc = json.loads(path.read_text())
    assert list(doc) == ["spec", "tasks", "execution_strategy"]
    analysis, trading, report, docs, other = doc["tasks"]
    assert list(analysis) == [
        "id",
        "title",
        "relevant_files",
        "blocker",
        "parallelization",
        "custom",
        "status",
        "completed_at",
        "duration_minutes",
    ]
    assert (
        analysis["status"],
        analysis["completed_at"],
        analysis["duration_minutes"],
        analysis["blocker"],
        analysis["custom"],
    ) == ("pass", "2024-01-10T10:15:00Z", 15, None, {"keep": 1})
    assert trading == {"id": "trading", "title": "T", "status": "pending"}  # still running
    assert (report["status"], report["completed_at"], report["blocker"]) == (
        "blocked",
        None,
        "analysis failed",
    )
    assert "duration_minutes" not in report  # never started
    assert (docs["status"], docs["blocker"]) == ("blocked", "timed out twice")
    assert other == {"id": "not-in-run", "x": 1}
    assert [p.name for p in path.parent.iterdir()] == ["tasks.json"]


def test_update_tasks_json_refuses_files_it_cannot_read(tmp_path: Path) -> None:
    bad = tmp_path / "tasks.json"
    bad.write_text("{not json")
    with pytest.raises(PlanReadError) as info:
        update_tasks_json(bad, [])
    assert info.value.file == str(bad)
    bad.write_text('{"items": []}')
    with pytest.raises(PlanReadError, match='no "tasks" list'):
        update_tasks_json(bad, [])
    assert bad.read_text() == '{"items": []}'
