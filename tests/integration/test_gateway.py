"""The predict gateway against a real ``hw server`` and real replica processes.

Each replica is ``python -m headwater.serving`` started by the test on a Unix socket and
recorded in the server's database through ``EndpointRepo`` the way the serving controller
records its replicas (state ready, ``unix:`` address), bound to an experiment that really
runs (the gateway routes only to replicas whose task is running). The endpoints' keys,
versions and traffic split are written the same way. Then everything goes over HTTP.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from headwater.db.database import Database, sqlite_url
from headwater.db.repos.endpoints import EndpointRepo
from headwater.domain.endpoints import key_hash, new_key
from tests.support.liveserver import RunningServer, running_server
from tests.support.postgres import DATABASES, PostgresCluster
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

BODY_LIMIT = 1 << 20  # HEADWATER_SERVING_BODY_LIMIT_BYTES for this server
LOGGED_BYTES = 400  # HEADWATER_SERVING_LOGGED_BODY_BYTES
PREDICT = """\
import os
import time


def predict(x):
    if x == "boom":
        raise ValueError("the model refuses boom")
    if isinstance(x, dict) and "sleep" in x:
        time.sleep(x["sleep"])
    return {"echo": x, "replica": os.environ["REPLICA_NAME"]}
"""


@dataclass
class Replica:
    name: str
    socket: Path
    process: subprocess.Popen[bytes]


@dataclass
class Site:
    server: RunningServer
    db: Database
    folder: Path
    project: str
    experiment_id: str
    http: httpx.Client
    replicas: list[Replica] = field(default_factory=list)

    def replica(self, name: str) -> Replica:
        """A replica process serving predict.py, ready on its socket."""
        socket = self.folder / f"{name}.sock"
        ready = self.folder / f"{name}.ready"
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "headwater.serving", "--file", "predict.py"),
                *("--function", "predict", "--socket", str(socket), "--ready-file", str(ready)),
            ],
            cwd=self.folder,
            env={**os.environ, "REPLICA_NAME": name},
        )
        replica = Replica(name, socket, process)
        self.replicas.append(replica)
        wait_until(ready.exists, message=f"replica {name} never got ready")
        return replica

    def endpoint(self, title: str, split: dict[str, list[Replica]]) -> tuple[str, str, str]:
        """An endpoint with one version per entry of ``split`` ("90": its replicas); its
        (id, slug, key)."""
        key = new_key()
        with self.db.write() as session:
            repo = EndpointRepo(session)
            endpoint, _ = repo.define(
                self.project,
                title,
                {},
                flow_run_id=None,
                created_by=None,
                min_replicas=1,
                max_replicas=1,
            )
            repo.update(endpoint.id, key_hash=key_hash(key), key_prefix=key[:8], status="running")
            for percent, replicas in split.items():
                version = repo.add_version(
                    endpoint.id, definition={}, source={}, flow_run_id=None, created_by=None
                )
                repo.update_version(version.id, state="live", traffic=int(percent))
                for r in replicas:
                    made = repo.add_replica(endpoint.id, version.id, self.experiment_id)
                    repo.update_replica(made.id, state="ready", address=f"unix:{r.socket}")
        return endpoint.id, endpoint.slug, key

    def predict(self, slug: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.http.post(f"/api/v1/endpoints/{slug}/predict", json=body, **kwargs)

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(
            method,
            f"/api/v1/projects/{self.project}{path}",
            headers={"Authorization": f"Bearer {self.server.admin_token}"},
            **kwargs,
        )


@pytest.fixture(scope="module", params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """SQLite in the server's home, or a fresh PostgreSQL database: one site each."""
    if request.param == "sqlite":
        yield None
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    with cluster.fresh_database() as url:
        yield url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, database_url: str | None) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("gateway")
    folder = tmp / "replicas"
    folder.mkdir()
    (folder / "predict.py").write_text(PREDICT)
    database = {"HEADWATER_DATABASE_URL": database_url} if database_url else {}
    with (
        running_server(
            tmp / "home",
            tmp / "server.log",
            "--log-level",
            "warning",
            # its replicas are started by hand, not by the serving controller
            HEADWATER_SERVING_CONTROLLER="false",
            HEADWATER_SERVING_BODY_LIMIT_BYTES=str(BODY_LIMIT),
            HEADWATER_SERVING_LOGGED_BODY_BYTES=str(LOGGED_BYTES),
            **database,
        ) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        admin = {"Authorization": f"Bearer {server.admin_token}"}
        project = http.post("/api/v1/projects", json={"name": "gw"}, headers=admin).json()["id"]
        made = http.post(
            f"/api/v1/projects/{project}/experiments",
            json={"command": "sleep 600"},
            headers=admin,
        )
        assert made.status_code == 201, made.text
        number = made.json()[0]["number"]

        def started() -> dict[str, Any] | None:
            shown = http.get(f"/api/v1/projects/{project}/experiments/{number}", headers=admin)
            return shown.json() if shown.json()["state"] == "running" else None

        running = wait_until(started, timeout=60, message=server.log_text)
        db = Database(database_url or sqlite_url(tmp / "home"))
        built = Site(server, db, folder, project, running["id"], http)
        try:
            yield built
        finally:
            for r in built.replicas:
                if r.process.poll() is None:
                    r.process.terminate()
                    r.process.wait(timeout=20)
            http.post(f"/api/v1/projects/{project}/experiments/{number}/stop", headers=admin)
            db.dispose()


@pytest.fixture(scope="module")
def one(site: Site) -> tuple[str, str, str]:
    """An endpoint with one version and one replica: (id, slug, key)."""
    return site.endpoint("Churn", {"100": [site.replica("one")]})


def test_predict_answers_cnvrg_calls_with_either_key_header(
    site: Site, one: tuple[str, str, str]
) -> None:
    _, slug, key = one
    answer = site.predict(slug, {"input_params": [1, 2]}, headers={"Cnvrg-Api-Key": key})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"prediction": {"echo": [1, 2], "replica": "one"}}
    assert len(answer.headers["x-request-id"]) == 32
    assert answer.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    bearer = {"Authorization": f"Bearer {key}", "X-Request-Id": "mine-1"}
    short = site.http.post(f"/e/{slug}/predict", json={"input_params": "x"}, headers=bearer)
    assert short.status_code == 200, short.text
    assert short.json()["prediction"]["echo"] == "x"
    assert short.headers["x-request-id"] == "mine-1"


def test_a_missing_wrong_or_foreign_key_and_an_unknown_slug_all_get_the_same_401(
    site: Site, one: tuple[str, str, str]
) -> None:
    _, slug, key = one
    _, _, other_key = site.endpoint("Other", {"100": []})
    body = {"input_params": 1}
    answers = [
        site.predict(slug, body),
        site.predict(slug, body, headers={"Authorization": "Bearer hwe_wrong"}),
        site.predict(slug, body, headers={"Cnvrg-Api-Key": other_key}),
        site.predict(slug, body, headers={"Authorization": f"Basic {key}"}),
        site.predict("no-such-endpoint", body, headers={"Cnvrg-Api-Key": key}),
    ]
    assert [a.status_code for a in answers] == [401] * 5
    shapes = [{k: v for k, v in a.json().items() if k != "request_id"} for a in answers]
    assert all(shape == shapes[0] for shape in shapes), shapes
    assert shapes[0]["error"] == "unauthenticated"
    assert all(a.json()["request_id"] == a.headers["x-request-id"] for a in answers)


def test_bodies_that_are_not_json_lack_input_params_or_are_too_large(
    site: Site, one: tuple[str, str, str]
) -> None:
    _, slug, key = one
    auth = {"Cnvrg-Api-Key": key}
    not_json = site.http.post(f"/e/{slug}/predict", content=b"{nope", headers=auth)
    assert not_json.status_code == 400
    assert not_json.json()["error"] == "invalid_input"
    assert not_json.json()["request_id"] == not_json.headers["x-request-id"]
    missing = site.predict(slug, {"inputs": 1}, headers=auth)
    assert missing.status_code == 400
    assert missing.json()["where"] == "body.input_params"
    large = {"input_params": "x" * (BODY_LIMIT // 2)}  # checked by shape, parsed by the replica
    assert (
        site.predict(slug, large, headers=auth).json()["prediction"]["echo"]
        == large["input_params"]
    )
    huge = b'{"input_params": "' + b"x" * BODY_LIMIT + b'"}'
    too_large = site.http.post(f"/e/{slug}/predict", content=huge, headers=auth)
    assert too_large.status_code == 413
    assert too_large.json()["error"] == "payload_too_large"
    assert "HEADWATER_SERVING_BODY_LIMIT_BYTES" in too_large.json()["hint"]


def test_the_functions_exception_is_a_500_with_a_request_id_and_no_traceback(
    site: Site, one: tuple[str, str, str]
) -> None:
    _, slug, key = one
    answer = site.predict(slug, {"input_params": "boom"}, headers={"Cnvrg-Api-Key": key})
    assert answer.status_code == 500
    body = answer.json()
    assert body["error"] == "prediction_failed"
    assert body["detail"] == "ValueError: the model refuses boom"
    assert body["request_id"] == answer.headers["x-request-id"]
    assert "Traceback" not in answer.text
    assert "predict.py" not in answer.text


def test_no_ready_replica_is_a_503_with_retry_after(site: Site) -> None:
    _, slug, key = site.endpoint("Empty", {"100": []})
    answer = site.predict(slug, {"input_params": 1}, headers={"Cnvrg-Api-Key": key})
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "2"
    assert answer.json()["error"] == "unavailable"


def test_a_replica_killed_mid_request_fails_only_its_requests(site: Site) -> None:
    a, b = site.replica("kill-a"), site.replica("kill-b")
    _, slug, key = site.endpoint("Killed", {"100": [a, b]})
    auth = {"Cnvrg-Api-Key": key}
    assert site.predict(slug, {"input_params": 0}, headers=auth).status_code == 200

    def slow(i: int) -> httpx.Response:
        return site.predict(slug, {"input_params": {"sleep": 3, "i": i}}, headers=auth)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(slow, i) for i in range(8)]
        # both replicas hold requests (least in flight spreads them), then one dies
        wait_until(lambda: len(_busy(site, slug)) == 2, message="requests never spread")
        os.kill(a.process.pid, signal.SIGKILL)
        answers = [f.result() for f in futures]
    failed = [r for r in answers if r.status_code != 200]
    served = [r for r in answers if r.status_code == 200]
    assert failed, [r.text for r in answers]
    assert served, [r.text for r in answers]
    assert all(r.status_code == 503 and r.json()["error"] == "replica_lost" for r in failed)
    assert all(r.json()["prediction"]["replica"] == "kill-b" for r in served)
    assert len(failed) + len(served) == 8
    after = [site.predict(slug, {"input_params": i}, headers=auth) for i in range(6)]
    assert [r.status_code for r in after] == [200] * 6
    assert {r.json()["prediction"]["replica"] for r in after} == {"kill-b"}


def test_a_replica_listed_ready_but_gone_costs_no_request(site: Site) -> None:
    """Its socket is gone (the process died between two controller ticks): a request sent
    its way never reached it, so it goes to the other replica instead of failing."""
    live = site.replica("alive")
    gone = Replica("gone", site.folder / "gone.sock", live.process)  # no such socket
    _, slug, key = site.endpoint("Halfgone", {"100": [gone, live]})
    auth = {"Cnvrg-Api-Key": key}
    answers = [site.predict(slug, {"input_params": i}, headers=auth) for i in range(10)]
    assert [a.status_code for a in answers] == [200] * 10
    assert {a.json()["prediction"]["replica"] for a in answers} == {"alive"}


def _busy(site: Site, slug: str) -> set[str]:
    """The replicas of ``slug`` that hold a request right now (their /stats)."""
    busy = set()
    for r in site.replicas:
        if r.name.startswith("kill-") and r.process.poll() is None:
            transport = httpx.HTTPTransport(uds=str(r.socket))
            with httpx.Client(transport=transport, base_url="http://replica") as c:
                if c.get("/stats").json()["in_flight"]:
                    busy.add(r.name)
    return busy


def test_a_90_10_split_sends_10_of_100_requests_to_the_canary(site: Site) -> None:
    stable, canary = site.replica("stable"), site.replica("canary")
    _, slug, key = site.endpoint("Split", {"90": [stable], "10": [canary]})
    auth = {"Cnvrg-Api-Key": key}
    answers = [site.predict(slug, {"input_params": i}, headers=auth) for i in range(100)]
    assert [a.status_code for a in answers] == [200] * 100
    names = [a.json()["prediction"]["replica"] for a in answers]
    assert names.count("canary") == 10


def test_traffic_and_the_request_log_are_recorded_and_replayable(
    site: Site, one: tuple[str, str, str]
) -> None:
    _, slug, key = one
    auth = {"Cnvrg-Api-Key": key, "X-Request-Id": "logged-1"}
    sent = datetime.now(UTC)
    assert site.predict(slug, {"input_params": "logged"}, headers=auth).status_code == 200
    answered = datetime.now(UTC)

    def logged() -> dict[str, Any] | None:
        page = site.api("GET", "/endpoints/Churn/requests").json()
        return next((r for r in page["items"] if r["request_id"] == "logged-1"), None)

    entry = wait_until(logged, timeout=15)
    assert entry["status"] == 200
    assert entry["version"] == 1
    at = datetime.fromisoformat(entry["at"])  # stored through the raw executemany: still UTC
    assert at.utcoffset() == timedelta(0)
    assert sent - timedelta(seconds=1) <= at <= answered + timedelta(seconds=1)
    assert json.loads(entry["input"]) == {"input_params": "logged"}
    assert json.loads(entry["output"]) == {"prediction": {"echo": "logged", "replica": "one"}}
    replay = site.api("POST", f"/endpoints/Churn/requests/{entry['id']}/replay")
    assert replay.status_code == 200, replay.text
    assert replay.json() == {"prediction": {"echo": "logged", "replica": "one"}}

    def charted() -> list[dict[str, Any]] | None:
        points = site.api("GET", "/endpoints/Churn/traffic").json()["points"]
        return points if sum(p["requests"] for p in points) >= 3 else None

    points = wait_until(charted, timeout=15)
    assert {p["version"] for p in points} == {1}
    assert any(p["errors"] for p in points)  # the boom test's 500
    assert all(p["p50_ms"] is not None and p["p50_ms"] > 0 for p in points if p["requests"])
    metrics = site.http.get("/metrics").text
    assert f'headwater_endpoint_requests_total{{endpoint="{slug}",status="200",version="1"}}' in (
        metrics
    )


def test_a_logged_input_cut_to_the_limit_is_not_replayed(
    site: Site, one: tuple[str, str, str]
) -> None:
    _, slug, key = one
    long_input = {"input_params": "y" * (2 * LOGGED_BYTES)}
    auth = {"Cnvrg-Api-Key": key, "X-Request-Id": "cut-1"}
    assert site.predict(slug, long_input, headers=auth).status_code == 200

    def logged() -> dict[str, Any] | None:
        page = site.api("GET", "/endpoints/Churn/requests").json()
        return next((r for r in page["items"] if r["request_id"] == "cut-1"), None)

    entry = wait_until(logged, timeout=15)
    assert len(entry["input"].encode()) <= LOGGED_BYTES
    assert entry["input"].endswith("more bytes]")
    replay = site.api("POST", f"/endpoints/Churn/requests/{entry['id']}/replay")
    assert replay.status_code == 409
    assert replay.json()["where"] == "request"


def test_predict_calls_stay_out_of_uvicorns_access_log(tmp_path: Path) -> None:
    """At ``info`` (``hw server``'s default) uvicorn logs a line per answer: the API's stay,
    predict calls do not (they cost 15 us each on the hot path; the request log has them)."""
    with (
        running_server(tmp_path / "home", tmp_path / "server.log") as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        for path in ("/api/v1/endpoints/nothing-here/predict", "/e/nothing-here/predict"):
            answer = http.post(path, json={"input_params": 1}, headers={"Cnvrg-Api-Key": "x"})
            assert answer.status_code == 401, answer.text
        assert http.get("/api/v1/projects").status_code == 401
        wait_until(
            lambda: '"GET /api/v1/projects HTTP/1.1" 401' in server.log_text(),
            message=server.log_text,
        )
        assert "/predict" not in server.log_text()
