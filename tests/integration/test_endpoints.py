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
import shlex
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from headwater.db.database import Database, sqlite_url
from headwater.db.repos.endpoints import EndpointRepo
from headwater.db.repos.users import UserRepo
from headwater.domain.endpoint_records import TrafficBucket
from headwater.settings import ServingSettings
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
    head: str | None = None  # the project's files' last commit

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
        body = {"entries": entries, "message": "sync", "base": self.head}
        made = self.api("POST", "/files/commits", json=body)
        assert made.status_code == 201, made.text
        self.head = str(made.json()["id"])
        return self.head

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
        return (
            f"{shown}\n--- replica logs ---\n{logs[-4000:]}\n--- server ---\n"
            + (self.server.log_text()[-4000:])
        )


@contextmanager
def opened_site(
    tmp: Path, project: str, files: dict[str, str], *, tiny: bool = True, **env: str
) -> Iterator[Site]:
    """A real ``hw server`` in ``tmp`` (``env`` its settings) with one project holding
    ``files``, and, with ``tiny``, a small compute template, since replicas take their
    compute's share of the machine like any task. Every endpoint is deleted at the end."""
    with (
        running_server(tmp / "home", tmp / "server.log", "--log-level", "warning", **env) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        admin = {"Authorization": f"Bearer {server.admin_token}"}
        made = http.post("/api/v1/projects", json={"name": project}, headers=admin)
        assert made.status_code == 201, made.text
        db = Database(sqlite_url(tmp / "home"))
        built = Site(server, http, made.json()["id"], db)
        if tiny:
            small = {"name": "tiny", "cpus": 0.1, "memory_mb": 64}
            assert http.post("/api/v1/compute", json=small, headers=admin).status_code == 201
        built.sync(files)
        try:
            yield built
        finally:
            for endpoint in built.api("GET", "/endpoints").json()["items"]:
                built.api("DELETE", f"/endpoints/{endpoint['id']}")
            db.dispose()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with opened_site(
        tmp_path_factory.mktemp("ep"), "serving", {"predict.py": PREDICT}, **POLICIES
    ) as built:
        yield built


@pytest.fixture(scope="module")
def echo(site: Site) -> dict[str, Any]:
    """An endpoint deployed through the API and running: its detail."""
    made = site.deploy("echo", config_vars=["GREETING=hello"], computes=["tiny"])
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
    limit = ServingSettings.model_fields["body_limit_bytes"].default
    assert f"--max-body {limit}" in task["command"]  # the gateway's limit, not the replica's own
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


def _feed(site: Site, title: str, in_flight: int) -> None:
    """Traffic buckets of the live version as a gateway would write them: the last 40 s with
    ``in_flight`` requests at their peak (the source is the test's own, so it adds up with
    what the real gateway counted)."""
    shown = site.show(title)
    [live] = [v for v in shown["versions"] if v["state"] == "live"]
    now = datetime.now(UTC)
    start = now.replace(second=now.second // 5 * 5, microsecond=0)
    buckets = [
        TrafficBucket(
            endpoint_id=shown["id"],
            version_id=live["id"],
            bucket=start - timedelta(seconds=5 * k),
            requests=10 * in_flight,
            errors=0,
            inflight_peak=in_flight,
            latency=[],
        )
        for k in range(8)
    ]
    with site.db.write() as session:
        EndpointRepo(session).add_traffic("test-load", buckets)


def test_scale_1_to_3_to_1_follows_the_autoscaler_reading_the_traffic_buckets(
    site: Site, echo: dict[str, Any]
) -> None:
    site.running("echo")
    scaled = site.api("POST", "/endpoints/echo/scale", json={"min_replica": 1, "max_replica": 3})
    assert scaled.status_code == 200, scaled.text
    assert (scaled.json()["min_replicas"], scaled.json()["max_replicas"]) == (1, 3)
    _feed(site, "echo", in_flight=12)  # 12 in flight at 4 per replica: 3 replicas
    up = site.running("echo", ready=3)
    assert up["replicas_wanted"] == 3
    _feed(site, "echo", in_flight=0)
    down = site.running("echo", ready=1)
    assert down["replicas_wanted"] == 1
    answer = site.predict(down["slug"], "still", site.keys["echo"])
    assert answer.status_code == 200, answer.text


def test_a_rotated_key_works_at_once_and_the_old_one_no_longer(
    site: Site, echo: dict[str, Any]
) -> None:
    old = site.keys["echo"]
    assert site.predict(echo["slug"], 1, old).status_code == 200
    rotated = site.api("POST", "/endpoints/echo/key/rotate")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["key"]
    assert new != old
    assert rotated.json()["prefix"] == new[:12]
    assert site.predict(echo["slug"], 1, old).status_code == 401
    assert site.predict(echo["slug"], 1, new).status_code == 200
    assert site.show("echo")["key_prefix"] == new[:12]
    site.keys["echo"] = new


class Load:
    """One client calling the endpoint in a loop until stopped: the answers it got."""

    def __init__(self, site: Site, slug: str, key: str) -> None:
        self.answers: list[tuple[int, str | None]] = []  # status, version that answered
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(site, slug, key), daemon=True)

    def _run(self, site: Site, slug: str, key: str) -> None:
        with httpx.Client(base_url=site.server.url, timeout=30) as http:
            while not self._stop.is_set():
                got = http.post(
                    f"/api/v1/endpoints/{slug}/predict",
                    json={"input_params": "load"},
                    headers={"Authorization": f"Bearer {key}"},
                )
                version = (
                    got.json().get("prediction", {}).get("version") if got.is_success else None
                )
                self.answers.append((got.status_code, version))

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def _version(site: Site, title: str, number: int) -> dict[str, Any]:
    [found] = [v for v in site.show(title)["versions"] if v["number"] == number]
    return found


def test_a_second_deploy_rolls_out_as_a_canary_and_is_promoted_without_a_failed_request(
    site: Site, echo: dict[str, Any]
) -> None:
    site.running("echo")
    site.sync({"predict.py": PREDICT.replace('VERSION = "v1"', 'VERSION = "v2"')})
    made = site.deploy("echo", computes=["tiny"])
    assert made["key"] is None  # an existing endpoint keeps its key
    second = made["version"]
    with Load(site, echo["slug"], site.keys["echo"]) as load:
        wait_until(
            lambda: _version(site, "echo", second)["state"] == "live",
            timeout=WAIT,
            message=lambda: site.explain("echo"),
        )
        site.running("echo", version=second)
        # every gateway rereads its routes within a second: then v2 answers everything
        wait_until(lambda: [v for _, v in load.answers[-20:]] == ["v2"] * 20, timeout=WAIT)
    statuses = {status for status, _ in load.answers}
    assert statuses == {200}, [a for a in load.answers if a[0] != 200][:5]
    versions = [v for _, v in load.answers]
    assert "v1" in versions  # the canary took part of the traffic
    assert "v2" in versions
    first = _version(site, "echo", second - 1)
    assert (first["state"], first["traffic"]) == ("retired", 0)
    assert _version(site, "echo", second)["traffic"] == 100


def test_a_version_whose_function_raises_rolls_back_by_itself_with_the_reason(
    site: Site, echo: dict[str, Any]
) -> None:
    site.running("echo")
    stable = max(v["number"] for v in site.show("echo")["versions"] if v["state"] == "live")
    made = site.deploy("echo", function="broken", computes=["tiny"])
    bad = made["version"]
    with Load(site, echo["slug"], site.keys["echo"]) as load:
        wait_until(
            lambda: _version(site, "echo", bad)["state"] == "rolled_back",
            timeout=WAIT,
            message=lambda: site.explain("echo"),
        )
        # every gateway rereads its routes within a second: then the stable version alone
        wait_until(lambda: [a[0] for a in load.answers[-20:]] == [200] * 20, timeout=WAIT)
    rolled = _version(site, "echo", bad)
    assert rolled["traffic"] == 0
    assert "error rate" in (rolled["reason"] or ""), rolled
    assert 500 in {status for status, _ in load.answers}  # the canary did answer, badly
    assert (_version(site, "echo", stable)["state"], _version(site, "echo", stable)["traffic"]) == (
        "live",
        100,
    )
    wait_until(
        lambda: all(r["version"] != bad for r in site.show("echo")["replicas"]),
        timeout=WAIT,
        message=lambda: site.explain("echo"),
    )


def test_a_manual_rollback_serves_the_previous_version_again(
    site: Site, echo: dict[str, Any]
) -> None:
    stable = max(v["number"] for v in site.show("echo")["versions"] if v["state"] == "live")
    served = site.predict(echo["slug"], 0, site.keys["echo"]).json()["prediction"]["version"]
    # a version retired before it ever served is no version to go back to
    site.sync({"predict.py": PREDICT.replace('VERSION = "v1"', 'VERSION = "before"')})
    site.deploy("echo", computes=["tiny"])
    site.sync({"predict.py": PREDICT.replace('VERSION = "v1"', 'VERSION = "after"')})
    newest = site.deploy("echo", computes=["tiny"])["version"]
    wait_until(  # the newer deploy retires the one still pending or in its canary
        lambda: _version(site, "echo", newest)["state"] in ("canary", "live"),
        timeout=WAIT,
        message=lambda: site.explain("echo"),
    )
    back = site.api("POST", "/endpoints/echo/rollback", json={"reason": "bad numbers"})
    assert back.status_code == 200, back.text
    rolled = _version(site, "echo", newest)
    assert (rolled["state"], rolled["traffic"]) == ("rolled_back", 0)
    assert rolled["reason"] == "bad numbers (admin)"
    [live] = [v for v in back.json()["versions"] if v["state"] == "live"]
    assert (live["number"], live["traffic"]) == (stable, 100)
    site.running("echo", version=stable)
    wait_until(
        lambda: (
            site.predict(echo["slug"], 0, site.keys["echo"]).json()["prediction"]["version"]
            == served
        ),
        timeout=WAIT,
    )


FIT = """\
import json, os
os.makedirs("output", exist_ok=True)
json.dump({"weight": 3}, open("output/model.json", "w"))
open("output/weights.py", "w").write(
    "import glob, json\\n"
    "MODEL = json.load(open(glob.glob('input/*/model.json')[0]))\\n"
    "def predict(x):\\n"
    "    return x * MODEL['weight']\\n"
)
"""


def _flow(site: Site, name: str, deploy: dict[str, Any]) -> dict[str, Any]:
    """Run a flow Fit -> Serve (seed 002's deploy keys) to its end; the run."""
    fit = {"title": "Fit", "type": "exec", "input": f"python -c {shlex.quote(FIT)}"}
    fit["computes"] = ["tiny"]
    body = {
        "flow": name,
        "tasks": [fit, {"title": "Serve", "type": "deploy", **deploy}],
        "relations": [{"from": "Fit", "to": "Serve"}],
    }
    made = site.api("POST", "/flows", json={"yaml": yaml.safe_dump(body, sort_keys=False)})
    assert made.status_code in (200, 201), made.text
    started = site.api("POST", f"/flows/{name}/runs", json={})
    assert started.status_code == 201, started.text
    number = started.json()["number"]

    def ended() -> dict[str, Any] | None:
        run: dict[str, Any] = site.api("GET", f"/flow-runs/{number}").json()
        return run if run["status"] in ("success", "failed", "aborted") else None

    return wait_until(ended, timeout=WAIT, message=lambda: site.server.log_text()[-3000:])


SEED_DEPLOY = {
    "endpoint_title": "weights",
    "computes": ["tiny"],
    "file_name": "weights.py",
    "function_name": "predict",
    "min_replica": 1,
    "max_replica": 2,
    "config_vars": ["MODE=flow"],
    "accept_files": False,
}


def test_a_flow_deploy_task_serves_what_its_parent_trained_and_a_next_one_adds_a_version(
    site: Site,
) -> None:
    run = _flow(site, "Train", SEED_DEPLOY)
    assert run["status"] == "success", run
    shown = site.running("weights")
    [version] = shown["versions"]
    assert version["source"]["file"] == "output/weights.py"  # found in Fit's outputs
    [inputs] = version["source"]["inputs"]
    assert inputs["experiment"]  # Fit's outputs mounted at input/<task>/
    rotated = site.api("POST", "/endpoints/weights/key/rotate").json()["key"]
    answer = site.predict(shown["slug"], 5, rotated)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"prediction": 15}

    again = _flow(
        site, "Retrain", {**SEED_DEPLOY, "endpoint_title": None, "endpoint_id": "weights"}
    )
    assert again["status"] == "success", again
    versions = site.show("weights")["versions"]
    assert [v["number"] for v in versions] == [2, 1]
    assert versions[0]["flow_run"] is not None

    wrong = _flow(site, "Nowhere", {**SEED_DEPLOY, "endpoint_title": None, "endpoint_id": "nope"})
    serve = next(t for t in wrong["tasks"] if t["title"] == "Serve")
    assert serve["status"] == "failed"
    assert "the project has no endpoint 'nope'" in serve["reason"]
    assert "tasks.Serve.endpoint_id" in serve["reason"]


def _replica_tasks(site: Site, title: str) -> list[dict[str, Any]]:
    listed = site.api("GET", "/experiments", params={"limit": 500}).json()["items"]
    return [e for e in listed if e["title"] == f"endpoint:{title}"]


def test_stop_ends_the_replicas_start_brings_them_back_and_delete_leaves_no_task(
    site: Site,
) -> None:
    made = site.deploy("stoppable", computes=["tiny"])
    key = made["key"]["key"]
    site.running("stoppable")
    stopped = site.api("POST", "/endpoints/stoppable/stop")
    assert stopped.status_code == 200, stopped.text
    assert (stopped.json()["status"], stopped.json()["desired"]) == ("stopped", "stopped")
    wait_until(
        lambda: all(e["state"] == "aborted" for e in _replica_tasks(site, "stoppable")),
        timeout=WAIT,
        message=lambda: site.explain("stoppable"),
    )
    # the controller marks them gone on its next tick
    wait_until(lambda: site.show("stoppable")["replicas"] == [], timeout=WAIT)
    reasons = {e["reason"] for e in _replica_tasks(site, "stoppable")}
    assert reasons == {"replica stopped: the endpoint was stopped"}
    assert site.predict("stoppable", 1, key).status_code == 503
    started = site.api("POST", "/endpoints/stoppable/start")
    assert started.json()["status"] == "deploying"
    site.running("stoppable")
    assert site.predict("stoppable", 1, key).status_code == 200
    assert site.api("DELETE", "/endpoints/stoppable").status_code == 204
    assert site.api("GET", "/endpoints/stoppable").status_code == 404
    wait_until(
        lambda: all(e["state"] in ("aborted", "failed") for e in _replica_tasks(site, "stoppable")),
        timeout=WAIT,
    )


def test_with_the_single_deploy_key_every_endpoint_of_the_project_takes_the_one_key(
    site: Site,
) -> None:
    patched = site.api("PATCH", "/settings", json={"single_deploy_api_key": True})
    assert patched.status_code == 200, patched.text
    try:
        first = site.deploy("shared-a", computes=["tiny"])
        assert first["key"]["shared"] is True
        second = site.deploy("shared-b", computes=["tiny"])
        assert second["key"] is None  # the project's key, shown when it was made
        key = first["key"]["key"]
        for title in ("shared-a", "shared-b"):
            site.running(title)
            assert site.predict(title, 2, key).status_code == 200
        rotated = site.api("POST", "/endpoints/shared-b/key/rotate").json()
        assert rotated["shared"] is True
        assert site.predict("shared-a", 2, key).status_code == 401
        assert site.predict("shared-a", 2, rotated["key"]).status_code == 200
    finally:
        site.api("PATCH", "/settings", json={"single_deploy_api_key": False})
        for title in ("shared-a", "shared-b"):
            site.api("DELETE", f"/endpoints/{title}")


def test_a_function_that_cannot_load_fails_its_version_after_three_replicas_saying_why(
    site: Site,
) -> None:
    made = site.deploy("unloadable", function="no_such_function", computes=["tiny"])
    assert made["endpoint"]["status"] == "deploying"

    def failed() -> dict[str, Any] | None:
        shown = site.show("unloadable")
        return shown if shown["status"] == "failed" else None

    shown = wait_until(failed, timeout=WAIT, message=lambda: site.explain("unloadable"))
    [version] = shown["versions"]
    assert version["state"] == "failed"
    assert "3 replicas ended before serving" in version["reason"]
    assert "the replica stopped by itself (exit code 1)" in version["reason"]
    tasks = _replica_tasks(site, "unloadable")
    assert len(tasks) == 3  # not restarted for ever
    logs = site.api("GET", "/endpoints/unloadable/logs").json()["chunks"]
    assert "no_such_function" in "".join(c["text"] for c in logs)
    site.api("DELETE", "/endpoints/unloadable")


def test_a_deploy_names_what_is_wrong_before_anything_starts(site: Site) -> None:
    missing = site.api(
        "POST",
        "/endpoints",
        json={"title": "ghost", "file_name": "nowhere.py", "function_name": "predict"},
    )
    assert missing.status_code == 400, missing.text
    assert missing.json()["where"] == "file_name"
    spaced = site.api(
        "POST",
        "/endpoints",
        json={"title": "has space", "file_name": "predict.py", "function_name": "predict"},
    )
    assert spaced.status_code == 400, spaced.text
    assert spaced.json()["where"] == "title"
    upside = site.api(
        "POST",
        "/endpoints",
        json={
            "title": "bounds",
            "file_name": "predict.py",
            "function_name": "predict",
            "min_replica": 3,
            "max_replica": 2,
        },
    )
    assert upside.status_code == 400, upside.text
    assert upside.json()["where"] == "max_replica"
    assert site.api("GET", "/endpoints/ghost").status_code == 404
    assert site.api("GET", "/endpoints/bounds").status_code == 404


SERVE_MODEL = """\
import json, os

WEIGHTS = json.load(open(os.path.join(os.environ["HW_MODEL_DIR"], "weights.json")))


def predict(x):
    return x * WEIGHTS["factor"]
"""


def test_an_endpoint_serves_a_registered_model_version_mounted_at_model(site: Site) -> None:
    made = site.api("POST", "/models", json={"name": "scaler"})
    assert made.status_code == 201, made.text
    blob = b'{"factor": 7}'
    digest = hashlib.sha256(blob).hexdigest()
    assert site.api("PUT", f"/models/scaler/objects/{digest}", content=blob).status_code in (
        200,
        201,
    )
    entry = {"path": "weights.json", "hash": digest, "size": len(blob)}
    version = site.api("POST", "/models/scaler/commits", json={"entries": [entry], "message": "v"})
    assert version.status_code == 201, version.text
    commit = version.json()["id"]
    site.sync({"predict.py": PREDICT, "serve_model.py": SERVE_MODEL})
    missing = site.api(
        "POST",
        "/endpoints",
        json={
            "title": "scaled",
            "file_name": "serve_model.py",
            "function_name": "predict",
            "model": "scaler@0000000",
        },
    )
    assert missing.status_code == 400, missing.text
    assert missing.json()["where"] == "model"
    deployed = site.api(
        "POST",
        "/endpoints",
        json={
            "title": "scaled",
            "file_name": "serve_model.py",
            "function_name": "predict",
            "model": f"scaler@{commit[:12]}",
            "computes": ["tiny"],
        },
    )
    assert deployed.status_code == 201, deployed.text
    key = deployed.json()["key"]["key"]
    shown = site.running("scaled")
    [served] = shown["versions"]
    assert served["source"]["model"] == {
        "name": "scaler",
        "commit": commit,
        "ref": f"scaler@{commit[:12]}",
    }
    answer = site.predict(shown["slug"], 6, key)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"prediction": 42}
    site.api("DELETE", "/endpoints/scaled")


def test_a_replica_cannot_name_another_replicas_socket_as_its_own(site: Site) -> None:
    """The task's folder is the server's to know: a task that claims another's (in its own
    running report, which it may send with its token) still cannot point the gateway at
    another replica's socket, which would hand it that endpoint's function."""
    site.deploy("pair", computes=["tiny"], min_replica=2, max_replica=2)
    first, second = site.running("pair", ready=2)["replicas"]
    theirs = _address(site, second["id"])
    mine = site.api("GET", f"/experiments/{first['experiment']}").json()
    with site.db.write() as session:
        forged = UserRepo(session).issue_task_token(mine["created_by"], mine["id"])
    task = {"Authorization": f"Bearer {forged}"}
    base = f"/api/v1/projects/{site.project}/experiments/{mine['id']}"
    folder = str(Path(theirs.removeprefix("unix:")).parent)
    said = site.http.post(
        f"{base}/state", json={"state": "running", "runner": {"workdir": folder}}, headers=task
    )
    assert said.status_code == 200, said.text
    claimed = site.http.post(f"{base}/serving", json={"address": theirs}, headers=task)
    assert claimed.status_code == 400, claimed.text
    assert claimed.json()["where"] == "address"
    assert _address(site, first["id"]) != theirs
    site.api("DELETE", "/endpoints/pair")


def test_a_replica_killed_under_load_costs_at_most_its_request_in_flight(site: Site) -> None:
    made = site.deploy("steady", computes=["tiny"], min_replica=2, max_replica=2)
    key = made["key"]["key"]
    before = site.running("steady", ready=2)["replicas"]
    with Load(site, "steady", key) as load:
        wait_until(lambda: len(load.answers) > 20, timeout=WAIT)
        os.kill(_serving_pid(_address(site, before[0]["id"])), signal.SIGKILL)

        def replaced() -> bool:
            ready = [r["id"] for r in site.running("steady", ready=2)["replicas"]]
            return before[0]["id"] not in ready

        wait_until(replaced, timeout=WAIT, message=lambda: site.explain("steady"))
        seen = len(load.answers)
        wait_until(lambda: len(load.answers) > seen + 20, timeout=WAIT)
    failed = [status for status, _ in load.answers if status != 200]
    assert len(failed) <= 1, failed  # one client: at most one request was in flight
    assert set(failed) <= {503}
    assert [status for status, _ in load.answers[-20:]] == [200] * 20
    site.api("DELETE", "/endpoints/steady")
