"""Whatever the input, read_plan returns a LoadedPlan or raises PlanReadError — nothing else."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal.errors import PlanReadError
from shoal.planfile import LoadedPlan, read_plan
from shoal.planfile.schema import TASK_ALIASES, TaskModel

# SHOAL_FUZZ_EXAMPLES=5000 for a longer hunt
FUZZ = settings(
    max_examples=int(os.environ.get("SHOAL_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        ["15m", "1h30m", "-1", "0", "red", "[R:RED] x", "worktree", "a/**", "/x", ""]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        *TaskModel.model_fields,
        *(a for names in TASK_ALIASES.values() for a in names),
        "parallelization",
        "codebase_refs",
        "standards",
        "dependencies",
        "estimated_minutes",
        "duration_minutes",
        "status",
        "ownz",
    ]
)
task = st.dictionaries(st.one_of(field_names, st.text(max_size=6)), values, max_size=8)
tasks = st.one_of(
    st.lists(task, max_size=5),
    st.dictionaries(st.text(max_size=5), task, max_size=4),
    values,
)
plans = st.fixed_dictionaries(
    {"tasks": tasks},
    optional={
        "version": st.one_of(st.just(1), values),
        "phases": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {"name": st.text(max_size=5)}, optional={"parallel": values}
                ),
                max_size=3,
            ),
            values,
        ),
        "defaults": st.one_of(st.dictionaries(field_names, values, max_size=4), values),
        "context": values,
        "max_parallel": values,
        "isolation": values,
        "verify": values,
        "prompt_template": values,
    },
)
names = st.sampled_from(
    ["plan.yaml", "plan.json", "plan.toml", "tasks.json", "BOUNDARIES.json", "x.yml"]
)


def check(
    name: str, content: bytes | str, extra: dict[str, bytes | str] | None = None
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for file, data in {name: content, **(extra or {})}.items():
            path = root / file
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes):
                path.write_bytes(data)
            else:
                path.write_text(data, encoding="utf-8", errors="surrogatepass")
        try:
            loaded = read_plan(root / name if "/" not in name else root)
        except PlanReadError as error:
            assert error.message
            return
        assert isinstance(loaded, LoadedPlan)
        assert all(p.file for p in loaded.problems)
        assert len({t.id for t in loaded.plan.tasks}) == len(loaded.plan.tasks)
        phases = {p.name for p in loaded.plan.phases}
        assert all(t.phase in phases for t in loaded.plan.tasks)


def dump_yaml(data: object) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def dump_json(data: object) -> str:
    return json.dumps(data, ensure_ascii=False)


@FUZZ
@given(values)
def test_random_structures_as_yaml(data: object) -> None:
    check("plan.yaml", dump_yaml(data))


@FUZZ
@given(values)
def test_random_structures_as_json(data: object) -> None:
    check("plan.json", dump_json(data))


@FUZZ
@given(
    plans,
    st.sampled_from(
        [("plan.yaml", dump_yaml), ("plan.json", dump_json), ("tasks.json", dump_json)]
    ),
)
def test_plan_shaped_structures(data: dict, how: tuple) -> None:
    name, dump = how
    check(name, dump(data))


@FUZZ
@given(st.dictionaries(st.text(max_size=6), st.one_of(task, values), max_size=4), plans)
def test_random_boundaries_next_to_a_plan(boundaries: dict, plan: dict) -> None:
    check("plan.yaml", dump_yaml(plan), {"BOUNDARIES.json": dump_json(boundaries)})


@FUZZ
@given(names, st.binary(max_size=200))
def test_random_bytes(name: str, content: bytes) -> None:
    check(name, content)


@FUZZ
@given(names, st.text(alphabet=st.characters(codec="utf-8"), max_size=120))
def test_random_text(name: str, content: str) -> None:
    check(name, content)


@FUZZ
@given(st.text(max_size=80), st.text(max_size=40), values)
def test_random_plan_folder(front: str, body: str, settings_data: object) -> None:
    check(
        "tasks/a.md",
        f"---\n{front}\n---\n{body}",
        {
            "plan.yaml": dump_yaml(settings_data),
            "tasks/b.md": body,
            "context.md": front,
        },
    )


@FUZZ
@given(st.text(alphabet="[]{}:,-\n \"'&*!<>|#%@`?abc123", max_size=60))
def test_yaml_punctuation_soup(content: str) -> None:
    check("plan.yaml", "version: 1\ntasks:\n" + content)
