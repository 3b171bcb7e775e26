"""Endpoints that serve, end to end: a real ``hw server`` with its local worker (tasks in the
bubblewrap sandbox), replicas as real tasks running ``python -m headwater.serving``, and
predictions through the server's gateway.

The server runs with short serving policies (a rollout steps every half second once it saw 10
requests; the autoscaler reacts after a second) so the controller's decisions show within a
test; the policies themselves are unit-tested in tests/unit/domain.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from headwater.db.database import Database, sqlite_url
from headwater.db.repos.endpoints import EndpointRepo
from headwater.domain.endpoint_records import TrafficBucket
from tests.support.liveserver import RunningServer, running_server
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

PREDICT = """\
import os


def predict(x):
    return {"echo": x, "greeting": os.environ.get("GREETING"), "version": VERSION}


def broken(x):
    raise ValueError("this version refuses everything")


VERSION = "v1"
"""

POLICIES = {
    "HEADWATER_SERVING_ROLLOUT_FIRST_PERCENT": "50",
    "HEADWATER_SERVING_ROLLOUT_STEP_PERCENT": "50",
    "HEADWATER_SERVING_ROLLOUT_INTERVAL": "0.5",
    "HEADWATER_SERVING_ROLLOUT_MIN_REQUESTS": "10",
    "HEADWATER_SERVING_ROLLOUT_MAX_P99_RATIO": "1000",  # a loaded test machine is noisy
    "HEADWATER_SERVING_AUTOSCALE_UP_AFTER": "1",
    "HEADWATER_SERVING_AUTOSCALE_DOWN_AFTER": "1",
    "HEADWATER_SERVING_AUTOSCALE_COOLDOWN": "0",
}
WAIT = 120.0  # replicas are tasks: a queue, a sandbox, an interpreter to start


@dataclass
class Site:
    server: RunningServer
    http: httpx.Client
    project: str
    db: Database
    keys: dict[str, str] = field(default_factory=dict)  # endpoint title: its key

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(
            method,
            f"/api/v1/projects/{self.project}{path}",
            headers={"Authorization": f"Bearer {self.server.admin_token}"},
            **kwargs,
        )

    def sync(self, files: dict[str, str]) -> str:
        """Commit ``files`` as the project's files (what `hw sync` does); the commit id."""
        entries = []
        for path, text in files.items():
            blob = text.encode()
            digest = hashlib.sha256(blob).hexdigest()
            put = self.api("PUT", f"/files/objects/{digest}", content=blob)
            assert put.status_code in (200, 201), put.text
            entries.append({"path": path, "hash": digest, "size": len(blob)})
        made = self.api("POST", "/files/commits", json={"entries": entries, "message": "sync"})
        assert made.status_code == 201, made.text
        return str(made.json()["id"])

    def deploy(self, title: str, function: str = "predict", **more: Any) -> dict[str, Any]:
        body = {"title": title, "file_name": "predict.py", "function_name": function, **more}
        made = self.api("POST", "/endpoints", json=body)
        assert made.status_code == 201, made.text
        answer: dict[str, Any] = made.json()
        if answer["key"] is not None:
            self.keys[title] = answer["key"]["key"]
        return answer

    def show(self, title: str) -> dict[str, Any]:
        shown = self.api("GET", f"/endpoints/{title}")
        assert shown.status_code == 200, shown.text
        answer: dict[str, Any] = shown.json()
        return answer

    def predict(self, slug: str, value: Any, key: str) -> httpx.Response:
        return self.http.post(
            f"/api/v1/endpoints/{slug}/predict",
            json={"input_params": value},
            headers={"Authorization": f"Bearer {key}"},
        )

    def running(self, title: str, *, ready: int = 1, version: int | None = None) -> dict[str, Any]:
        """Wait until the endpoint runs with ``ready`` ready replicas (of ``version``)."""

        def done() -> dict[str, Any] | None:
            shown = self.show(title)
            replicas = [
                r
                for r in shown["replicas"]
                if r["state"] == "ready" and (version is None or r["version"] == version)
            ]
            if shown["status"] == "running" and len(replicas) == ready:
                return shown
            return None

        return wait_until(done, timeout=WAIT, message=lambda: self.explain(title))

    def explain(self, title: str) -> str:
        shown = self.api("GET", f"/endpoints/{title}").text
        logs = self.api("GET", f"/endpoints/{title}/logs").text
        return f"{shown}\n--- replica logs ---\n{logs[-4000:]}\n--- server ---\n" + (
            self.server.log_text()[-4000:]
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("ep")
    with (
        running_server(tmp / "home", tmp / "server.log", "--log-level", "warning", **POLICIES)
        as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        admin = {"Authorization": f"Bearer {server.admin_token}"}
        made = http.post("/api/v1/projects", json={"name": "serving"}, headers=admin)
        assert made.status_code == 201, made.text
        db = Database(sqlite_url(tmp / "home"))
        built = Site(server, http, made.json()["id"], db)
        built.sync({"predict.py": PREDICT})
        try:
            yield built
        finally:
            listed = built.api("GET", "/endpoints").json()
            for endpoint in listed["items"]:
                built.api("DELETE", f"/endpoints/{endpoint['id']}")
            db.dispose()


@pytest.fixture(scope="module")
def echo(site: Site) -> dict[str, Any]:
    """An endpoint deployed through the API and running: its detail."""
    made = site.deploy("echo", config_vars=["GREETING=hello"])
    assert made["version"] == 1
    assert made["key"]["key"].startswith("hwe_")
    assert made["endpoint"]["status"] == "deploying"
    return site.running("echo")


def test_a_deployed_function_serves_through_the_gateway_from_a_sandboxed_replica_task(
    site: Site, echo: dict[str, Any]
) -> None:
    answer = site.predict(echo["slug"], [1, 2], site.keys["echo"])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"prediction": {"echo": [1, 2], "greeting": "hello", "version": "v1"}}
    [replica] = echo["replicas"]
    task = site.api("GET", f"/experiments/{replica['experiment']}").json()
    assert task["title"] == "endpoint:echo"
    assert task["state"] == "running"
    assert echo["url"].endswith(f"/api/v1/endpoints/{echo['slug']}/predict")
    [version] = echo["versions"]
    assert (version["state"], version["traffic"]) == ("live", 100)


def _serving_pid(address: str) -> int:
    """The replica's serving process, found by its socket path on its command line."""
    path = address.removeprefix("unix:")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"headwater.serving" in argv and path.encode() in argv:
            return int(entry.name)
    raise AssertionError(f"no process serves {address}")


def _address(site: Site, replica_id: str) -> str:
    with site.db.read() as session:
        [replica] = [r for r in _replicas(session) if r.id == replica_id]
    assert replica.address is not None
    return replica.address


def _replicas(session: Any) -> list[Any]:
    repo = EndpointRepo(session)
    return [r for e in repo.all_live() for r in repo.replicas(e.id, live_only=False)]


def test_a_replica_killed_with_sigkill_is_replaced_and_the_endpoint_serves_again(
    site: Site, echo: dict[str, Any]
) -> None:
    [before] = site.running("echo")["replicas"]
    os.kill(_serving_pid(_address(site, before["id"])), signal.SIGKILL)

    def replaced() -> dict[str, Any] | None:
        shown = site.show("echo")
        ready = [r for r in shown["replicas"] if r["state"] == "ready"]
        if shown["status"] == "running" and ready and ready[0]["id"] != before["id"]:
            return shown
        return None

    after = wait_until(replaced, timeout=WAIT, message=lambda: site.explain("echo"))
    dead = site.api("GET", f"/experiments/{before['experiment']}").json()
    assert dead["state"] == "failed"
    assert "SIGKILL" in (dead["reason"] or ""), dead
    assert after["replicas"][0]["experiment"] != before["experiment"]
    answer = site.predict(after["slug"], "again", site.keys["echo"])
    assert answer.status_code == 200, answer.text
