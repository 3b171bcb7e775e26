"""The Workspaces page against a real JupyterLab: started from the UI, opened in a new tab
through the server's proxy (the launcher renders, a notebook cell runs and prints 42), saved
from Headwater's UI as a new version of the files, stopped; the dashboard offers the running
one; a logged-out browser sent to the login page by the proxy goes on to the workspace; an
experiment run with the project setting tensorboard links its running TensorBoard (new tab).

Its own server on a short home under /tmp: a workspace's Unix socket path must fit 108 bytes,
which the session server's pytest folder does not promise.
"""

from __future__ import annotations

import re
import secrets
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.ui.conftest import PASSWORD, TIMEOUT_MS, User, log_in, shot
from tests.e2e.ui.test_ui_endpoints import sync_files
from tests.support.liveserver import RunningServer, running_server
from tests.support.waiting import wait_until

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.slow

READY_S = 120.0  # a workspace is a task: the queue, the sandbox, JupyterLab's start
LAB_MS = 60_000  # JupyterLab's first load through the proxy: many scripts on a busy machine


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    tmp = Path(f"/tmp/hw-wsui-{uuid.uuid4().hex[:6]}")
    tmp.mkdir()
    try:
        with running_server(tmp / "home", tmp / "server.log", "--log-level", "warning") as running:
            yield running
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def owner(server: RunningServer) -> User:
    """A user with a password, owner of a project with one synced file; a tiny compute."""
    admin = {"Authorization": f"Bearer {server.admin_token}"}
    name = f"ws-{secrets.token_hex(3)}"
    made = httpx.post(
        f"{server.url}/api/v1/users",
        headers=admin,
        json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
        timeout=30,
    )
    assert made.status_code == 201, made.text
    tiny = {"name": "tiny", "cpus": 0.1, "memory_mb": 64}
    added = httpx.post(f"{server.url}/api/v1/compute", json=tiny, headers=admin, timeout=30)
    assert added.status_code in (201, 409), added.text
    return User(name, f"{name}@example.com", made.json()["token"], server.url)


@pytest.fixture
def tab(browser: Browser, server: RunningServer) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def stop_all(owner: User, pid: str) -> None:
    """End whatever workspace the test left running (a failed test's too): discard, no save."""
    for w in owner.call("GET", f"/projects/{pid}/workspaces", params={"active": "true"}):
        owner.call("POST", f"/projects/{pid}/workspaces/{w['id']}/stop", json={"discard": True})


def test_a_workspace_started_opened_saved_and_stopped_from_the_ui(
    tab: Page, owner: User, server: RunningServer, browser: Browser
) -> None:
    from playwright.sync_api import expect

    pid = owner.project("ws")["id"]
    sync_files(owner, pid, {"README.md": "# notebooks\n"})
    try:
        log_in(tab, owner)
        tab.goto(f"/projects/{pid}")
        tab.get_by_role("button", name="Start a workspace").wait_for()  # none running yet
        tab.get_by_role("navigation", name="Project").get_by_role("link", name="Workspaces").click()
        form = tab.get_by_role("form", name="Start a workspace")
        form.get_by_label("Name").fill("ui")
        form.get_by_label("Compute").select_option("tiny")
        form.get_by_role("button", name="Start").click()
        row = tab.locator("tr[data-workspace='ui']")
        expect(row).to_be_visible()

        def running() -> dict[str, Any] | None:
            listed = owner.call("GET", f"/projects/{pid}/workspaces")
            return next((w for w in listed if w["state"] == "running"), None)

        workspace = wait_until(running, timeout=READY_S, message=server.log_text)
        expect(row).to_have_attribute("data-state", "running", timeout=TIMEOUT_MS)
        expect(row).to_contain_text(owner.username)  # who started it, by name
        # the culler's time from the API's idle figure (an hour by default)
        expect(row.get_by_test_id("culls")).to_have_text(re.compile(r"^in \d+m.*\(idle 1h\)$"))
        shot(tab, "ui-workspaces")

        # open: JupyterLab in a new tab, through the proxy, with the session cookie only
        with tab.context.expect_page() as opened:
            row.get_by_role("link", name="Open").click()
        lab = opened.value
        assert lab.url.endswith(f"/workspaces/{workspace['id']}/lab")
        launcher = lab.locator(".jp-Launcher")
        expect(launcher).to_be_visible(timeout=LAB_MS)
        expect(lab.locator("#jp-main-dock-panel")).to_be_visible()
        launcher.locator(".jp-LauncherCard[data-category='Notebook']").first.click()
        cell = lab.locator(".jp-Notebook .jp-Cell").first
        editor = cell.locator(".cm-content")
        expect(editor).to_be_visible(timeout=LAB_MS)
        # the kernel answers (the status bar says Idle), then a cell runs through its WebSocket
        kernel = lab.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle"))
        expect(kernel).to_be_visible(timeout=LAB_MS)
        editor.click()
        lab.keyboard.type("print(6*7)")
        expect(editor).to_have_text("print(6*7)")
        lab.keyboard.press("Shift+Enter")
        output = lab.locator(".jp-Notebook .jp-OutputArea-output").first
        try:
            expect(output).to_have_text(re.compile(r"^\s*42\s*$"), timeout=LAB_MS)
        except AssertionError:
            shot(lab, "ui-workspace-lab-failed")
            raise
        lab.keyboard.press("Control+s")  # JupyterLab asks for a name on a first save
        dialog = lab.get_by_role("dialog")
        dialog.get_by_role("textbox").fill("answer.ipynb")
        dialog.get_by_role("button", name="Rename and Save").click()
        expect(lab.locator(".jp-mod-current .lm-TabBar-tabLabel")).to_have_text("answer.ipynb")
        shot(lab, "ui-workspace-lab")
        notebook = "answer.ipynb"

        def on_disk() -> bool:
            got = httpx.get(
                f"{server.url}/workspaces/{workspace['id']}/api/contents/{notebook}",
                headers={"Authorization": f"Bearer {owner.token}"},
                timeout=30,
            )
            return got.status_code == 200 and "print(6*7)" in got.text

        wait_until(on_disk, timeout=30)

        # the project screen offers the running workspace and counts it
        tab.goto(f"/projects/{pid}")
        expect(tab.get_by_test_id("count-Workspaces active")).to_have_text("1")
        expect(tab.get_by_role("link", name="Open the running workspace (ui)")).to_be_visible()

        # save from Headwater's UI: a new version holding the notebook
        before = owner.call("GET", f"/projects/{pid}/files/commits")
        tab.goto(f"/projects/{pid}/workspaces")
        row.get_by_label("Message").fill("from the ui")
        row.get_by_role("button", name="Save").click()
        expect(row.get_by_role("status")).to_have_text(re.compile(r"^Saved version \w+"))
        after = owner.call("GET", f"/projects/{pid}/files/commits")
        assert len(after) == len(before) + 1
        assert after[0]["message"] == "from the ui"
        tree = owner.call("GET", f"/projects/{pid}/files/tree", params={"commit": after[0]["id"]})
        assert notebook in [e["path"] for e in tree["entries"]]

        # stop, discarding: nothing more is committed, the row ends stopped
        row.get_by_label("Discard changes").check()
        row.get_by_role("button", name="Stop").click()
        expect(row).to_have_attribute("data-state", "stopped", timeout=60_000)
        assert len(owner.call("GET", f"/projects/{pid}/files/commits")) == len(after)
        tab.goto(f"/projects/{pid}")
        expect(tab.get_by_test_id("count-Workspaces active")).to_have_text("0")
    finally:
        stop_all(owner, pid)


def test_the_login_page_goes_on_to_the_workspace_the_proxy_sent_a_browser_from(
    browser: Browser, owner: User, server: RunningServer
) -> None:
    from playwright.sync_api import expect

    pid = owner.project("next")["id"]
    sync_files(owner, pid, {"README.md": "# next\n"})
    started = owner.call(
        "POST", f"/projects/{pid}/workspaces", json={"name": "next", "compute": "tiny"}
    )
    try:
        wait_until(
            lambda: (
                owner.call("GET", f"/projects/{pid}/workspaces/{started['id']}")["state"]
                == "running"
            ),
            timeout=READY_S,
            message=server.log_text,
        )
        context = browser.new_context(base_url=server.url)  # no cookie: logged out
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        try:
            page.goto(f"/workspaces/{started['id']}/lab")
            assert "/login?next=" in page.url
            expect(page.get_by_text(f"/workspaces/{started['id']}/lab")).to_be_visible()
            page.get_by_role("textbox", name="Username").fill(owner.username)
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(f"**/workspaces/{started['id']}/lab", timeout=LAB_MS)
            expect(page.locator(".jp-Launcher")).to_be_visible(timeout=LAB_MS)
            # another origin in next is not followed: the login lands on the projects
            page.context.clear_cookies()
            page.goto("/login?next=//evil.example/x")
            page.get_by_role("textbox", name="Username").fill(owner.username)
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.get_by_role("heading", name="Projects").wait_for()
            assert page.url == f"{server.url}/"
        finally:
            context.close()
    finally:
        stop_all(owner, pid)


def test_an_experiment_page_links_its_running_tensorboard_in_a_new_tab(
    tab: Page, owner: User, server: RunningServer
) -> None:
    from playwright.sync_api import expect

    pid = owner.project("tb")["id"]
    owner.call("PATCH", f"/projects/{pid}/settings", json={"tensorboard": True})
    sleeper = "python -c 'import time; time.sleep(120)'"
    [exp] = owner.call("POST", f"/projects/{pid}/experiments", json={"command": sleeper})
    try:
        log_in(tab, owner)
        tab.goto(f"/projects/{pid}/experiments/{exp['number']}")
        tab.get_by_role("heading", name=re.compile(f"Experiment {exp['number']}")).wait_for()

        def board() -> dict[str, Any] | None:
            path = f"/projects/{pid}/experiments/{exp['number']}/tensorboard"
            answer = httpx.get(
                f"{server.url}/api/v1{path}",
                headers={"Authorization": f"Bearer {owner.token}"},
                timeout=30,
            )
            found: dict[str, Any] | None = answer.json() if answer.status_code == 200 else None
            return found if found and found["state"] == "running" else None

        running = wait_until(board, timeout=READY_S, message=server.log_text)
        link = tab.get_by_role("link", name="Open TensorBoard")
        expect(link).to_have_attribute("href", running["url"], timeout=TIMEOUT_MS)
        expect(link).to_have_attribute("target", "_blank")
        shot(tab, "experiment-tensorboard-link")
    finally:
        owner.call("POST", f"/projects/{pid}/experiments/{exp['number']}/stop", json={})
        stop_all(owner, pid)
