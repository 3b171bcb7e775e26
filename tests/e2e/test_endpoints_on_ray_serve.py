"""Endpoints with ``HEADWATER_EXECUTOR=ray`` on a real Ray head (tests/support/rayhead.py):
each version is a Ray Serve application of its own, its replicas Serve replicas that run the
replica task's runtime (sandboxed, with the task's token); the gateway reaches the version
through Serve's proxy. Needs ``ray[serve]`` on the head's nodes (skips without it)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from headwater.executors.ray import auth_headers
from tests.integration.test_endpoints import POLICIES, PREDICT, Site, _feed, opened_site
from tests.support.liveserver import free_port
from tests.support.rayhead import RayHead, lose_serve_replica
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.ray]

PEEK = """

def peek(path):
    try:
        with open(path) as opened:
            return "READ " + opened.read()[:8]
    except OSError as error:
        return "blocked " + type(error).__name__
"""


def _serve_apps(head: RayHead) -> dict[str, dict[str, Any]]:
    """Headwater's Serve applications on the head: name -> its details."""
    answer = httpx.get(
        head.dashboard + "/api/serve/applications/", headers=auth_headers(), timeout=30
    )
    answer.raise_for_status()
    found = answer.json().get("applications") or {}
    return {name: app for name, app in found.items() if name.startswith("hw-")}


def _replicas(app: dict[str, Any]) -> int:
    deployment = app["deployments"]["replica"]
    return sum(1 for r in deployment.get("replicas", []) if r.get("state") == "RUNNING")


@pytest.fixture(scope="module")
def site(ray_head: RayHead, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    pytest.importorskip("ray.serve", reason="Ray Serve is not installed (ray[serve])")
    with opened_site(
        tmp_path_factory.mktemp("ep-serve"),
        "serving",
        {"predict.py": PREDICT + PEEK},
        HEADWATER_EXECUTOR="ray",
        HEADWATER_RAY_ADDRESS=ray_head.cluster,
        HEADWATER_RAY_PYTHON=sys.executable,
        HEADWATER_RAY_SERVE_PORT=str(free_port()),
        **POLICIES,
    ) as built:
        yield built


def test_an_endpoint_serves_from_a_ray_serve_application_of_its_version(
    site: Site, ray_head: RayHead
) -> None:
    made = site.deploy("echo", config_vars=["GREETING=hello"], computes=["tiny"])
    shown = site.running("echo")
    answer = site.predict(shown["slug"], [1, 2], site.keys["echo"])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"prediction": {"echo": [1, 2], "greeting": "hello", "version": "v1"}}
    [version] = shown["versions"]
    apps = _serve_apps(ray_head)
    assert list(apps) == [f"hw-{version['id']}"], apps
    app = apps[f"hw-{version['id']}"]
    assert app["route_prefix"] == f"/hw/{version['id']}"
    assert _replicas(app) == 1
    assert made["version"] == 1


def test_the_predict_code_runs_sandboxed_and_cannot_read_the_server_home(site: Site) -> None:
    site.deploy("peek", function="peek", computes=["tiny"])
    shown = site.running("peek")
    token = site.server.home / "admin.token"
    answer = site.predict(shown["slug"], str(token), site.keys["peek"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["prediction"].startswith("blocked"), answer.text
    assert site.server.admin_token[:8] not in answer.text
    site.api("POST", "/endpoints/peek/stop")


def test_scaling_sets_the_serve_deployment_s_replicas(site: Site, ray_head: RayHead) -> None:
    site.running("echo")
    scaled = site.api("POST", "/endpoints/echo/scale", json={"min_replica": 1, "max_replica": 2})
    assert scaled.status_code == 200, scaled.text
    _feed(site, "echo", in_flight=8)  # 8 in flight at 4 per replica: 2 replicas
    up = site.running("echo", ready=2)
    [live] = [v for v in up["versions"] if v["state"] == "live"]
    wait_until(
        lambda: _replicas(_serve_apps(ray_head)[f"hw-{live['id']}"]) == 2,
        timeout=120,
        message=lambda: str(_serve_apps(ray_head)),
    )
    _feed(site, "echo", in_flight=0)
    down = site.running("echo", ready=1)
    wait_until(
        lambda: _replicas(_serve_apps(ray_head)[f"hw-{live['id']}"]) == 1,
        timeout=120,
        message=lambda: str(_serve_apps(ray_head)),
    )
    answer = site.predict(down["slug"], "still", site.keys["echo"])
    assert answer.status_code == 200, answer.text


def test_a_second_version_is_a_canary_in_its_own_application_then_stop_removes_them(
    site: Site, ray_head: RayHead
) -> None:
    site.sync({"predict.py": (PREDICT + PEEK).replace('VERSION = "v1"', 'VERSION = "v2"')})
    made = site.deploy("echo", computes=["tiny"])
    assert made["version"] == 2

    def served() -> bool:
        versions = set()
        for _ in range(8):
            got = site.predict(made["endpoint"]["slug"], 0, site.keys["echo"])
            assert got.status_code == 200, got.text
            versions.add(got.json()["prediction"]["version"])
        shown = site.show("echo")
        return versions == {"v2"} and shown["versions"][0]["state"] == "live"

    wait_until(served, timeout=180, message=lambda: site.explain("echo"))
    shown = site.show("echo")
    v2 = next(v for v in shown["versions"] if v["number"] == 2)
    wait_until(  # the retired version's application goes with its last replica
        lambda: list(_serve_apps(ray_head)) == [f"hw-{v2['id']}"],
        timeout=120,
        message=lambda: str(list(_serve_apps(ray_head))),
    )
    stopped = site.api("POST", "/endpoints/echo/stop")
    assert stopped.status_code == 200, stopped.text
    wait_until(
        lambda: not _serve_apps(ray_head),
        timeout=120,
        message=lambda: str(list(_serve_apps(ray_head))),
    )


def test_a_killed_serve_replica_is_replaced_and_the_endpoint_serves_again(
    site: Site, ray_head: RayHead
) -> None:
    import psutil
    from ray.util.state import list_actors

    start = site.api("POST", "/endpoints/echo/start")
    assert start.status_code == 200, start.text
    shown = site.running("echo")
    [live] = [v for v in shown["versions"] if v["state"] == "live"]
    actors = wait_until(
        lambda: [
            a
            for a in list_actors(
                address=ray_head.dashboard,
                filters=[("class_name", "=", f"ServeReplica:hw-{live['id']}:replica")],
            )
            if a.state == "ALIVE" and a.pid
        ],
        message="no Serve replica runs",
    )
    psutil.Process(actors[0].pid).kill()  # what a lost node does to it
    wait_until(
        lambda: site.predict(shown["slug"], "again", site.keys["echo"]).status_code == 200,
        timeout=180,
        message=lambda: site.explain("echo"),
    )


def test_a_serve_replica_lost_with_its_node_ends_its_task_lost_and_a_new_task_serves(
    site: Site, ray_head: RayHead
) -> None:
    site.deploy("lost", computes=["tiny"])
    shown = site.running("lost")
    [before] = shown["replicas"]
    [version] = shown["versions"]
    lose_serve_replica(ray_head.dashboard, f"hw-{version['id']}")

    def replaced() -> dict[str, Any] | None:
        now = site.show("lost")
        ready = [r for r in now["replicas"] if r["state"] == "ready"]
        if now["status"] == "running" and ready and ready[0]["id"] != before["id"]:
            return now
        return None

    after = wait_until(replaced, timeout=180, message=lambda: site.explain("lost"))
    dead = site.api("GET", f"/experiments/{before['experiment']}").json()
    assert dead["state"] == "failed", dead
    assert (dead["reason"] or "").startswith("lost"), dead
    assert after["replicas"][0]["experiment"] != before["experiment"]
    # Serve may still route a request to its replica that is starting for a moment after the
    # new task reports ready (503 replica_starting, Retry-After: 1): the endpoint serves again
    # within seconds, and from then on request after request
    wait_until(
        lambda: site.predict(after["slug"], -1, site.keys["lost"]).status_code == 200,
        timeout=60,
        message="the endpoint never served again",
    )
    for value in range(5):  # served by the new task's replica, request after request
        answer = site.predict(after["slug"], value, site.keys["lost"])
        assert answer.status_code == 200, answer.text
        assert answer.json()["prediction"]["echo"] == value
    site.api("DELETE", "/endpoints/lost")


def test_deleting_an_endpoint_removes_its_serve_application(site: Site, ray_head: RayHead) -> None:
    site.deploy("gone", computes=["tiny"])
    shown = site.running("gone")
    [version] = shown["versions"]
    wait_until(lambda: f"hw-{version['id']}" in _serve_apps(ray_head), timeout=60)
    deleted = site.api("DELETE", "/endpoints/gone")
    assert deleted.status_code == 204, deleted.text
    wait_until(
        lambda: f"hw-{version['id']}" not in _serve_apps(ray_head),
        timeout=60,
        message=lambda: str(list(_serve_apps(ray_head))),
    )
