"""The compare view end to end: a metric's curves overlaid (hover values, axis titles), the
parallel-coordinates plot of params -> metric, a scatter of any two columns and the diff.

Charts are read through their ``data-drawn`` attribute (the points they draw) and their hover
box, not their pixels."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from playwright.sync_api import expect

from tests.e2e.ui.conftest import User, drawn, log_in, shot
from tests.support.waiting import wait_until

if TYPE_CHECKING:
    from playwright.sync_api import Page

# loss = lr / (i + 1) and acc = 1 - lr / (i + 2) over 8 steps; the params come as HW_TAG_*.
TRAIN = (
    f"{sys.executable} -u -c \"import os; lr = float(os.environ['HW_TAG_LR']); "
    "[(print('hw_linechart_loss value:', lr / (i + 1)), "
    "print('hw_linechart_acc value:', 1 - lr / (i + 2))) for i in range(8)]\""
)
RUNS = [
    {"lr": "0.1", "opt": "adam", "seed": "7"},
    {"lr": "0.5", "opt": "sgd", "seed": "7"},
    {"lr": "0.9", "opt": "adam", "seed": "7"},
]


def ended(owner: User, pid: str, numbers: list[int]) -> bool:
    states = [owner.call("GET", f"/projects/{pid}/experiments/{n}")["state"] for n in numbers]
    assert "failed" not in states, states
    assert "aborted" not in states, states
    return all(s == "success" for s in states)


def test_compare_curves_scatter_parallel_coordinates_and_diff(page: Page, make_user: Any) -> None:
    owner: User = make_user("cmp")
    pid = owner.project("cmp")["id"]
    made = owner.call("POST", f"/projects/{pid}/experiments", json={"command": TRAIN, "runs": RUNS})
    numbers = [e["number"] for e in made]
    wait_until(lambda: ended(owner, pid, numbers), timeout=90, message="the grid did not end")
    log_in(page, owner)
    page.goto(f"/projects/{pid}/compare?n={','.join(map(str, numbers))}")
    page.get_by_role("heading", name="Compare experiments #1, #2, #3").wait_for()

    # the chosen metric's curves, one per run, with axis titles and values under the pointer
    expect(page.locator("figure[data-metric='acc']")).to_have_attribute("data-points", "24")
    page.get_by_label("Metric", exact=True).select_option("loss")
    curves = page.locator("figure[data-metric='loss']")
    expect(curves).to_have_attribute("data-points", "24")
    lines = drawn(page, "loss")
    assert sorted(lines) == ["#1", "#2", "#3"], lines
    assert lines["#2"][0][1] == 0.5, lines["#2"]
    assert lines["#2"][-1][1] == 0.5 / 8, lines["#2"]
    expect(curves.locator(".axis-title")).to_have_text(["step", "loss"])
    over = curves.locator(".u-over")
    box = over.bounding_box()
    assert box is not None
    over.hover(position={"x": 1, "y": box["height"] / 2})  # the first step
    hover = curves.get_by_test_id("chart-hover")
    expect(hover).to_contain_text("step")
    expect(hover).to_contain_text("#1: 0.1")
    expect(hover).to_contain_text("#2: 0.5")
    expect(hover).to_contain_text("#3: 0.9")
    shot(page, "compare-curves")

    # params -> the metric's last value, one line per run
    plot = page.get_by_test_id("parcoords")
    expect(plot).to_have_attribute("data-axes", "lr|opt|seed|loss (last)")
    expect(plot.locator("svg path")).to_have_count(3)
    plot.locator(".legend").get_by_text("#2").hover()
    expect(page.get_by_test_id("parcoords-hover")).to_contain_text("#2 lr 0.5 · opt sgd")
    expect(page.get_by_test_id("parcoords-hover")).to_contain_text("loss (last) 0.0625")
    plot.scroll_into_view_if_needed()
    shot(page, "compare-parallel")

    # a scatter of any two columns: numbers, then a column of words as categories
    page.get_by_label("X", exact=True).select_option(label="lr")
    page.get_by_label("Y", exact=True).select_option(label="acc (max)")
    points = drawn(page, "acc (max) vs lr")
    assert points == {
        "#1": [(0.1, 1 - 0.1 / 9)],
        "#2": [(0.5, 1 - 0.5 / 9)],
        "#3": [(0.9, 1 - 0.9 / 9)],
    }
    page.get_by_label("X", exact=True).select_option(label="opt")
    scatter = page.locator("figure[data-metric='acc (max) vs opt']")
    assert {label: p[0][0] for label, p in drawn(page, "acc (max) vs opt").items()} == {
        "#1": 0,
        "#2": 1,
        "#3": 0,
    }
    expect(scatter.locator(".axis-title")).to_have_text(["opt", "acc (max)"])
    over = scatter.locator(".u-over")
    box = over.bounding_box()
    assert box is not None
    over.hover(position={"x": box["width"] * 0.75, "y": box["height"] / 2})  # the "sgd" column
    expect(scatter.get_by_test_id("chart-hover")).to_contain_text("opt sgd")
    expect(scatter.get_by_test_id("chart-hover")).to_contain_text("#2:")
    expect(scatter.get_by_test_id("chart-hover")).not_to_contain_text("#1:")
    shot(page, "compare-scatter")

    # the diff: rows that differ highlighted, numbers with their change from the first run
    diff = page.get_by_role("table", name="Diff of parameters and final metrics")
    expect(diff.get_by_role("row", name="lr")).to_have_class("differs")
    expect(diff.get_by_role("row", name="seed")).not_to_have_class("differs")
    expect(diff.get_by_role("row", name="loss")).to_contain_text("0.0625 (+0.05)")
    expect(diff.get_by_role("row", name="loss").locator("td.changed")).to_have_count(2)
    page.get_by_label("Only differences").check()
    expect(diff.get_by_role("row", name="seed")).to_have_count(0)
    expect(diff.get_by_role("row", name="opt")).to_have_count(1)

    # 800 pixels wide: the plots shrink to fit, the page does not scroll sideways
    page.set_viewport_size({"width": 800, "height": 800})
    wait_until(
        lambda: page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"),
        message="the compare view scrolls sideways at 800 px",
    )
    canvas = page.locator("figure[data-metric='loss'] canvas")
    wait_until(lambda: (canvas.bounding_box() or {"width": 9999})["width"] < 800)
