"""A real Ray head for the tests marked ``ray``, started once per session and stopped after.

``ray start --head --block`` as ``hw server`` starts it without ``HEADWATER_RAY_ADDRESS``
(``executors.ray.LocalHead``), two CPUs, its ports free ones. ``HEADWATER_TEST_RAY_DASHBOARD``
(and ``HEADWATER_TEST_RAY_ADDRESS``, its GCS address) name one that runs already (two CPUs,
``--resources '{"hw_test_disk": 1}'``, started with this tree on its PYTHONPATH) and save the
start. Where Ray is not installed the tests
skip with the reason, unless ``HEADWATER_REQUIRE_RAY=1``. The head's nodes run the tasks with
this interpreter, so they see the code under test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.waiting import wait_until

RAY_CPUS = 2
# A custom resource the test head advertises (`ray start --resources`): a compute template
# that names it runs there; one that names another waits.
RAY_CUSTOM = {"hw_test_disk": 1.0}


@dataclass
class RayHead:
    dashboard: str
    log: Path | None
    cluster: str  # the head's GCS address: what a Ray driver (the pool) connects to


@pytest.fixture(scope="module")
def ray_head() -> Iterator[RayHead]:
    """A head of two CPUs for this module (a module's tests may leave jobs that hold its CPUs:
    the contract suite's, run before the e2e tests, kept their tasks waiting for ever);
    ``HEADWATER_TEST_RAY_DASHBOARD`` names one that
    runs already (``http://127.0.0.1:8265``, with two CPUs) and saves the start."""
    try:
        import ray  # noqa: F401
    except ImportError:
        if os.environ.get("HEADWATER_REQUIRE_RAY") == "1":
            pytest.fail("HEADWATER_REQUIRE_RAY=1 but Ray is not installed")
        pytest.skip("Ray is not installed (pip install 'headwater[ray]')")
    given = os.environ.get("HEADWATER_TEST_RAY_DASHBOARD")
    if given:
        yield RayHead(given, None, os.environ["HEADWATER_TEST_RAY_ADDRESS"])
        return
    from headwater.executors.ray import LocalHead

    home = Path(tempfile.mkdtemp(prefix="hwray-home-"))
    # what `hw server` starts without an address, with one custom resource
    head = LocalHead(home, cpus=RAY_CPUS, resources=RAY_CUSTOM)
    try:
        dashboard = head.start()
        cluster = head.cluster()
        assert cluster is not None
        yield RayHead(dashboard, head.log, cluster)
    finally:
        head.stop()
        shutil.rmtree(home, ignore_errors=True)


def lose_node(dashboard: str, experiment_id: str) -> None:
    """What a node's loss does to a task's job: its supervisor and every process under it die
    at once (SIGKILL), with no word to anyone."""
    import psutil
    from ray.util.state import list_actors

    name = f"_ray_internal_job_actor_{experiment_id}"
    actors = wait_until(
        lambda: [
            a
            for a in list_actors(address=dashboard, filters=[("name", "=", name)])
            if a.state == "ALIVE" and a.pid
        ],
        message="the job's supervisor never ran",
    )
    supervisor = psutil.Process(actors[0].pid)
    for process in [*supervisor.children(recursive=True), supervisor]:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def lose_pool_task(pool: Any, experiment_id: str) -> None:
    """What a node's loss does to a task in the Ray pool: the Ray worker running it and every
    process under it die at once (SIGKILL)."""
    import psutil

    pid = wait_until(
        lambda: (pool.states().get(experiment_id) or {}).get("pid"),
        message="the task never started in the pool",
    )
    worker = psutil.Process(int(pid))
    for process in [*worker.children(recursive=True), worker]:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def lose_serve_replica(dashboard: str, app: str) -> None:
    """What a node's loss does to a Ray Serve replica of application ``app``: its actor's
    process and every process under it (the task's runtime, its sandbox, the predict code)
    die at once (SIGKILL), with no word to anyone."""
    import psutil
    from ray.util.state import list_actors

    actors = wait_until(
        lambda: [
            a
            for a in list_actors(
                address=dashboard, filters=[("class_name", "=", f"ServeReplica:{app}:replica")]
            )
            if a.state == "ALIVE" and a.pid
        ],
        message=f"no Serve replica of {app} runs",
    )
    replica = psutil.Process(actors[0].pid)
    for process in [*replica.children(recursive=True), replica]:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
