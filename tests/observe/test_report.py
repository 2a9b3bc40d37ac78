"""`shoal report` on real runs: the HTML is well formed and self-contained, the timeline holds
exactly one bar per attempt at the times the state database recorded, merges and the critical
path are drawn, plan and worker text is escaped, Markdown for pull requests, and the page
renders in headless Chromium."""

from __future__ import annotations

import re
import shutil
import sqlite3
import struct
import subprocess
import zlib
from contextlib import closing
from html.parser import HTMLParser
from pathlib import Path

import pytest

from shoal.git import Git
from shoal.observe.report import collect, md_text, render_html, render_markdown
from shoal.store import default_db_path

from .conftest import Ran, db_rows, make_run

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Page(HTMLParser):
    """Checks that every element is closed in order, and collects the elements tests look at."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))  # <x/>: opens and closes

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            self.errors.append(f"end tag of void element {tag}")
        elif not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def having(self, tag: str, cls: str | None = None) -> list[dict[str, str | None]]:
        return [a for t, a in self.elements
                if t == tag and (cls is None or cls in (a.get("class") or "").split())]


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    assert page.errors == [], page.errors[:5]
    assert page.stack == [], f"never closed: {page.stack}"
    return page


def report_of(ran: Ran, link_base: Path | None = None) -> tuple[str, Page]:
    store = ran.store()
    try:
        html = render_html(collect(store, ran.run_id), link_base=link_base)
    finally:
        store.close()
    return html, parse(html)


def test_html_is_well_formed_and_self_contained(retry_run: Ran) -> None:
    html, page = report_of(retry_run)
    assert html.startswith("<!DOCTYPE html>")
    assert [t for t, _ in page.elements].count("html") == 1
    assert [t for t, _ in page.elements].count("body") == 1
    # nothing to fetch: no scripts, no external style sheets, images or fonts
    assert not page.having("script") and not page.having("link") and not page.having("img")
    for tag, attrs in page.elements:
        for name, value in attrs.items():
            if name in ("href", "src") and value:
                assert value.startswith(("#", "file://")) or "://" not in value, (tag, value)
    assert "@import" not in html and "url(" not in html
    for section in ("timeline", "graph", "metrics", "tasks"):
        assert any(a.get("id") == section for _, a in page.elements)


def test_timeline_has_one_bar_per_attempt_at_the_recorded_times(retry_run: Ran) -> None:
    _, page = report_of(retry_run)
    bars = page.having("rect", "bar")
    drawn = sorted((b["data-task"], int(b["data-attempt"] or 0), float(b["data-start"] or "nan"),
                    float(b["data-end"]) if b["data-end"] else None, b["data-outcome"])
                   for b in bars)
    recorded = sorted((r["task_id"], r["number"], r["started_at"], r["ended_at"], r["state"])
                      for r in db_rows(retry_run, "SELECT * FROM attempts WHERE run_id = ?"))
    assert drawn == recorded
    assert ("t", 1) in {(t, n) for t, n, *_ in drawn} and ("t", 2) in {(t, n) for t, n, *_ in drawn}
    for b in bars:  # the colour is the outcome
        assert f"o-{b['data-outcome']}" in (b["class"] or "").split()
    # the geometry follows the times: x = a + k * t for one a and k, for both ends of every bar
    points = [(float(b["data-start"] or 0), float(b["x"] or 0)) for b in bars]
    points += [(float(b["data-end"] or 0), float(b["x"] or 0) + float(b["width"] or 0))
               for b in bars if float(b["width"] or 0) > 1.5]
    (t1, x1), (t2, x2) = min(points), max(points)
    k = (x2 - x1) / (t2 - t1)
    for t, x in points:
        assert x == pytest.approx(x1 + k * (t - t1), abs=0.02)


def test_merges_and_phases_are_marked(rules_run: Ran) -> None:
    _, page = report_of(rules_run)
    marks = {(m["data-task"], float(m["data-at"] or 0)) for m in page.having("path", "merge")}
    merged = {(r["task_id"], r["merged_at"])
              for r in db_rows(rules_run, "SELECT * FROM merges WHERE run_id = ?")}
    assert marks == merged and len(merged) == 10
    phases = [a for a in page.having("rect", "phase")]
    assert len(phases) == 3  # prep, main, wrap: each ran something
    xs = [float(a["x"] or 0) for a in phases]
    assert xs == sorted(xs)  # in running order


def test_dependency_graph_marks_the_measured_critical_path(parallel_run: Ran) -> None:
    store = parallel_run.store()
    try:
        report = collect(store, parallel_run.run_id)
    finally:
        store.close()
    page = parse(render_html(report))
    nodes = {n["data-task"]: n for n in page.having("g", "node")}
    assert set(nodes) == {"a", "b", "c"}
    edges = {(e["data-from"], e["data-to"]): e for e in page.having("path", "edge")}
    assert set(edges) == {("a", "c"), ("b", "c")}  # the plan's dependencies, nothing else
    # the critical path is the longer of a and b (as the store measured them), then c
    took = {r["task_id"]: r["ended_at"] - r["started_at"]
            for r in db_rows(parallel_run, "SELECT * FROM attempts WHERE run_id = ?")}
    first = max(("a", "b"), key=lambda t: took[t])
    critical = {t for t, n in nodes.items() if "critical" in (n["class"] or "").split()}
    assert critical == {first, "c"}
    assert {k for k, e in edges.items() if "critical" in (e["class"] or "").split()} == {
        (first, "c")}


HOSTILE = "<script>alert('x')</script> & <b>bold</b>"


def test_plan_and_worker_text_is_escaped(_env: None, tmp_path: Path) -> None:
    ran = make_run(tmp_path, [
        {"id": "evil", "title": HOSTILE, "owns": ["ok.txt"],
         "run": ["echo ok > ok.txt", "echo x > '<img src=x onerror=alert(1)>.txt'"]},
    ], on_violation="warn")
    html, page = report_of(ran)
    assert "<script" not in html and "<img" not in html and "<b>bold" not in html
    text = "".join(page.text)
    assert HOSTILE in text  # shown as text, exactly as written
    assert "<img src=x onerror=alert(1)>.txt" in text  # the violation, as a path
    store = ran.store()
    try:
        md = render_markdown(collect(store, ran.run_id))
    finally:
        store.close()
    assert not re.search(r"(?<!\\)<(img|script|b>)", md)  # every < escaped
    assert "\\<img src=x onerror=alert(1)\\>.txt" in md


def test_markdown_lists_every_task_and_attempt(retry_run: Ran) -> None:
    store = retry_run.store()
    try:
        md = render_markdown(collect(store, retry_run.run_id))
    finally:
        store.close()
    lines = md.splitlines()
    assert lines[0] == f"## shoal run `{retry_run.run_id}`: {retry_run.result.state.value}"
    tasks = db_rows(retry_run, "SELECT * FROM tasks WHERE run_id = ? ORDER BY position")
    rows = [line for line in lines if line.startswith("| ") and line.split(" | ")[0][2:] in
            {t["task_id"] for t in tasks}]
    assert [r.split(" | ")[0][2:] for r in rows] == [t["task_id"] for t in tasks]
    assert [r.split(" | ")[1] for r in rows] == [t["state"] for t in tasks]
    chart = lines[lines.index("```mermaid"):]
    attempts = db_rows(retry_run, "SELECT * FROM attempts WHERE run_id = ?")
    bars = [line for line in chart[:chart.index("```", 1)] if ":" in line and "dateFormat" not in
            line and "axisFormat" not in line]
    assert len(bars) == len(attempts)
    starts = sorted(int(line.split(",")[-2]) for line in bars)
    assert starts == sorted(int(a["started_at"] * 1000) for a in attempts)
    assert "| speedup (sequential time / wall time) |" in md


def test_md_text_escapes_what_markdown_and_html_act_on() -> None:
    assert md_text("a|b") == "a\\|b"
    assert md_text("<b>x</b>") == "\\<b\\>x\\</b\\>"
    assert md_text("two\nlines") == "two lines"
    assert md_text("[link](http://x)") == "\\[link\\](http://x)"


# -- headless Chromium --------------------------------------------------------------------------
def _pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and rows of an 8-bit RGB or RGBA PNG (what Chromium writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, data, header = 8, b"", b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        kind, body = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            data += body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    bpp = 3 if colour == 2 else 4
    raw, stride, rows, prev = zlib.decompress(data), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, [bytes(r[i:i + 3]) for r in rows for i in range(0, stride, bpp)]


def test_report_renders_in_headless_chromium(retry_run: Ran, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium); "
                    "the report's rendering was not checked")
    page = tmp_path / "report.html"
    html, _ = report_of(retry_run, link_base=tmp_path)
    page.write_text(html, encoding="utf-8")
    shot = tmp_path / "shot.png"
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
         "--window-size=1400,900", page.as_uri()],
        capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL, check=False)
    assert shot.exists(), done.stderr[-2000:]
    width, height, pixels = _pixels(shot.read_bytes())
    assert (width, height) == (1400, 900)
    # not a blank page: the succeeded bars' green and the failed attempt's red are on screen
    green, red = bytes((0x2E, 0x9D, 0x5B)), bytes((0xD6, 0x45, 0x45))
    assert pixels.count(green) > 500 and pixels.count(red) > 100
    assert len(set(pixels)) > 50


def test_a_run_whose_plan_is_unknown_still_gets_its_timeline(_env: None, tmp_path: Path) -> None:
    """A run that recorded no tasks of its plan (as older runs did), whose plan file is gone."""
    ran = make_run(tmp_path, [
        {"id": "a", "owns": ["a.txt"], "run": ["echo a > a.txt"]},
        {"id": "b", "owns": ["b.txt"], "after": ["a"], "run": ["echo b > b.txt"]},
    ])
    text = ran.plan.read_text(encoding="utf-8")
    ran.plan.unlink()
    db = default_db_path(Git(ran.repo).common_dir())
    with closing(sqlite3.connect(db)) as conn, conn:
        (recorded,) = conn.execute("SELECT plan_snapshot FROM runs WHERE id = ?",
                                   (ran.run_id,)).fetchone()
        conn.execute("UPDATE runs SET plan_snapshot = ? WHERE id = ?", ('{"name": "old"}',
                                                                         ran.run_id))
    try:
        store = ran.store()
        try:
            report = collect(store, ran.run_id)
        finally:
            store.close()
        assert report.plan is None and report.plan_note
        page = parse(render_html(report))
        assert len(page.having("rect", "bar")) == 2 and not page.having("g", "node")
        assert report.plan_note in "".join(page.text)
        assert "| a | succeeded |" in render_markdown(report)
    finally:  # as it was, for the audit every test's runs get at the end
        ran.plan.write_text(text, encoding="utf-8")
        with closing(sqlite3.connect(db)) as conn, conn:
            conn.execute("UPDATE runs SET plan_snapshot = ? WHERE id = ?", (recorded, ran.run_id))
