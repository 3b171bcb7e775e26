"""A run of 300 instances in the browser: the graph shows each task's counts, the Instances
tab pages the list, every poll carries a few instances per task (never the whole run), and
Stop ends all 300."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from playwright.sync_api import expect

from tests.e2e.ui.conftest import User, log_in, shot

if TYPE_CHECKING:
    from playwright.sync_api import Page, Response

WIDE = 300


def wide_flow() -> str:
    values = ", ".join(str(i) for i in range(WIDE))
    return (
        "flow: Wide\ntasks:\n  - title: Fan\n    type: exec\n"
        "    input: python -c 'import time; time.sleep(60)'\n"
        f"    computes: [default]\n    params:\n      - key: i\n        value: [{values}]\n"
        "relations: []\n"
    )


def test_a_wide_run_shows_counts_pages_its_instances_and_stops_whole(
    page: Page, make_user: Any
) -> None:
    owner: User = make_user("wide")
    pid = owner.project("wide")["id"]
    owner.call("POST", f"/projects/{pid}/flows", json={"yaml": wide_flow()})
    run = owner.call("POST", f"/projects/{pid}/flows/Wide/runs", json={})
    polled: list[int] = []

    def count_instances(response: Response) -> None:
        if response.url.split("?")[0].endswith(f"/flow-runs/{run['number']}"):
            body = response.json()
            polled.append(max(len(t.get("instances", [])) for t in body["tasks"]))

    page.on("response", count_instances)
    try:
        log_in(page, owner)
        page.goto(f"/projects/{pid}/bakes/{run['number']}")
        expect(page.get_by_test_id("counts-Fan")).to_contain_text("300 instances:")
        page.get_by_role("tab", name="Instances").click()
        table = page.get_by_role("table", name="Instances")
        expect(table.locator("tbody tr")).to_have_count(50)
        pager = page.get_by_test_id("instances").locator(".pager")
        expect(pager).to_contain_text("1\u201350 of 300")
        pager.get_by_role("button", name="Next").click()
        expect(pager).to_contain_text("51\u2013100 of 300")
        expect(table).to_contain_text("i=50")
        shot(page, "flow-wide-instances")
        page.get_by_role("button", name="Stop").click()
        page.locator("#run-title .badge.state-aborted").wait_for()
        expect(table.locator("tbody tr").first).to_contain_text("aborted")
        page.get_by_role("tab", name="Graph").click()
        expect(page.get_by_test_id("run-task-Fan")).to_have_attribute("data-status", "aborted")
        expect(page.get_by_test_id("counts-Fan")).to_have_text("300 instances: 300 aborted")
    finally:
        owner.call("POST", f"/projects/{pid}/flow-runs/{run['number']}/stop")
    assert polled, "the run was never polled"
    assert max(polled) <= 20, polled  # a few per task, never the whole run
