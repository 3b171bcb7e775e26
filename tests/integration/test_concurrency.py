"""Concurrent clients against a real server process on loopback: clean conflicts, no 5xx.

Embedded SQLite is where MLflow and Prefect users meet "database is locked" under concurrent
writes; these tests hold Headwater to never showing it (nor any 5xx), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.liveserver import free_port
from tests.support.postgres import DATABASES, PostgresCluster

pytestmark = pytest.mark.slow


@dataclass
class LiveServer:
    url: str
    admin_token: str
    process: subprocess.Popen[bytes]
    log: Path

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.admin_token}"}
        return httpx.Client(base_url=self.url + "/api/v1", headers=headers, timeout=60)


@pytest.fixture(scope="module", params=DATABASES)
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """``create_app()`` under uvicorn in its own process, configured as `hw server` is: by env.

    One server per database for the whole module (starting one costs seconds); each test
    works on names of its own.
    """
    if request.param == "sqlite":
        yield from _serve(tmp_path_factory.mktemp("live"), None)
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
        with cluster.fresh_database() as url:
            yield from _serve(tmp_path_factory.mktemp("live"), url)


def _serve(tmp_path: Path, database_url: str | None) -> Iterator[LiveServer]:
    home = tmp_path / "home"
    port = free_port()
    env = {**os.environ, "HEADWATER_HOME": str(home)}
    env.pop("HEADWATER_DATABASE_URL", None)
    if database_url is not None:
        env["HEADWATER_DATABASE_URL"] = database_url
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "headwater.server.app:create_app", "--factory",
                "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {process.returncode}:\n{log.read_text()}"
                )
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer within 60 s:\n{log.read_text()}")
            time.sleep(0.1)
        token = (home / "admin.token").read_text().strip()
        yield LiveServer(url=url, admin_token=token, process=process, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def all_at_once(
    live: LiveServer, n: int, method: str, path: str, body: Any | Callable[[], Any]
) -> list[httpx.Response]:
    """``n`` clients, each on its own connection, released together by a barrier.

    ``body`` is the JSON body, or a function each client calls (in its own thread) to make one.
    """
    barrier = threading.Barrier(n)
    clients = [live.client() for _ in range(n)]

    def run(client: httpx.Client) -> httpx.Response:
        client.get("/auth/me")  # connect before the barrier, so the requests truly overlap
        payload = body() if callable(body) else body
        barrier.wait()
        return client.request(method, path, json=payload)

    try:
        with ThreadPoolExecutor(max_workers=n) as pool:
            return list(pool.map(run, clients))
    finally:
        for client in clients:
            client.close()


def assert_clean(responses: list[httpx.Response]) -> None:
    for response in responses:
        assert response.status_code < 500, response.text
        assert "database is locked" not in response.text.lower()
        assert "locked" not in response.text.lower(), response.text


@pytest.mark.parametrize("clients", [2, 16])
def test_concurrent_creates_of_one_name_give_one_project_and_clean_409s(
    live_server: LiveServer, clients: int
) -> None:
    for round_ in range(3):
        name = f"race-{clients}-{round_}"
        responses = all_at_once(live_server, clients, "POST", "/projects", {"name": name})
        assert_clean(responses)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * (clients - 1), [r.text for r in responses]
        for conflict in (r for r in responses if r.status_code == 409):
            body = conflict.json()
            assert body["error"] == "conflict"
            assert body["where"] == "name"
            assert body["hint"]
        with live_server.client() as admin:
            items = admin.get("/projects", params={"search": name}).json()["items"]
        assert [p["name"] for p in items] == [name]


def test_many_concurrent_writes_never_lock_or_fail(live_server: LiveServer) -> None:
    writers, per_writer = 16, 6
    with live_server.client() as admin:
        project = admin.post("/projects", json={"name": "shared"}).json()
        assert "id" in project, project
    pid = project["id"]

    def work(client: httpx.Client, index: int) -> list[httpx.Response]:
        out = []
        for i in range(per_writer):
            out.append(client.post("/projects", json={"name": f"writer{index}-p{i}"}))
            out.append(client.put(f"/projects/{pid}/secrets/K{index}_{i}", json={"value": "v"}))
            out.append(client.patch(f"/projects/{pid}/env", json={"env": {f"E{index}": str(i)}}))
            out.append(client.get("/projects", params={"limit": 5}))
        return out

    barrier = threading.Barrier(writers)
    clients = [live_server.client() for _ in range(writers)]

    def run(index: int) -> list[httpx.Response]:
        clients[index].get("/auth/me")
        barrier.wait()
        return work(clients[index], index)

    try:
        with ThreadPoolExecutor(max_workers=writers) as pool:
            results = [r for batch in pool.map(run, range(writers)) for r in batch]
    finally:
        for client in clients:
            client.close()
    assert_clean(results)
    failed = [
        (r.request.method, r.request.url.path, r.status_code, r.text)
        for r in results
        if not r.is_success
    ]
    assert not failed, failed[:5]

    with live_server.client() as admin:
        listing: dict[str, Any] = admin.get(
            "/projects", params={"search": "writer", "limit": 1000}
        ).json()
        assert listing["total"] == writers * per_writer
        assert len(admin.get(f"/projects/{pid}/secrets").json()) == writers * per_writer
        env = admin.get(f"/projects/{pid}/env").json()
        assert env == {f"E{i}": str(per_writer - 1) for i in range(writers)}
    log = live_server.log.read_text()
    assert "Traceback" not in log, log[-3000:]


def test_concurrent_env_changes_are_not_lost(live_server: LiveServer) -> None:
    """Each PATCH /env adds its own key: none may overwrite another's (no lost update)."""
    with live_server.client() as admin:
        pid = admin.post("/projects", json={"name": "env-race"}).json()["id"]
    for round_ in range(3):

        def own_key(prefix: str = f"R{round_}_") -> dict[str, Any]:
            return {"env": {f"{prefix}{threading.get_ident()}": "1"}}

        responses = all_at_once(live_server, 8, "PATCH", f"/projects/{pid}/env", own_key)
        assert_clean(responses)
        assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    with live_server.client() as admin:
        env = admin.get(f"/projects/{pid}/env").json()
    assert len(env) == 3 * 8, f"{3 * 8 - len(env)} of {3 * 8} concurrent env changes were lost"


@pytest.mark.parametrize(
    ("what", "method", "path", "body"),
    [
        ("secret", "PUT", "/projects/{pid}/secrets/SAME_KEY", {"value": "v"}),
        ("third-party key", "PUT", "/projects/{pid}/keys/aws", {"key_id": "A", "secret": "s"}),
        ("member", "POST", "/projects/{pid}/members", {"email": "racer-member@example.org"}),
    ],
)
def test_concurrent_first_writes_of_one_key_are_clean(
    live_server: LiveServer, what: str, method: str, path: str, body: dict[str, str]
) -> None:
    racer = f"racer-{what.replace(' ', '-')}"
    with live_server.client() as admin:
        created = admin.post("/users", json={"username": racer, "email": f"{racer}@example.org"})
        assert created.status_code == 201, created.text
    for round_ in range(3):
        with live_server.client() as admin:
            pid = admin.post("/projects", json={"name": f"{what}-{round_}"}).json()["id"]
        url = path.format(pid=pid)
        responses = all_at_once(live_server, 8, method, url, body)
        assert_clean(responses)
        # Setting a secret or key is an upsert: all succeed. Adding a member twice: one wins.
        statuses = sorted(r.status_code for r in responses)
        if method == "PUT":
            assert statuses == [200] * 8, [r.text for r in responses]
        else:
            assert statuses == [201] + [409] * 7, [r.text for r in responses]


def test_concurrent_creates_of_one_user_give_one_user(live_server: LiveServer) -> None:
    for round_ in range(3):
        name = f"twin{round_}"
        user = {"username": name, "email": f"{name}@example.org"}
        responses = all_at_once(live_server, 8, "POST", "/users", user)
        assert_clean(responses)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * 7, [r.text for r in responses]
