"""`shoal report` through the CLI: where the file goes, links to logs that resolve from wherever
it is written, Markdown on standard output, and the errors for runs that do not exist."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

import shoal
from shoal.git import Git
from shoal.store import default_db_path
from shoal.testing import isolate_git, make_repo


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """One real run (a retried task, a dependent), made once for the module, in the same
    isolated git environment as every test."""
    folder = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp:
        isolate_git(mp, tmp_path_factory.mktemp("home"))
        repo = make_repo(folder / "repo", {"README.md": "hi\n"})
        flag = folder / "tried"
        plan = folder / "plan.yaml"
        plan.write_text(
            "version: 1\n"
            "defaults: {timeout: 30s, retries: 1}\n"
            "tasks:\n"
            f"  - {{id: a, owns: [a.txt], run: ['echo a > a.txt', 'test -f {flag} || "
            f"{{ touch {flag}; exit 1; }}']}}\n"
            "  - {id: b, owns: [b.txt], after: [a], run: ['echo b > b.txt']}\n")
        result = shoal.run(plan, repo=repo, grace=0.5)
        assert result.ok
        yield repo, result.run_id


def _log_paths(repo: Path, run_id: str) -> set[Path]:
    conn = sqlite3.connect(default_db_path(Git(repo).common_dir()))
    try:
        rows = conn.execute("SELECT log_path FROM attempts WHERE run_id = ?", (run_id,))
        return {Path(r[0]).resolve() for r in rows}
    finally:
        conn.close()


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.logs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href and not href.startswith("#"):
            self.logs.append(href)


def _links_resolve(report: Path, repo: Path, run_id: str) -> None:
    parser = _Links()
    parser.feed(report.read_text(encoding="utf-8"))
    targets = {(report.parent / unquote(href)).resolve() for href in parser.logs}
    assert targets == _log_paths(repo, run_id)  # one link per attempt's log, each one there
    assert len(targets) == 3 and all(t.is_file() for t in targets)
    assert all("://" not in href for href in parser.logs)  # relative: the folder can move


def test_report_goes_beside_the_run_with_links_to_its_logs(shoal, ran) -> None:
    repo, run_id = ran
    result = shoal("report", "--repo", repo)
    assert result.code == 0, result.err
    report = Git(repo).common_dir() / "shoal" / "runs" / run_id / "report.html"
    assert f"report: {report}" in result.out and report.as_uri() in result.out
    _links_resolve(report, repo, run_id)


def test_report_elsewhere_links_back_to_the_logs(shoal, ran, tmp_path: Path) -> None:
    repo, run_id = ran
    target = tmp_path / "new" / "folder" / "run report.html"
    result = shoal("report", run_id, "--repo", repo, "-o", target)
    assert result.code == 0, result.err
    _links_resolve(target, repo, run_id)
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temp file left


def test_markdown_goes_to_standard_output_or_a_file(shoal, ran, tmp_path: Path) -> None:
    repo, run_id = ran
    out = shoal("report", "--repo", repo, "--format", "md")
    assert out.code == 0, out.err
    assert out.out.startswith(f"## shoal run `{run_id}`: succeeded\n")
    conn = sqlite3.connect(default_db_path(Git(repo).common_dir()))
    try:
        tries = conn.execute("SELECT number, state FROM attempts WHERE run_id = ? AND task_id = 'a'"
                             " ORDER BY number", (run_id,)).fetchall()
    finally:
        conn.close()
    assert len(tries) == 2 and tries[1][1] == "succeeded"
    assert f"| a | succeeded | #1 {tries[0][1]}, #2 succeeded |" in out.out
    target = tmp_path / "pr.md"
    written = shoal("report", "--repo", repo, "--format", "md", "-o", target)
    assert written.code == 0
    # the same report, but for the second it was generated in
    stamp = re.compile(r"report generated [0-9: -]+ UTC")
    assert stamp.sub("", target.read_text(encoding="utf-8")) == stamp.sub("", out.out)


def test_report_names_what_is_missing(shoal, ran, tmp_path: Path) -> None:
    repo, _ = ran
    unknown = shoal("report", "no-such-run", "--repo", repo)
    assert unknown.code == 2 and "no run 'no-such-run'" in unknown.err
    empty = make_repo(tmp_path / "empty", {"README.md": "x\n"})
    for command in ("report", "watch"):
        none = shoal(command, "--repo", empty)
        assert none.code == 2 and "has no shoal runs yet" in none.err, (command, none.err)


def test_help_lists_watch_and_report(shoal) -> None:
    listing = shoal("--help").out
    assert "watch" in listing and "report" in listing
    assert "--format [html|md]" in shoal("report", "--help").out
