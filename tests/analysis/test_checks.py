"""Each check of `analyse`, through the public API, on plans built from the dataclasses."""

from __future__ import annotations

import os

from shoal.analysis import analyse
from shoal.model import Phase, RiskTier
from shoal.problem import Code, Severity

from .plans import FILE, plan_of, task

PHASES = (Phase("design", parallel=False), Phase("build"), Phase("check", parallel=False))


def codes(analysis, code: Code):
    return [p for p in analysis.problems if p.code is code]


# -- unknown tasks, cycles, phase order --------------------------------------------------

def test_unknown_task_with_did_you_mean_and_every_instance() -> None:
    a = analyse(plan_of(task("auth"), task("api", after=("atuh", "ghost-task"), line=10)))
    found = codes(a, Code.UNKNOWN_TASK)
    assert len(found) == 2
    first = next(p for p in found if "atuh" in p.message)
    assert first.severity is Severity.ERROR and first.tasks == ("api",)
    assert first.hint == "did you mean `auth`?"
    assert (first.file, first.line, first.field) == (FILE, 14, "after")  # the `after` line


def test_cycles_are_named_and_analysis_goes_on() -> None:
    a = analyse(plan_of(
        task("a", after=("c",), owns=("src/x.py",)),
        task("b", after=("a",)),
        task("c", after=("b",)),
        task("d", owns=("src/x.py",)),
    ))
    cycles = codes(a, Code.CYCLE)
    assert [p.message.split(": ")[1].split(" (")[0] for p in cycles] == ["a -> c -> b -> a"]
    assert cycles[0].tasks == ("a", "c", "b")
    assert a.conflicts["a"] == {"d"}  # the other checks still ran
    assert not a.may_run_together("a", "b")  # a cycle's tasks wait for each other


def test_phase_order() -> None:
    a = analyse(plan_of(
        task("schema", phase="design", after=("impl",)),
        task("impl", phase="build", after=("tests",)),
        task("tests", phase="check"),
        phases=PHASES,
    ))
    found = codes(a, Code.PHASE_ORDER)
    assert {p.tasks for p in found} == {("schema", "impl"), ("impl", "tests")}
    assert all(p.severity is Severity.ERROR and p.field == "after" for p in found)


# -- ownership ----------------------------------------------------------------------------

def test_overlap_between_tasks_that_may_run_together() -> None:
    a = analyse(plan_of(
        task("auth", owns=("src/auth/**", "tests/test_auth.py")),
        task("api", owns=("src/**/*.py",), line=10),
        task("docs", owns=("docs/",), line=20),  # the root's docs/ only, not src/docs/
    ))
    assert a.conflicts["auth"] == {"api"} and a.conflicts["api"] == {"auth"}
    assert a.conflicts["docs"] == frozenset()
    [overlap] = a.overlaps
    assert (overlap.task_a, overlap.task_b) == ("auth", "api")
    assert overlap.paths == ("src/**/*.py", "src/auth/**")
    assert overlap.example == "src/auth/x.py"
    [problem] = codes(a, Code.OWNERSHIP_OVERLAP)
    assert problem.severity is Severity.WARNING
    assert problem.tasks == ("auth", "api") and problem.line == 11  # api's `owns`
    assert "src/auth/x.py" in problem.message and problem.hint


def test_strict_makes_overlaps_errors() -> None:
    plan = plan_of(task("a", owns=("x/",)), task("b", owns=("x/y.py",)))
    assert codes(analyse(plan, strict=True), Code.OWNERSHIP_OVERLAP)[0].severity is Severity.ERROR


def test_no_overlap_when_ordered_or_apart() -> None:
    a = analyse(plan_of(
        task("a", owns=("src/x.py",), phase="build"),
        task("b", owns=("src/x.py",), phase="build", after=("a",)),  # ordered
        task("c", owns=("src/x.py",), phase="build", after=("b",)),  # ordered through b
        task("d", owns=("src/x.py",), phase="design"),  # another phase
        task("e", owns=("src/x.py",), phase="check"),  # a serial phase
        task("f", owns=("src/x.py",), phase="check"),
        phases=PHASES,
    ))
    assert not a.overlaps and all(not v for v in a.conflicts.values())
    assert not a.may_run_together("a", "c") and not a.may_run_together("e", "f")


def test_every_overlapping_pair_is_reported() -> None:
    a = analyse(plan_of(*(task(f"t{i}", owns=("shared/config.py",)) for i in range(4))))
    assert len(a.overlaps) == 6 and len(codes(a, Code.OWNERSHIP_OVERLAP)) == 6
    assert all(len(v) == 3 for v in a.conflicts.values())


def test_any_depth_globs_and_file_looking_names() -> None:
    a = analyse(plan_of(
        task("docs", owns=("**/*.md",)),
        task("app", owns=("src/app.py",)),  # a file: no markdown below it
        task("feat", owns=("src/feat",)),  # may be a directory
        task("readme", owns=("README.md",)),
        task("top", owns=("*.md",)),  # the root's markdown only
    ))
    assert a.conflicts["docs"] == {"feat", "readme", "top"}
    assert a.conflicts["top"] == {"docs", "readme"}


def test_negated_owns_is_a_schema_problem_and_ignored() -> None:
    a = analyse(plan_of(task("a", owns=("src/**", "!src/secret/**")), task("b", owns=("src/secret/k.py",))))
    [schema] = codes(a, Code.SCHEMA)
    assert "negated" in schema.message and schema.paths == ("!src/secret/**",)
    assert a.conflicts["a"] == {"b"}  # the negation did not carve anything out


def test_blank_path_owns_nothing() -> None:
    a = analyse(plan_of(task("a", owns=("", "x.py")), task("b", owns=("src/y.py",))))
    assert [p.code for p in a.problems] == [Code.SCHEMA]
    assert not a.overlaps


def test_broken_pattern_is_reported() -> None:
    a = analyse(plan_of(task("a", owns=("src/[x", "ok/file.py"))))
    [schema] = codes(a, Code.SCHEMA)
    assert schema.severity is Severity.WARNING and "never closed" in schema.message


# -- read/write hazards --------------------------------------------------------------------

def test_read_write_hazard() -> None:
    a = analyse(plan_of(
        task("types", owns=("common/types.py",)),
        task("api", reads=("common/**",), owns=("src/api.py",), line=10),
        task("later", reads=("common/types.py",), after=("types",), line=20),  # ordered: fine
    ))
    [hazard] = a.hazards
    assert (hazard.reader, hazard.owner) == ("api", "types")
    [problem] = codes(a, Code.READ_WRITE_HAZARD)
    assert problem.severity is Severity.WARNING and problem.tasks == ("api", "types")
    assert problem.field == "reads" and problem.line == 12
    assert not a.conflicts["api"]  # a hazard is not an ownership conflict


def test_reading_what_you_own_is_fine() -> None:
    a = analyse(plan_of(task("a", owns=("x/",), reads=("x/y.py",)), task("b")))
    assert not a.hazards


# -- forbidden writes ----------------------------------------------------------------------

def test_owning_what_you_forbid() -> None:
    a = analyse(plan_of(task("a", owns=("src/**", "lib/x.py"), forbids=("src/billing/**", "**/*.lock"))))
    found = codes(a, Code.FORBIDDEN_WRITE)
    assert all(p.severity is Severity.ERROR and p.field == "owns" for p in found)
    assert [p.paths for p in found] == [("src/**", "**/*.lock"), ("src/**", "src/billing/**")]
    assert "src/billing/x" in found[1].message and "src/x.lock" in found[0].message


def test_any_depth_forbid_does_not_hit_plain_files() -> None:
    a = analyse(plan_of(task("a", owns=("src/app.py", "package.json"), forbids=("**/*.lock", "package-lock.json"))))
    assert not codes(a, Code.FORBIDDEN_WRITE)


def test_forbidding_a_root_folder_spares_a_folder_of_that_name_deeper() -> None:
    """Issue 14: owning src/features/analysis/ and forbidding common/ was a forbidden write
    through the invented src/features/analysis/common/x."""
    for forbid in ("common/", "/common/"):
        a = analyse(plan_of(task("a", owns=("src/features/analysis/",), forbids=(forbid,))))
        assert not codes(a, Code.FORBIDDEN_WRITE), forbid
    a = analyse(plan_of(task("a", owns=("src/features/analysis/",), forbids=("**/common/",))))
    [found] = codes(a, Code.FORBIDDEN_WRITE)
    assert "src/features/analysis/common/x" in found.message


def test_a_root_file_does_not_overlap_a_folder_glob() -> None:
    """Issue 14: `owns: [CHANGES.md]` overlapped every `examples/**`."""
    a = analyse(plan_of(task("notes", owns=("CHANGES.md",)), task("ex", owns=("examples/**",))))
    assert not a.overlaps and not a.conflicts["notes"]
    a = analyse(plan_of(task("notes", owns=("**/CHANGES.md",)), task("ex", owns=("examples/**",))))
    assert a.conflicts["notes"] == {"ex"}
    assert a.overlaps[0].example == "examples/CHANGES.md"


def test_shared_readonly_in_parallel_phases_only() -> None:
    a = analyse(plan_of(
        task("setup", owns=("common/types.py",), phase="design"),  # serial: allowed
        task("feat", owns=("common/util.py", "src/feat/"), phase="build"),
        task("root", owns=("/pyproject.toml",), phase="build"),
        task("nested", owns=("tools/pyproject.toml",), phase="build"),  # not the root's
        task("anywhere", owns=("**/pyproject.toml",), phase="design"),  # serial: allowed
        phases=PHASES,
        shared_readonly=("common/**", "pyproject.toml"),
    ))
    found = codes(a, Code.FORBIDDEN_WRITE)
    assert {(p.tasks, p.paths) for p in found} == {
        (("feat",), ("common/util.py", "common/**")),
        (("root",), ("pyproject.toml", "pyproject.toml")),
    }


# -- paths outside the repository ------------------------------------------------------------

def test_paths_outside_the_repository() -> None:
    a = analyse(plan_of(task("a", owns=("//server/share", "a/../../b", "~/x", "C:\\x", "ok.py", "/ok/x.py"),
                             reads=("../sibling/x",))))
    found = codes(a, Code.PATH_OUTSIDE_REPO)
    assert len(found) == 5 and all(p.severity is Severity.ERROR for p in found)
    assert {p.field for p in found} == {"owns", "reads"}


def test_symlink_leaving_the_repository(tmp_path) -> None:
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, repo / "src" / "vendor")
    plan = plan_of(task("a", owns=("src/vendor/lib.py", "src/own.py")), task("b", reads=("src/vendor/**",)))
    assert not codes(analyse(plan), Code.PATH_OUTSIDE_REPO)  # no repository, no look
    found = codes(analyse(plan, repo=repo), Code.PATH_OUTSIDE_REPO)
    assert [(p.tasks, p.paths) for p in found] == [(("a",), ("src/vendor/lib.py",)), (("b",), ("src/vendor/**",))]
    assert "symlink src/vendor ->" in found[0].message


def test_existing_dotted_directory_is_a_directory_with_a_repo(tmp_path) -> None:
    (tmp_path / "node_modules" / "lodash.merge").mkdir(parents=True)
    plan = plan_of(task("a", owns=("node_modules/lodash.merge",)), task("b", owns=("**/index.js",)))
    assert not analyse(plan).overlaps
    assert analyse(plan, repo=tmp_path).conflicts["a"] == {"b"}


def test_a_bare_name_found_only_deeper_is_a_warning(tmp_path) -> None:
    """A name without a `/` is the root's only; a plan written for gitignore's any-depth
    meaning is told, when the repository has the name deeper but not at the root."""
    for path in ("docs/CHANGES.md", "src/x/common/a.py", "src/app.py", "README.md", "lib/README.md"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("")
    plan = plan_of(task("a", owns=("CHANGES.md", "*.py", "README.md", "**/CHANGES.md", "NEW.md"),
                        forbids=("/common/",), line=10))
    assert not codes(analyse(plan), Code.SCHEMA)  # no repository, no look
    found = {p.paths[0]: p for p in codes(analyse(plan, repo=tmp_path), Code.SCHEMA)}
    assert {raw: (p.field, p.line, p.severity) for raw, p in found.items()} == {
        "CHANGES.md": ("owns", 11, Severity.WARNING),
        "*.py": ("owns", 11, Severity.WARNING),
        "/common/": ("forbids", 13, Severity.WARNING),
    }
    assert all(p.tasks == ("a",) and p.file == FILE for p in found.values())
    changes, py, common = found["CHANGES.md"], found["*.py"], found["/common/"]
    assert "there is `docs/CHANGES.md`" in changes.message
    assert "write `**/CHANGES.md`" in changes.hint and "`docs/CHANGES.md`" in changes.hint
    assert "`src/app.py`" in py.message
    assert "write `**/common/`" in common.hint and "`src/x/common`" in common.hint


# -- risk tiers, empty plans, ordering ---------------------------------------------------------

def test_risk_separation() -> None:
    a = analyse(plan_of(
        task("deploy", risk="critical"),
        task("r1", risk="red"),
        task("r2", risk="red"),
        task("r3", risk="red", after=("r1", "r2")),  # waits for both: nothing to keep apart
        task("y", risk="yellow"),
    ))
    found = codes(a, Code.RISK_SEPARATION)
    assert all(p.severity is Severity.INFO for p in found)
    assert [p.tasks for p in found] == [("deploy",), ("r1", "r2")]
    assert [(g.tier, g.tasks) for g in a.risk_pairs] == [(RiskTier.CRITICAL, ("deploy",)),
                                                         (RiskTier.RED, ("r1", "r2"))]


def test_many_red_tasks_are_one_group_not_all_pairs() -> None:
    a = analyse(plan_of(*(task(f"r{i}", risk="red") for i in range(300))))
    [group] = codes(a, Code.RISK_SEPARATION)
    assert len(group.tasks) == 300 and "more" in group.message


def test_anchor_note_for_names_at_any_depth() -> None:
    a = analyse(plan_of(task("a", owns=("**/build/",)), task("b", owns=("src/build/out.o",))))
    [problem] = codes(a, Code.OWNERSHIP_OVERLAP)
    assert "write `build/`" in problem.hint
    assert not analyse(plan_of(task("a", owns=("build/",)), task("b", owns=("src/build/out.o",)))).overlaps


def test_empty_plan() -> None:
    a = analyse(plan_of())
    [p] = a.problems
    assert p.code is Code.EMPTY_PLAN and p.severity is Severity.WARNING
    assert dict(a.conflicts) == {}


def test_problems_are_sorted_errors_first() -> None:
    a = analyse(plan_of(
        task("z", owns=("x/",), risk="critical", line=1),
        task("y", owns=("x/a.py",), after=("nope",), line=30),
        task("w", owns=("~/abs",), line=50),
    ))
    ranks = [p.severity for p in a.problems]
    assert ranks == sorted(ranks, key=[Severity.ERROR, Severity.WARNING, Severity.INFO].index)
    errors = [p for p in a.problems if p.severity is Severity.ERROR]
    assert [p.line for p in errors] == sorted(p.line for p in errors)
