"""The experiments table for comparison work (issue 16): a metric column chosen and sorted by
on the server finds the best run, the choice is remembered for the project, a filter narrows
the rows (and a bad one says where it is wrong), and a failed run shows its reason in its row."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from playwright.sync_api import expect

from tests.e2e.ui.conftest import User, log_in, shot
from tests.support.waiting import wait_until

if TYPE_CHECKING:
    from playwright.sync_api import Page

# accuracy rises to 0.9 * lr then falls back to 0.5 * lr: its max and its latest differ
TRAIN = (
    f'{sys.executable} -u -c "import sys; lr = float(sys.argv[-1]); '
    "[print('hw_linechart_accuracy value:', lr * f) for f in (0.2, 0.9, 0.5)]; "
    "print('hw_tag_stage:', 'big' if lr > 0.6 else 'small')\""
)
FAIL = f'{sys.executable} -c "raise SystemExit(3)"'


def ended(owner: User, pid: str, count: int) -> bool:
    page = owner.call("GET", f"/projects/{pid}/experiments", params={"limit": 50})
    return page["total"] == count and all(e["ended_at"] for e in page["items"])


def test_a_metric_column_sorts_to_the_best_run_filters_narrow_and_failures_say_why(
    page: Page, make_user: Any
) -> None:
    owner: User = make_user("table")
    pid = owner.project("table")["id"]
    runs = [{"lr": lr} for lr in ("0.3", "0.9", "0.5", "0.7")]
    owner.call(
        "POST", f"/projects/{pid}/experiments", json={"command": TRAIN + " --lr", "runs": runs}
    )
    owner.call("POST", f"/projects/{pid}/experiments", json={"command": FAIL, "title": "oom"})
    wait_until(lambda: ended(owner, pid, 5), timeout=90, message="the runs did not end")

    log_in(page, owner)
    page.goto(f"/projects/{pid}/experiments")
    table = page.get_by_role("table", name="Experiments")
    table.get_by_role("link", name="5").wait_for()
    failed_row = table.locator("tbody tr", has=page.get_by_role("link", name="5", exact=True))
    expect(failed_row.locator(".reason")).to_contain_text("exit code 3")

    # choose the metric column: its highest value, then sort by it (highest first)
    page.get_by_text("Columns", exact=True).click()
    page.get_by_label("Column accuracy (max)").check()
    page.get_by_label("Column stage (tag)").check()
    header = table.get_by_role("columnheader", name="accuracy (max)")
    header.get_by_role("button").click()
    page.wait_for_url("**sort=metrics.accuracy.max**")
    expect(header).to_have_attribute("aria-sort", "descending")
    numbers = table.locator("tbody tr td:nth-child(2)")
    expect(numbers).to_have_text(["2", "4", "3", "1", "5"])  # the best first, no metric last
    cells = table.locator("tbody tr td[data-column='metrics.accuracy.max']")
    expect(cells.first).to_have_text("0.81")
    shot(page, "experiments-metric-columns")

    # remembered for this project: a reload shows the same columns
    page.reload()
    expect(table.get_by_role("columnheader", name="accuracy (max)")).to_be_visible()
    expect(table.get_by_role("columnheader", name="stage (tag)")).to_be_visible()

    # a filter narrows the rows, on the server
    box = page.get_by_role("searchbox", name="Filter")
    box.fill("accuracy.max > 0.4 and stage == small")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**filter=**")
    expect(numbers).to_have_text(["3"])
    page.get_by_text("1\u20131 of 1").wait_for()
    box.fill("status == failed")
    page.get_by_role("button", name="Apply").click()
    expect(numbers).to_have_text(["5"])

    # a mistake says what and where
    box.fill("acuracy > 0.5")
    page.get_by_role("button", name="Apply").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("filter, column 1")
    expect(alert).to_contain_text("Did you mean accuracy?")
    shot(page, "experiments-filter-error")
