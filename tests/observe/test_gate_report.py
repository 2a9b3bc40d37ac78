"""The report of a gated run (hand-built log, real store): each plan gate run a bar of its own
below the tasks, labelled with the tasks it covered, failed and bisection runs marked; each
task's time split; the gate metrics. A run made before gates were logged shows none of it."""

from __future__ import annotations

from shoal.observe.report import collect, gantt, render_html, render_markdown
from shoal.store import Store

from .gated import T0, Gated, batch_with_culprit
from .test_report import parse


def test_each_plan_gate_run_is_its_own_bar(store: Store) -> None:
    batch_with_culprit(store)
    page = parse(render_html(collect(store, "gated", now=T0 + 20)))
    plan = [a for a in page.having("rect", "gate") if a["data-scope"] == "plan"]
    assert [(a["data-gate"], a["data-tasks"], a["data-outcome"], float(a["data-start"] or 0) - T0,
             "bisect" in (a["class"] or "").split()) for a in plan] == [
        ("4", "a,b,c", "failed", 4.0, False), ("5", "a", "passed", 6.0, True),
        ("6", "b,c", "failed", 7.0, True), ("7", "b", "passed", 8.0, True)]
    own = [a for a in page.having("rect", "gate") if a["data-scope"] == "task"]
    assert [a["data-tasks"] for a in own] == ["a", "b", "c"]
    labels = [a.get("class") for a in page.having("text", "lane-label")]
    assert labels == ["lane-label"]  # one lane: no two runs overlapped
    assert "a, b, c" in page.text  # the batch's bar names what it covered


def test_overlapping_gate_runs_take_lanes_of_their_own(store: Store) -> None:
    run = Gated(store, ["a", "b"])
    run.ready("ab", 0, 1)
    first = run.gate_start(["a"], 2)
    run.gate(["a", "b"], 3, 5, speculative=True)
    run.gate_end(first, ["a"], 4, started=2)
    chart = gantt(collect(store, "gated", now=T0 + 6))
    plan = [b for b in chart.gates if b.run.scope == "plan"]
    assert [(b.run.gate, b.y) for b in plan] == [(1, plan[0].y), (2, plan[0].y + 22)]
    assert len(chart.gate_lanes) == 2 and chart.height > chart.gate_lanes[-1]
    assert plan[1].run.speculative


def test_tasks_show_where_their_time_went(store: Store) -> None:
    batch_with_culprit(store)
    report = collect(store, "gated", now=T0 + 20)
    page = parse(render_html(report))
    text = " ".join(" ".join(page.text).split())
    assert "work 0.5s task gate 0.5s queue 3.0s gate 3.0s" in text
    markdown = render_markdown(report)
    assert "(work 1.5s, task gate 0.5s, queue 2.0s, gate 4.0s)" in markdown
    assert "section gates" in markdown and "gate 6 bisect b_ c :crit" in markdown


def test_gate_metrics_are_shown(store: Store) -> None:
    batch_with_culprit(store)
    markdown = render_markdown(collect(store, "gated", now=T0 + 20))
    for row in ("| plan gate runs | 4 |", "| plan gate runs failed | 2 |",
                "| bisections | 1 |", "| gate runs bisecting took | 3 |",
                "| tasks that broke the gate | c |"):
        assert row in markdown


def test_a_run_made_before_gates_shows_nothing_new(store: Store) -> None:
    run = Gated(store, ["a"], policy=None, run_id="old")
    run.ready("a", 0, 1)
    run.merged("a", 3)
    run.end(4)
    report = collect(store, "old", now=T0 + 5)
    page = parse(render_html(report))
    assert page.having("rect", "gate") == [] and page.having("text", "lane-label") == []
    markdown = render_markdown(report)
    assert "gate" not in markdown.lower()
