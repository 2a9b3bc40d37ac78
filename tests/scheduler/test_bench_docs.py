"""The benchmark rewrites only its own section of docs/benchmarks.md."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "makespan_bench.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("makespan_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(sys.modules[spec.name])
    return sys.modules[spec.name]
    return module


def test_write_docs_creates_then_replaces_only_its_section(tmp_path):
    bench = load_bench()
    path = tmp_path / "docs" / "benchmarks.md"
    bench.write_docs("first", path)
    assert bench.START in path.read_text() and "first" in path.read_text()
    other = "<!-- check-bench:start -->\ncheck figures\n<!-- check-bench:end -->\n"
    path.write_text("# Benchmarks\n\nintro\n\n" + path.read_text().split("\n", 2)[2] + "\n" + other)
    bench.write_docs("second", path)
    text = path.read_text()
    assert "second" in text and "first" not in text
    assert "intro" in text and "check figures" in text
    assert text.count(bench.START) == 1 and text.count(bench.END) == 1


def test_small_run_reports_both_targets(capsys):
    bench = load_bench()
    assert bench.main(["--graphs", "3", "--main-only"]) == 0
    out = capsys.readouterr().out
    assert "within 3% of the bound" in out and "shorter than waves" in out
