"""A real Ray head for the tests marked ``ray``, started once per session and stopped after.

``ray start --head --block`` in a short temporary folder, two CPUs, its dashboard on a free
loopback port; ``HEADWATER_TEST_RAY_DASHBOARD`` names one that runs already (two CPUs, started
with this tree on its PYTHONPATH) and saves the start. Where Ray is not installed the tests
skip with the reason, unless ``HEADWATER_REQUIRE_RAY=1``. The head's nodes run the tasks with
this interpreter, so they see the code under test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.liveserver import free_port
from tests.support.waiting import wait_until

RAY_CPUS = 2


@dataclass
class RayHead:
    dashboard: str
    process: subprocess.Popen[bytes] | None
    log: Path | None


@pytest.fixture(scope="session")
def ray_head() -> Iterator[RayHead]:
    """A head of two CPUs for this session; ``HEADWATER_TEST_RAY_DASHBOARD`` names one that
    runs already (``http://127.0.0.1:8265``, with two CPUs) and saves the start."""
    ray_cli = Path(sys.executable).with_name("ray")
    try:
        import ray  # noqa: F401
    except ImportError:
        if os.environ.get("HEADWATER_REQUIRE_RAY") == "1":
            pytest.fail("HEADWATER_REQUIRE_RAY=1 but Ray is not installed")
        pytest.skip("Ray is not installed (pip install 'headwater[ray]')")
    given = os.environ.get("HEADWATER_TEST_RAY_DASHBOARD")
    if given:
        yield RayHead(given, None, None)
        return
    # Ray's sockets live under its temp folder: a short path (sun_path is 107 bytes)
    temp = Path(tempfile.mkdtemp(prefix="hwray", dir="/tmp"))
    dashboard_port = free_port()
    argv = [str(ray_cli), "start", "--head", "--block", "--disable-usage-stats"]
    argv += [f"--temp-dir={temp}", f"--port={free_port()}", f"--num-cpus={RAY_CPUS}"]
    argv += ["--include-dashboard=true", "--dashboard-host=127.0.0.1"]
    argv += [f"--dashboard-port={dashboard_port}", f"--ray-client-server-port={free_port()}"]
    log = temp / "head.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    head = RayHead(f"http://127.0.0.1:{dashboard_port}", process, log)
    try:
        from ray.job_submission import JobSubmissionClient

        def up() -> bool:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                JobSubmissionClient(head.dashboard)
            except (OSError, ConnectionError, RuntimeError, ValueError):
                return False
            return True

        wait_until(up, timeout=120, interval=0.5, message=lambda: log.read_text()[-3000:])
        yield head
    finally:
        process.terminate()  # `ray start --block` takes the head's processes down with it
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        shutil.rmtree(temp, ignore_errors=True)


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
