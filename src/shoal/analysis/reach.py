"""Which pairs of tasks are ordered by their dependencies (one waits for the other,
directly or not), answered in bulk.

Full transitive closure is quadratic in memory (100,000 tasks x 100,000 bits = 1.25 GB)
and time, so pairs are answered in tiers, cheapest first:

1. same component (a cycle: ordered), different weakly connected parts (unordered), or
   the later one's longest-path level not above the earlier one's (unordered);
2. a depth-first search from the earlier task, pruned by topological position and level
   and given a work budget: plans are mostly local, so these searches stay small;
3. for the sources whose search ran over budget, bitsets: those tasks become bit
   columns, in blocks, and one pass over the condensation in topological order gives
   every component the set of columns above it (Python ints as bitsets).
"""

from __future__ import annotations

from collections.abc import Iterable

from .graph import DependencyGraph

BLOCK = 2048  # columns per pass: bounds memory at about 2 x components x 256 bytes
SEARCH_BUDGET = 256  # steps a search may take, plus 8 per target, before bitsets take over


class Reachability:
    def __init__(self, graph: DependencyGraph) -> None:
        self.graph = graph
        comps = graph.components
        comp_of = graph.comp_of
        self.comp_of = comp_of
        self.cyclic = [graph.is_cyclic(c) for c in range(len(comps))]
        preds: list[set[int]] = [set() for _ in comps]
        for v, outs in enumerate(graph.followers):
            for w in outs:
                if comp_of[v] != comp_of[w]:
                    preds[comp_of[w]].add(comp_of[v])
        self.preds = [sorted(p) for p in preds]
        succs: list[list[int]] = [[] for _ in comps]
        for c, ps in enumerate(self.preds):
            for p in ps:
                succs[p].append(c)
        self.succs = succs
        # weakly connected parts, by union-find over components
        parent = list(range(len(comps)))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for c, ps in enumerate(self.preds):
            for p in ps:
                ra, rb = find(c), find(p)
                if ra != rb:
                    parent[ra] = rb
        self.part = [find(c) for c in range(len(comps))]
        # longest-path level: a component's successors all have higher levels
        level = [0] * len(comps)
        for c in range(len(comps)):
            for p in self.preds[c]:
                if level[p] >= level[c]:
                    level[c] = level[p] + 1
        self.level = level

    def ordered(self, a: int, b: int) -> bool:
        """Whether one of the two tasks waits for the other (for one-off questions)."""
        ca, cb = self.comp_of[a], self.comp_of[b]
        if ca == cb:
            return a != b and self.cyclic[ca]
        if self.part[ca] != self.part[cb]:
            return False
        lo, hi = (a, b) if ca < cb else (b, a)
        return self.graph.reaches(lo, hi)

    def ordered_pairs(self, pairs: list[tuple[int, int]]) -> list[bool]:
        """For each pair, whether one task waits for the other."""
        result = [False] * len(pairs)
        comp_of, part, level = self.comp_of, self.part, self.level
        by_source: dict[int, list[tuple[int, int]]] = {}  # earlier comp -> (pair, later comp)
        for k, (a, b) in enumerate(pairs):
            ca, cb = comp_of[a], comp_of[b]
            if ca == cb:
                result[k] = a != b and self.cyclic[ca]
                continue
            if part[ca] != part[cb]:
                continue
            if ca > cb:
                ca, cb = cb, ca
            if level[cb] <= level[ca]:
                continue  # a path from ca to cb would climb at least one level
            by_source.setdefault(ca, []).append((k, cb))
        heavy: dict[int, list[tuple[int, int]]] = {}
        search_budget = SEARCH_BUDGET  # read at call time, so tests can force the bitsets
        for source, targets in by_source.items():
            reached = self._search(source, targets, budget=search_budget + 8 * len(targets) if search_budget else 0)
            if reached is None:
                heavy[source] = targets
                continue
            for k, cb in targets:
                result[k] = cb in reached
        if heavy:
            self._bitset_answers(heavy, result)
        return result

    def _search(self, source: int, targets: list[tuple[int, int]], budget: int) -> set[int] | None:
        """Components reachable from ``source`` that could matter for ``targets``, or
        None when that takes more than ``budget`` steps."""
        limit = max(cb for _, cb in targets)
        top = max(self.level[cb] for _, cb in targets)
        succs, level = self.succs, self.level
        seen = {source}
        stack = [source]
        while stack:
            c = stack.pop()
            for d in succs[c]:
                if d not in seen and d <= limit and level[d] <= top:
                    seen.add(d)
                    stack.append(d)
            if len(seen) > budget:
                return None
        return seen

    def _bitset_answers(self, heavy: dict[int, list[tuple[int, int]]], result: list[bool]) -> None:
        columns = list(heavy)
        for start in range(0, len(columns), BLOCK):
            block = columns[start : start + BLOCK]
            # a column per source component: reuse _columns with one task of each
            reps = [self.graph.components[c][0] for c in block]
            above, _below, bit_of = self._columns(reps)
            for c, rep in zip(block, reps):
                bit = bit_of[rep]
                for k, cb in heavy[c]:
                    result[k] = bool(above[cb] & bit)

    def with_unordered_partner(self, members: list[int]) -> set[int]:
        """The members that have another member neither waiting for them nor awaited."""
        if len(members) < 2:
            return set()
        parts = {self.part[self.comp_of[m]] for m in members}
        if len(parts) > 1:
            return set(members)  # each has a partner in another, unconnected part
        out: set[int] = set()
        comp_of = self.comp_of
        for start in range(0, len(members), BLOCK):
            block = members[start : start + BLOCK]
            above, below, bit_of = self._columns(block)
            everyone = 0
            for m in block:
                everyone |= bit_of[m]
            for m in members:
                c = comp_of[m]
                related = above[c] | below[c] | bit_of.get(m, 0)
                if self.cyclic[c]:
                    related |= self._own_bits(c, bit_of)
                if everyone & ~related:
                    out.add(m)
        return out

    def _own_bits(self, comp: int, bit_of: dict[int, int]) -> int:
        bits = 0
        for v in self.graph.components[comp]:
            bits |= bit_of.get(v, 0)
        return bits

    def _columns(self, block: Iterable[int]) -> tuple[list[int], list[int], dict[int, int]]:
        """For each component, the column tasks strictly above it (it waits for them)
        and strictly below it, as bitsets; tasks in a cyclic component count as both."""
        bit_of: dict[int, int] = {}
        own = [0] * len(self.preds)
        for i, v in enumerate(block):
            bit_of[v] = 1 << i
            own[self.comp_of[v]] |= 1 << i
        parts = {self.part[self.comp_of[v]] for v in bit_of}
        order = [c for c in range(len(self.preds)) if self.part[c] in parts]
        above = [0] * len(self.preds)
        below = [0] * len(self.preds)
        preds, succs = self.preds, self.succs
        for c in order:
            acc = 0
            for p in preds[c]:
                acc |= above[p] | own[p]
            above[c] = acc
        for c in reversed(order):
            acc = 0
            for s in succs[c]:
                acc |= below[s] | own[s]
            below[c] = acc
        for c in order:
            if self.cyclic[c] and own[c]:
                above[c] |= own[c]
                below[c] |= own[c]
        return above, below, bit_of
