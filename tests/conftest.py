"""Every test runs with an isolated git environment: no system or global config (the machine's
identity included) reaches the git repositories the tests make in tmp_path."""

from __future__ import annotations

import pytest

from shoal.testing import isolate_git


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # a home beside the test's tmp_path, which stays its own
    isolate_git(monkeypatch, tmp_path_factory.mktemp("home"))


@pytest.fixture(autouse=True)
def audit_every_run(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Issue 5: `shoal audit` passes on every run the suite makes. Every run, resume and retry
    in this process goes through the engine's `_supervise`; each is audited when its test ends
    (runs the test left unfinished on purpose are audited too: an interrupted run must still
    have kept the rules up to where it stopped)."""
    from shoal.engine import runner
    from shoal.observe import audit_run
    from shoal.store import Store

    made: list[tuple[object, str]] = []
    real = runner._supervise

    def recording(git, store, run_id, *args, **kwargs):  # type: ignore[no-untyped-def]
        made.append((store.path, run_id))
        return real(git, store, run_id, *args, **kwargs)

    monkeypatch.setattr(runner, "_supervise", recording)
    yield
    for path, run_id in dict.fromkeys(made):
        with Store.open(path, create=False) as store:  # type: ignore[arg-type]
            report = audit_run(store, run_id)
        assert report.ok, f"audit of run {run_id} found breaches:\n" + "\n".join(
            f"  {b.kind.value} (event {b.seq}): {b.message}" for b in report.breaches)


# The quick tier (`pytest -m "not slow"`, README) leaves out what takes a second or more: the
# real-CLI tier, the end-to-end runs of tests/engine/test_run_*.py, and the tests below, each
# measured over a second with `pytest --durations=0` on a 2-core machine. A new slow test
# belongs here (or under a slow folder), not behind a fixed sleep.
_TESTS = __import__("pathlib").Path(__file__).parent
SLOW_FOLDERS = ("realcli",)
SLOW_MODULES = ("engine/test_run_*.py",)
SLOW_TESTS = frozenset({
    "agents/test_aider.py::test_hang_after_result",
    "agents/test_aider.py::test_silent_hang",
    "agents/test_aider.py::test_three_tasks_end_to_end",
    "agents/test_claude.py::test_an_authentication_error_stops_the_run_at_once",
    "agents/test_claude.py::test_auth_error_after_the_retries",
    "agents/test_claude.py::test_hang_after_result",
    "agents/test_claude.py::test_rate_limits_from_retry_events_do_not_stop_the_run",
    "agents/test_claude.py::test_silent_hang",
    "agents/test_codex.py::test_hang_after_result",
    "agents/test_codex.py::test_silent_hang",
    "agents/test_fake_agent.py::test_hang_after_result_keeps_the_result",
    "agents/test_fake_agent.py::test_hang_is_killed_at_the_timeout",
    "agents/test_gemini.py::test_hang_after_result",
    "agents/test_gemini.py::test_silent_hang",
    "agents/test_opencode.py::test_hang_after_result",
    "agents/test_opencode.py::test_silent_hang",
    "analysis/test_analyse.py::test_random_plans_never_crash_and_agree_with_all_pairs",
    "analysis/test_glob.py::test_common_name_agrees_with_brute_force",
    "analysis/test_glob.py::test_segments_match_like_pathspec",
    "analysis/test_pathindex.py::test_index_agrees_with_all_pairs",
    "analysis/test_pattern.py::test_overlap_is_exact_with_the_plausibility_rule_anchored",
    "cli/test_cli_doctor.py::test_a_version_without_a_needed_flag",
    "cli/test_cli_doctor.py::test_doctor_checks_that_each_agent_can_edit_in_the_workspaces",
    "cli/test_cli_doctor.py::test_every_fake_is_found_with_its_version_and_flags",
    "cli/test_cli_run.py::test_demo_runs_the_plan_end_to_end",
    "cli/test_cli_run.py::test_run_reads_the_plan_once_unless_a_board_needs_it",
    "observe/test_audit.py::test_real_runs_pass",
    "observe/test_report.py::test_report_renders_in_headless_chromium",
    "observe/test_watch.py::test_watch_follows_a_run_in_progress_and_ends_with_it",
    "observe/test_watch.py::test_watch_notices_when_the_orchestrator_is_gone",
    "planfile/test_planfile_examples.py::test_huge_plan_loads_in_reasonable_time",
    "planfile/test_planfile_fuzz.py::test_plan_shaped_structures",
    "planfile/test_planfile_fuzz.py::test_random_boundaries_next_to_a_plan",
    "process/test_process_run.py::test_timeout_kills_the_whole_group",
    "scheduler/test_properties.py::test_driven_run_keeps_every_rule_and_never_deadlocks",
    "scheduler/test_properties.py::test_simulation_is_consistent",
    "scheduler/test_properties.py::test_waves_keep_every_rule_and_cover_every_task_once",
    "test_typecheck.py::test_src_type_checks",
})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        try:
            module = item.path.relative_to(_TESTS)
        except ValueError:
            continue
        name = f"{module.as_posix()}::{getattr(item, 'originalname', item.name)}"
        if (module.parts[0] in SLOW_FOLDERS or name in SLOW_TESTS
                or any(module.match(pattern) for pattern in SLOW_MODULES)):
            item.add_marker(pytest.mark.slow)
