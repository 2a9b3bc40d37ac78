"""Benchmark of `shoal check`'s analysis on large generated plans.

    python bench/check_bench.py                  # 10,000 and 100,000 tasks, medians + ratio
    python bench/check_bench.py --write-docs     # also refresh its section of docs/benchmarks.md
    python bench/check_bench.py --sizes 2000 20000 --repeat 3 --no-load

Target (docs/benchmarks.md): analyse a plan of 10,000 tasks with 50,000 owned paths and
globs in under 2 s on 2 cores, and 10x the tasks in at most 12x the time.

The plans look like real ones scaled up: four phases (serial architecture, parallel
implementation and integration, serial validation); tasks that own about five paths
each under per-feature folders (literal files, ``src/featN/modM/**``, ``*.sql`` globs,
``docs/.../`` folders), read shared files and a sibling's file, sometimes forbid
``*.lock`` or a neighbour feature; dependencies on an architecture task and within a
feature; a few RED and CRITICAL tasks; a handful of unanchored globs (``*.md``) owned
in the parallel phase; and some genuine overlaps and read/write hazards. The whole
analysis is timed (``analyse``), and separately loading the same plan from a
``plan.json`` plus the analysis, when the loaders are available. Each size runs in a
fresh interpreter; wall-clock and CPU medians are both shown, CPU time being the steadier
of the two when other work shares the machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from docsection import replace_section  # noqa: E402

from shoal.analysis import analyse
from shoal.model import Defaults, Phase, Plan, RiskTier, Task, TaskId

START = "<!-- check-bench:start -->"
END = "<!-- check-bench:end -->"
DOCS = ROOT / "docs" / "benchmarks.md"
TARGET_SECONDS = 2.0
TARGET_RATIO = 12.0

PHASES = [("architecture", False), ("implementation", True), ("integration", True), ("validation", False)]
FILES = ["models", "views", "api", "service", "schema", "utils", "handlers", "events"]
UNANCHORED = ["*.md", "*.lock", "CHANGELOG*"]


def generate(n: int, seed: int = 1) -> dict[str, Any]:
    """A canonical plan (as JSON data) with ``n`` tasks and about ``5 n`` owned paths."""
    rng = random.Random(seed)
    n_arch, n_val = max(1, n // 200), max(1, n // 100)
    n_integ = n // 20
    n_impl = n - n_arch - n_val - n_integ
    n_feat = max(1, n_impl // 8)
    tasks: list[dict[str, Any]] = []
    arch_ids = [f"arch-{i}" for i in range(n_arch)]
    for i, tid in enumerate(arch_ids):
        tasks.append({"id": tid, "phase": "architecture", "owns": [f"common/part{i}/**"],
                      "after": arch_ids[max(0, i - 1):i]})
    by_feature: dict[int, list[str]] = {}
    for i in range(n_impl):
        f, m = divmod(i, 8)
        f %= n_feat
        tid = f"impl-{i}"
        base = f"src/feat{f}/mod{m}"
        names = rng.sample(FILES, 3)
        owns = [f"{base}/{name}.py" for name in names] + [f"tests/feat{f}/test_mod{m}.py"]
        roll = rng.random()
        if roll < 0.3:
            owns.append(f"{base}/**")
        elif roll < 0.5:
            owns.append(f"{base}/*.sql")
        elif roll < 0.6:
            owns.append(f"docs/feat{f}/mod{m}/")
        else:
            owns.append(f"{base}/__init__.py")
        if rng.random() < 0.2:
            owns.append(f"migrations/feat{f}/mod{m}_0001.sql")
        if rng.random() < 0.02:
            owns.append(f"src/feat{f}/mod{(m + 1) % 8}/api.py")  # a genuine overlap
        if i < len(UNANCHORED):
            owns.append(UNANCHORED[i])  # a handful of any-depth globs, whatever the size
        reads = ["common/types.py", "common/utils.py"]
        if rng.random() < 0.2:
            reads.append(f"src/feat{f}/mod{(m + 3) % 8}/service.py")
        forbids = []
        if rng.random() < 0.25:
            forbids.append("*.lock" if i >= len(UNANCHORED) else "*.min.js")
        if rng.random() < 0.1:
            forbids.append(f"src/feat{(f + 1) % n_feat}/**")
        after = []
        if rng.random() < 0.3:
            after.append(rng.choice(arch_ids))
        siblings = by_feature.setdefault(f, [])
        if siblings and rng.random() < 0.4:
            after.append(rng.choice(siblings))
        siblings.append(tid)
        tasks.append({"id": tid, "phase": "implementation", "owns": owns, "reads": reads,
                      "forbids": forbids, "after": after, "risk": _risk(rng)})
    for i in range(n_integ):
        f = i % n_feat
        after = rng.sample(by_feature.get(f, []), min(2, len(by_feature.get(f, []))))
        tasks.append({"id": f"integ-{i}", "phase": "integration",
                      "owns": [f"integration/feat{f}/test_flow_{i}.py", f"docs/feat{f}/guide_{i}.md",
                               f"integration/feat{f}/fixtures_{i}.json"],
                      "reads": [f"src/feat{f}/**"], "after": after, "risk": _risk(rng)})
    for i in range(n_val):
        tasks.append({"id": f"validate-{i}", "phase": "validation",
                      "owns": ["CHANGELOG.md", "**/*.snap"], "reads": ["src/**"]})
    return {
        "version": 1,
        "name": f"bench-{n}",
        "shared_readonly": ["common/**", "./pyproject.toml"],
        "phases": [{"name": name, "parallel": par} for name, par in PHASES],
        "tasks": tasks,
    }


def _risk(rng: random.Random) -> str:
    roll = rng.random()
    return "critical" if roll < 0.002 else "red" if roll < 0.03 else "yellow" if roll < 0.2 else "green"


def to_plan(data: dict[str, Any]) -> Plan:
    tasks = tuple(
        Task(id=TaskId(t["id"]), phase=t["phase"], owns=tuple(t.get("owns", ())),
             reads=tuple(t.get("reads", ())), forbids=tuple(t.get("forbids", ())),
             after=tuple(TaskId(a) for a in t.get("after", ())),
             risk=RiskTier(t.get("risk", "green")))
        for t in data["tasks"]
    )
    phases = tuple(Phase(p["name"], p["parallel"]) for p in data["phases"])
    return Plan(tasks=tasks, name=data["name"], phases=phases,
                defaults=Defaults(shared_readonly=tuple(data["shared_readonly"])))


def timed(fn: Any) -> tuple[float, float, Any]:
    """Wall-clock and CPU seconds of one call (CPU time is steadier on a busy machine)."""
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - start, time.process_time() - cpu, result


def run_size(n: int, repeat: int, load_repeat: int, seed: int) -> dict[str, Any]:
    data = generate(n, seed)
    plan = to_plan(data)
    owned = sum(len(t.owns) for t in plan.tasks)
    times, cpu_times, analysis = [], [], None
    for _ in range(repeat):
        seconds, cpu, analysis = timed(lambda: analyse(plan))
        times.append(seconds)
        cpu_times.append(cpu)
    row: dict[str, Any] = {
        "tasks": n, "owned": owned, "paths": owned + sum(len(t.reads) + len(t.forbids) for t in plan.tasks),
        "analyse": statistics.median(times), "cpu": statistics.median(cpu_times), "runs": repeat,
        "problems": len(analysis.problems), "overlaps": len(analysis.overlaps),
        "hazards": len(analysis.hazards), "load": None, "load_runs": 0,
    }
    read_plan = _loader()
    if read_plan is not None and load_repeat > 0:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "plan.json"
            path.write_text(json.dumps(data), encoding="utf-8")
            load_times = []
            for _ in range(load_repeat):
                seconds, _, _ = timed(lambda: analyse(read_plan(path).plan))
                load_times.append(seconds)
        row["load"] = statistics.median(load_times)
        row["load_runs"] = load_repeat
    return row


def _loader() -> Any:
    try:
        from shoal.planfile import read_plan
    except ImportError:  # the loaders are optional for this benchmark
        return None
    return read_plan


def report(rows: list[dict[str, Any]], load: str | None = None) -> str:
    lines = [
        "## Static analysis (`shoal check`)",
        "",
        (f"Command: `python bench/check_bench.py --write-docs` (Python {platform.python_version()}, "
         f"{platform.machine()}, {_cores()} cores, load average {load or _load()} when it started). "
         "Median of the runs shown, each size in a fresh interpreter; `analyse` is the "
         "analysis alone on a plan already in memory, `load + analyse` reads the same plan "
         "from a `plan.json` first. Other work on the machine slows the big plan more than "
         "the small one (it shares the CPU caches), so the growth is best read on a quiet "
         "machine; CPU time is the steadier column."),
        "",
        ("| tasks | owned paths | all paths | analyse (median) | analyse, CPU time "
         "| load + analyse (median) | overlaps | hazards | problems |"),
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        load = f"{r['load']:.2f} s ({r['load_runs']} runs)" if r["load"] is not None else "n/a"
        lines.append(f"| {r['tasks']:,} | {r['owned']:,} | {r['paths']:,} | {r['analyse']:.2f} s "
                     f"({r['runs']} runs) | {r['cpu']:.2f} s | {load} | {r['overlaps']:,} | {r['hazards']:,} | {r['problems']:,} |")
    lines.append("")
    if len(rows) >= 2:
        small, big = rows[0], rows[-1]
        scale = big["tasks"] / small["tasks"]
        ratio = big["analyse"] / small["analyse"]
        cpu_ratio = big["cpu"] / small["cpu"]
        lines.append(f"Growth: {scale:.0f}x the tasks took {ratio:.1f}x the time for `analyse` "
                     f"({cpu_ratio:.1f}x in CPU time) "
                     f"(target: at most {TARGET_RATIO * scale / 10:.0f}x)"
                     + (f", {big['load'] / small['load']:.1f}x for `load + analyse`."
                        if small["load"] and big["load"] else "."))
    first = rows[0]
    if first["tasks"] == 10_000:
        verdict = "met" if first["analyse"] < TARGET_SECONDS else "NOT met"
        lines.append(f"Target at 10,000 tasks: under {TARGET_SECONDS:.0f} s for `analyse`: {verdict} "
                     f"({first['analyse']:.2f} s).")
    return "\n".join(lines)


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "unknown"


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def write_docs(section: str, path: Path = DOCS) -> None:
    """Replace only this benchmark's section, between its markers."""
    replace_section(path, START, END, section)


def measure_in_child(n: int, repeat: int, load_repeat: int, seed: int) -> dict[str, Any]:
    """Run one size in a fresh interpreter, so that one size's heap and caches do not
    weigh on the next (a real `shoal check` is one process per plan)."""
    cmd = [sys.executable, __file__, "--measure", str(n), "--repeat", str(repeat),
           "--load-repeat", str(load_repeat), "--seed", str(seed)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=5, help="runs of the smallest size")
    parser.add_argument("--big-repeat", type=int, default=3, help="runs of the larger sizes")
    parser.add_argument("--no-load", action="store_true", help="skip load + analyse")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--write-docs", action="store_true", help=f"refresh {DOCS}")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)  # child mode: one size
    parser.add_argument("--load-repeat", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(run_size(args.measure, args.repeat, args.load_repeat, args.seed)))
        return 0
    load_at_start = _load()
    rows = []
    for k, n in enumerate(sorted(args.sizes)):
        repeat = args.repeat if k == 0 else args.big_repeat
        load_repeat = 0 if args.no_load else (3 if k == 0 else 1)
        rows.append(measure_in_child(n, repeat, load_repeat, args.seed))
        r = rows[-1]
        load = f", load + analyse {r['load']:.2f} s" if r["load"] is not None else ""
        print(f"{n:>8,} tasks: analyse {r['analyse']:.2f} s (CPU {r['cpu']:.2f} s, median of "
              f"{r['runs']}){load}", flush=True)
    section = report(rows, load_at_start)
    print()
    print(section)
    if args.write_docs:
        write_docs(section)
        print(f"\nwrote {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
