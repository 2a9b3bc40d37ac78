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
