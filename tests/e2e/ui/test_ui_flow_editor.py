"""The flow editor (issue 16, seed 002): it asks before leaving with unsaved changes; a data
task picks its dataset, version and query from lists; a deploy task's Setup tab and the
Advanced tab's Git branch and commit write the seed's YAML keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml
from playwright.sync_api import expect

from tests.e2e.ui.conftest import User, log_in, shot
from tests.e2e.ui.test_ui_endpoints import PREDICT, sync_files
from tests.e2e.ui.test_ui_files import push

if TYPE_CHECKING:
    from playwright.sync_api import Dialog, Page

TWO = """flow: Two
tasks:
  - title: Prepare
    type: exec
    input: echo prepare
    computes: [default]
    top: 40
    left: 40
  - title: Train
    type: exec
    input: echo train
    computes: [default]
    top: 200
    left: 40
relations:
  - from: Prepare
    to: Train
"""


def test_the_editor_asks_before_leaving_with_unsaved_changes(page: Page, make_user: Any) -> None:
    owner: User = make_user("guard")
    pid = owner.project("guard")["id"]
    owner.call("POST", f"/projects/{pid}/flows", json={"yaml": TWO})
    asked: list[tuple[str, str]] = []
    answers: list[bool] = []  # how to answer the next confirm; Cancel when empty

    def answer(dialog: Dialog) -> None:
        asked.append((dialog.type, dialog.message))
        if dialog.type != "beforeunload" and answers and answers.pop(0):
            dialog.accept()
        else:
            dialog.dismiss()

    page.on("dialog", answer)
    log_in(page, owner)
    page.goto(f"/projects/{pid}/flows")
    page.get_by_role("table", name="Flows").get_by_role("link", name="Two").click()
    page.get_by_test_id("task-Train").wait_for()
    experiments = page.get_by_role("navigation", name="Project").get_by_role(
        "link", name="Experiments"
    )

    # nothing changed: leaving asks nothing
    experiments.click()
    page.wait_for_url("**/experiments")
    page.go_back()
    page.get_by_test_id("task-Train").wait_for()
    assert asked == []

    # delete a task, click another tab: asked; Cancel keeps the page and the edit
    open_task(page, "Train").get_by_role("button", name="Delete task").click()
    expect(page.get_by_test_id("task-Train")).to_have_count(0)
    unsaved = page.get_by_text("unsaved", exact=True)
    expect(unsaved).to_be_visible()
    experiments.click()
    assert [kind for kind, _ in asked] == ["confirm"]
    assert "unsaved changes" in asked[0][1]
    assert page.url.endswith("/flows/edit/Two")
    page.get_by_test_id("task-Prepare").wait_for()
    expect(page.get_by_test_id("task-Train")).to_have_count(0)
    expect(unsaved).to_be_visible()
    shot(page, "flow-editor-unsaved")

    # Back asks too, and Cancel stays
    page.go_back()
    expect(page).to_have_url(f"{page.url.split('/projects/')[0]}/projects/{pid}/flows/edit/Two")
    assert [kind for kind, _ in asked] == ["confirm", "confirm"]
    expect(page.get_by_test_id("task-Train")).to_have_count(0)
    expect(unsaved).to_be_visible()

    # closing the tab (or reloading) asks the browser's own question: beforeunload
    with page.expect_event("dialog"):
        page.close(run_before_unload=True)
    assert asked[-1][0] == "beforeunload"
    assert not page.is_closed()

    # OK leaves; the saved flow is still the old one
    answers.append(True)
    experiments.click()
    page.wait_for_url("**/experiments")
    assert len(asked) == 4
    saved = owner.call("GET", f"/projects/{pid}/flows/Two/versions/1")["yaml"]
    assert "title: Train" in saved


def open_task(page: Page, title: str) -> Any:
    page.get_by_role("button", name=f"Edit task {title}", exact=True).click()
    return page.get_by_role("dialog", name=f"Task: {title}")


def task_yaml(dialog: Any) -> dict[str, Any]:
    """The task's YAML, as the dialog's YAML tab shows it."""
    dialog.get_by_role("tab", name="YAML").click()
    text = dialog.get_by_label("The task's YAML").input_value()
    parsed: dict[str, Any] = yaml.safe_load(text)
    return parsed


def test_pickers_and_the_setup_tab_write_the_seeds_yaml_keys(page: Page, make_user: Any) -> None:
    owner: User = make_user("pickers")
    pid = owner.project("pickers")["id"]
    owner.call("POST", f"/projects/{pid}/datasets", json={"name": "iris", "description": "Flowers"})
    first = push(owner, pid, {"iris.csv": b"a,b\n1,2\n"}, "first", repo="datasets/iris")
    push(owner, pid, {"iris.csv": b"a,b\n1,2\n3,4\n"}, "second", base=first, repo="datasets/iris")
    owner.call(
        "POST",
        f"/projects/{pid}/datasets/iris/queries",
        json={"name": "setosa", "query": "the setosa rows", "filter": "*.csv"},
    )
    sync_files(owner, pid, {"predict.py": PREDICT, "lib/util.py": "X = 1\n"})
    owner.call(
        "POST",
        f"/projects/{pid}/endpoints",
        json={"title": "echo", "file_name": "predict.py", "function_name": "predict"},
    )
    try:
        log_in(page, owner)
        page.goto(f"/projects/{pid}/flows/new")
        page.get_by_label("Flow title").fill("Pickers")
        for kind in ("data", "deploy", "exec"):
            page.get_by_test_id(f"palette-{kind}").press("Enter")
        expect(page.locator(".react-flow__node")).to_have_count(3)

        # a data task: dataset, then a version, then a query (which replaces the version)
        dialog = open_task(page, "Data")
        dialog.get_by_label("Dataset").select_option("iris")
        version = dialog.get_by_label("Version (data_commit)")
        expect(version.locator("option")).to_have_count(3)  # latest and the two versions
        version.select_option(first)
        assert task_yaml(dialog)["data_commit"] == first
        dialog.get_by_role("tab", name="Params").click()
        dialog.get_by_label("Query (data_query)").select_option("setosa")
        shot(page, "flow-task-data-pickers")
        keys = task_yaml(dialog)
        assert keys["dataset"] == "iris"
        assert keys["data_query"] == "setosa"
        assert "data_commit" not in keys
        dialog.get_by_role("button", name="Apply").click()

        # a deploy task: the Setup tab; an existing endpoint is endpoint_id
        dialog = open_task(page, "Deploy")
        expect(dialog.get_by_role("tab", name="Setup")).to_have_attribute("aria-selected", "true")
        dialog.get_by_label("Select endpoint").select_option("echo")
        keys = task_yaml(dialog)
        assert keys["endpoint_id"] == "echo"
        assert "endpoint_title" not in keys
        # ... or + Add new, with the rest of the seed's fields
        dialog.get_by_role("tab", name="Setup").click()
        dialog.get_by_label("Select endpoint").select_option(label="+ Add new")
        dialog.get_by_label("Endpoint title (endpoint_title)").fill("iris-api")
        dialog.get_by_label("File (file_name)").fill("lib/util.py")
        dialog.get_by_label("Function (function_name)").fill("serve")
        dialog.get_by_label("Max replicas (max_replica)").fill("3")
        dialog.get_by_label("Language (env_setup)").select_option("python_3")
        vars_box = dialog.get_by_label("Flask config (config_vars)")
        vars_box.fill("nope")
        expect(dialog.get_by_role("alert")).to_contain_text("not KEY=VALUE")
        expect(dialog.get_by_role("button", name="Apply")).to_be_disabled()
        vars_box.fill("MAX_CONTENT_LENGTH=1048576\nDEBUG=0")
        dialog.get_by_label("Function accepts files as input").check()
        shot(page, "flow-task-deploy-setup")
        dialog.get_by_role("tab", name="Advanced").click()
        dialog.get_by_label("Git branch (git_branch)").fill("release")
        dialog.get_by_label("Git commit (git_commit)").fill("4f2a9c1")
        keys = task_yaml(dialog)
        assert keys["endpoint_title"] == "iris-api"
        assert "endpoint_id" not in keys
        assert keys["file_name"] == "lib/util.py"
        assert keys["function_name"] == "serve"
        assert keys["min_replica"] == 1
        assert keys["max_replica"] == 3
        assert keys["env_setup"] == "python_3"
        assert keys["config_vars"] == ["MAX_CONTENT_LENGTH=1048576", "DEBUG=0"]
        assert keys["accept_files"] is True
        assert keys["git_branch"] == "release"
        assert keys["git_commit"] == "4f2a9c1"
        dialog.get_by_role("button", name="Apply").click()

        # a custom task's Advanced tab has Git branch and commit too
        dialog = open_task(page, "Custom")
        dialog.get_by_label("Script").fill("python3 train.py")
        dialog.get_by_role("tab", name="Advanced").click()
        dialog.get_by_label("Git branch (git_branch)").fill("dev")
        dialog.get_by_role("button", name="Apply").click()

        # the server takes the file as the editor wrote it
        page.get_by_role("button", name="Save").click()
        page.get_by_text("Saved as version 1.").wait_for()
        saved = yaml.safe_load(
            owner.call("GET", f"/projects/{pid}/flows/Pickers/versions/1")["yaml"]
        )
        tasks = {t["title"]: t for t in saved["tasks"]}
        assert tasks["Data"]["data_query"] == "setosa"
        assert tasks["Deploy"]["config_vars"] == ["MAX_CONTENT_LENGTH=1048576", "DEBUG=0"]
        assert tasks["Deploy"]["accept_files"] is True
        assert tasks["Custom"]["git_branch"] == "dev"
    finally:
        owner.call("DELETE", f"/projects/{pid}/endpoints/echo")
