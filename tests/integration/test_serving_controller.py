"""The serving controller's decisions on a real database (SQLite and PostgreSQL), ticked by
hand with no task running: what it queues, stops and fails, and why. The processes themselves
are tests/integration/test_endpoints.py's."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from headwater.db.repos.endpoints import EndpointRepo
from headwater.db.repos.experiments import ExperimentRepo
from headwater.domain.jobs import Experiment, JobState
from headwater.engine.serving import DRAIN_SECONDS, ServingController
from headwater.server.platform import Platform
from tests.support.api import Api, Server
from tests.support.waiting import wait_until

BLOB = b"def predict(x):\n    return x\n"


@dataclass
class Clock:
    """The controller's time, moved by hand (the drain is counted in it)."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Rig:
    server: Server
    owner: Api
    project: str
    stopped: list[tuple[str, str]] = field(default_factory=list)  # experiment id, why

    @property
    def platform(self) -> Platform:
        platform: Platform = self.server.app.state.platform
        return platform

    def controller(self, clock: Clock | None = None) -> ServingController:
        def stop(experiment: Experiment, why: str) -> bool:
            self.stopped.append((experiment.id, why))
            with self.platform.db.write() as session:
                ExperimentRepo(session).move(experiment.id, JobState.ABORTED, reason=why)
            return True

        if clock is None:
            return ServingController(self.platform.db, stop=stop)
        return ServingController(self.platform.db, stop=stop, clock=clock)

    def deploy(self, title: str, **more: Any) -> dict[str, Any]:
        body = {"title": title, "file_name": "predict.py", "function_name": "predict", **more}
        made = self.owner.post(f"/projects/{self.project}/endpoints", json=body)
        assert made.status_code == 201, made.text
        return dict(made.json())

    def replicas(self, endpoint_id: str) -> list[Any]:
        with self.platform.db.read() as session:
            return EndpointRepo(session).replicas(endpoint_id)

    def serve(self, replica_id: str, experiment_id: str) -> None:
        """What the engine records when a replica's task runs and listens."""
        with self.platform.db.write() as session:
            repo = ExperimentRepo(session)
            repo.move(experiment_id, JobState.INITIALIZING)
            repo.move(experiment_id, JobState.RUNNING)
            EndpointRepo(session).update_replica(
                replica_id, state="ready", address="127.0.0.1:9", ready_at=datetime.now(UTC)
            )

    def end(self, experiment_id: str, state: JobState, reason: str) -> None:
        """What the engine records when a replica's task ends."""
        with self.platform.db.write() as session:
            repo = ExperimentRepo(session)
            repo.move(experiment_id, JobState.INITIALIZING)
            repo.move(experiment_id, state, reason=reason)


@pytest.fixture
def rig(server: Server) -> Rig:
    owner = server.create_user()
    project = owner.create_project("serving-rig")["id"]
    digest = hashlib.sha256(BLOB).hexdigest()
    assert owner.put(f"/projects/{project}/files/objects/{digest}", content=BLOB).is_success
    entry = {"path": "predict.py", "hash": digest, "size": len(BLOB)}
    made = owner.post(f"/projects/{project}/files/commits", json={"entries": [entry]})
    assert made.status_code == 201, made.text
    return Rig(server, owner, project)


def test_a_deploy_queues_its_replicas_as_tasks_of_the_endpoints_compute(rig: Rig) -> None:
    made = rig.deploy("queued", min_replica=2, max_replica=2)
    controller = rig.controller()
    assert controller.tick() == 2
    assert controller.tick() == 0  # queued ones count: nothing more until they end
    replicas = rig.replicas(made["endpoint"]["id"])
    assert [r.state for r in replicas] == ["starting", "starting"]
    with rig.platform.db.read() as session:
        task = ExperimentRepo(session).get(replicas[0].experiment_id)
    assert task.title == "endpoint:queued"
    assert task.state is JobState.QUEUED
    assert task.options["replica"] == {
        "endpoint": made["endpoint"]["id"],
        "version": made["endpoint"]["versions"][0]["id"],
    }
    assert task.options["periodic_sync"] is False
    assert "python -m headwater.serving --file predict.py --function predict" in task.command


def test_replicas_stopped_while_starting_never_fail_their_version(rig: Rig) -> None:
    made = rig.deploy("restless")
    endpoint = made["endpoint"]["id"]
    controller = rig.controller()
    for _ in range(4):  # each replica is stopped (a person, a scale-down) before it is ready
        controller.tick()
        [replica] = rig.replicas(endpoint)
        rig.end(replica.experiment_id, JobState.ABORTED, "stopped by a user")
    controller.tick()
    shown = rig.owner.get(f"/projects/{rig.project}/endpoints/restless").json()
    assert shown["versions"][0]["state"] == "live"
    assert shown["status"] == "deploying"


def test_replicas_that_end_by_themselves_before_serving_fail_their_version_at_the_third(
    rig: Rig,
) -> None:
    made = rig.deploy("broken")
    endpoint = made["endpoint"]["id"]
    controller = rig.controller()
    for n in range(3):
        assert controller.tick() == 1, n  # a replacement each time, until the third
        [replica] = rig.replicas(endpoint)
        rig.end(replica.experiment_id, JobState.FAILED, f"the replica stopped by itself ({n})")
    assert controller.tick() == 0
    shown = rig.owner.get(f"/projects/{rig.project}/endpoints/broken").json()
    [version] = shown["versions"]
    assert version["state"] == "failed"
    assert version["reason"].startswith("3 replicas ended before serving; the last")
    assert version["reason"].endswith("the replica stopped by itself (2)")
    assert shown["status"] == "failed"
    assert controller.tick() == 0  # and nothing is restarted for ever


def test_a_stopped_endpoint_stops_its_replicas_saying_why(rig: Rig) -> None:
    made = rig.deploy("halted")
    controller = rig.controller()
    controller.tick()
    [replica] = rig.replicas(made["endpoint"]["id"])
    assert rig.owner.post(f"/projects/{rig.project}/endpoints/halted/stop").is_success
    controller.tick()  # a replica that never listened needs no drain
    assert rig.stopped == [(replica.experiment_id, "the endpoint was stopped")]
    controller.tick()
    assert rig.replicas(made["endpoint"]["id"]) == []


def test_a_replica_scaled_down_while_its_version_serves_is_stopped_after_the_drain(
    rig: Rig,
) -> None:
    made = rig.deploy("shrinking", min_replica=2, max_replica=2)
    endpoint = made["endpoint"]["id"]
    clock = Clock()
    controller = rig.controller(clock)
    assert controller.tick() == 2
    for replica in rig.replicas(endpoint):
        rig.serve(replica.id, replica.experiment_id)
    scaled = rig.owner.post(
        f"/projects/{rig.project}/endpoints/shrinking/scale",
        json={"min_replica": 1, "max_replica": 1},
    )
    assert scaled.status_code == 200, scaled.text
    controller.tick()  # marked stopping: the gateways stop sending it requests first
    draining = [r for r in rig.replicas(endpoint) if r.state == "stopping"]
    assert len(draining) == 1
    assert rig.stopped == []
    clock.advance(DRAIN_SECONDS + 0.5)
    controller.tick()  # its version still serves: the drain is over all the same
    assert rig.stopped == [(draining[0].experiment_id, "scaled down to 1 replica")]
    controller.tick()  # its task ended: it is gone, the other one serves on
    [left] = rig.replicas(endpoint)
    assert left.state == "ready"
    assert left.id != draining[0].id


def test_a_start_within_the_drain_still_stops_the_old_replicas_task(rig: Rig) -> None:
    made = rig.deploy("restarted")
    endpoint = made["endpoint"]["id"]
    clock = Clock()
    controller = rig.controller(clock)
    controller.tick()
    [old] = rig.replicas(endpoint)
    rig.serve(old.id, old.experiment_id)
    assert rig.owner.post(f"/projects/{rig.project}/endpoints/restarted/stop").is_success
    controller.tick()  # it listened: it drains before its task stops
    assert rig.stopped == []
    assert rig.owner.post(f"/projects/{rig.project}/endpoints/restarted/start").is_success
    assert controller.tick() == 1  # a new replica; the old one is still 'stopping'
    clock.advance(DRAIN_SECONDS + 0.5)
    controller.tick()
    assert rig.stopped == [(old.experiment_id, "the endpoint was stopped")]
    controller.tick()
    [new] = rig.replicas(endpoint)
    assert new.id != old.id
    assert new.state == "starting"


def test_a_delete_meeting_a_change_to_a_replica_waits_for_it_instead_of_deadlocking(
    rig: Rig,
) -> None:
    """A controller pass changes a replica, then its endpoint's status; a delete takes the
    endpoint, then its replicas by cascade. On PostgreSQL the two deadlocked (a 500 on the
    delete) until every change to an endpoint's rows locks the endpoint's row first."""
    db = rig.platform.db
    if db.is_sqlite:
        pytest.skip("SQLite has one writer at a time: there is no row lock to take out of turn")
    made = rig.deploy("contested")
    endpoint = made["endpoint"]["id"]
    rig.controller().tick()
    [replica] = rig.replicas(endpoint)
    deleted: list[BaseException | None] = []

    def delete() -> None:
        try:
            with db.write() as session:
                EndpointRepo(session).delete(endpoint)
            deleted.append(None)
        except BaseException as error:  # handed to the test's thread
            deleted.append(error)

    def someone_waits_for_a_lock() -> bool:
        with db.connect() as conn:
            return bool(conn.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")))

    with db.write() as session:  # the controller's pass, held open mid-way
        repo = EndpointRepo(session)
        repo.update_replica(replica.id, state="stopping")
        session.flush()
        deleting = threading.Thread(target=delete)
        deleting.start()
        wait_until(someone_waits_for_a_lock, message="the delete never met the pass's lock")
        repo.update(endpoint, status="stopped")
    deleting.join(timeout=60)
    assert deleted == [None]
    with db.read() as session:
        assert EndpointRepo(session).replicas(endpoint, live_only=False) == []
