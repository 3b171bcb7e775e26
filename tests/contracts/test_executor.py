"""One contract suite for every executor: fake, local and ray.

Each backend is handed real launches: a real server (uvicorn in this process, its engine on the
fake executor) makes the experiment and its scoped token, and the backend under test starts the
task runtime for it, which reports to that server over HTTP as in production. So for the
backends that run tasks the suite checks both what the backend answers (``poll``) and what the
task reported (the experiment's state). The fake runs nothing: the test plays its tasks' ends.

Ray runs against a real local head started once per session (``ray start --head --block`` in a
temporary folder, two CPUs) and stopped after; marked ``ray``, it skips where Ray is not
installed unless ``HEADWATER_REQUIRE_RAY=1``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from tests.support.liveserver import free_port
from tests.support.rayhead import RAY_CPUS, RAY_CUSTOM, RayHead, lose_node, lose_pool_task
from tests.support.waiting import wait_until

from headwater.client import Client
from headwater.domain.compute import Resources
from headwater.domain.jobs import JobState
from headwater.executors.base import Executor, Launch, Liveness
from headwater.executors.fake import FakeExecutor
from headwater.executors.local import LocalExecutor
from headwater.executors.ray import RayExecutor
from headwater.server import create_app
from headwater.settings import ServerSettings

pytestmark = pytest.mark.slow

LONG = "echo started; sleep 600"


# -- the server that makes the tasks -----------------------------------------------------------


@dataclass
class Live:
    url: str
    engine_executor: FakeExecutor
    client: Client

    def task(self, command: str, resources: Resources | None = None) -> Launch:
        """A new experiment's launch (its token, its server), as the engine built it."""
        exp = self.client.experiments.create(command)[0]
        launch = self.launched(exp.id, 1)
        if resources is not None:
            launch = Launch(
                experiment_id=launch.experiment_id,
                project_id=launch.project_id,
                server_url=launch.server_url,
                token=launch.token,
                resources=resources,
                spec=launch.spec,
            )
        return launch

    def launched(self, experiment_id: str, times: int) -> Launch:
        """The engine's ``times``-th launch of the experiment."""

        def found() -> Launch | None:
            mine = [x for x in self.engine_executor.launched if x.experiment_id == experiment_id]
            return mine[times - 1] if len(mine) >= times else None

        return wait_until(found, message="the engine never launched it")

    def state(self, experiment_id: str) -> JobState:
        return self.client.experiments.get(experiment_id).state

    def ended(self, experiment_id: str) -> Any:
        wait_until(lambda: self.state(experiment_id).terminal, timeout=60)
        return self.client.experiments.get(experiment_id)

    def log(self, experiment_id: str) -> str:
        page = self.client.experiments.logs(experiment_id)
        return "".join(chunk.text for chunk in page.chunks)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    home = tmp_path_factory.mktemp("executor-server")
    port = free_port()
    app = create_app(ServerSettings(home=home, port=port, executor="fake"))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, message="the server did not start")
    engine_executor = app.state.platform.engine.executor
    assert isinstance(engine_executor, FakeExecutor)
    # Room for every task the suite makes: the engine hands each over at once.
    engine_executor.total = Resources(cpus=1000.0, memory_mb=10**7, gpus=0)
    url = f"http://127.0.0.1:{port}"
    token = (home / "admin.token").read_text().strip()
    admin = Client(url, token, config_dir=home / "cfg")
    project = admin.projects.create("executor-contract")
    admin.close()
    client = Client(url, token, project.id, config_dir=home / "cfg")
    yield Live(url, engine_executor, client)
    client.close()
    server.should_exit = True
    thread.join(10)


# -- the backends ------------------------------------------------------------------------------


@dataclass
class Backend:
    """One executor under test, and what the suite needs to drive it."""

    name: str
    executor: Executor
    runs_tasks: bool  # False: the fake, whose tasks the test plays
    reopen: Callable[[], Executor]  # the same backend as a restarted server builds it
    expected_capacity: Resources | None = None
    lose: Callable[[str], None] | None = None  # take the task's worker or node away
    hold_all: Callable[[Live], Callable[[], None]] | None = None  # fill it; returns release
    opened: list[Executor] = field(default_factory=list)

    def end(self, experiment_id: str) -> None:
        """A fake task ends by itself here (a real one's command does)."""
        if isinstance(self.executor, FakeExecutor):
            self.executor.alive.discard(experiment_id)

    def close(self) -> None:
        for executor in [self.executor, *self.opened]:
            executor.close()


def _fake() -> Backend:
    fake = FakeExecutor(Resources(cpus=4.0, memory_mb=8192, gpus=1))

    def reopen() -> Executor:
        again = FakeExecutor(fake.total)
        again.alive = fake.alive  # what its "cluster" still runs
        return again

    return Backend(
        name="fake",
        executor=fake,
        runs_tasks=False,
        reopen=reopen,
        expected_capacity=fake.total,
        lose=lambda _eid: fake.alive.clear(),
    )


def _local(home: Path) -> Backend:
    from headwater.executors.machine import machine_resources

    executor = LocalExecutor(home, idle_exit=60.0)

    def lose(experiment_id: str) -> None:
        """SIGKILL the worker, and its tasks' groups with it (as bubblewrap's
        ``--die-with-parent`` does to sandboxed ones)."""

        def started() -> dict[str, Any] | None:
            tasks = executor.running() or {}
            return tasks if tasks.get(experiment_id, {}).get("pgid") else None

        tasks = wait_until(started, message="the command never started")
        pid = int(Path(f"{executor.socket}.pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)
        for task in tasks.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(task["pgid"]), signal.SIGKILL)
        wait_until(lambda: not _alive(pid), message="the worker outlived SIGKILL")

    return Backend(
        name="local",
        executor=executor,
        runs_tasks=True,
        reopen=lambda: LocalExecutor(home, idle_exit=60.0),
        expected_capacity=machine_resources(),
        lose=lose,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    return True


# -- a real Ray head (tests/support/rayhead.py, once per session) ------------------------------


def _ray(head: RayHead, workroot: Path, dispatch: str = "pool") -> Backend:

    def make() -> RayExecutor:
        address = head.cluster if dispatch == "pool" else head.dashboard
        return RayExecutor(
            address, python=sys.executable, workroot=str(workroot), dispatch=dispatch
        )

    executor = make()

    def hold_all(live: Live) -> Callable[[], None]:
        blocker = live.task(LONG, Resources(cpus=float(RAY_CPUS), memory_mb=0, gpus=0))
        runner = executor.launch(blocker)
        wait_until(lambda: live.state(blocker.experiment_id) is JobState.RUNNING, timeout=60)

        def release() -> None:
            executor.cancel(blocker.experiment_id, runner)
            wait_until(lambda: executor.poll(blocker.experiment_id, runner) is Liveness.GONE)

        return release

    def lose(experiment_id: str) -> None:
        if dispatch == "jobs":
            lose_node(head.dashboard, experiment_id)
        else:
            assert executor.pool is not None
            lose_pool_task(executor.pool, experiment_id)

    backend = Backend(
        name="ray",
        executor=executor,
        runs_tasks=True,
        reopen=make,
        lose=lose,
        hold_all=hold_all,
    )
    return backend


@pytest.fixture(
    params=[
        "fake",
        "local",
        pytest.param("ray", marks=pytest.mark.ray),
        pytest.param("ray-jobs", marks=pytest.mark.ray),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "fake":
        made = _fake()
    elif request.param == "local":
        made = _local(tmp_path / "home")
    else:
        dispatch = "jobs" if request.param == "ray-jobs" else "pool"
        made = _ray(request.getfixturevalue("ray_head"), tmp_path / "work", dispatch)
    yield made
    made.close()


def _gone(backend: Backend, executor: Executor, experiment_id: str, runner: Any) -> None:
    wait_until(
        lambda: executor.poll(experiment_id, runner) is Liveness.GONE,
        timeout=60,
        message=f"{backend.name} still says it runs",
    )


# -- the contract ------------------------------------------------------------------------------


def test_capacity_is_what_the_backend_can_hand_out(backend: Backend) -> None:
    total = backend.executor.capacity()
    assert total.cpus > 0
    assert total.memory_mb > 0
    assert total.gpus >= 0
    if backend.expected_capacity is not None:
        assert total == backend.expected_capacity
    if backend.name == "ray":
        assert total.cpus == RAY_CPUS  # the head's, as `ray start --num-cpus` said
        for name, amount in RAY_CUSTOM.items():  # and its `--resources`
            assert total.custom.get(name) == amount
    else:
        assert total.custom == {}  # this machine advertises no custom resources


def test_a_launched_task_runs_is_alive_and_a_cancel_ends_it(backend: Backend, live: Live) -> None:
    launch = live.task(LONG)
    runner = backend.executor.launch(launch)
    assert runner["executor"] == backend.name
    assert backend.executor.poll(launch.experiment_id, runner) is Liveness.ALIVE
    if backend.runs_tasks:
        wait_until(lambda: live.state(launch.experiment_id) is JobState.RUNNING, timeout=60)
        wait_until(lambda: "started" in live.log(launch.experiment_id))
        assert backend.executor.poll(launch.experiment_id, runner) is Liveness.ALIVE
    backend.executor.cancel(launch.experiment_id, runner)
    _gone(backend, backend.executor, launch.experiment_id, runner)
    if backend.runs_tasks:  # the runtime said how it ended before it left
        ended = live.ended(launch.experiment_id)
        assert (ended.state, ended.reason) == (JobState.ABORTED, "stopped")


def test_a_queued_task_cancelled_never_runs(backend: Backend, live: Live) -> None:
    release = backend.hold_all(live) if backend.hold_all else (lambda: None)
    launch = live.task("sleep 5; echo ran-after-all")
    runner = backend.executor.launch(launch)
    backend.executor.cancel(launch.experiment_id, runner)
    release()  # room again: a cancel that did not hold would start it now
    _gone(backend, backend.executor, launch.experiment_id, runner)
    if backend.runs_tasks:
        assert live.state(launch.experiment_id) in (JobState.INITIALIZING, JobState.ABORTED)
        # the echo never ran (the runtime's own "$ sleep 5; echo ran-after-all" line may be
        # there: locally the command can start before the cancel lands, and is ended)
        assert "ran-after-all" not in live.log(launch.experiment_id).splitlines()


def test_a_task_that_ends_by_itself_is_gone_and_says_how(backend: Backend, live: Live) -> None:
    launch = live.task("echo bye; exit 3")
    runner = backend.executor.launch(launch)
    backend.end(launch.experiment_id)
    _gone(backend, backend.executor, launch.experiment_id, runner)
    if backend.runs_tasks:
        ended = live.ended(launch.experiment_id)
        assert (ended.state, ended.reason) == (JobState.FAILED, "exit code 3")
        assert "bye" in live.log(launch.experiment_id)


def test_a_lost_worker_or_node_leaves_its_task_gone(backend: Backend, live: Live) -> None:
    if backend.lose is None:
        pytest.skip(f"{backend.name} cannot lose a worker in a test")
    launch = live.task(LONG)
    runner = backend.executor.launch(launch)
    if backend.runs_tasks:
        wait_until(lambda: live.state(launch.experiment_id) is JobState.RUNNING, timeout=60)
    backend.lose(launch.experiment_id)
    _gone(backend, backend.executor, launch.experiment_id, runner)
    if backend.runs_tasks:  # nobody reported its end: the engine will call it "lost"
        assert live.state(launch.experiment_id) is JobState.RUNNING


def test_a_restarted_server_adopts_a_running_task(backend: Backend, live: Live) -> None:
    launch = live.task(LONG)
    runner = backend.executor.launch(launch)
    if backend.runs_tasks:
        wait_until(lambda: live.state(launch.experiment_id) is JobState.RUNNING, timeout=60)
    backend.executor.close()  # the server leaves; its tasks go on
    again = backend.reopen()
    backend.opened.append(again)
    assert again.poll(launch.experiment_id, runner) is Liveness.ALIVE
    again.cancel(launch.experiment_id, runner)
    _gone(backend, again, launch.experiment_id, runner)
    if backend.runs_tasks:
        ended = live.ended(launch.experiment_id)
        assert (ended.state, ended.reason) == (JobState.ABORTED, "stopped")


@pytest.mark.ray
def test_ray_pool_the_same_attempt_again_after_it_ended_runs_nothing(
    ray_head: RayHead, live: Live, tmp_path: Path
) -> None:
    """A launch repeated with the attempt's own token (a server that crashed between launching
    and recording it) finds the attempt there is, even once it ended."""
    backend = _ray(ray_head, tmp_path / "work")
    try:
        launch = live.task("echo once")
        runner = backend.executor.launch(launch)
        _gone(backend, backend.executor, launch.experiment_id, runner)
        assert live.ended(launch.experiment_id).state is JobState.SUCCESS
        assert backend.executor.launch(launch) == runner
        assert backend.executor.poll(launch.experiment_id, runner) is Liveness.GONE
        assert live.log(launch.experiment_id).count("$ echo once") == 1
    finally:
        backend.close()


@pytest.mark.ray
def test_ray_pool_a_driver_that_died_is_started_again(
    ray_head: RayHead, live: Live, tmp_path: Path
) -> None:
    """The Ray driver lives in a process beside the server: when it dies (Ray's core worker
    leaves when the GCS is away for a minute), the next call starts another, and the tasks,
    with the dispatcher, never noticed."""
    backend = _ray(ray_head, tmp_path / "work")
    executor = backend.executor
    assert isinstance(executor, RayExecutor)
    assert executor.pool is not None
    try:
        launch = live.task(LONG)
        runner = executor.launch(launch)
        wait_until(lambda: live.state(launch.experiment_id) is JobState.RUNNING, timeout=60)
        first = executor.pool.driver_pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: not _alive(first), message="the driver outlived SIGKILL")
        assert executor.poll(launch.experiment_id, runner) is Liveness.ALIVE
        assert executor.pool.driver_pid not in (None, first)
        executor.cancel(launch.experiment_id, runner)
        _gone(backend, executor, launch.experiment_id, runner)
        ended = live.ended(launch.experiment_id)
        assert (ended.state, ended.reason) == (JobState.ABORTED, "stopped")
    finally:
        backend.close()


@pytest.mark.ray
def test_ray_a_relaunch_after_its_job_ended_is_a_new_run(
    ray_head: RayHead, live: Live, tmp_path: Path
) -> None:
    """A restarted task (the watchdog's) is launched again under the same id: the ended job
    is cleared away and a new one runs, where a job that still runs would be adopted."""
    from ray.job_submission import JobSubmissionClient

    backend = _ray(ray_head, tmp_path / "work", "jobs")
    jobs = JobSubmissionClient(ray_head.dashboard)
    try:
        launch = live.task("echo once")
        runner = backend.executor.launch(launch)
        _gone(backend, backend.executor, launch.experiment_id, runner)
        ended = jobs.get_job_info(launch.experiment_id).end_time
        assert backend.executor.launch(launch) == runner
        again = jobs.get_job_info(launch.experiment_id)
        assert again.start_time is not None
        assert ended is not None
        assert again.start_time >= ended  # a new job, not the old one's record
        listed = [j.submission_id for j in jobs.list_jobs()]
        assert listed.count(launch.experiment_id) == 1
        _gone(backend, backend.executor, launch.experiment_id, runner)
    finally:
        backend.close()


@pytest.mark.ray
@pytest.mark.parametrize("dispatch", ["pool", "jobs"])
def test_ray_a_second_submission_after_a_restart_runs_nothing_twice(
    ray_head: RayHead, live: Live, tmp_path: Path, dispatch: str
) -> None:
    backend = _ray(ray_head, tmp_path / "work", dispatch)
    try:
        launch = live.task(LONG)
        runner = backend.executor.launch(launch)
        wait_until(lambda: live.state(launch.experiment_id) is JobState.RUNNING, timeout=60)
        again = backend.reopen()
        backend.opened.append(again)
        assert again.launch(launch) == runner  # the same run: found by the task's id
        if dispatch == "jobs":
            from ray.job_submission import JobSubmissionClient

            jobs = JobSubmissionClient(ray_head.dashboard).list_jobs()
            assert [j.submission_id for j in jobs].count(launch.experiment_id) == 1
        else:
            assert isinstance(again, RayExecutor)
            assert again.pool is not None
            found = again.pool.states()[launch.experiment_id]
            assert found["state"] == "running"
            assert live.log(launch.experiment_id).count("$ echo started") == 1
        again.cancel(launch.experiment_id, runner)
        _gone(backend, again, launch.experiment_id, runner)
    finally:
        backend.close()


@pytest.mark.ray
def test_ray_pool_a_server_killed_leaves_its_tasks_to_the_next(
    ray_head: RayHead, live: Live, tmp_path: Path
) -> None:
    """``kill -9`` of the server that launched a task (its Ray driver dies with it): the task
    goes on in the pool, and the next server adopts it, stops it, and never runs it twice."""
    launch = live.task(LONG)
    script = (
        "import json, os, signal, sys\n"
        "from headwater.executors.base import Launch\n"
        "from headwater.executors.ray import RayExecutor\n"
        "from headwater.domain.compute import Resources\n"
        "args = json.loads(sys.argv[1])\n"
        "executor = RayExecutor(args['cluster'], workroot=args['workroot'])\n"
        "launch = Launch(experiment_id=args['eid'], project_id=args['project'],\n"
        "    server_url=args['url'], token=args['token'], resources=Resources(cpus=1.0,\n"
        "    memory_mb=0, gpus=0), spec=None)\n"
        "print(json.dumps(executor.launch(launch)), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    args = {
        "cluster": ray_head.cluster,
        "workroot": str(tmp_path / "work"),
        "eid": launch.experiment_id,
        "project": launch.project_id,
        "url": launch.server_url,
        "token": launch.token,
    }
    killed = subprocess.run(
        [sys.executable, "-c", script, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    runner = json.loads(killed.stdout.strip().splitlines()[-1])
    wait_until(lambda: live.state(launch.experiment_id) is JobState.RUNNING, timeout=60)
    backend = _ray(ray_head, tmp_path / "work")
    try:
        assert backend.executor.poll(launch.experiment_id, runner) is Liveness.ALIVE
        assert backend.executor.launch(launch) == runner  # adopted, not run again
        backend.executor.cancel(launch.experiment_id, runner)
        _gone(backend, backend.executor, launch.experiment_id, runner)
        ended = live.ended(launch.experiment_id)
        assert (ended.state, ended.reason) == (JobState.ABORTED, "stopped")
        assert live.log(launch.experiment_id).count("$ echo started") == 1
    finally:
        backend.close()


@pytest.mark.ray
@pytest.mark.parametrize("dispatch", ["pool", "jobs"])
def test_ray_a_task_asking_for_a_custom_resource_the_head_has_runs_there(
    ray_head: RayHead, live: Live, tmp_path: Path, dispatch: str
) -> None:
    backend = _ray(ray_head, tmp_path / "work", dispatch)
    try:
        asks = Resources(cpus=0.5, memory_mb=0, gpus=0, custom=dict(RAY_CUSTOM))
        launch = live.task("echo on-the-disk-node", asks)
        runner = backend.executor.launch(launch)
        if dispatch == "jobs":
            from ray.job_submission import JobSubmissionClient

            info = JobSubmissionClient(ray_head.dashboard).get_job_info(launch.experiment_id)
            asked = info.metadata["headwater_resources"]
        else:
            assert isinstance(backend.executor, RayExecutor)
            assert backend.executor.pool
            asked = backend.executor.pool.states()[launch.experiment_id]["resources"]
        assert asked == "0.5 CPU, 0 MiB, 0 GPU, 1 hw_test_disk"
        _gone(backend, backend.executor, launch.experiment_id, runner)
        ended = live.ended(launch.experiment_id)
        assert ended.state is JobState.SUCCESS, ended.reason
        assert "on-the-disk-node" in live.log(launch.experiment_id)
    finally:
        backend.close()


@pytest.mark.ray
@pytest.mark.parametrize("dispatch", ["pool", "jobs"])
def test_ray_a_task_asking_for_a_resource_no_node_has_waits_and_says_why(
    ray_head: RayHead, live: Live, tmp_path: Path, dispatch: str
) -> None:
    """Ray waits for a node with it (an autoscaler may add one): the task stays pending, its
    runtime never starts, and the executor says why."""
    backend = _ray(ray_head, tmp_path / "work", dispatch)
    executor = backend.executor
    assert isinstance(executor, RayExecutor)
    try:
        asks = Resources(cpus=0.5, memory_mb=0, gpus=0, custom={"accelerator_type:H100": 1.0})
        launch = live.task("echo must-not-run", asks)
        runner = executor.launch(launch)
        why = wait_until(lambda: executor.waiting(launch.experiment_id, runner), timeout=30)
        assert "waiting for resources" in why
        assert "It asks for 0.5 CPU, 0 MiB, 0 GPU, 1 accelerator_type:H100." in why
        # a task that asks for what the head has starts meanwhile: the head is not busy
        other = live.task("echo beside-it", Resources(cpus=0.5, memory_mb=0, gpus=0))
        other_runner = executor.launch(other)
        _gone(backend, executor, other.experiment_id, other_runner)
        assert live.ended(other.experiment_id).state is JobState.SUCCESS
        assert executor.poll(launch.experiment_id, runner) is Liveness.ALIVE  # still waits
        assert executor.waiting(launch.experiment_id, runner) == why
        assert live.state(launch.experiment_id) is JobState.INITIALIZING  # never started
        assert "must-not-run" not in live.log(launch.experiment_id)
        executor.cancel(launch.experiment_id, runner)
    finally:
        backend.close()
