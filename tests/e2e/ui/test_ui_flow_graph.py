"""The run graph you can trust (issue 16): every task box in view after each of 10 reloads,
edges of a left-to-right layout joining facing sides, a task's instances per flow route with
their logs opening in place, and a reject's comment kept and shown."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from playwright.sync_api import expect

from tests.e2e.ui.conftest import TIMEOUT_MS, User, log_in, shot
from tests.e2e.ui.test_ui_flows import RUN_TIMEOUT_MS, gated_flow
from tests.support.waiting import wait_until

if TYPE_CHECKING:
    from playwright.sync_api import Page

# Left to right, far wider than the canvas at zoom 1, with a box far down: only a view fitted
# to these places shows every box. Hold keeps the run going, so the page polls while it reloads.
WIDE = """flow: Wide
tasks:
  - title: Prepare
    type: exec
    input: "echo prepared $HW_TAG_N"
    computes: [default]
    params:
      - key: n
        value: ["1", "2"]
    top: 40
    left: 40
  - title: Train
    type: exec
    input: "echo hw_tag_score: 0.9; echo training with lr $HW_TAG_LR"
    computes: [default]
    params:
      - key: lr
        value: ["0.1", "0.5"]
    top: 40
    left: 900
  - title: Hold
    type: exec
    input: "python3 -c 'import time; time.sleep(600)'"
    computes: [default]
    top: 700
    left: 1800
relations:
  - from: Prepare
    to: Train
"""

# every box is laid out (React Flow hides a box until it is measured) and lies inside the canvas
ALL_IN_VIEW = """(titles) => {
  const pane = document.querySelector('[data-testid="run-graph"] .react-flow');
  if (!pane) return false;
  const outer = pane.getBoundingClientRect();
  if (outer.width === 0 || outer.height === 0) return false;
  return titles.every((t) => {
    const box = document.querySelector(`[data-testid="run-task-${t}"]`);
    if (!box) return false;
    const node = box.closest('.react-flow__node');
    if (!node || getComputedStyle(node).visibility !== 'visible') return false;
    const r = box.getBoundingClientRect();
    return r.width > 0 && r.left >= outer.left - 1 && r.right <= outer.right + 1
      && r.top >= outer.top - 1 && r.bottom <= outer.bottom + 1;
  });
}"""


def test_every_task_box_is_in_view_after_each_of_ten_reloads(page: Page, make_user: Any) -> None:
    owner: User = make_user("graph")
    pid = owner.project("graph")["id"]
    owner.call("POST", f"/projects/{pid}/flows", json={"yaml": WIDE})
    run = owner.call("POST", f"/projects/{pid}/flows/Wide/runs", json={})
    number = run["number"]
    try:
        log_in(page, owner)
        page.goto(f"/projects/{pid}/bakes/{number}")
        titles = ["Prepare", "Train", "Hold"]
        for attempt in range(10):
            if attempt:
                page.reload()
            page.get_by_role("heading", name=f"Run {number}").wait_for()
            page.wait_for_function(ALL_IN_VIEW, arg=titles, timeout=TIMEOUT_MS)
        shot(page, "flow-run-graph")
        # side by side, the edge leaves Prepare's right side and enters Train's left side
        edge = page.locator(".react-flow__edge")
        expect(edge).to_have_count(1)
        expect(edge).to_have_class(re.compile(r"(^|\s)sides-right-left(\s|$)"))

        # the view fits again when the canvas changes size
        page.set_viewport_size({"width": 900, "height": 800})
        page.wait_for_function(ALL_IN_VIEW, arg=titles, timeout=TIMEOUT_MS)

        # Train's instances, per route: two routes (one per Prepare instance), two on each
        wait_until(
            lambda: all(
                t["status"] == "success"
                for t in owner.call("GET", f"/projects/{pid}/flow-runs/{number}")["tasks"]
                if t["title"] == "Train"
            ),
            timeout=RUN_TIMEOUT_MS / 1000,
        )
        page.set_viewport_size({"width": 1280, "height": 800})
        page.get_by_role("button", name="Open task Train").click()
        panel = page.get_by_test_id("task-panel")
        routes = panel.get_by_role("group")
        expect(routes).to_have_count(2)
        expect(routes.nth(0)).to_contain_text("Route: Prepare (n=1) → Train")
        expect(routes.nth(1)).to_contain_text("Route: Prepare (n=2) → Train")
        expect(routes.nth(0).locator("li")).to_have_count(2)
        expect(routes.nth(1).locator("li")).to_have_count(2)
        # a log opens in place, under its instance
        first = routes.nth(1).locator("li").nth(1)
        expect(first).to_contain_text("lr=0.5")
        first.get_by_role("button", name="Log").click()
        expect(first.get_by_label("Logs")).to_contain_text("training with lr 0.5")
        expect(page).to_have_url(f"{page.url.split('?')[0]}")  # no navigation
        shot(page, "flow-run-task-panel", full_page=True)
        first.get_by_role("button", name="Hide log").click()
        expect(first.get_by_label("Logs")).to_have_count(0)
    finally:
        owner.call("POST", f"/projects/{pid}/flow-runs/{number}/stop")


def test_a_reject_comment_is_stored_and_shown(page: Page, make_user: Any) -> None:
    owner: User = make_user("rejecter")
    pid = owner.project("reject")["id"]
    owner.call("POST", f"/projects/{pid}/flows", json={"yaml": gated_flow(owner.username)})
    run = owner.call("POST", f"/projects/{pid}/flows/Gated/runs", json={})
    wait_until(
        lambda: (
            owner.call("GET", f"/projects/{pid}/flow-runs/{run['number']}")["status"]
            == "pending_approval"
        ),
        timeout=RUN_TIMEOUT_MS / 1000,
    )
    log_in(page, owner)
    page.goto(f"/projects/{pid}/bakes/{run['number']}")
    dialog = page.get_by_role("dialog", name="Approve Ship?")
    dialog.get_by_label("Comment").fill("accuracy fell on the holdout")
    dialog.get_by_role("button", name="Reject").click()
    expect(dialog).to_have_count(0)
    page.locator("#run-title .badge.state-aborted").wait_for()
    stored = owner.call("GET", f"/projects/{pid}/flow-runs/{run['number']}")
    ship = next(t for t in stored["tasks"] if t["title"] == "Ship")
    assert ship["comment"] == "accuracy fell on the holdout"
    # shown on the run's page, after a reload too, and in the task's panel
    page.reload()
    decision = page.get_by_test_id("decided-Ship")
    expect(decision).to_contain_text(f"Task Ship was rejected by {owner.username}")
    expect(decision).to_contain_text("accuracy fell on the holdout")
    page.get_by_role("button", name="Open task Ship").click()
    expect(page.get_by_test_id("decision-Ship")).to_have_text(
        f"Rejected by {owner.username}: accuracy fell on the holdout"
    )
    shot(page, "flow-run-rejected")
