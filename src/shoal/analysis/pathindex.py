"""An index of patterns that finds every overlapping pair without comparing all pairs.

Each pattern hangs in a trie at the node of its literal prefix (the segments before the
first wildcard; empty for ``*.py`` or ``**/build/``, which live at the root node).
Two patterns can only overlap if one prefix is a prefix of the other, since every path a
pattern covers starts with its prefix. So a depth-first walk pairs the patterns at each
node with those on the way down to it, and with each other, and nothing else. On that
path most pairs are decided without the exact test:

- a literal ancestor (``src/auth``, ``src/auth/``) covers whatever lies below it: overlap;
- an ancestor whose rest starts with a glob (``src/*/api.py``) is only a candidate below
  the children whose name that glob matches;
- an ancestor ``A/**/S`` (``**/*.md`` has an empty ``A``) overlaps a literal below it
  exactly when ``S`` matches a name on the way down or the literal may be a directory;
  the walk keeps one "matched yet" flag per such ancestor instead of re-testing every name;
- anything else gets the exact test of pattern.py.

Identical patterns at a node are grouped, so a thousand tasks reading ``common/types.py``
cost one decision, not a thousand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .pattern import Pattern, overlap

OWN, READ, RO = 0, 1, 2  # owned, read, shared read-only (task -1)
_PARTNERS = {OWN: (OWN, READ, RO), READ: (OWN,), RO: (OWN,)}

Hit = tuple[int, Pattern, int, Pattern]  # (task, pattern, other task, other pattern)


Groups = tuple[dict[Pattern, list[int]], dict[Pattern, list[int]], dict[Pattern, list[int]]]


class _Node:
    __slots__ = ("children", "groups", "leaves")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.groups: Groups | None = None  # per kind: pattern -> tasks
        # literal paths that end here with nothing below them, most files of a plan, kept
        # without a node of their own (one is made if something goes below): name ->
        # [kind, pattern, tasks] entries, usually just one
        self.leaves: dict[str, list[list]] = {}


@dataclass
class Pairs:
    """What the walk found: overlapping (owned, owned), (owned, read), (owned, read-only)."""

    own_own: list[Hit] = field(default_factory=list)
    own_read: list[Hit] = field(default_factory=list)
    own_ro: list[Hit] = field(default_factory=list)


class PathIndex:
    def __init__(self) -> None:
        self.root = _Node()
        self._nodes: dict[tuple[str, ...], _Node] = {(): self.root}  # by prefix
        self.size = 0

    def add(self, pattern: Pattern, task: int, kind: int) -> None:
        prefix = pattern.prefix
        if pattern.literal:
            parent = self._nodes.get(prefix[:-1]) or self._node(prefix[:-1])
            name = prefix[-1]
            child = parent.children.get(name)
            if child is None:
                entries = parent.leaves.get(name)
                if entries is None:
                    parent.leaves[name] = [[kind, pattern, [task]]]
                else:
                    for entry in entries:
                        if entry[0] == kind and entry[1] is pattern:
                            entry[2].append(task)
                            break
                    else:
                        entries.append([kind, pattern, [task]])
                self.size += 1
                return
            groups = child.groups or _new_groups(child)
        else:
            node = self._nodes.get(prefix) or self._node(prefix)
            groups = node.groups or _new_groups(node)
        tasks = groups[kind].get(pattern)
        if tasks is None:
            groups[kind][pattern] = [task]
        else:
            tasks.append(task)
        self.size += 1

    def _node(self, prefix: tuple[str, ...]) -> _Node:
        parent = self._nodes.get(prefix[:-1]) or self._node(prefix[:-1])
        child = parent.children[prefix[-1]] = _Node()
        promoted = parent.leaves.pop(prefix[-1], None)
        if promoted is not None:  # something now lies below a leaf: it becomes a node
            groups = _new_groups(child)
            for kind, pattern, tasks in promoted:
                groups[kind][pattern] = tasks
        self._nodes[prefix] = child
        return child

    def pairs(self) -> Pairs:
        out = Pairs()
        _Walk(out).visit(self.root)
        return out


class _Walk:
    def __init__(self, out: Pairs) -> None:
        self.out = out
        self.sinks = {(OWN, OWN): out.own_own, (OWN, READ): out.own_read, (OWN, RO): out.own_ro}
        # groups on the way down, per kind: literal ones, and those needing a test
        self.lit: tuple[list, ...] = ([], [], [])
        self.tested: tuple[list, ...] = ([], [], [])  # "deep" and "glob" categories
        self.single: tuple[list, ...] = ([], [], [])  # [pattern, tasks, test of S, matched]
        self.singles: list[list] = []  # all of self.single, for updating "matched"
        self.active = [0, 0, 0]  # groups on the way down, per kind

    def visit(self, node: _Node) -> None:
        pushed: list[tuple[int, list]] = []
        globs: list[tuple[int, Pattern, list[int]]] = []
        groups = node.groups
        if groups is not None:
            self._same_node(groups)
            for kind in (OWN, READ, RO):
                for pattern, tasks in groups[kind].items():
                    self._against_ancestors(kind, pattern, tasks)
            for kind in (OWN, READ, RO):
                for pattern, tasks in groups[kind].items():
                    cat = pattern.category
                    if cat == "lit":
                        lst = self.lit[kind]
                        lst.append((pattern, tasks))
                    elif cat == "single":
                        lst = self.single[kind]
                        item = [pattern, tasks, _matcher(pattern.segs[-1]), False]
                        lst.append(item)
                        self.singles.append(item)
                    elif cat == "deep":
                        lst = self.tested[kind]
                        lst.append((pattern, tasks))
                    else:
                        globs.append((kind, pattern, tasks))
                        continue
                    pushed.append((kind, lst))
                    self.active[kind] += 1
        for name, child in node.children.items():
            undo, added = self._enter(name, globs)
            self.visit(child)
            self._leave(undo, added)
        for name, entries in node.leaves.items():
            undo, added = self._enter(name, globs)
            if len(entries) == 1:
                kind, pattern, tasks = entries[0]
                if kind == OWN and len(tasks) > 1:
                    self._emit(OWN, pattern, tasks, OWN, pattern, tasks, same=True)
                self._against_ancestors(kind, pattern, tasks)
            else:
                leaf: Groups = ({}, {}, {})
                for kind, pattern, tasks in entries:
                    leaf[kind][pattern] = tasks
                self._same_node(leaf)
                for kind, pattern, tasks in entries:
                    self._against_ancestors(kind, pattern, tasks)
            self._leave(undo, added)
        singles = self.singles
        for kind, lst in pushed:
            popped = lst.pop()
            self.active[kind] -= 1
            if lst is self.single[kind]:
                for k in range(len(singles) - 1, -1, -1):  # by identity: items may be equal
                    if singles[k] is popped:
                        del singles[k]
                        break

    def _enter(self, name: str, globs: list[tuple[int, Pattern, list[int]]]
               ) -> tuple[list[list] | None, list[int] | None]:
        """Step down to ``name``: note which ``A/**/S`` ancestors now matched a name, and
        which glob ancestors become candidates below it."""
        undo: list[list] | None = None
        for item in self.singles:
            if not item[3] and item[2](name):
                item[3] = True
                if undo is None:
                    undo = []
                undo.append(item)
        added: list[int] | None = None
        for kind, pattern, tasks in globs:
            if pattern.segs[len(pattern.prefix)].matches(name):  # type: ignore[union-attr]
                self.tested[kind].append((pattern, tasks))
                self.active[kind] += 1
                if added is None:
                    added = []
                added.append(kind)
        return undo, added

    def _leave(self, undo: list[list] | None, added: list[int] | None) -> None:
        if added:
            for kind in added:
                self.tested[kind].pop()
                self.active[kind] -= 1
        if undo:
            for item in undo:
                item[3] = False

    def _same_node(self, groups: Groups) -> None:
        own = groups[OWN]
        if not own or (len(own) == 1 and not groups[READ] and not groups[RO]
                       and len(next(iter(own.values()))) == 1):
            return  # the usual leaf: one owner of one path
        owned = list(own.items())
        for i, (p, ptasks) in enumerate(owned):
            if len(ptasks) > 1:
                self._emit(OWN, p, ptasks, OWN, p, ptasks, same=True)
            for q, qtasks in owned[i + 1 :]:
                if _same_node_overlap(p, q):
                    self._emit(OWN, q, qtasks, OWN, p, ptasks)
            for kind in (READ, RO):
                for q, qtasks in groups[kind].items():
                    if _same_node_overlap(p, q):
                        self._emit(kind, q, qtasks, OWN, p, ptasks)

    def _against_ancestors(self, kind: int, q: Pattern, qtasks: list[int]) -> None:
        active = self.active
        for pk in _PARTNERS[kind]:
            if not active[pk]:
                continue
            for p, ptasks in self.lit[pk]:
                self._emit(kind, q, qtasks, pk, p, ptasks)
            for p, ptasks, _s, matched in self.single[pk]:
                if q.literal:
                    hit = matched or q.end_extendable
                else:
                    hit = overlap(p, q) is not None
                if hit:
                    self._emit(kind, q, qtasks, pk, p, ptasks)
            for p, ptasks in self.tested[pk]:
                if overlap(p, q) is not None:
                    self._emit(kind, q, qtasks, pk, p, ptasks)

    def _emit(self, kind: int, q: Pattern, qtasks: list[int], pk: int, p: Pattern, ptasks: list[int],
              same: bool = False) -> None:
        # store owned first: (OWN, OWN), (OWN, READ) or (OWN, RO)
        if pk == OWN and kind != OWN:
            sink = self.sinks[(OWN, kind)]
            first, fp, second, sp = ptasks, p, qtasks, q
        else:
            sink = self.sinks[(kind, pk)]
            first, fp, second, sp = qtasks, q, ptasks, p
        if same:
            for i, a in enumerate(first):
                for b in first[i + 1 :]:
                    if a != b:
                        sink.append((a, fp, b, sp))
            return
        if len(first) == 1 and len(second) == 1:
            if first[0] != second[0]:
                sink.append((first[0], fp, second[0], sp))
            return
        for a in first:
            for b in second:
                if a != b:
                    sink.append((a, fp, b, sp))


def _new_groups(node: _Node) -> Groups:
    node.groups = ({}, {}, {})
    return node.groups


def _matcher(seg: object):  # type: ignore[no-untyped-def]
    """A fast test of one name against a segment."""
    if type(seg) is str:
        return seg.__eq__  # type: ignore[union-attr]
    return seg.matcher()  # type: ignore[attr-defined]


def _same_node_overlap(p: Pattern, q: Pattern) -> bool:
    # a literal at this node covers everything below it, and the other one lies there
    return p.literal or q.literal or overlap(p, q) is not None
