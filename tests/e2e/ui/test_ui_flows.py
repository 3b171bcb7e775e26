"""The flows pages end to end: build a flow on the canvas by dragging and connecting, save, Play
and watch it succeed; approve a pending task in the dialog; a read-only member is offered no
Save, Play, Stop or Approve."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from playwright.sync_api import expect

from tests.e2e.ui.conftest import User, log_in, shot

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

RUN_TIMEOUT_MS = 90_000


def edit_task(page: Page, title: str, new_title: str, script: str, param: str = "") -> None:
    """Open a task's popup, set its title and script (and one parameter), Apply."""
    page.get_by_role("button", name=f"Edit task {title}", exact=True).click()
    dialog = page.get_by_role("dialog", name=f"Task: {title}")
    dialog.get_by_label("Title").fill(new_title)
    dialog.get_by_label("Script").fill(script)
    if param:
        key, values = param.split("=")
        dialog.get_by_role("button", name="Add parameter").click()
        dialog.get_by_label("Key").fill(key)
        dialog.get_by_label("Values").fill(values)
        shot(page, "flow-task-dialog")
    dialog.get_by_role("tab", name="Advanced").click()
    expect(dialog.get_by_label("Computes")).to_have_value("default")
    dialog.get_by_role("tab", name="YAML").click()
    expect(dialog.get_by_label("The task's YAML")).to_contain_text(f"title: {new_title}")
    dialog.get_by_role("button", name="Apply").click()
    expect(dialog).to_have_count(0)


def drag_handle(page: Page, source: Locator, target: Locator) -> None:
    """Press on a handle, move to another in steps, release: React Flow's connect gesture."""
    a = source.bounding_box()
    b = target.bounding_box()
    assert a is not None
    assert b is not None
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=12)
    page.mouse.up()


def wait_run(user: User, pid: str, number: int, want: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        run: dict[str, Any] = user.call("GET", f"/projects/{pid}/flow-runs/{number}")
        if run["status"] == want:
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {number} is {run['status']}, not {want}")


def test_build_a_flow_on_the_canvas_save_play_and_see_it_succeed(
    page: Page, make_user: Any
) -> None:
    owner: User = make_user("flows")
    pid = owner.project("canvas")["id"]
    log_in(page, owner)
    page.goto(f"/projects/{pid}/flows")
    page.get_by_text("No flows yet.").wait_for()
    # an invalid file is refused with the server's reason, naming the file, line and key
    page.get_by_text("Import a flow file").click()
    page.get_by_label("Or paste it").fill(
        "flow: Bad\ntasks:\n  - title: T\n    type: exec\n    input: echo\n"
        "    computes: [default]\n    parms: []\nrelations: []\n"
    )
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("alert")).to_contain_text("parms")
    expect(page.get_by_role("alert")).to_contain_text("flow.yaml:7")
    page.get_by_role("button", name="New flow").click()
    page.get_by_label("Flow title").fill("Two steps")
    canvas = page.get_by_test_id("canvas")
    canvas.wait_for()
    page.get_by_test_id("palette-exec").drag_to(canvas, target_position={"x": 320, "y": 90})
    page.get_by_test_id("palette-exec").drag_to(canvas, target_position={"x": 320, "y": 330})
    expect(page.locator(".react-flow__node")).to_have_count(2)
    edit_task(page, "Custom", "Prepare", "echo hw_tag_rows: 150")
    edit_task(page, "Custom 2", "Train", "echo hw_tag_score: 0.9", param="lr=0.1,0.5")
    drag_handle(
        page,
        page.get_by_test_id("task-Prepare").locator(".react-flow__handle.source"),
        page.get_by_test_id("task-Train").locator(".react-flow__handle.target"),
    )
    expect(page.locator(".react-flow__edge")).to_have_count(1)
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved as version 1.").wait_for()
    page.wait_for_url("**/flows/edit/Two%20steps")
    shot(page, "flow-canvas")

    saved = owner.call("GET", f"/projects/{pid}/flows/Two steps/versions/1")["yaml"]
    assert "from: Prepare\n    to: Train" in saved
    assert "top:" in saved
    assert "left:" in saved
    assert '- "0.1"' in saved

    # the version menu lists the version; Play runs it
    expect(page.get_by_label("Version").locator("option:checked")).to_contain_text("1 (latest)")
    page.get_by_role("button", name="Play").click()
    page.wait_for_url("**/bakes/1")
    page.get_by_role("heading", name="Run 1").wait_for()
    for title in ("Prepare", "Train"):
        expect(page.get_by_test_id(f"run-task-{title}")).to_have_attribute(
            "data-status", "success", timeout=RUN_TIMEOUT_MS
        )
    expect(page.get_by_test_id("counts-Train")).to_have_text("2 instances: 2 success")
    page.locator("#run-title .badge.state-success").wait_for()
    shot(page, "flow-run")
    page.get_by_role("tab", name="Instances").click()
    table = page.get_by_role("table", name="Instances")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table).to_contain_text("lr=0.5")
    expect(table).to_contain_text("score=0.9")
    table.get_by_role("link", name="experiment").first.wait_for()
    page.get_by_role("tab", name="Timeline").click()
    expect(page.get_by_test_id("gantt")).to_have_attribute("data-rows", "3")
    shot(page, "flow-timeline")
    # the bakes list shows the run
    page.get_by_role("link", name="All bakes").click()
    bakes = page.get_by_role("table", name="Bakes")
    expect(bakes.locator("tbody tr")).to_have_count(1)
    expect(bakes).to_contain_text("manual")
    shot(page, "flow-bakes")


def gated_flow(approver: str) -> str:
    return f"""flow: Gated
tasks:
  - title: Build
    type: exec
    input: "echo hw_tag_accuracy: 0.97"
    computes: [default]
    top: 60
    left: 60
  - title: Ship
    type: exec
    input: echo shipped
    computes: [default]
    conditions:
      - objective: human_validation
        value: {approver}
    top: 220
    left: 60
relations:
  - from: Build
    to: Ship
"""


def test_approve_a_pending_task_in_the_dialog(page: Page, make_user: Any) -> None:
    owner: User = make_user("approver")
    pid = owner.project("gated")["id"]
    owner.call("POST", f"/projects/{pid}/flows", json={"yaml": gated_flow(owner.username)})
    run = owner.call("POST", f"/projects/{pid}/flows/Gated/runs", json={})
    wait_run(owner, pid, run["number"], "pending_approval")
    log_in(page, owner)
    page.goto(f"/projects/{pid}/bakes/{run['number']}")
    dialog = page.get_by_role("dialog", name="Approve Ship?")
    dialog.wait_for()  # it opens by itself
    expect(dialog).to_contain_text("accuracy=0.97")
    expect(page.get_by_test_id("run-task-Ship")).to_have_attribute(
        "data-status", "pending_approval"
    )
    shot(page, "flow-approval")
    dialog.get_by_label("Comment").fill("looks good")
    dialog.get_by_role("button", name="Approve").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_test_id("run-task-Ship")).to_have_attribute(
        "data-status", "success", timeout=RUN_TIMEOUT_MS
    )
    page.locator("#run-title .badge.state-success").wait_for()
    shot(page, "flow-approved")


def test_a_cached_instance_shows_its_badge_and_source(page: Page, make_user: Any) -> None:
    owner: User = make_user("cacher")
    pid = owner.project("cached")["id"]
    text = "flow: Again\ntasks:\n  - title: A\n    type: exec\n    input: echo a\n" \
        "    computes: [default]\nrelations: []\n"  # fmt: skip
    owner.call("POST", f"/projects/{pid}/flows", json={"yaml": text})
    first = owner.call("POST", f"/projects/{pid}/flows/Again/runs", json={})
    done = wait_run(owner, pid, first["number"], "success")
    second = owner.call("POST", f"/projects/{pid}/flows/Again/runs", json={})
    wait_run(owner, pid, second["number"], "success")
    log_in(page, owner)
    page.goto(f"/projects/{pid}/bakes/{second['number']}")
    expect(page.get_by_test_id("counts-A")).to_have_text("1 instance: 1 cached")  # the graph
    page.get_by_role("tab", name="Instances").click()
    table = page.get_by_role("table", name="Instances")
    expect(table.locator(".badge.state-cached")).to_have_text("cached")
    number = done["tasks"][0]["instances"][0]["experiment_number"]
    note = table.get_by_test_id("cache-note")
    expect(note).to_contain_text(f"cached from run {first['number']}")
    expect(note.get_by_role("link", name=f"experiment {number}")).to_be_visible()
    shot(page, "flow-cached-instance")


def test_a_read_only_member_sees_no_save_play_stop_or_approve(page: Page, make_user: Any) -> None:
    owner: User = make_user("fowner")
    member: User = make_user("freader")
    pid = owner.project("shared-flow")["id"]
    owner.call("POST", f"/projects/{pid}/members", json={"email": member.email, "jobs": "read"})
    owner.call("POST", f"/projects/{pid}/flows", json={"yaml": gated_flow(owner.username)})
    run = owner.call("POST", f"/projects/{pid}/flows/Gated/runs", json={})
    wait_run(owner, pid, run["number"], "pending_approval")
    log_in(page, member)
    page.goto(f"/projects/{pid}/flows")
    page.get_by_role("table", name="Flows").get_by_role("link", name="Gated").click()
    page.get_by_test_id("task-Build").wait_for()
    assert page.get_by_role("button", name="Play").count() == 0
    assert page.get_by_role("button", name="Save").count() == 0
    assert page.get_by_role("button", name="New flow").count() == 0
    assert page.get_by_test_id("palette-exec").count() == 0
    shot(page, "flow-member-canvas")
    page.goto(f"/projects/{pid}/bakes/{run['number']}")
    page.get_by_text("waits for approval").wait_for()
    expect(page.get_by_test_id("run-task-Ship")).to_have_attribute(
        "data-status", "pending_approval"
    )
    assert page.get_by_role("dialog").count() == 0
    for name in ("Stop", "Restart", "Approve", "Review Ship"):
        assert page.get_by_role("button", name=name).count() == 0, name
    shot(page, "flow-member-run")
    owner.call("POST", f"/projects/{pid}/flow-runs/{run['number']}/stop")


DEPLOY_FLOW = """flow: Serve
tasks:
  - title: Fit
    type: exec
    input: |-
      mkdir -p output && printf 'def predict(x):\\n    return x\\n' > output/predict.py
    computes: [default]
  - title: Publish
    type: deploy
    endpoint_title: churn-api
    file_name: predict.py
    function_name: predict
    min_replica: 1
    max_replica: 3
    computes: [default]
relations:
  - from: Fit
    to: Publish
"""


def test_endpoints_page_and_dashboard_counts(page: Page, make_user: Any) -> None:
    owner: User = make_user("serve")
    pid = owner.project("serve")["id"]
    owner.call("POST", f"/projects/{pid}/flows", json={"yaml": DEPLOY_FLOW})
    run = owner.call("POST", f"/projects/{pid}/flows/Serve/runs", json={})
    wait_run(owner, pid, run["number"], "success")
    log_in(page, owner)
    page.goto(f"/projects/{pid}")
    # the deploy task serves now: its endpoint counts as active while it deploys and runs
    expect(page.get_by_test_id("count-Endpoints active")).to_have_text("1")
    expect(page.get_by_test_id("count-Flows")).to_have_text("1")
    page.get_by_role("navigation", name="Project").get_by_role("link", name="Endpoints").click()
    endpoints = page.get_by_role("table", name="Endpoints")
    row = endpoints.get_by_role("row", name="churn-api")
    expect(row).to_contain_text("/api/v1/endpoints/churn-api/predict")
    expect(row).to_contain_text("running", timeout=120_000)  # a replica task starts
    expect(row).to_contain_text("1/1 ready")
    expect(row).to_contain_text("v1 100%")
    shot(page, "endpoints")
    row.get_by_role("link", name=str(run["number"])).click()
    page.get_by_test_id("run-task-Publish").wait_for()  # the bake that defined it
    page.goto(f"/projects/{pid}")
    expect(page.get_by_test_id("count-Endpoints active")).to_have_text("1")
    shot(page, "dashboard-counts")
    # its replica holds a share of the worker: stopped, the live jobs below need not queue
    owner.call("DELETE", f"/projects/{pid}/endpoints/churn-api")
    # a live job still running, and one that ended: only the first counts as running
    notebook = owner.call(
        "POST", f"/projects/{pid}/experiments", json={"command": "sleep 60", "title": "live:nb"}
    )[0]
    owner.call("POST", f"/projects/{pid}/experiments", json={"command": "true", "title": "live:x"})
    expect(page.get_by_test_id("count-Live jobs active")).to_have_text("1", timeout=30_000)
    expect(page.get_by_test_id("count-Endpoints active")).to_have_text("0")
    owner.call("POST", f"/projects/{pid}/experiments/{notebook['id']}/stop")
