"""Monitoring and polish in the browser (issue 16): the Monitoring page's jobs and usage chart,
live jobs started and stopped from the UI, the feed's folded output commits, "created by" as a
name, an error that says what to do in the UI, and table headers over their cells."""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Any

from playwright.sync_api import expect

from tests.e2e.ui.conftest import User, log_in, shot
from tests.support.waiting import wait_until

if TYPE_CHECKING:
    from playwright.sync_api import Page

SLEEP = f"{sys.executable} -c 'import time; time.sleep(120)'"
# writes one file into the output folder: the runtime commits it as the task (a machine commit)
WRITES_OUTPUT = (
    f"{sys.executable} -c \"import os; os.makedirs('output', exist_ok=True); "
    "open('output/result.txt', 'w').write('done')\""
)
ENDED = ("success", "failed", "aborted", "stopped")


def _ended(user: User, pid: str, number: int) -> bool:
    state = user.call("GET", f"/projects/{pid}/experiments/{number}")["state"]
    return state in ENDED


def _stop_all(user: User, pid: str, made: list[dict[str, Any]]) -> None:
    for e in made:
        user.call("POST", f"/projects/{pid}/experiments/{e['number']}/stop")


def test_monitoring_lists_jobs_per_compute_with_a_usage_chart(page: Page, make_user: Any) -> None:
    user: User = make_user("watch")
    project = user.project("mon")
    pid = project["id"]
    # 'large' takes every core: one runs, the other waits for it
    made = user.call(
        "POST",
        f"/projects/{pid}/experiments",
        json={"command": SLEEP, "runs": [{"i": "1"}, {"i": "2"}], "computes": ["large"]},
    )
    try:
        log_in(page, user)
        page.get_by_role("link", name="Monitoring").click()
        jobs = page.get_by_role("table", name="Active and pending jobs")
        running = jobs.locator("tr", has=page.locator(".badge.state-running"))
        expect(running).to_have_count(1, timeout=60_000)
        expect(running).to_contain_text(user.username)  # who
        expect(running).to_contain_text(f"{project['name']} #")  # what
        expect(running).to_contain_text("time.sleep(120)")
        expect(running.locator("td").last).to_have_text("large")  # on which compute
        expect(jobs.locator("tr", has=page.locator(".badge.state-queued"))).to_have_count(1)
        per_compute = page.get_by_role("table", name="Usage per compute template")
        expect(per_compute.locator("tr", has_text="large")).to_contain_text("1")
        # the chart (LineChart): uPlot's canvas, one line, for 'large', named in its legend, and
        # hover values in its hover box
        cpu = page.locator("figure[data-metric='CPU']")
        expect(cpu).to_have_attribute("data-drawn", re.compile(r"^large=[^|]+$"), timeout=30_000)
        expect(cpu.locator("figcaption .legend")).to_have_text("large")
        canvas = cpu.locator("canvas")
        expect(canvas).to_be_visible()
        assert int(cpu.get_attribute("data-points") or 0) >= 1
        # hovering the newest sample shows what 'large' holds: every core of the server
        cores = f"{user.call('GET', '/monitor')['total']['cpus']:g}"
        value = cpu.get_by_test_id("chart-hover").locator("div", has_text="large: ")

        plot = cpu.locator(".u-over")  # the plotting area, inside the axes

        def hovered() -> bool:
            box = plot.bounding_box()
            assert box is not None
            page.mouse.move(box["x"] + 1, box["y"] + 1)
            page.mouse.move(box["x"] + box["width"] - 1, box["y"] + box["height"] / 2)
            return value.count() == 1 and value.inner_text() == f"large: {cores}"

        def shown() -> str:
            return f"the hover box shows {value.all_inner_texts()}"

        wait_until(hovered, timeout=30, message=shown)
        page.mouse.move(0, 0)
        shot(page, "monitoring-jobs", full_page=True)
    finally:
        _stop_all(user, pid, made)


def test_live_jobs_start_and_stop_from_the_ui(page: Page, make_user: Any) -> None:
    user: User = make_user("live")
    pid = user.project("live")["id"]
    log_in(page, user)
    page.goto(f"/projects/{pid}/live")
    form = page.get_by_role("form", name="Start a live job")
    form.get_by_label("Job").fill("ticker")
    form.get_by_label("Command").fill(SLEEP)
    form.get_by_role("button", name="Start").click()
    expect(form.get_by_role("status")).to_contain_text("Started live job ticker")
    table = page.get_by_role("table", name="Live jobs")
    row = table.locator("tbody tr").first
    expect(row).to_contain_text("ticker")
    # a second run of a job that still runs is refused, as `hw live run` refuses it
    form.get_by_role("button", name="Start").click()
    expect(form.get_by_role("alert")).to_contain_text("stop it first")
    row.get_by_role("button", name="Stop").click()
    expect(row.get_by_role("button", name="Start again")).to_be_visible(timeout=60_000)
    runs = user.call("GET", f"/projects/{pid}/experiments", params={"title": "live:ticker"})
    assert runs["total"] == 1
    assert runs["items"][0]["state"] in ENDED
    row.get_by_role("button", name="Start again").click()
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tbody tr").first.get_by_role("button", name="Stop")).to_be_visible()
    shot(page, "live-jobs")
    newest = user.call("GET", f"/projects/{pid}/experiments", params={"title": "live:ticker"})
    assert newest["items"][0]["command"] == SLEEP
    _stop_all(user, pid, newest["items"][:1])


def test_the_feed_folds_output_commits_and_names_the_creator(page: Page, make_user: Any) -> None:
    user: User = make_user("feed")
    pid = user.project("feed")["id"]
    made = user.call(
        "POST",
        f"/projects/{pid}/experiments",
        json={"command": WRITES_OUTPUT, "runs": [{"i": str(i)} for i in range(3)]},
    )
    for e in made:
        wait_until(lambda e=e: _ended(user, pid, e["number"]), timeout=120)
    numbers = sorted(e["number"] for e in made)
    log_in(page, user)
    page.goto(f"/projects/{pid}")
    folded = page.get_by_test_id("feed-outputs")
    expect(folded).to_have_count(1)
    span = f"{numbers[0]}\u2013{numbers[-1]}"  # an en dash: experiments 1-3
    expect(folded).to_contain_text(f"outputs of experiments {span} (3 commits)")
    expect(page.locator("ol.feed > li", has_text="outputs of experiment")).to_have_count(1)
    folded.locator("summary").click()
    expect(folded.locator("ul li")).to_have_count(3)
    shot(page, "dashboard-feed")
    # "created by" is the user's name, not their id
    page.goto(f"/projects/{pid}/experiments/{numbers[0]}")
    created_by = page.locator("table.kv tr", has_text="created by")
    expect(created_by.locator("td")).to_have_text(user.username)


def test_an_error_says_what_to_do_in_the_ui(page: Page, make_user: Any) -> None:
    user: User = make_user("lost")
    log_in(page, user)
    page.goto("/projects/no-such-project")
    alert = page.get_by_role("alert").first
    expect(alert).to_contain_text("Open Projects to see the projects you can access.")
    assert "hw " not in alert.inner_text()
    assert "--json" not in alert.inner_text()


def test_table_headers_align_with_their_cells(page: Page, make_user: Any) -> None:
    user: User = make_user("align")
    pid = user.project("align")["id"]
    made = user.call(
        "POST", f"/projects/{pid}/experiments", json={"command": "true", "title": "live:once"}
    )
    wait_until(lambda: _ended(user, pid, made[0]["number"]), timeout=120)
    log_in(page, user)
    page.goto(f"/projects/{pid}/live")
    table = page.get_by_role("table", name="Live jobs")
    header = table.locator("thead th").nth(1)
    cell = table.locator("tbody td").nth(1)
    align = "el => getComputedStyle(el).textAlign"
    assert header.evaluate(align) == cell.evaluate(align)
    header_box, cell_box = header.bounding_box(), cell.bounding_box()
    assert header_box is not None
    assert cell_box is not None
    assert header_box["x"] == cell_box["x"]
    padding = "el => getComputedStyle(el).paddingLeft"
    assert header.evaluate(padding) == cell.evaluate(padding)
