"""bench/check_bench.py: its plans analyse, and it rewrites only its own docs section."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "check_bench.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("check_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(sys.modules[spec.name])
    return sys.modules[spec.name]


def test_small_run_and_report() -> None:
    bench = load_bench()
    data = bench.generate(400)
    plan = bench.to_plan(data)
    assert len(plan.tasks) == 400 and sum(len(t.owns) for t in plan.tasks) >= 1800
    row = bench.run_size(400, repeat=1, load_repeat=0, seed=1)
    assert row["overlaps"] > 0 and row["hazards"] > 0
    text = bench.report([row, bench.run_size(800, repeat=1, load_repeat=0, seed=1)])
    assert "| 400 |" in text and "Growth" in text


def test_write_docs_replaces_only_its_section(tmp_path) -> None:
    bench = load_bench()
    path = tmp_path / "benchmarks.md"
    path.write_text("# Benchmarks\n\n<!-- other:start -->\nkeep me\n<!-- other:end -->\n")
    bench.write_docs("first", path)
    bench.write_docs("second", path)
    text = path.read_text()
    assert "keep me" in text and "second" in text and "first" not in text
    assert text.count(bench.START) == 1
