"""`shoal status` on a gated run (hand-built log in a real repository's state database): each
task's time split in the text and under the stable JSON keys, the gate line of the metrics.
A run made before gates were logged prints as it always did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shoal.cli import main
from shoal.git import Git
from shoal.store import Store, default_db_path
from shoal.testing import make_repo

from .gated import Gated, batch_with_culprit, one_task


def status(capsys: pytest.CaptureFixture[str], repo: Path, *args: str) -> str:
    assert main(["status", "--repo", str(repo), *args]) in (0, 1)
    return capsys.readouterr().out


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"README.md": "# demo\n"})


def store_of(repo: Path) -> Store:
    return Store.open(default_db_path(Git(repo).common_dir()))


def test_the_json_splits_each_task_time(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with store_of(repo) as store:
        one_task(store, repo=str(repo))
    data = json.loads(status(capsys, repo, "--format", "json"))
    [task] = data["tasks"]
    split = {k: task[k] for k in ("work_s", "task_gate_s", "queue_s", "gate_s")}
    assert split == {"work_s": 1.0, "task_gate_s": 0.0, "queue_s": 5.0, "gate_s": 2.0}
    assert task["duration_s"] == 8.0  # first start to end, the queue in it
    [metrics_task] = data["metrics"]["tasks"]
    assert {k: metrics_task[k] for k in split} == split
    assert data["metrics"]["plan_gate_runs"] == 1 and data["metrics"]["plan_gate_s"] == 2.0


def test_the_text_splits_each_task_time(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with store_of(repo) as store:
        batch_with_culprit(store, repo=str(repo))
    out = status(capsys, repo)
    assert "(work 0.5s, task gate 0.5s, queue 3.0s, gate 3.0s)" in out
    assert ("gates: 4 plan gate runs (2 failed) 5.0s, 3 task gate runs 1.5s, 1 bisection "
            "(3 more gate runs; culprits c)") in out


def test_a_run_made_before_gates_prints_as_before(repo: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with store_of(repo) as store:
        run = Gated(store, ["a"], policy=None, repo=str(repo))
        run.ready("a", 0, 1)
        run.merged("a", 8)
        run.end(9)
    out = status(capsys, repo)
    assert "a   " in out and "8.0s\n" in out
    assert "(work" not in out and "gates:" not in out
    [task] = json.loads(status(capsys, repo, "--format", "json"))["tasks"]
    assert (task["work_s"], task["queue_s"], task["task_gate_s"], task["gate_s"]) == (
        1.0, 7.0, None, None)


def test_a_real_gated_run_reads_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """End to end: the engine's own gate events give every merged task a plan gate, a split
    whose parts fit in its time, and a passing audit (skipped while the engine logs no gates)."""
    import shoal
    from shoal.observe import audit_repo

    repo = make_repo(tmp_path / "repo", {"README.md": "# demo\n"})
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 1, "defaults": {
        "timeout": "30s", "retries": 0, "verify": ["true"]}, "tasks": [
        {"id": t, "owns": [f"{t}.txt"], "run": [f"echo {t} > {t}.txt"]} for t in "abc"]}))
    result = shoal.run(plan, repo=repo, grace=0.5, max_parallel=3)
    assert result.ok
    if "verify_policy" not in result.run.options:
        pytest.skip("this engine records no verify_policy and logs no gate runs")
    assert audit_repo(repo, result.run_id).ok
    data = json.loads(status(capsys, repo, "--format", "json"))
    for task in data["tasks"]:
        assert task["gate_s"] is not None and task["gate_s"] >= 0, task
        parts = task["work_s"] + task["task_gate_s"] + task["queue_s"] + task["gate_s"]
        assert parts <= task["duration_s"] + 0.01, task
    assert data["metrics"]["plan_gate_runs"] >= 1
