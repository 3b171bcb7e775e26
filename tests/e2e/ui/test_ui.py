"""The web UI end to end: log in, projects, the dashboard, a live experiment chart, compare,
settings, monitoring, and what a read-only member is not offered."""

from __future__ import annotations

import re
import sys
import time
from typing import TYPE_CHECKING, Any

from playwright.sync_api import expect

from tests.e2e.ui.conftest import User, log_in, shot

if TYPE_CHECKING:
    from playwright.sync_api import Page

# Prints a point of the `loss` chart every 0.3 s for about 12 s.
SLOW_LOSS = (
    f"{sys.executable} -u -c \"import time; [(print('hw_linechart_loss value:', 1 / (i + 1), "
    'flush=True), time.sleep(0.3)) for i in range(40)]"'
)
QUICK = (
    f'{sys.executable} -u -c "import sys; lr = float(sys.argv[-1]); '
    "[print('hw_linechart_loss value:', lr / (i + 1)) for i in range(8)]; "
    "print('hw_tag_best:', lr / 8)\""
)


def points(page: Page, metric: str) -> int:
    figure = page.locator(f"figure[data-metric='{metric}']")
    figure.wait_for()
    return int(figure.get_attribute("data-points") or 0)


def test_password_login_create_project_and_see_its_dashboard(page: Page, make_user: Any) -> None:
    owner: User = make_user("owner")
    page.goto("/projects")
    page.get_by_role("form", name="Log in").wait_for()
    shot(page, "login")
    log_in(page, owner)
    page.get_by_text("New project").click()
    page.get_by_label("Name").fill("churn-model")
    page.get_by_label("Description").fill("Predicts churn")
    page.get_by_role("button", name="Create project").click()
    page.get_by_role("heading", name="churn-model").wait_for()
    expect(page.get_by_test_id("count-Experiments")).to_have_text("0")
    expect(page.get_by_test_id("count-Flows")).to_have_text("0")
    page.get_by_text("created project").first.wait_for()  # the activity feed
    # the header's switcher names the project now shown
    expect(page.get_by_label("Active project").locator("option:checked")).to_have_text(
        "churn-model"
    )
    shot(page, "dashboard")
    page.set_viewport_size({"width": 420, "height": 800})
    shot(page, "dashboard-narrow", full_page=True)


def test_token_login_and_logout(page: Page, make_user: Any) -> None:
    user: User = make_user("tok")
    page.goto("/")
    page.get_by_role("radio", name="API token").check()
    page.get_by_role("textbox", name="API token").fill(user.token)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Projects").wait_for()
    assert user.username in page.locator("header").inner_text()
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("form", name="Log in").wait_for()
    shot(page, "logged-out")


def test_a_running_experiment_chart_gains_points(page: Page, make_user: Any) -> None:
    owner: User = make_user("runner")
    project = owner.project("live")
    pid = project["id"]
    made = owner.call("POST", f"/projects/{pid}/experiments", json={"command": SLOW_LOSS})
    log_in(page, owner)
    page.goto(f"/projects/{pid}/experiments/{made[0]['number']}")
    deadline = time.monotonic() + 60
    first = 0
    while first == 0 and time.monotonic() < deadline:
        first = points(page, "loss") if page.locator("figure[data-metric='loss']").count() else 0
        time.sleep(0.2)
    assert first > 0, "no point of the loss chart appeared"
    later = first
    while later <= first and time.monotonic() < deadline:
        time.sleep(0.3)
        later = points(page, "loss")
    assert later > first, f"the chart stayed at {first} points"
    page.get_by_text("hw_linechart_loss value").first.wait_for()  # live logs
    shot(page, "experiment-live")
    page.locator(".badge.state-success").wait_for(timeout=60_000)
    expect(page.locator("figure[data-metric='loss']")).to_have_attribute("data-points", "40")


def test_experiments_table_and_compare(page: Page, make_user: Any) -> None:
    owner: User = make_user("grid")
    pid = owner.project("grid")["id"]
    runs = [{"lr": lr} for lr in ("0.1", "0.5", "0.9")]
    made = owner.call(
        "POST", f"/projects/{pid}/experiments", json={"command": QUICK + " --lr", "runs": runs}
    )
    assert len(made) == 3
    for e in made:  # wait for the grid to end
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = owner.call("GET", f"/projects/{pid}/experiments/{e['number']}")["state"]
            if state in ("success", "failed", "aborted"):
                break
            time.sleep(0.3)
        assert state == "success", state
    log_in(page, owner)
    page.goto(f"/projects/{pid}/experiments")
    table = page.get_by_role("table", name="Experiments")
    table.get_by_role("link", name="3").wait_for()
    expect(table.locator("tbody tr td:nth-child(2)")).to_have_text(["3", "2", "1"])  # newest first
    page.get_by_role("button", name="#").click()  # oldest first, from the server
    page.wait_for_url("**order=asc**")
    expect(table.locator("tbody tr td:nth-child(2)")).to_have_text(["1", "2", "3"])
    header = table.get_by_role("columnheader", name="Created")
    header.get_by_role("button").click()  # another column: highest (newest) first
    page.wait_for_url("**sort=created_at**")
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(table.locator("tbody tr td:nth-child(2)")).to_have_text(["3", "2", "1"])
    expect(table.get_by_role("columnheader", name="#")).to_have_attribute("aria-sort", "none")
    page.get_by_label("State").select_option("failed")
    page.get_by_text("0 of 0").wait_for()
    page.get_by_label("State").select_option("success")
    page.get_by_text("1\u20133 of 3").wait_for()  # an en dash
    shot(page, "experiments")
    page.get_by_label("Compare experiment 1").check()
    page.get_by_label("Compare experiment 3").check()
    page.get_by_role("button", name="Compare (2)").click()
    page.get_by_role("heading", name="Compare experiments #1, #3").wait_for()
    chart = page.locator("figure[data-metric='loss']")
    expect(chart).to_have_attribute("data-drawn", re.compile(r"^#1=[^|]+\|#3=[^|]+$"))  # overlaid
    assert "lr" in page.locator("table.compare").inner_text()
    shot(page, "compare")


def test_settings_tabs_for_the_owner(page: Page, make_user: Any) -> None:
    owner: User = make_user("settings")
    pid = owner.project("settings")["id"]
    log_in(page, owner)
    page.goto(f"/projects/{pid}/settings")
    tabs = page.get_by_role("tablist", name="Settings")
    all_tabs = ["General", "Collaborators", "Environment", "Secrets", "Webhooks and Slack", "Git"]
    expect(tabs.get_by_role("tab")).to_have_text(all_tabs)
    # keyboard: arrow keys move between tabs
    tabs.get_by_role("tab", name="General").focus()
    page.keyboard.press("ArrowRight")
    page.get_by_role("heading", name="Collaborators", exact=True).wait_for()
    tabs.get_by_role("tab", name="Secrets").click()
    page.get_by_label("Key", exact=True).fill("AWS_SECRET")
    page.get_by_label("Value", exact=True).fill("s3cr3t-value")
    page.get_by_role("button", name="Set secret").click()
    page.get_by_role("table", name="Secrets").locator("code", has_text="AWS_SECRET").wait_for()
    assert "s3cr3t-value" not in page.content()
    shot(page, "settings-secrets")
    tabs.get_by_role("tab", name="Environment").click()
    page.get_by_label("Name", exact=True).fill("MODE")
    page.get_by_label("Value", exact=True).fill("fast")
    page.get_by_role("button", name="Set variable").click()
    page.get_by_role("table", name="Environment variables").locator(
        "code", has_text="MODE"
    ).wait_for()
    shot(page, "settings-environment")

    tabs.get_by_role("tab", name="Webhooks and Slack").click()
    slack = page.get_by_role("form", name="Slack")
    slack.get_by_label("Channel").fill("#ml-runs")
    slack.get_by_label("Incoming webhook URL").fill("https://hooks.slack.example/T/B/x")
    slack.get_by_role("button", name="Save Slack").click()
    expect(slack.get_by_role("status")).to_have_text("Saved.")
    stored = owner.call("GET", f"/projects/{pid}/settings")["slack"]
    assert stored == {"channel": "#ml-runs", "webhook_url": "https://hooks.slack.example/T/B/x"}

    tabs.get_by_role("tab", name="Git").click()
    git = page.get_by_role("form", name="Git repository")
    git.get_by_label("Repository", exact=True).fill("git@github.com:org/churn.git")
    git.get_by_label("Branch").fill("two words")
    git.get_by_role("button", name="Save Git").click()
    expect(git.get_by_role("alert")).to_contain_text("not a valid branch name")
    assert owner.call("GET", f"/projects/{pid}/settings")["git"]["repo"] == ""  # nothing stored
    git.get_by_label("Branch").fill("main")
    git.get_by_label("Private repository").check()
    git.get_by_role("button", name="Save Git").click()
    expect(git.get_by_role("status")).to_have_text("Saved.")
    stored = owner.call("GET", f"/projects/{pid}/settings")["git"]
    assert stored == {"repo": "git@github.com:org/churn.git", "branch": "main", "private": True}
    key = page.get_by_role("form", name="Git SSH key")
    key.get_by_label("Private key").fill("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n")
    key.get_by_role("button", name="Save key").click()
    page.get_by_text("Set: deploy key").wait_for()
    assert "BEGIN OPENSSH" not in page.locator("main").inner_text()
    shot(page, "settings-git")


def test_a_read_only_member_is_offered_no_run_and_no_owner_settings(
    page: Page, make_user: Any
) -> None:
    owner: User = make_user("own")
    member: User = make_user("reader")
    pid = owner.project("shared")["id"]
    owner.call("POST", f"/projects/{pid}/members", json={"email": member.email, "jobs": "read"})
    owner.call("POST", f"/projects/{pid}/experiments", json={"command": "echo hi"})
    log_in(page, member)
    page.goto(f"/projects/{pid}/experiments")
    page.get_by_role("table", name="Experiments").get_by_role("link", name="1").wait_for()
    assert page.get_by_text("Run an experiment").count() == 0
    assert page.get_by_role("button", name="Run").count() == 0
    shot(page, "member-experiments")
    page.goto(f"/projects/{pid}/experiments/1")
    page.get_by_role("heading", name="Experiment 1").wait_for()
    assert page.get_by_role("button", name="Stop").count() == 0
    page.goto(f"/projects/{pid}/settings")
    tabs = page.get_by_role("tablist", name="Settings")
    expect(tabs.get_by_role("tab")).to_have_text(["General", "Collaborators", "Environment", "Git"])
    tabs.get_by_role("tab", name="Collaborators").click()
    page.get_by_role("table", name="Collaborators").get_by_text(member.username).wait_for()
    assert page.get_by_role("button", name="Add collaborator").count() == 0
    shot(page, "member-settings")
    tabs.get_by_role("tab", name="Git").click()
    page.get_by_text("not linked").wait_for()  # read, not edited
    assert page.get_by_role("form", name="Git repository").count() == 0
    assert page.get_by_role("form", name="Git SSH key").count() == 0

    # the owner of the same project is offered the Run form
    page.get_by_role("button", name="Log out").click()
    log_in(page, owner)
    page.goto(f"/projects/{pid}/experiments")
    page.get_by_text("Run an experiment").click()
    page.get_by_role("button", name="Run", exact=True).wait_for()


def test_monitoring_shows_jobs_and_resource_bars(page: Page, make_user: Any) -> None:
    user: User = make_user("mon")
    log_in(page, user)
    page.get_by_role("link", name="Monitoring").click()
    page.get_by_role("heading", name="Monitoring").wait_for()
    for label in ("CPU", "GPU", "Memory", "Storage"):
        page.get_by_role("meter", name=label).wait_for()
    assert page.get_by_test_id("active-jobs").inner_text().isdigit()
    shot(page, "monitoring")
