"""The dependency graph of a plan: strongly connected components, named cycles, a
topological order and dependency closures.

Tasks are numbered by their position in the plan. ``after`` names are resolved to the
first task with that id; names of no task are kept aside for the unknown-task check.
Tasks in one dependency cycle are treated as mutually ordered (each waits for the
other), so they are never considered able to run together.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence

from ..model import Plan, TaskId

# Johnson's algorithm lists every elementary cycle, but a dense knot of tasks can hold
# exponentially many; past these caps a cycle knot is summarised instead.
MAX_CYCLES_PER_KNOT = 10
MAX_CYCLES = 50


class DependencyGraph:
    def __init__(self, plan: Plan) -> None:
        self.ids: list[TaskId] = [t.id for t in plan.tasks]
        self.index: dict[str, int] = {}
        for i, tid in enumerate(self.ids):
            self.index.setdefault(tid, i)
        n = len(self.ids)
        self.waits_for: list[list[int]] = [[] for _ in range(n)]  # task -> its prerequisites
        self.followers: list[list[int]] = [[] for _ in range(n)]  # task -> tasks after it
        self.unknown: list[tuple[int, str]] = []  # (task, name of no task)
        for i, task in enumerate(plan.tasks):
            seen: set[int] = set()
            for name in task.after:
                j = self.index.get(name)
                if j is None:
                    self.unknown.append((i, name))
                elif j not in seen:
                    seen.add(j)
                    self.waits_for[i].append(j)
                    self.followers[j].append(i)
        self._components: list[list[int]] | None = None
        self._comp_of: list[int] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    # -- components ------------------------------------------------------------------

    @property
    def components(self) -> list[list[int]]:
        """Strongly connected components in a topological order (prerequisites first,
        ties broken by plan order); each component's tasks in plan order."""
        if self._components is None:
            self._build_components()
        return self._components  # type: ignore[return-value]

    @property
    def comp_of(self) -> list[int]:
        if self._comp_of is None:
            self._build_components()
        return self._comp_of  # type: ignore[return-value]

    def _build_components(self) -> None:
        if all(j < i for i, before in enumerate(self.waits_for) for j in before):
            order: list[int] = list(range(len(self.ids)))  # plan order is already one
        else:
            order = _kahn(len(self.ids), self.waits_for, self.followers)
        if len(order) == len(self.ids):
            # acyclic, the usual case: every task is its own component
            self._components = [[v] for v in order]
            comp_of = [0] * len(order)
            for c, v in enumerate(order):
                comp_of[v] = c
            self._comp_of = comp_of
            return
        raw = strongly_connected(range(len(self.ids)), self.followers)
        raw_of = [0] * len(self.ids)
        for c, members in enumerate(raw):
            for v in members:
                raw_of[v] = c
        # Kahn's algorithm on the condensation, smallest plan position first
        preds: list[set[int]] = [set() for _ in raw]
        succs: list[set[int]] = [set() for _ in raw]
        for v, outs in enumerate(self.followers):
            for w in outs:
                a, b = raw_of[v], raw_of[w]
                if a != b:
                    succs[a].add(b)
                    preds[b].add(a)
        first = [min(m) for m in raw]
        corder = _kahn(len(raw), preds, succs, key=first)
        renum = [0] * len(raw)
        for new, old in enumerate(corder):
            renum[old] = new
        self._components = [sorted(raw[old]) for old in corder]
        self._comp_of = [renum[c] for c in raw_of]

    def is_cyclic(self, comp: int) -> bool:
        members = self.components[comp]
        return len(members) > 1 or members[0] in self.waits_for[members[0]]

    # -- orders and closures -----------------------------------------------------------

    def topological_order(self) -> tuple[TaskId, ...]:
        """Every task once, each after everything it waits for; tasks of a cycle are
        kept together in plan order."""
        return tuple(self.ids[v] for comp in self.components for v in comp)

    def ancestors(self, task: int) -> set[int]:
        """Every task ``task`` waits for, directly or not (itself only via a cycle)."""
        return _walk(task, self.waits_for)

    def descendants(self, task: int) -> set[int]:
        """Every task that waits for ``task``, directly or not."""
        return _walk(task, self.followers)

    def reaches(self, a: int, b: int) -> bool:
        """Whether ``b`` waits for ``a``, directly or not."""
        if a == b:
            return self.is_cyclic(self.comp_of[a])
        comp_of = self.comp_of
        limit = comp_of[b]
        if comp_of[a] > limit:
            return False
        seen = {a}
        stack = [a]
        while stack:
            v = stack.pop()
            for w in self.followers[v]:
                if w == b:
                    return True
                if w not in seen and comp_of[w] <= limit:
                    seen.add(w)
                    stack.append(w)
        return False

    # -- cycles ------------------------------------------------------------------------

    def cycles(self) -> tuple[list[list[int]], list[list[int]]]:
        """Elementary cycles, each as ``[a, b, c]`` meaning a waits for b, b for c and c
        for a, starting from its task that comes first in the plan; and the knots
        (cyclic components) whose cycles were not all listed because of the caps."""
        found: list[list[int]] = []
        truncated: list[list[int]] = []
        for comp in self.components:
            if not self.is_cyclic(self.comp_of[comp[0]]):
                continue
            budget = min(MAX_CYCLES_PER_KNOT, MAX_CYCLES - len(found))
            cycles = _johnson(comp, self.waits_for, budget + 1) if budget > 0 else [[]]
            if len(cycles) > budget:
                truncated.append(comp)
                cycles = cycles[:budget]
            found.extend(cycles)
        return found, truncated


def _kahn(n: int, preds: Sequence[Iterable[int]], succs: Sequence[Iterable[int]],
          key: Sequence[int] | None = None) -> list[int]:
    """Topological order, ready nodes taken smallest ``key`` (default: number) first;
    shorter than ``n`` when there is a cycle."""
    indeg = [len(p) if isinstance(p, (list, set)) else sum(1 for _ in p) for p in preds]
    k = key if key is not None else range(n)
    heap = [(k[v], v) for v in range(n) if indeg[v] == 0]
    heapq.heapify(heap)
    order: list[int] = []
    while heap:
        _, v = heapq.heappop(heap)
        order.append(v)
        for w in succs[v]:
            indeg[w] -= 1
            if indeg[w] == 0:
                heapq.heappush(heap, (k[w], w))
    return order


def _walk(start: int, adj: Sequence[Sequence[int]]) -> set[int]:
    seen: set[int] = set()
    stack = list(adj[start])
    while stack:
        v = stack.pop()
        if v not in seen:
            seen.add(v)
            stack.extend(adj[v])
    return seen


def strongly_connected(nodes: Iterable[int], adj: Sequence[Sequence[int]],
                       allowed: set[int] | None = None) -> list[list[int]]:
    """Tarjan's algorithm without recursion; ``allowed`` restricts to a subgraph."""
    size = len(adj)
    index = [-1] * size
    low = [0] * size
    on_stack = [False] * size
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in nodes:
        if index[root] >= 0:
            continue
        work = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            v, k = work[-1]
            succ = adj[v]
            while k < len(succ):
                w = succ[k]
                k += 1
                if allowed is not None and w not in allowed:
                    continue
                if index[w] < 0:
                    work[-1] = (v, k)
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = True
                    work.append((w, 0))
                    break
                if on_stack[w] and index[w] < low[v]:
                    low[v] = index[w]
            else:
                work.pop()
                if work:
                    u = work[-1][0]
                    low[u] = min(low[u], low[v])
                if low[v] == index[v]:
                    comp: list[int] = []
                    while True:
                        w = stack.pop()
                        on_stack[w] = False
                        comp.append(w)
                        if w == v:
                            break
                    out.append(comp)
    return out


def _johnson(knot: list[int], adj: Sequence[Sequence[int]], limit: int) -> list[list[int]]:
    """Johnson's elementary cycles within one knot, at most ``limit`` of them."""
    out: list[list[int]] = []
    remaining = sorted(knot)
    while remaining and len(out) < limit:
        allowed = set(remaining)
        sub = [c for c in strongly_connected(remaining, adj, allowed)
               if len(c) > 1 or c[0] in adj[c[0]]]
        if not sub:
            break
        comp = min(sub, key=min)
        start = min(comp)
        scope = set(comp)
        blocked = {start}
        block_map: dict[int, set[int]] = {}
        path = [start]
        closed: set[int] = set()
        stack = [(start, [w for w in adj[start] if w in scope])]
        while stack and len(out) < limit:
            v, nbrs = stack[-1]
            if nbrs:
                w = nbrs.pop()
                if w == start:
                    out.append(path[:])
                    closed.update(path)
                elif w not in blocked:
                    path.append(w)
                    stack.append((w, [x for x in adj[w] if x in scope]))
                    closed.discard(w)
                    blocked.add(w)
                    continue
            if not nbrs:
                if v in closed:
                    _unblock(v, blocked, block_map)
                else:
                    for x in adj[v]:
                        if x in scope:
                            block_map.setdefault(x, set()).add(v)
                stack.pop()
                path.pop()
        remaining = [v for v in remaining if v != start]
    return out


def _unblock(v: int, blocked: set[int], block_map: dict[int, set[int]]) -> None:
    stack = [v]
    while stack:
        u = stack.pop()
        if u in blocked:
            blocked.discard(u)
            stack.extend(block_map.pop(u, ()))
