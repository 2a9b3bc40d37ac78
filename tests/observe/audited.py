"""For any test that makes a run: ``assert_audit_passes(repo, run_id)`` proves from the run's
event log that it kept its plan's rules (issue 5: `shoal audit` passes on every run the test
suite makes). Not a fixture and not autouse: call it after a run."""

from __future__ import annotations

import os

from shoal.observe import AuditReport, audit_repo


def assert_audit_passes(repo: str | os.PathLike[str], run_id: str | None = None) -> AuditReport:
    """Audit run `run_id` (default: the latest) of `repo`; fail the test with every breach."""
    report = audit_repo(repo, run_id)
    assert report.ok, f"audit of run {report.run_id} found breaches:\n" + "\n".join(
        f"  {b.kind.value} (event {b.seq}): {b.message}" for b in report.breaches)
    return report
