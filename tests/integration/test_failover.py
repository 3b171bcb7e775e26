"""Control-plane replicas: two ``hw server`` processes on one PostgreSQL (and one home, so one
local worker), exactly one leading the engine. The leader is killed with SIGKILL while a task
runs: the other takes the lead within ``HEADWATER_LEADER_RETRY_SECONDS`` of the lock's release
(measured and printed, not asserted: CI machines are loaded), adopts the running task without
launching it again, and schedules new work."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from headwater.client import Client
from headwater.domain.jobs import JobState
from tests.security.conftest import log_text
from tests.support.liveserver import RunningServer, running_server
from tests.support.postgres import PostgresCluster
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _engine(server: RunningServer) -> str:
    try:
        answer = httpx.get(f"{server.url}/healthz", timeout=2)
    except httpx.TransportError:
        return "down"
    return str(answer.json()["engine"])


@pytest.fixture
def database(postgres_cluster: PostgresCluster) -> Iterator[str]:
    with postgres_cluster.fresh_database() as url:
        yield url


def test_the_leader_killed_another_leads_adopts_its_task_and_runs_nothing_twice(
    tmp_path: Path, database: str
) -> None:
    home = tmp_path / "home"
    settings = {
        "HEADWATER_DATABASE_URL": database,
        "HEADWATER_SANDBOX": "false",
        "HEADWATER_WORKER_IDLE_EXIT": "60",
    }
    with running_server(home, tmp_path / "first.log", **settings) as first:
        wait_until(lambda: _engine(first) == "leading", message=first.log_text)
        with running_server(home, tmp_path / "second.log", **settings) as second:
            assert _engine(second) == "standby"
            token = first.admin_token
            admin = Client(first.url, token, config_dir=tmp_path / "cfg")
            project = admin.projects.create("failover")
            admin.close()
            on_first = Client(first.url, token, project.id, config_dir=tmp_path / "cfg")
            on_second = Client(second.url, token, project.id, config_dir=tmp_path / "cfg")
            long = on_first.experiments.create("echo launched; sleep 600")[0]
            wait_until(lambda: on_first.experiments.get(long.id).state is JobState.RUNNING)
            wait_until(lambda: "launched" in log_text(on_first, long.id).splitlines())
            assert _engine(second) == "standby"  # one leader at a time

            os.kill(first.process.pid, signal.SIGKILL)
            killed = time.monotonic()
            first.process.wait(30)
            wait_until(lambda: _engine(second) == "leading", timeout=60, message=second.log_text)
            took = time.monotonic() - killed
            print(f"\nfailover: a new leader {took:.2f} s after the leader's SIGKILL")

            # Recovery runs before the new leader's first schedule: once a new task has
            # run, the running one has been looked at.
            probe = on_second.experiments.create("echo after")[0]
            wait_until(lambda: on_second.experiments.get(probe.id).state.terminal, timeout=60)
            assert on_second.experiments.get(probe.id).state is JobState.SUCCESS
            adopted = on_second.experiments.get(long.id)
            assert adopted.state is JobState.RUNNING, adopted.reason  # not lost, not re-queued
            ran = log_text(on_second, long.id).splitlines()
            assert ran.count("launched") == 1, ran  # its command started once
            on_second.experiments.stop(long.id)
            assert on_second.experiments.get(long.id).state is JobState.ABORTED
            on_first.close()
            on_second.close()
