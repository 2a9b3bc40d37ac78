"""The demo: a throwaway repository with a small Python project and an eight-task plan.

The tasks use the built-in ``script`` agent (their ``run:`` commands write the code), so the
demo needs no API key and no network. The plan has a serial foundation phase, a parallel
feature phase with a conflicting pair (both own ``inventory/__init__.py``) and two RED tasks,
and a serial docs phase; the project's tests are the quality gate on every merge.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import yaml  # type: ignore[import-untyped]

from .testing import make_repo

PROJECT = {
    "README.md": "# inventory\n\nA tiny inventory service, built by shoal's demo.\n",
    "inventory/__init__.py": '"""A tiny inventory service."""\n',
    "tests/__init__.py": "",
    "tests/test_smoke.py": (
        "import unittest\n\nimport inventory\n\n\n"
        "class Smoke(unittest.TestCase):\n"
        "    def test_imports(self):\n        self.assertTrue(inventory.__doc__)\n"
    ),
}


def _write(path: str, text: str) -> str:
    # A heredoc keeps the code readable in the plan; the script agent runs it with sh -c.
    return f"mkdir -p {shlex.quote(str(Path(path).parent))} && cat > {shlex.quote(path)} <<'PY'\n{text}PY"


def _module(name: str, body: str, test: str, *, pause: float) -> list[str]:
    return [
        f"sleep {pause}",  # stands in for the agent's thinking time, so the parallelism shows
        _write(f"inventory/{name}.py", body),
        _write(f"tests/test_{name}.py", test),
    ]


def _test(module: str, check: str) -> str:
    return (f"import unittest\n\nfrom inventory import {module}\n\n\n"
            f"class Test{module.title()}(unittest.TestCase):\n    def test_it(self):\n        {check}\n")


def demo_plan(python: str = sys.executable) -> dict:
    gate = f"{shlex.quote(python)} -m unittest discover -s tests -t . -q"
    return {
        "version": 1,
        "name": "inventory-demo",
        "context": {"product_pitch": "A tiny inventory service", "tech_stack": ["python"]},
        "defaults": {"agent": "script", "timeout": "5m", "retries": 1},
        "max_parallel": 4,
        "verify": [gate],
        "phases": [
            {"name": "foundation", "parallel": False},
            {"name": "features", "parallel": True},
            {"name": "docs", "parallel": False},
        ],
        "tasks": [
            {"id": "models", "title": "Item model", "phase": "foundation", "estimate": "2s",
             "owns": ["inventory/models.py", "tests/test_models.py"],
             "run": _module("models", "from dataclasses import dataclass\n\n\n@dataclass(frozen=True)\n"
                            "class Item:\n    sku: str\n    name: str\n    price: float\n",
                            _test("models", "self.assertEqual(models.Item('a', 'A', 1.0).sku, 'a')"), pause=1)},
            {"id": "stock", "title": "Stock levels", "phase": "features", "after": ["models"],
             "estimate": "3s", "owns": ["inventory/stock.py", "tests/test_stock.py"],
             "reads": ["inventory/models.py"],
             "run": _module("stock", "LEVELS: dict[str, int] = {}\n\n\ndef add(sku: str, n: int) -> int:\n"
                            "    LEVELS[sku] = LEVELS.get(sku, 0) + n\n    return LEVELS[sku]\n",
                            _test("stock", "self.assertEqual(stock.add('x', 2), 2)"), pause=2)},
            {"id": "orders", "title": "Orders [R:RED]", "phase": "features", "after": ["models"],
             "estimate": "3s", "owns": ["inventory/orders.py", "tests/test_orders.py"],
             "run": _module("orders", "def total(lines: list[tuple[float, int]]) -> float:\n"
                            "    return sum(price * qty for price, qty in lines)\n",
                            _test("orders", "self.assertEqual(orders.total([(2.0, 3)]), 6.0)"), pause=2)},
            {"id": "pricing", "title": "Discounts [R:RED]", "phase": "features", "after": ["models"],
             "estimate": "2s", "owns": ["inventory/pricing.py", "tests/test_pricing.py"],
             "run": _module("pricing", "def discount(price: float, pct: float) -> float:\n"
                            "    return round(price * (1 - pct / 100), 2)\n",
                            _test("pricing", "self.assertEqual(pricing.discount(10, 10), 9.0)"), pause=1.5)},
            {"id": "reports", "title": "Stock report", "phase": "features", "after": ["models"],
             "estimate": "2s", "owns": ["inventory/reports.py", "tests/test_reports.py"],
             "run": _module("reports", "def line(sku: str, n: int) -> str:\n    return f'{sku}: {n}'\n",
                            _test("reports", "self.assertEqual(reports.line('a', 1), 'a: 1')"), pause=1.5)},
            {"id": "cli", "title": "Command line", "phase": "features", "after": ["models"],
             "estimate": "2s", "owns": ["inventory/cli.py", "inventory/__init__.py"],
             "run": ["sleep 1.5", _write("inventory/cli.py", "def main() -> int:\n    return 0\n"),
                     "printf 'from . import cli  # noqa: F401\\n' >> inventory/__init__.py"]},
            {"id": "export", "title": "CSV export", "phase": "features", "after": ["models"],
             "estimate": "2s", "owns": ["inventory/export.py", "inventory/__init__.py"],
             "run": ["sleep 1.5", _write("inventory/export.py", "def csv(rows):\n"
                                         "    return '\\n'.join(','.join(map(str, r)) for r in rows)\n"),
                     "printf 'from . import export  # noqa: F401\\n' >> inventory/__init__.py"]},
            {"id": "docs", "title": "Document the modules", "phase": "docs",
             "after": ["stock", "orders", "pricing", "reports", "cli", "export"], "estimate": "1s",
             "owns": ["docs/**"],
             "run": ["sleep 0.5", "mkdir -p docs && ls inventory | sed 's/^/- /' > docs/modules.md"]},
        ],
    }


def make_demo(folder: Path, python: str = sys.executable) -> tuple[Path, Path]:
    """Create ``folder/repo`` (a git repository with the project) and ``folder/plan.yaml``."""
    repo = make_repo(folder / "repo", PROJECT)
    plan = folder / "plan.yaml"
    plan.write_text(yaml.safe_dump(demo_plan(python), sort_keys=False, width=100), encoding="utf-8")
    return repo, plan
