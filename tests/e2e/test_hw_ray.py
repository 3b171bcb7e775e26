"""``hw server`` with ``HEADWATER_EXECUTOR=ray`` on a real Ray head (tests/support/rayhead.py):
a task runs as a Ray job, sandboxed as locally, reporting over HTTP; a server killed with
SIGKILL while a job runs adopts it after its restart and never submits it twice; a node lost
under a task ends it ``failed`` ("lost")."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater.client import Client
from headwater.domain.jobs import JobState
from tests.e2e.conftest import make_hw, unique
from tests.e2e.test_hw_flows import grid_flow, task, write_flow
from tests.security.test_sandbox import probe
from tests.support.rayhead import RayHead, lose_node, lose_pool_task
from tests.support.restarts import RestartableServer, restartable_server
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.ray]


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Files the tasks run, which their sandbox mounts read-only."""
    folder = tmp_path_factory.mktemp("ray-scripts")
    folder.chmod(0o755)  # tasks run as another uid when the tests run as root
    return folder


@pytest.fixture(scope="module", params=["pool", "jobs"])
def dispatch(request: pytest.FixtureRequest) -> str:
    """How the server runs its tasks on Ray (``HEADWATER_RAY_DISPATCH``): every test here runs
    with each."""
    return str(request.param)


@pytest.fixture(scope="module")
def server(
    ray_head: RayHead, tmp_path_factory: pytest.TempPathFactory, scripts: Path, dispatch: str
) -> Iterator[RestartableServer]:
    tmp = tmp_path_factory.mktemp("hw-ray")
    with restartable_server(
        tmp / "home",
        tmp / "server.log",
        HEADWATER_EXECUTOR="ray",
        # the pool's driver needs the cluster's address; Ray Jobs take the dashboard's
        HEADWATER_RAY_ADDRESS=ray_head.cluster if dispatch == "pool" else ray_head.dashboard,
        HEADWATER_RAY_DISPATCH=dispatch,
        HEADWATER_RAY_PYTHON=sys.executable,
        HEADWATER_SANDBOX_READ_ONLY=str(scripts),
    ) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: RestartableServer) -> Iterator[Client]:
    home = server.home.parent
    admin = Client(server.url, server.admin_token, config_dir=home / "cfg")
    project = admin.projects.create("on-ray")
    admin.close()
    made = Client(server.url, server.admin_token, project.id, config_dir=home / "cfg")
    yield made
    made.close()


def _log(client: Client, ref: str) -> str:
    return "".join(chunk.text for chunk in client.experiments.logs(ref).chunks)


def _runs(head: RayHead, dispatch: str, experiment_id: str) -> int:
    """How many times Ray ran the task: its jobs, or its attempts in the pool."""
    if dispatch == "pool":
        return 1 if experiment_id in _pool(head).states() else 0
    from ray.job_submission import JobSubmissionClient

    jobs = JobSubmissionClient(head.dashboard).list_jobs()
    return sum(1 for job in jobs if job.submission_id == experiment_id)


def _pool(head: RayHead) -> Any:
    from headwater.executors.raypool import RayPool

    return RayPool(head.cluster)


@pytest.mark.skipif(sys.platform != "linux", reason="the sandbox is Linux's (bubblewrap)")
def test_a_task_runs_on_ray_sandboxed_and_reports_over_http(
    client: Client, server: RestartableServer, ray_head: RayHead, dispatch: str
) -> None:
    script = "; ".join(
        [
            "echo uid=$(id -u)",
            probe("admin.token", str(server.home / "admin.token")),
            probe("server home", str(server.home)),
            "echo hw_tag_where: ray",
        ]
    )
    exp = client.experiments.create(script)[0]
    wait_until(lambda: client.experiments.get(exp.id).state.terminal, timeout=120)
    ended = client.experiments.get(exp.id)
    log = _log(client, exp.id)
    assert ended.state is JobState.SUCCESS, log
    assert "blocked admin.token" in log, log
    assert "blocked server home" in log, log
    assert not [line for line in log.splitlines() if line.startswith("READ ")], log
    assert server.admin_token not in log
    if os.geteuid() == 0:
        assert "uid=65534" in log, log  # dropped, as the local worker does
    assert _runs(ray_head, dispatch, exp.id) == 1


def test_a_server_killed_while_its_task_runs_on_ray_adopts_it_and_never_runs_it_twice(
    client: Client, server: RestartableServer, ray_head: RayHead, dispatch: str
) -> None:
    exp = client.experiments.create("echo started; sleep 600")[0]
    wait_until(lambda: client.experiments.get(exp.id).state is JobState.RUNNING, timeout=120)
    server.kill()
    server.start()
    # The restarted engine recovers before it schedules: once a new task has run, the old one
    # has been looked at.
    probe_exp = client.experiments.create("echo after")[0]
    wait_until(lambda: client.experiments.get(probe_exp.id).state.terminal, timeout=120)
    assert client.experiments.get(exp.id).state is JobState.RUNNING  # adopted, not lost
    assert _runs(ray_head, dispatch, exp.id) == 1
    client.experiments.stop(exp.id)
    wait_until(
        lambda: _finished(ray_head, dispatch, exp.id), timeout=60, message="it runs on, on Ray"
    )
    assert client.experiments.get(exp.id).state is JobState.ABORTED
    assert _log(client, exp.id).count("$ echo started") == 1  # one run, whatever Ray says


def test_a_flow_with_a_grid_runs_on_ray_as_it_does_locally(
    server: RestartableServer, scripts: Path, tmp_path: Path, ray_head: RayHead, dispatch: str
) -> None:
    """tests/e2e/test_hw_flows.py's grid flow, through `hw flow run --wait`, on Ray."""
    hw = make_hw(tmp_path, "admin")
    hw("login", "--url", server.url, "--token", server.admin_token)
    pid = str(hw.json("project", "create", unique("ray-flows"))["id"])
    folder = scripts / tmp_path.name
    folder.mkdir(mode=0o755)
    path = write_flow(tmp_path, grid_flow(folder, unique("Grid on Ray")))
    ended = hw.json("flow", "run", "--file", str(path), "--wait", "--timeout", "180", "-p", pid)
    assert ended["status"] == "success", ended
    seen = hw.json("inspect", str(ended["number"]), "-p", pid)
    assert [len(t["instances"]) for t in seen["tasks"]] == [1, 2, 1]
    train = task(seen, 'Train "fast" model')
    assert sorted(i["tags"]["score"] for i in train["instances"]) == ["1.0", "5.0"]
    ids = [i["experiment_id"] for t in seen["tasks"] for i in t["instances"]]
    assert all(_runs(ray_head, dispatch, eid) == 1 for eid in ids)  # each a Ray job, once


def _finished(head: RayHead, dispatch: str, experiment_id: str) -> bool:
    if dispatch == "pool":
        return bool(_pool(head).states()[experiment_id]["state"] == "ended")
    from ray.job_submission import JobSubmissionClient

    status = JobSubmissionClient(head.dashboard).get_job_status(experiment_id)
    return bool(status.is_terminal())


def test_a_node_lost_under_a_task_ends_it_failed_lost(
    client: Client, ray_head: RayHead, dispatch: str
) -> None:
    exp = client.experiments.create("echo started; sleep 600")[0]
    wait_until(lambda: client.experiments.get(exp.id).state is JobState.RUNNING, timeout=120)
    if dispatch == "pool":
        lose_pool_task(_pool(ray_head), exp.id)
    else:
        lose_node(ray_head.dashboard, exp.id)
    wait_until(lambda: client.experiments.get(exp.id).state.terminal, timeout=60)
    ended = client.experiments.get(exp.id)
    assert ended.state is JobState.FAILED
    assert (ended.reason or "").startswith("lost"), ended.reason


def test_without_an_address_hw_server_starts_a_head_of_its_own_and_stops_it(
    tmp_path: Path, ray_head: RayHead
) -> None:
    """The laptop trial: HEADWATER_RAY_ADDRESS unset. (``ray_head``: only so that this runs
    where Ray is installed; its own head is another one.)"""
    home = tmp_path / "home"
    with restartable_server(
        home,
        tmp_path / "server.log",
        start_timeout=180,  # the server starts its head first
        HEADWATER_EXECUTOR="ray",
        HEADWATER_SANDBOX="false",
    ) as srv:
        record = json.loads((home / "ray" / "head.json").read_text())
        assert record["dashboard"] != ray_head.dashboard
        admin = Client(srv.url, srv.admin_token, config_dir=tmp_path / "cfg")
        project = admin.projects.create("laptop")
        client = Client(srv.url, srv.admin_token, project.id, config_dir=tmp_path / "cfg")
        exp = client.experiments.create("echo on my laptop")[0]
        wait_until(lambda: client.experiments.get(exp.id).state.terminal, timeout=120)
        assert client.experiments.get(exp.id).state is JobState.SUCCESS, _log(client, exp.id)
        assert "on my laptop" in _log(client, exp.id)
        client.close()
        admin.close()
        assert srv.current is not None
        srv.current.process.terminate()  # a clean stop, nothing running: the head goes too
        srv.current.process.wait(60)
    wait_until(lambda: not _alive(int(record["pid"])), timeout=60, message="the head runs on")
    assert not (home / "ray" / "head.json").exists()
    assert not Path(record["temp"]).exists()  # nor its sessions' files in /tmp


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
