"""Who writes what while others run: ownership overlaps between tasks that may run at
the same time, reads of what a concurrent task writes, and writes to paths that are
read-only during a parallel phase."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from ..model import Isolation, Plan, TaskId
from ..problem import Code, Problem, Severity
from .boundaries import TaskPaths
from .pathindex import OWN, READ, RO, Hit, PathIndex
from .pattern import Pattern, overlap
from .problems import anchor_note, at_task
from .reach import Reachability

_KEEP = 24  # pattern pairs remembered per task pair (enough to name the paths)


class Overlap(NamedTuple):
    """Two tasks that may run at the same time and own overlapping paths."""

    task_a: TaskId
    task_b: TaskId
    paths: tuple[str, ...]  # the overlapping patterns of both tasks
    example: str | None = None  # one path both may write


class Hazard(NamedTuple):
    """A task that reads what a task that may run at the same time owns."""

    reader: TaskId
    owner: TaskId
    paths: tuple[str, ...]  # the read patterns and the owned patterns they meet
    example: str | None = None


@dataclass
class OwnershipResult:
    problems: list[Problem] = field(default_factory=list)
    conflicts: dict[TaskId, set[TaskId]] = field(default_factory=dict)
    overlaps: list[Overlap] = field(default_factory=list)
    hazards: list[Hazard] = field(default_factory=list)


def check_ownership(plan: Plan, paths: list[TaskPaths], readonly: list[Pattern], phase_of: list[int],
                    parallel: list[bool], reach: Reachability, strict: bool) -> OwnershipResult:
    result = OwnershipResult()
    by_phase: dict[int, list[int]] = {}
    for i, ph in enumerate(phase_of):
        if parallel[ph]:
            by_phase.setdefault(ph, []).append(i)
    owned_pairs: dict[tuple[int, int], list[tuple[Pattern, Pattern]]] = {}
    read_pairs: dict[tuple[int, int], list[tuple[Pattern, Pattern]]] = {}
    for members in by_phase.values():
        index = PathIndex()
        for i in members:
            for p in paths[i].owns:
                index.add(p, i, OWN)
            if len(members) > 1:
                for p in paths[i].reads:
                    index.add(p, i, READ)
        for p in readonly:
            index.add(p, -1, RO)
        found = index.pairs()
        _collect(found.own_own, owned_pairs, ordered_key=True)
        _collect([(r, rp, o, op) for o, op, r, rp in found.own_read], read_pairs, ordered_key=False)
        result.problems.extend(_readonly_writes(plan, found.own_ro))

    keys = list(owned_pairs) + list(read_pairs)
    verdicts = reach.ordered_pairs(keys)
    ordered = {k for k, v in zip(keys, verdicts) if v}
    ids = [t.id for t in plan.tasks]
    severity = Severity.ERROR if strict else Severity.WARNING
    for (a, b), pats in sorted(owned_pairs.items()):
        if (a, b) in ordered or ids[a] == ids[b]:
            continue
        item = Overlap(ids[a], ids[b], _texts(pats), overlap(*pats[0]))
        result.overlaps.append(item)
        result.conflicts.setdefault(ids[a], set()).add(ids[b])
        result.conflicts.setdefault(ids[b], set()).add(ids[a])
        result.problems.append(_overlap_problem(plan, a, b, item, pats, severity))
    for (r, o), pats in sorted(read_pairs.items()):
        if (r, o) in ordered or ids[r] == ids[o]:
            continue
        hazard = Hazard(ids[r], ids[o], _texts(pats), overlap(*pats[0]))
        result.hazards.append(hazard)
        result.problems.append(_hazard_problem(plan, r, o, hazard, pats))
    return result


def _collect(hits: list[Hit], into: dict[tuple[int, int], list[tuple[Pattern, Pattern]]],
             ordered_key: bool) -> None:
    for a, pa, b, pb in hits:
        if ordered_key and a > b:
            a, pa, b, pb = b, pb, a, pa
        pats = into.get((a, b))
        if pats is None:
            into[(a, b)] = [(pa, pb)]
        elif len(pats) < _KEEP:
            pats.append((pa, pb))


def _texts(pats: list[tuple[Pattern, Pattern]]) -> tuple[str, ...]:
    return tuple(sorted({p.text for pair in pats for p in pair}))


def _pair_text(pats: list[tuple[Pattern, Pattern]], a: str, b: str) -> str:
    shown = [f"`{pa.text}` ({a}) and `{pb.text}` ({b})" for pa, pb in pats[:3]]
    more = f", and {len(pats) - 3} more" if len(pats) > 3 else ""
    return "; ".join(shown) + more


def _overlap_problem(plan: Plan, a: int, b: int, item: Overlap, pats: list[tuple[Pattern, Pattern]],
                     severity: Severity) -> Problem:
    ta, tb = plan.tasks[a], plan.tasks[b]
    example = f" (both cover {item.example})" if item.example else ""
    return at_task(
        tb, Code.OWNERSHIP_OVERLAP, severity,
        f"tasks `{ta.id}` and `{tb.id}` may run at the same time and own overlapping paths: "
        f"{_pair_text(pats, ta.id, tb.id)}{example}",
        field="owns", tasks=(ta.id, tb.id), paths=item.paths,
        hint=f"give each path to one task, or order them (`after: [{ta.id}]` on `{tb.id}`) or put "
             f"them in different phases; until then shoal never runs them side by side."
             + anchor_note(item.paths))


def _hazard_problem(plan: Plan, r: int, o: int, item: Hazard, pats: list[tuple[Pattern, Pattern]]) -> Problem:
    reader, owner = plan.tasks[r], plan.tasks[o]
    example = f" (e.g. {item.example})" if item.example else ""
    shown = ", ".join(f"`{rp.text}`" for rp in dict.fromkeys(rp for rp, _ in pats))
    return at_task(
        reader, Code.READ_WRITE_HAZARD, Severity.WARNING,
        f"task `{reader.id}` reads {shown}, which task `{owner.id}` owns and may change while "
        f"`{reader.id}` runs{example}",
        field="reads", tasks=(reader.id, owner.id), paths=item.paths,
        hint=f"if `{reader.id}` needs what `{owner.id}` writes, add `after: [{owner.id}]`; "
             + _unordered_reader(plan, reader.id, owner.id) + anchor_note(item.paths))


def _unordered_reader(plan: Plan, reader: str, owner: str) -> str:
    """What a reader not ordered after the writer sees, by where the workers run."""
    if plan.defaults.isolation is Isolation.NONE:
        return (f"otherwise, as every task works in the one shared tree (isolation none), "
                f"`{reader}` may read `{owner}`'s files half-written.")
    return (f"otherwise `{reader}` may work from the state before `{owner}` is merged and miss "
            f"its changes: each task works in its own workspace, from what was merged when it "
            f"started.")


def _readonly_writes(plan: Plan, hits: list[Hit]) -> list[Problem]:
    out: list[Problem] = []
    seen: set[tuple[int, Pattern, Pattern]] = set()
    for task_index, owned, _none, ro in hits:
        key = (task_index, owned, ro)
        if key in seen:
            continue
        seen.add(key)
        task = plan.tasks[task_index]
        example = overlap(owned, ro)
        out.append(at_task(
            task, Code.FORBIDDEN_WRITE, Severity.ERROR,
            f"task `{task.id}` owns `{owned.text}` in the parallel phase `{task.phase}`, but "
            f"`{ro.text}` is shared read-only while a parallel phase runs"
            + (f" (both cover {example})" if example else ""),
            field="owns", paths=(owned.text, ro.text),
            hint="move the task to a serial phase, or take the path out of `shared_readonly`."
                 + anchor_note((owned.text, ro.text))))
    return out
