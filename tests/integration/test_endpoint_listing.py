"""Listing endpoints by status: what the project dashboard's "active endpoints" count asks for
(the engine is off in process, so statuses are set the way the controller would)."""

from __future__ import annotations

from headwater.db.repos.endpoints import EndpointRepo
from tests.support.api import Server, assert_error

DEPLOY = {"file_name": "predict.py", "function_name": "predict"}


def test_the_status_filter_keeps_only_the_statuses_asked_for_and_counts_them(
    server: Server,
) -> None:
    owner = server.create_user()
    pid = owner.create_project()["id"]
    statuses = {
        "a-run": "running",
        "b-deg": "degraded",
        "c-stop": "stopped",
        "d-fail": "failed",
        "e-new": "deploying",
    }
    with server.app.state.platform.db.write() as session:
        repo = EndpointRepo(session)
        for title, status in statuses.items():
            made, _ = repo.define(
                pid,
                title,
                DEPLOY,
                flow_run_id=None,
                created_by=None,
                min_replicas=1,
                max_replicas=1,
            )
            repo.update(made.id, status=status)
    path = f"/projects/{pid}/endpoints"
    active = owner.get(
        path, params=[("status", "running"), ("status", "degraded"), ("status", "deploying")]
    ).json()
    assert [e["title"] for e in active["items"]] == ["a-run", "b-deg", "e-new"]
    assert active["total"] == 3
    counted = owner.get(path, params=[("status", "running"), ("limit", 1)]).json()
    assert (counted["total"], len(counted["items"])) == (1, 1)
    assert owner.get(path).json()["total"] == 5  # no filter: every endpoint


def test_an_unknown_status_is_refused_naming_the_query(server: Server) -> None:
    owner = server.create_user()
    pid = owner.create_project()["id"]
    response = owner.get(f"/projects/{pid}/endpoints", params={"status": "sleeping"})
    assert_error(response, 422, where="query.status.0")


def test_a_listed_endpoint_carries_its_ready_replicas_and_its_serving_versions_split(
    server: Server,
) -> None:
    owner = server.create_user()
    pid = owner.create_project()["id"]
    tasks = []
    for _ in range(3):
        made = owner.post(f"/projects/{pid}/experiments", json={"command": "true"})
        assert made.status_code == 201, made.text
        tasks.append(made.json()[0]["id"])
    with server.app.state.platform.db.write() as session:
        repo = EndpointRepo(session)
        endpoint, _ = repo.define(
            pid, "split", DEPLOY, flow_run_id=None, created_by=None, min_replicas=1, max_replicas=3
        )
        versions = [
            repo.add_version(
                endpoint.id, definition=DEPLOY, source={}, flow_run_id=None, created_by=None
            )
            for _ in range(3)
        ]
        for version, (state, traffic) in zip(
            versions, [("retired", 0), ("live", 90), ("canary", 10)], strict=True
        ):
            repo.update_version(version.id, state=state, traffic=traffic)
        for task, state in zip(tasks, ["ready", "ready", "starting"], strict=True):
            replica = repo.add_replica(endpoint.id, versions[1].id, task)
            repo.update_replica(replica.id, state=state)
    [listed] = owner.get(f"/projects/{pid}/endpoints").json()["items"]
    assert listed["replicas_ready"] == 2
    assert listed["replicas_wanted"] == 1
    assert listed["split"] == [
        {"version": 2, "state": "live", "traffic": 90},
        {"version": 3, "state": "canary", "traffic": 10},
    ]
    assert listed["url_path"] == f"/api/v1/endpoints/{listed['slug']}/predict"
