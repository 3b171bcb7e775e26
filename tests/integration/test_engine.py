"""The engine's decisions on a real database (SQLite and PostgreSQL), with the fake executor:
what it launches when, what waits, what it ends and why, restarts, recovery and leadership."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from headwater.db.repos.compute import DeliveryRepo
from headwater.db.repos.experiments import ExperimentRepo
from headwater.db.tables import ExperimentRow
from headwater.domain.compute import Resources
from headwater.domain.jobs import Experiment, JobState
from headwater.engine.notifications import Notifications
from headwater.engine.scheduler import Engine
from headwater.executors.fake import FakeExecutor
from headwater.notify.fake import FakeNotifier
from headwater.server.platform import Platform
from tests.support.api import Api, Server


@dataclass
class Rig:
    server: Server
    engine: Engine
    executor: FakeExecutor
    notifier: FakeNotifier
    owner: Api
    project: str

    @property
    def platform(self) -> Platform:
        platform: Platform = self.server.app.state.platform
        return platform

    def create(self, n: int = 1, **body: Any) -> list[dict[str, Any]]:
        runs = [{"i": str(i)} for i in range(n)]
        response = self.owner.post(
            f"/projects/{self.project}/experiments", json={"command": "true", "runs": runs, **body}
        )
        assert response.status_code == 201, response.text
        made: list[dict[str, Any]] = response.json()
        return made

    def get(self, eid: str) -> Experiment:
        with self.platform.db.read() as session:
            return ExperimentRepo(session).get(eid)

    def states(self, made: list[dict[str, Any]]) -> list[JobState]:
        return [self.get(e["id"]).state for e in made]


def make_engine(platform: Platform, executor: FakeExecutor, notifier: FakeNotifier) -> Engine:
    return Engine(
        platform.db,
        executor,
        server_url=lambda: "http://127.0.0.1:1",
        notifications=Notifications(platform.db, lambda e, ev: [notifier], "http://x"),
        lock_file=platform.settings.home / "engine-test.lock",
    )


@pytest.fixture
def rig(server: Server) -> Iterator[Rig]:
    executor = FakeExecutor(Resources(cpus=2.0, memory_mb=8192, gpus=0))
    notifier = FakeNotifier()
    platform: Platform = server.app.state.platform
    engine = make_engine(platform, executor, notifier)
    assert engine.leadership.try_acquire()
    owner = server.create_user()
    project = owner.post("/projects", json={"name": "engine-rig"}).json()["id"]
    yield Rig(server, engine, executor, notifier, owner, project)
    engine.leadership.release()


def test_work_waits_for_free_compute_in_order(rig: Rig) -> None:
    made = rig.create(3)
    assert rig.engine.schedule() == 2  # `default` takes one of the two cores
    assert rig.states(made) == [JobState.INITIALIZING, JobState.INITIALIZING, JobState.QUEUED]
    assert [launch.experiment_id for launch in rig.executor.launched] == [
        made[0]["id"],
        made[1]["id"],
    ]
    assert rig.engine.schedule() == 0
    rig.engine.transition(made[0]["id"], JobState.FAILED, reason="exit code 1")
    assert rig.engine.schedule() == 1
    assert rig.states(made)[2] is JobState.INITIALIZING


def test_a_task_gets_a_token_of_its_own_that_ends_with_it(rig: Rig) -> None:
    [made] = rig.create()
    rig.engine.schedule()
    token = rig.executor.launched[0].token
    spec = rig.server.client(token).get(f"/projects/{rig.project}/experiments/{made['id']}/spec")
    assert spec.status_code == 200, spec.text
    assert spec.json()["env"]["HW_TAG_I"] == "0"
    rig.engine.transition(made["id"], JobState.FAILED, reason="done")
    again = rig.server.client(token).get(f"/projects/{rig.project}/experiments/{made['id']}/spec")
    assert again.status_code == 401


def test_a_compute_that_does_not_exist_or_never_fits_fails_with_the_reason(rig: Rig) -> None:
    [unknown] = rig.create(computes=["no-such"])
    big = rig.owner.post(
        "/compute", json={"name": "huge", "cpus": 64, "memory_mb": 64, "owned": True}
    )
    assert big.status_code == 201
    [huge] = rig.create(computes=["huge"])
    rig.engine.schedule()
    first, second = rig.get(unknown["id"]), rig.get(huge["id"])
    assert first.state is JobState.FAILED
    assert "no compute template named 'no-such'" in (first.reason or "")
    assert second.state is JobState.FAILED
    assert "huge needs 64 CPU (there are 2)" in (second.reason or "")


def test_a_custom_resource_the_executor_lacks_fails_at_once_naming_it(rig: Rig) -> None:
    """The local machine (like this fake) advertises no custom resources: a template that
    names one is refused at launch with what is missing, never queued for ever."""
    made = rig.owner.post(
        "/compute",
        json={
            "name": "a100",
            "cpus": 1,
            "memory_mb": 64,
            "custom_resources": {"accelerator_type:A100": 1},
            "owned": True,
        },
    )
    assert made.status_code == 201, made.text
    [exp] = rig.create(computes=["a100"])
    rig.engine.schedule()
    failed = rig.get(exp["id"])
    assert failed.state is JobState.FAILED
    assert "a100 needs 1 accelerator_type:A100 (there are 0)" in (failed.reason or "")
    assert "on the fake executor" in (failed.reason or "")
    assert rig.executor.launched == []


def test_a_custom_resource_is_accounted_and_passed_to_the_executor(rig: Rig) -> None:
    rig.executor.total = Resources(cpus=2.0, memory_mb=8192, gpus=0, custom={"ssd": 1.0})
    made = rig.owner.post(
        "/compute",
        json={
            "name": "ssd",
            "cpus": 0.5,
            "memory_mb": 64,
            "custom_resources": {"ssd": 1},
            "owned": True,
        },
    )
    assert made.status_code == 201, made.text
    first, second = rig.create(2, computes=["ssd"])
    assert rig.engine.schedule() == 1  # one ssd: the second waits though CPUs are free
    assert rig.states([first, second]) == [JobState.INITIALIZING, JobState.QUEUED]
    [launch] = rig.executor.launched
    assert launch.resources.custom == {"ssd": 1.0}
    assert rig.get(first["id"]).resources == {
        "cpus": 0.5,
        "memory_mb": 64,
        "gpus": 0,
        "custom": {"ssd": 1.0},
    }
    rig.engine.transition(first["id"], JobState.FAILED, reason="exit code 1")
    assert rig.engine.schedule() == 1  # its ssd is free again
    assert rig.get(second["id"]).state is JobState.INITIALIZING


def test_on_a_full_machine_a_bad_compute_still_fails_at_once_and_the_line_keeps_order(
    rig: Rig,
) -> None:
    """A pass skips queued work it checked before while nothing at all fits; work it has not
    seen is still checked at once, and the queue starts in order when room frees."""
    made = rig.create(4)
    assert rig.engine.schedule() == 2  # the machine is full; the other two were checked
    [unknown] = rig.create(computes=["no-such"])
    assert rig.engine.schedule() == 0
    found = rig.get(unknown["id"])
    assert found.state is JobState.FAILED
    assert "no compute template named 'no-such'" in (found.reason or "")
    assert rig.states(made)[2:] == [JobState.QUEUED, JobState.QUEUED]
    rig.engine.transition(made[1]["id"], JobState.SUCCESS)
    assert rig.engine.schedule() == 1
    assert rig.states(made)[2:] == [JobState.INITIALIZING, JobState.QUEUED]


def test_computes_are_tried_in_order(rig: Rig) -> None:
    both = {"name": "both-cores", "cpus": 2, "memory_mb": 64}
    assert rig.server.admin.post("/compute", json=both).status_code == 201
    made = rig.create(2, computes=["both-cores", "default"])
    rig.engine.schedule()
    got = [rig.get(e["id"]) for e in made]
    assert [e.compute for e in got] == ["both-cores", None]  # it took both cores: the next waits
    assert got[1].state is JobState.QUEUED
    rig.engine.transition(made[0]["id"], JobState.ABORTED)
    rig.engine.schedule()
    assert rig.get(made[1]["id"]).compute == "both-cores"  # the first that fits, in order


def test_a_vanished_task_ends_failed_as_lost(rig: Rig) -> None:
    [made] = rig.create()
    rig.engine.schedule()
    rig.executor.alive.discard(made["id"])
    rig.engine.watch()
    lost = rig.get(made["id"])
    assert lost.state is JobState.FAILED
    assert (lost.reason or "").startswith("lost")


def test_restart_when_idle_puts_it_back_in_the_queue_and_counts(rig: Rig) -> None:
    owner_settings = rig.owner.patch(
        f"/projects/{rig.project}/settings", json={"restart_when_idle": True, "idle_minutes": 5}
    )
    assert owner_settings.status_code == 200
    [made] = rig.create()
    rig.engine.schedule()
    rig.engine.transition(made["id"], JobState.RUNNING)
    rig.engine.watch()
    assert rig.get(made["id"]).state is JobState.RUNNING  # it is not idle yet
    _quiet_for(rig, made["id"], timedelta(minutes=6))
    rig.engine.watch()
    restarted = rig.get(made["id"])
    assert restarted.state is JobState.QUEUED
    assert restarted.restarts == 1
    assert "no output for 5 minutes" in (restarted.reason or "")
    assert rig.executor.cancelled == [made["id"]]


def _quiet_for(rig: Rig, eid: str, quiet: timedelta) -> None:
    """As if the experiment's current attempt was launched and last printed ``quiet`` ago."""
    then = datetime.now(UTC) - quiet
    runner = {**rig.get(eid).runner, "launched_at": then.isoformat()}
    with rig.platform.db.write() as session:
        session.execute(
            update(ExperimentRow)
            .where(ExperimentRow.id == eid)
            .values(last_output_at=then, runner=runner)
        )


def test_a_restarted_task_gets_a_new_idle_clock_at_its_next_launch(rig: Rig) -> None:
    """The earlier attempt's last output is long past: judged by it, the new attempt would be
    restarted again at the watchdog's next pass, before it could print anything."""
    assert rig.owner.patch(
        f"/projects/{rig.project}/settings", json={"restart_when_idle": True, "idle_minutes": 5}
    ).is_success
    [made] = rig.create()
    rig.engine.schedule()
    rig.engine.transition(made["id"], JobState.RUNNING)
    _quiet_for(rig, made["id"], timedelta(minutes=6))
    rig.engine.watch()
    assert rig.get(made["id"]).state is JobState.QUEUED
    assert rig.engine.schedule() == 1  # launched again
    rig.engine.watch()
    again = rig.get(made["id"])
    assert (again.state, again.restarts) == (JobState.INITIALIZING, 1)
    assert [x.experiment_id for x in rig.executor.launched] == [made["id"]] * 2
    _quiet_for(rig, made["id"], timedelta(minutes=6))  # this attempt, quiet too long
    rig.engine.watch()
    assert (rig.get(made["id"]).state, rig.get(made["id"]).restarts) == (JobState.QUEUED, 2)


def test_a_restart_ends_the_attempts_token_before_it_stops_its_process(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped first, the process could report its end (aborted) before the move to the queue,
    and the restart would be lost: the move ends its token, so that report is refused."""
    assert rig.owner.patch(
        f"/projects/{rig.project}/settings", json={"restart_when_idle": True, "idle_minutes": 5}
    ).is_success
    [made] = rig.create()
    rig.engine.schedule()
    rig.engine.transition(made["id"], JobState.RUNNING)
    _quiet_for(rig, made["id"], timedelta(minutes=6))
    seen: list[tuple[JobState, str | None]] = []
    cancel = rig.executor.cancel

    def cancel_seeing_the_state(experiment_id: str, runner: dict[str, Any]) -> None:
        now = rig.get(experiment_id)
        seen.append((now.state, now.task_token_hash))
        cancel(experiment_id, runner)

    monkeypatch.setattr(rig.executor, "cancel", cancel_seeing_the_state)
    rig.engine.watch()
    assert seen == [(JobState.QUEUED, None)]


def test_work_queued_longer_than_the_idle_limit_is_not_restarted_at_its_launch(
    rig: Rig,
) -> None:
    assert rig.owner.patch(
        f"/projects/{rig.project}/settings", json={"restart_when_idle": True, "idle_minutes": 5}
    ).is_success
    [made] = rig.create()
    with rig.platform.db.write() as session:
        session.execute(
            update(ExperimentRow)
            .where(ExperimentRow.id == made["id"])
            .values(created_at=datetime.now(UTC) - timedelta(minutes=30))
        )
    rig.engine.schedule()
    rig.engine.watch()
    assert rig.get(made["id"]).state is JobState.INITIALIZING
    assert rig.executor.cancelled == []


def test_recovery_adopts_live_tasks_and_ends_the_rest(rig: Rig) -> None:
    made = rig.create(2)
    rig.engine.schedule()
    rig.executor.alive.discard(made[1]["id"])
    fresh = make_engine(rig.platform, rig.executor, rig.notifier)  # as after a restart
    fresh.recover()
    assert rig.get(made[0]["id"]).state is JobState.INITIALIZING
    assert rig.get(made[1]["id"]).state is JobState.FAILED


def test_stop_aborts_queued_work_at_once_and_cancels_running_work(rig: Rig) -> None:
    made = rig.create(3)
    rig.engine.schedule()
    stopped = rig.owner.post(f"/projects/{rig.project}/experiments/{made[2]['number']}/stop")
    assert stopped.json()["state"] == "aborted"
    assert rig.executor.cancelled == []
    rig.engine.stop(rig.get(made[0]["id"]))
    assert rig.get(made[0]["id"]).state is JobState.ABORTED
    assert rig.executor.cancelled == [made[0]["id"]]


def test_endings_are_told_to_the_notifiers_and_logged(rig: Rig) -> None:
    [made] = rig.create()
    rig.engine.schedule()
    rig.engine.transition(made["id"], JobState.RUNNING)
    rig.engine.transition(made["id"], JobState.SUCCESS)
    deadline = time.monotonic() + 10
    while len(rig.notifier.events) < 2:
        assert time.monotonic() < deadline, rig.notifier.events
        time.sleep(0.05)
    assert [e.kind for e in rig.notifier.events] == ["experiment.started", "experiment.succeeded"]
    time.sleep(0.2)  # the log is written just after the send
    with rig.platform.db.read() as session:
        logged = DeliveryRepo(session).list_for(rig.project)
    assert [(d.channel, d.event, d.ok) for d in reversed(logged)] == [
        ("fake", "experiment.started", True),
        ("fake", "experiment.succeeded", True),
    ]


def test_a_short_task_says_running_with_its_end_and_both_are_told_in_order(rig: Rig) -> None:
    """A runtime says running only once its command has run a moment; a command that ended
    sooner says it with its final report: running first (dated by how long it ran), then
    the end, in one report, and the notifiers hear both, in that order."""
    [made] = rig.create()
    rig.engine.schedule()
    before = datetime.now(UTC)
    after, moved = rig.engine.report(
        made["id"],
        JobState.SUCCESS,
        reason=None,
        exit_code=0,
        runner={"host": "h"},
        output_commit=None,
        running_for=0.5,
    )
    assert moved
    assert after.state is JobState.SUCCESS
    assert after.started_at is not None
    assert after.ended_at is not None
    assert before - timedelta(seconds=0.6) < after.started_at < before - timedelta(seconds=0.4)
    assert after.started_at < after.ended_at
    assert after.runner["host"] == "h"
    deadline = time.monotonic() + 10
    while len(rig.notifier.events) < 2:
        assert time.monotonic() < deadline, rig.notifier.events
        time.sleep(0.05)
    assert [e.kind for e in rig.notifier.events] == ["experiment.started", "experiment.succeeded"]

    # A long one said running (dated back by how long it had run); its end needs no date.
    [made] = rig.create()
    rig.engine.schedule()
    now = datetime.now(UTC)
    running, moved = rig.engine.report(
        made["id"],
        JobState.RUNNING,
        reason=None,
        exit_code=None,
        runner=None,
        output_commit=None,
        running_for=0.25,
    )
    assert moved
    assert running.state is JobState.RUNNING
    assert running.started_at is not None
    assert running.started_at < now
    ended, moved = rig.engine.report(
        made["id"], JobState.FAILED, reason="exit code 1", exit_code=1, runner=None,
        output_commit=None,
    )  # fmt: skip
    assert moved
    assert (ended.state, ended.started_at) == (JobState.FAILED, running.started_at)

    # A task that failed before its command started never ran.
    [made] = rig.create()
    rig.engine.schedule()
    ended, moved = rig.engine.report(
        made["id"], JobState.FAILED, reason="setup", exit_code=None, runner=None,
        output_commit=None,
    )  # fmt: skip
    assert moved
    assert (ended.state, ended.started_at) == (JobState.FAILED, None)


def test_one_engine_leads(rig: Rig, tmp_path: Path) -> None:
    other = make_engine(rig.platform, FakeExecutor(), FakeNotifier())
    assert not other.leadership.try_acquire()
    rig.engine.leadership.release()
    assert other.leadership.try_acquire()
    other.leadership.release()


def test_bad_metric_points_are_refused_whole(rig: Rig) -> None:
    [made] = rig.create()
    rig.engine.schedule()
    # Only the experiment's own task writes its metrics: its token, as launched.
    [launch] = [x for x in rig.executor.launched if x.experiment_id == made["id"]]
    task = rig.server.client(launch.token)
    path = f"/projects/{rig.project}/experiments/{made['number']}/metrics"
    good = task.post(path, json={"points": [["loss", None, 0.5, None]]})
    assert good.json() == {"stored": 1}
    for body in (
        '{"points": [["loss", 1, 0.25, null], ["loss", 2, NaN, null]]}',
        '{"points": [["", 1, 0.25, null]]}',
        '{"points": [["loss", "one", 0.25, null]]}',
        '{"points": [["loss"',
    ):
        bad = task.post(path, content=body, headers={"content-type": "application/json"})
        assert bad.status_code in (400, 422), bad.text
    nan = task.post(
        path,
        content='{"points": [["loss", 1, 0.25, null], ["loss", 2, NaN, null]]}',
        headers={"content-type": "application/json"},
    )
    assert nan.json()["where"] == "points[1]"
    series = rig.owner.get(path).json()
    assert series == [{"key": "loss", "steps": [0], "values": [0.5], "times": series[0]["times"]}]
