"""Plan builders and Hypothesis strategies shared by the scheduler tests."""

from __future__ import annotations

from hypothesis import strategies as st

from shoal.model import Defaults, Phase, Plan, RiskTier, Task, TaskId


def task(
    tid: str, *after: str, est: float | None = 60.0, risk: str = "green", phase: str = "main"
) -> Task:
    return Task(
        id=TaskId(tid),
        after=tuple(TaskId(a) for a in after),
        estimate=est,
        risk=RiskTier(risk),
        phase=phase,
    )


def plan(
    *tasks: Task, phases: tuple[Phase, ...] = (Phase("main"),), max_parallel: int | None = None
) -> Plan:
    return Plan(tasks=tasks, phases=phases, defaults=Defaults(max_parallel=max_parallel))


def conflicts(*pairs: tuple[str, str]) -> dict[TaskId, frozenset[TaskId]]:
    out: dict[TaskId, set[TaskId]] = {}
    for a, b in pairs:
        out.setdefault(TaskId(a), set()).add(TaskId(b))
        out.setdefault(TaskId(b), set()).add(TaskId(a))
    return {k: frozenset(v) for k, v in out.items()}


_TIERS = [RiskTier.GREEN] * 6 + [RiskTier.YELLOW] * 2 + [RiskTier.RED] * 2 + [RiskTier.CRITICAL]


@st.composite
def random_plans(draw, max_tasks: int = 18, conflict_density: int = 1, min_tasks: int = 1):
    """A valid plan (acyclic, dependencies never on a later phase) plus conflicts.

    ``conflict_density`` scales the number of conflicting pairs (up to that many per task).
    Also throws in estimates that are missing or zero, unknown dependency ids
    and conflicts between dependent tasks, which the scheduler must tolerate.
    """
    n = draw(st.integers(min_tasks, max_tasks))
    phase_count = draw(st.integers(1, 3))
    # mostly parallel phases and known estimates: that is where the choices are
    phases = tuple(
        Phase(f"p{k}", parallel=draw(st.integers(0, 9)) >= 3) for k in range(phase_count)
    )
    phase_of = sorted(draw(st.lists(st.integers(0, phase_count - 1), min_size=n, max_size=n)))
    tasks = []
    for i in range(n):
        earlier = [j for j in range(i) if phase_of[j] <= phase_of[i]]
        after = draw(st.lists(st.sampled_from(earlier), max_size=3, unique=True)) if earlier else []
        names = [f"t{j}" for j in after]
        if draw(st.integers(0, 9)) == 0:
            names.append("ghost")  # unknown id: ignored by the scheduler
        est = None if draw(st.integers(0, 6)) == 0 else float(draw(st.integers(0, 100)))
        tasks.append(
            Task(
                id=TaskId(f"t{i}"),
                after=tuple(TaskId(a) for a in names),
                estimate=est,
                risk=draw(st.sampled_from(_TIERS)),
                phase=f"p{phase_of[i]}",
            )
        )
    order = draw(st.permutations(range(n)))  # plan order is independent of phase order
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
            min_size=(conflict_density - 1) * n // 2,
            max_size=conflict_density * n,
        )
    )
    clash = conflicts(*((f"t{a}", f"t{b}") for a, b in pairs if a != b))
    max_parallel = draw(st.integers(1, 6))
    return Plan(tasks=tuple(tasks[i] for i in order), phases=phases), clash, max_parallel
