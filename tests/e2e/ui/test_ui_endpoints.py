"""The Endpoints page against a real endpoint: a replica task serving a function in the sandbox,
predictions through the server's gateway, the traffic charts moving under load, try-it, scaling
from the page, and a read-only member who may try but is offered no control.

The charts are read through their ``data-drawn`` attribute (the points they draw), not their
pixels: "the chart moved" means its data changed between two reads and shows requests.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.ui.conftest import User, drawn, log_in, shot
from tests.support.waiting import wait_until

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

PREDICT = """\
def predict(x):
    return {"echo": x}
"""
READY_S = 120.0  # a replica is a task: the queue, the sandbox, an interpreter, the import


def sync_files(owner: User, pid: str, files: dict[str, str]) -> None:
    """Commit ``files`` as the project's files, as `hw sync` does."""
    entries = []
    for path, text in files.items():
        blob = text.encode()
        digest = hashlib.sha256(blob).hexdigest()
        put = httpx.put(
            f"{owner.url}/api/v1/projects/{pid}/files/objects/{digest}",
            content=blob,
            headers={"Authorization": f"Bearer {owner.token}"},
            timeout=30,
        )
        assert put.status_code in (200, 201), put.text
        entries.append({"path": path, "hash": digest, "size": len(blob)})
    owner.call("POST", f"/projects/{pid}/files/commits", json={"entries": entries, "message": "s"})


@pytest.fixture
def served(make_user: Any) -> Iterator[tuple[User, str, dict[str, Any], str]]:
    """An endpoint deployed through the API and running with one ready replica: the owner,
    the project id, its detail and its key. Deleted afterwards (its replica stops)."""
    owner: User = make_user("serve")
    pid = owner.project("serve")["id"]
    sync_files(owner, pid, {"predict.py": PREDICT})
    made = owner.call(
        "POST",
        f"/projects/{pid}/endpoints",
        json={"title": "echo", "file_name": "predict.py", "function_name": "predict"},
    )
    key = made["key"]["key"]

    def running() -> dict[str, Any] | None:
        shown: dict[str, Any] = owner.call("GET", f"/projects/{pid}/endpoints/echo")
        ready = [r for r in shown["replicas"] if r["state"] == "ready"]
        return shown if shown["status"] == "running" and ready else None

    detail = wait_until(
        running,
        timeout=READY_S,
        message=lambda: str(owner.call("GET", f"/projects/{pid}/endpoints/echo/logs"))[-3000:],
    )
    try:
        yield owner, pid, detail, key
    finally:
        owner.call("DELETE", f"/projects/{pid}/endpoints/echo")


@contextmanager
def load(url: str, key: str) -> Iterator[list[int]]:
    """A thread sending predictions until the block ends; the statuses it got."""
    statuses: list[int] = []
    stop = threading.Event()

    def send() -> None:
        with httpx.Client(timeout=30) as http:
            while not stop.is_set():
                answer = http.post(
                    url, json={"input_params": 1}, headers={"Authorization": f"Bearer {key}"}
                )
                statuses.append(answer.status_code)
                stop.wait(0.02)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    try:
        yield statuses
    finally:
        stop.set()
        thread.join(30)


def test_a_running_endpoint_its_live_requests_chart_and_try_it(
    page: Page, served: tuple[User, str, dict[str, Any], str]
) -> None:
    from playwright.sync_api import expect

    owner, pid, detail, key = served
    log_in(page, owner)
    page.goto(f"/projects/{pid}")
    expect(page.get_by_test_id("count-Endpoints active")).to_have_text("1")
    page.goto(f"/projects/{pid}/endpoints")
    row = page.get_by_role("table", name="Endpoints").get_by_role("row", name="echo")
    expect(row).to_contain_text("running")
    expect(row).to_contain_text("1/1 ready")
    expect(row).to_contain_text("v1 100%")
    expect(row).to_contain_text(f"/api/v1/endpoints/{detail['slug']}/predict")
    row.get_by_role("link", name="echo").click()
    expect(page.get_by_role("heading", name="echo")).to_contain_text("running")
    expect(page.get_by_test_id("endpoint-url")).to_have_text(detail["url"])
    expect(page.get_by_test_id("replicas-ready")).to_have_text("1")

    with load(detail["url"], key) as statuses:
        # the requests/s chart shows the load, then moves: its data changes between two reads
        def busy() -> dict[str, list[tuple[float, float]]] | None:
            lines = drawn(page, "Requests/s")
            return lines if any(y > 0 for y in (y for _, y in lines.get("v1", []))) else None

        first = wait_until(busy, timeout=30, message="the requests/s chart never showed the load")

        def moved() -> dict[str, list[tuple[float, float]]] | None:
            lines = busy()
            newest = max(x for x, _ in first["v1"])
            newer = [y for x, y in (lines or {}).get("v1", []) if x > newest]
            return lines if newer and newer[-1] > 0 else None  # a newer bucket, with requests

        second = wait_until(moved, timeout=30, message=lambda: f"still {first}")
        assert second != first
        latency = drawn(page, "Latency")
        assert latency["v1 p50"], latency
        assert latency["v1 p99"], latency
        titles = page.locator("figure[data-metric='Requests/s'] .axis-title")
        expect(titles).to_have_text(["time (per 5 s bucket)", "requests/s"])
        page.locator("figure[data-metric='Requests/s'] .u-over").hover()  # the plot area
        expect(page.get_by_test_id("chart-hover")).to_contain_text(":")  # a time of day
        shot(page, "endpoint-live")
    assert statuses
    assert set(statuses) == {200}, statuses[-20:]

    page.reload()  # the try-it box starts from the newest logged request, the load's
    body = page.get_by_role("textbox", name="Request body (JSON)")
    expect(body).to_have_value('{\n  "input_params": 1\n}')
    body.fill('{"input_params": [3, 4]}')
    expect(page.get_by_test_id("snippet")).to_contain_text("Authorization: Bearer")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("try-status")).to_have_text("200")
    expect(page.get_by_test_id("try-answer")).to_contain_text('"echo": [')
    expect(page.get_by_test_id("try-latency")).to_contain_text("ms")
    page.get_by_role("heading", name="Try it").scroll_into_view_if_needed()
    shot(page, "endpoint-try")
    log = page.get_by_role("table", name="Request log")
    newest = log.get_by_role("row").nth(1)
    expect(newest).to_contain_text("[3,4]")
    newest.get_by_role("button", name="Replay").click()
    replayed = page.get_by_label("Replayed")
    expect(replayed).to_contain_text("200")
    expect(replayed).to_contain_text('{"prediction":{"echo":[3,4]}}')
    body.fill('{"input": 1}')
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_contain_text("input_params")

    scale = page.get_by_role("form", name="Scale")
    scale.get_by_role("spinbutton", name="Max replicas").fill("2")
    scale.get_by_role("button", name="Scale").click()
    expect(page.get_by_role("heading", name="Replicas")).to_contain_text("between 1 and 2")
    assert owner.call("GET", f"/projects/{pid}/endpoints/echo")["max_replicas"] == 2


def test_a_read_only_member_may_try_an_endpoint_but_is_offered_no_controls(
    page: Page, served: tuple[User, str, dict[str, Any], str], make_user: Any
) -> None:
    from playwright.sync_api import expect

    owner, pid, _, _ = served
    member: User = make_user("ereader")
    owner.call("POST", f"/projects/{pid}/members", json={"email": member.email, "jobs": "read"})
    log_in(page, member)
    page.goto(f"/projects/{pid}/endpoints/echo")
    expect(page.get_by_role("heading", name="echo")).to_contain_text("running")
    page.get_by_role("textbox", name="Request body (JSON)").fill('{"input_params": "member"}')
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("try-answer")).to_contain_text('"echo": "member"')
    expect(page.get_by_role("table", name="Request log")).to_contain_text("member")
    for name in ("Stop", "Start", "Rollback", "Scale", "Replay"):
        assert page.get_by_role("button", name=name).count() == 0, name
