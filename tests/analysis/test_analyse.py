"""Whole-analysis properties on random plans: never crash, and conflicts and hazards are
exactly what comparing every pair of tasks says."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal.analysis import Analysis, analyse, overlap, parse_pattern
from shoal.analysis.paths import normalise, outside_reason
from shoal.analysis.pattern import PatternError
from shoal.model import Phase
from shoal.problem import Code, Problem, Severity

from .plans import plan_of, task

SEGMENTS = ["src", "lib", "a.py", "b.md", "x", "*", "*.py", "**", "..", ".", "", "[a", "!neg", "~", "C:"]
PHASES = [(Phase("main"),), (Phase("one", parallel=False), Phase("two")), (Phase("p"), Phase("q"))]


@st.composite
def any_path(draw: st.DrawFn) -> str:
    text = "/".join(draw(st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=4)))
    return draw(st.sampled_from(["", "/", "./", "!"])) + text + draw(st.sampled_from(["", "/", " "]))


@st.composite
def random_plan(draw: st.DrawFn):
    phases = draw(st.sampled_from(PHASES))
    names = [p.name for p in phases] + ["undeclared"]
    n = draw(st.integers(0, 9))
    ids = [f"t{i}" for i in range(n)]
    tasks = []
    for i, tid in enumerate(ids):
        tasks.append(task(
            draw(st.sampled_from(ids + ["t0"])) if draw(st.integers(0, 9)) == 0 else tid,  # duplicates
            owns=tuple(draw(st.lists(any_path(), max_size=3))),
            reads=tuple(draw(st.lists(any_path(), max_size=2))),
            forbids=tuple(draw(st.lists(any_path(), max_size=2))),
            after=tuple(draw(st.lists(st.sampled_from(ids + ["ghost"]), max_size=3))) if ids else (),
            risk=draw(st.sampled_from(["green", "yellow", "red", "critical"])),
            phase=draw(st.sampled_from(names)),
            line=1 + 10 * i,
        ))
    readonly = tuple(draw(st.lists(any_path(), max_size=2)))
    return plan_of(*tasks, phases=phases, shared_readonly=readonly)


def _patterns(raws):
    out = []
    for raw in raws:
        if raw.strip().startswith("!") or outside_reason(raw):
            continue
        try:
            out.append(parse_pattern(normalise(raw)))
        except PatternError:
            continue
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_plan(), st.booleans())
def test_random_plans_never_crash_and_agree_with_all_pairs(plan, strict: bool) -> None:
    a = analyse(plan, strict=strict)
    assert isinstance(a, Analysis)
    assert all(isinstance(p, Problem) for p in a.problems)
    assert set(a.conflicts) == {t.id for t in plan.tasks}
    for x, others in a.conflicts.items():
        for y in others:
            assert x in a.conflicts[y]  # symmetric
    if len({t.id for t in plan.tasks}) != len(plan.tasks):
        return  # duplicate ids: the loader reports them; pairs are not comparable by id
    owns = {t.id: _patterns(t.owns) for t in plan.tasks}
    reads = {t.id: _patterns(t.reads) for t in plan.tasks}
    expected_conflicts = {t.id: set() for t in plan.tasks}
    expected_hazards = set()
    for t in plan.tasks:
        for u in plan.tasks:
            if t.id == u.id or not a.may_run_together(t.id, u.id):
                continue
            if any(overlap(p, q) for p in owns[t.id] for q in owns[u.id]):
                expected_conflicts[t.id].add(u.id)
            if any(overlap(p, q) for p in reads[t.id] for q in owns[u.id]):
                expected_hazards.add((t.id, u.id))
    assert {k: set(v) for k, v in a.conflicts.items()} == expected_conflicts
    assert {(h.reader, h.owner) for h in a.hazards} == expected_hazards
    overlap_severity = {p.severity for p in a.problems if p.code is Code.OWNERSHIP_OVERLAP}
    assert overlap_severity <= ({Severity.ERROR} if strict else {Severity.WARNING})


def test_may_run_together() -> None:
    plan = plan_of(task("a"), task("b"), task("c", after=("a",)), task("d", phase="other"))
    a = analyse(plan)
    assert a.may_run_together("a", "b") and a.may_run_together("b", "c")
    assert not a.may_run_together("a", "c")
    assert not a.may_run_together("a", "a") and not a.may_run_together("a", "nope")
    assert not a.may_run_together("a", "d")  # an undeclared phase is a phase of its own
    assert a.topological_order() == ("a", "b", "c", "d")
