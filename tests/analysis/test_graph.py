"""Dependency graph: cycles named in order, topological order, closures, reachability."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from shoal.analysis import dependency_closure, dependents, topological_order
from shoal.analysis import reach as reach_module
from shoal.analysis.graph import MAX_CYCLES_PER_KNOT, DependencyGraph
from shoal.analysis.reach import Reachability

from .plans import plan_of, task


def graph(*edges: str, extra: tuple[str, ...] = ()) -> DependencyGraph:
    """Edges written ``"a>b"``: a waits for b."""
    after: dict[str, list[str]] = {}
    order: list[str] = []
    for e in edges:
        a, b = e.split(">")
        for x in (a, b):
            if x not in order:
                order.append(x)
        after.setdefault(a, []).append(b)
    order += [x for x in extra if x not in order]
    return DependencyGraph(plan_of(*(task(x, after=tuple(after.get(x, ()))) for x in order)))


def named(g: DependencyGraph) -> list[str]:
    found, _ = g.cycles()
    return [" -> ".join(g.ids[v] for v in c + c[:1]) for c in found]


def test_cycle_named_in_order_from_its_first_task() -> None:
    g = graph("a>b", "b>c", "c>a")
    assert named(g) == ["a -> b -> c -> a"]


def test_every_elementary_cycle_once() -> None:
    g = graph("a>b", "b>a", "b>c", "c>a", "d>d")
    assert sorted(named(g)) == ["a -> b -> a", "a -> b -> c -> a", "d -> d"]


def test_cycles_are_capped_per_knot() -> None:
    # a complete digraph on 6 tasks holds hundreds of elementary cycles
    names = [chr(ord("a") + i) for i in range(6)]
    g = graph(*(f"{x}>{y}" for x in names for y in names if x != y))
    found, knots = g.cycles()
    assert len(found) == MAX_CYCLES_PER_KNOT
    assert len(knots) == 1 and sorted(g.ids[v] for v in knots[0]) == names


def test_unknown_names_are_kept_aside() -> None:
    g = DependencyGraph(plan_of(task("a", after=("ghost",)), task("b", after=("a", "a"))))
    assert g.unknown == [(0, "ghost")]
    assert g.waits_for[1] == [0]  # duplicate entries collapse


def test_topological_order_keeps_plan_order_for_ties() -> None:
    p = plan_of(task("c"), task("b", after=("c",)), task("a"), task("d", after=("a", "b")))
    assert topological_order(p) == ("c", "b", "a", "d")


def test_topological_order_with_a_cycle_keeps_its_tasks_together() -> None:
    p = plan_of(task("x"), task("a", after=("b", "x")), task("b", after=("a",)), task("z", after=("a",)))
    order = topological_order(p)
    assert order.index("x") < order.index("a") < order.index("z")
    assert abs(order.index("a") - order.index("b")) == 1


def test_closures() -> None:
    p = plan_of(task("a"), task("b", after=("a",)), task("c", after=("b",)), task("d"))
    assert dependency_closure(p, "c") == {"a", "b"}
    assert dependents(p, "a") == {"b", "c"}
    assert dependency_closure(p, "d") == frozenset()


@st.composite
def random_graph(draw: st.DrawFn) -> DependencyGraph:
    n = draw(st.integers(1, 14))
    edges = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n))
    after: dict[int, list[str]] = {}
    for a, b in edges:
        after.setdefault(a, []).append(f"t{b}")
    return DependencyGraph(plan_of(*(task(f"t{i}", after=tuple(after.get(i, ()))) for i in range(n))))


def _closure(g: DependencyGraph) -> set[tuple[int, int]]:
    reach = {(a, b) for b in range(len(g)) for a in g.waits_for[b]}  # a before b
    changed = True
    while changed:
        changed = False
        for (a, b), (c, d) in itertools.product(list(reach), list(reach)):
            if b == c and (a, d) not in reach:
                reach.add((a, d))
                changed = True
    return reach


def _check_ordered_pairs(g: DependencyGraph) -> None:
    closure = _closure(g)
    r = Reachability(g)
    pairs = [(a, b) for a in range(len(g)) for b in range(len(g))]
    got = r.ordered_pairs(pairs)
    for (a, b), ordered in zip(pairs, got):
        expected = ((a, b) in closure or (b, a) in closure) if a != b else False
        assert ordered == expected, (a, b)
        assert r.ordered(a, b) == expected
        if a != b:
            assert g.reaches(a, b) == ((a, b) in closure)


@settings(max_examples=150, deadline=None)
@given(g=random_graph())
def test_ordered_pairs_agree_with_brute_force(g: DependencyGraph) -> None:
    _check_ordered_pairs(g)


@settings(max_examples=150, deadline=None)
@given(g=random_graph())
def test_ordered_pairs_by_bitsets_agree_with_brute_force(g: DependencyGraph) -> None:
    old = reach_module.SEARCH_BUDGET
    reach_module.SEARCH_BUDGET = 0  # every search gives up: the bitsets answer
    try:
        _check_ordered_pairs(g)
    finally:
        reach_module.SEARCH_BUDGET = old


@settings(max_examples=100, deadline=None)
@given(g=random_graph(), data=st.data())
def test_unordered_partner_agrees_with_brute_force(g: DependencyGraph, data: st.DataObject) -> None:
    members = data.draw(st.lists(st.integers(0, len(g) - 1), unique=True))
    closure = _closure(g)
    got = Reachability(g).with_unordered_partner(members)
    expected = {m for m in members
                if any(o != m and (m, o) not in closure and (o, m) not in closure for o in members)}
    assert got == expected


@settings(max_examples=100, deadline=None)
@given(g=random_graph())
def test_topological_order_respects_every_edge_outside_cycles(g: DependencyGraph) -> None:
    order = {tid: i for i, tid in enumerate(g.topological_order())}
    assert len(order) == len(g)
    comp = g.comp_of
    for b in range(len(g)):
        for a in g.waits_for[b]:
            if comp[a] != comp[b]:
                assert order[g.ids[a]] < order[g.ids[b]]


@settings(max_examples=100, deadline=None)
@given(g=random_graph())
def test_every_listed_cycle_is_a_real_elementary_cycle(g: DependencyGraph) -> None:
    found, _ = g.cycles()
    seen = set()
    for cycle in found:
        assert len(set(cycle)) == len(cycle)
        for a, b in zip(cycle, cycle[1:] + cycle[:1]):
            assert b in g.waits_for[a]
        assert cycle[0] == min(cycle)
        key = tuple(cycle)
        assert key not in seen
        seen.add(key)
