"""Checks on ids and ``after``: duplicate ids, names of no task, dependency cycles, and
waiting for a later phase."""

from __future__ import annotations

import difflib

from ..model import Plan
from ..problem import Code, Problem, Severity
from .graph import MAX_CYCLES_PER_KNOT, DependencyGraph
from .problems import at_task, names

# each suggestion scans every task id; past this many distinct unknown names, stop suggesting
_MAX_SUGGESTIONS = 200


def dependency_problems(plan: Plan, graph: DependencyGraph, phase_of: list[int],
                        declared_phases: int) -> list[Problem]:
    return [*duplicate_ids(plan), *unknown_tasks(plan, graph), *cycles(plan, graph),
            *phase_order(plan, graph, phase_of, declared_phases)]


def duplicate_ids(plan: Plan) -> list[Problem]:
    """Two tasks with one id. The loaders report these and keep the first task, so only a
    plan built in Python gets here: ``after`` names, the scheduler and the run could not
    tell the two apart."""
    out: list[Problem] = []
    first: dict[str, int] = {}
    for i, task in enumerate(plan.tasks):
        j = first.setdefault(task.id, i)
        if j != i:
            out.append(at_task(task, Code.DUPLICATE_TASK, Severity.ERROR,
                               f"task id `{task.id}` is used by task {j + 1} and task {i + 1}",
                               field="id", hint="give each task an id of its own"))
    return out


def unknown_tasks(plan: Plan, graph: DependencyGraph) -> list[Problem]:
    out: list[Problem] = []
    known = list(graph.index)
    suggestions: dict[str, list[str]] = {}
    for i, name in graph.unknown:
        task = plan.tasks[i]
        if name not in suggestions and len(suggestions) < _MAX_SUGGESTIONS:
            suggestions[name] = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        close = suggestions.get(name)
        hint = (f"did you mean `{close[0]}`?" if close
                else "remove it from `after`, or add a task with that id")
        out.append(at_task(task, Code.UNKNOWN_TASK, Severity.ERROR,
                           f"task `{task.id}` waits for `{name}`, which is not a task in this plan",
                           field="after", paths=(), hint=hint))
    return out


def cycles(plan: Plan, graph: DependencyGraph) -> list[Problem]:
    out: list[Problem] = []
    found, knots = graph.cycles()
    for cycle in found:
        ids = [graph.ids[v] for v in cycle]
        chain = " -> ".join(ids + [ids[0]])
        first = plan.tasks[cycle[0]]
        hint = ("remove one of these `after` entries to break the cycle" if len(cycle) > 1
                else f"remove `{ids[0]}` from its own `after`")
        out.append(at_task(first, Code.CYCLE, Severity.ERROR,
                           f"dependency cycle: {chain} (each task waits for the next)",
                           field="after", tasks=ids, hint=hint))
    for knot in knots:
        ids = [graph.ids[v] for v in knot]
        first = plan.tasks[knot[0]]
        out.append(at_task(first, Code.CYCLE, Severity.ERROR,
                           f"tasks {names(ids)} are tangled in more dependency cycles than listed "
                           f"(at most {MAX_CYCLES_PER_KNOT} are named per tangle)",
                           field="after", tasks=ids,
                           hint="untangle their `after` entries; `shoal check` names the rest once "
                                "the listed cycles are broken"))
    return out


def phase_order(plan: Plan, graph: DependencyGraph, phase_of: list[int],
                declared_phases: int) -> list[Problem]:
    """A task waiting for a task of a later phase: it could never start.

    Phases are numbered as the scheduler numbers them: the declared ones in order, then
    each undeclared one (the loaders report those) in order of first use."""
    out: list[Problem] = []
    for i, task in enumerate(plan.tasks):
        mine = phase_of[i]
        for j in graph.waits_for[i]:
            theirs = phase_of[j]
            if mine < theirs:
                other = plan.tasks[j]
                undeclared = ("" if theirs < declared_phases else
                              f" (`{other.phase}` is not declared, so it runs after the declared "
                              "phases)")
                out.append(at_task(
                    task, Code.PHASE_ORDER, Severity.ERROR,
                    f"task `{task.id}` (phase `{task.phase}`) waits for `{other.id}`, which is in "
                    f"the later phase `{other.phase}`{undeclared}",
                    field="after", tasks=(task.id, other.id),
                    hint=f"move `{other.id}` to phase `{task.phase}` or earlier, or `{task.id}` to "
                         f"`{other.phase}` or later; phases run in the order they are declared"))
    return out
