"""bench/run_bench.py: its --quick mode runs end to end and prints its three tables, and
--write-docs rewrites only its own section of docs/benchmarks.md. (A benchmark, not a timed
test: nothing here checks a figure.)"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "run_bench.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("run_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(sys.modules[spec.name])
    return sys.modules[spec.name]


def test_quick_mode_prints_the_three_tables() -> None:
    # A child process: the bench swaps the isolation-none backend and wraps engine functions.
    done = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for heading in ("## 1. Orchestration overhead vs xargs", "## 2. Worktree cost per task vs bare git",
                    "## 3. Real makespan of a sleep-task graph"):
        assert heading in out
    for row in ("| `xargs -P8 -I{} sh -c 'true'` |", "| shoal, isolation none, track_changes off |",
                "| Python floor: a bare `Popen` loop, same children, no bookkeeping |",
                "| bare git (9 commands, serial) |", "| shoal, isolation worktree, 1 slot |",
                "| lower bound max(critical path, work / slots) |", "| real dynamic, isolation worktree |",
                "| real waves, isolation worktree |", "| call | thread | calls |"):
        assert row in out, row
    assert "nproc" in out and "load average" in out


def test_write_docs_replaces_only_its_section(tmp_path: Path) -> None:
    bench = load_bench()
    path = tmp_path / "benchmarks.md"
    path.write_text("# Benchmarks\n\n<!-- other:start -->\nkeep me\n<!-- other:end -->\n")
    bench.write_docs("first", path)  # no markers yet: added at the end
    assert path.read_text().endswith(f"{bench.START}\nfirst\n{bench.END}\n")
    path.write_text(path.read_text() + "\ntrailing text\n")
    bench.write_docs("second", path)
    text = path.read_text()
    assert "keep me" in text and "second" in text and "first" not in text
    assert text.count(bench.START) == 1 and text.endswith("\ntrailing text\n")
