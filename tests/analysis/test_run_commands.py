"""`run:` items a shell cannot split, and the read/write hazard hint (issue 14, item 10)."""

from __future__ import annotations

import dataclasses

from shoal.analysis import analyse
from shoal.model import Defaults, Isolation
from shoal.problem import Code, Severity

from .plans import FILE, plan_of, task


def _with_run(t, *commands: str, line: int):
    fields = (*t.field_lines, ("run", line))
    return dataclasses.replace(t, run=commands, field_lines=fields)


def test_a_run_item_with_an_unterminated_quote_is_a_warning_at_its_line() -> None:
    # YAML cut `printf 'a #b' > x` at ` #`: what is left has an unterminated quote
    cut = _with_run(task("gen", owns=("x",), line=3), "mkdir -p out", "printf 'a", line=9)
    fine = _with_run(task("ok", owns=("y",), line=20),
                     "echo 'it''s' > y", "echo \"a # b\"", "ls # it's a comment",
                     "cat > y <<'EOF'\nit's fine\nEOF", line=25)
    a = analyse(plan_of(cut, fine))
    found = [p for p in a.problems if p.field == "run"]
    assert len(found) == 1, found
    [p] = found
    assert p.severity is Severity.WARNING and p.tasks == ("gen",)
    assert (p.file, p.line) == (FILE, 9)
    assert "printf 'a" in p.message and "item 2" in p.message
    assert p.hint and "quote the whole item" in p.hint and " #" in p.hint
    assert not a.errors


def test_a_trailing_backslash_is_a_warning_too() -> None:
    a = analyse(plan_of(_with_run(task("gen"), "echo a \\", line=5)))
    assert [p.tasks for p in a.problems if p.field == "run"] == [("gen",)]


def test_the_hazard_hint_says_what_isolation_lets_the_reader_see() -> None:
    plan = plan_of(task("types", owns=("common/types.py",)),
                   task("api", reads=("common/**",), owns=("src/api.py",), line=10))
    [hazard] = [p for p in analyse(plan).problems if p.code is Code.READ_WRITE_HAZARD]
    assert hazard.hint and "half-written" not in hazard.hint
    assert "before `types`" in hazard.hint and "merge" in hazard.hint
    shared = dataclasses.replace(plan, defaults=Defaults(isolation=Isolation.NONE))
    [hazard] = [p for p in analyse(shared).problems if p.code is Code.READ_WRITE_HAZARD]
    assert hazard.hint and "half-written" in hazard.hint  # one shared tree: it can happen there
