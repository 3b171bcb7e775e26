"""The Ray backend, with two dispatches (``HEADWATER_RAY_DISPATCH``).

``pool`` (the default): each task is a Ray task in Ray's reused worker processes, submitted by
a detached dispatcher actor through a Ray driver held in a process beside the server
(``raypool.py``, ``raybridge.py``; the cluster's side in ``runtime/onray.py``): milliseconds a
task, where a Ray Job costs seconds.

``jobs``: each task is a Ray Job whose entrypoint is ``python -m headwater.runtime``. A job is
named by the id we give it (the submission id is the experiment's id), so a resubmission after
a server restart finds the one job there is and never starts a second; its status, stop and
logs live in the cluster (GCS), reached over the dashboard's HTTP API, so the server holds no
Ray driver. The entrypoint's resources (``entrypoint_num_cpus`` and so on) place it on a node
that has the compute template's CPUs, memory and GPUs.

What a job carries: the runtime's command line and two environment variables, the server's URL
and the task's own token (scoped to this task, ended with it). The runtime fetches its spec,
files, inputs and datasets over HTTP, as it does locally; nothing is shipped in a
``working_dir`` (Ray caps it at 100 MB, ray-project/ray#22043, and a runtime env that must be
built can stay PENDING for ever, #31008: ours has environment variables only, which need no
setup). Ray's dashboard shows a job's environment to whoever reaches it, and reaching it (or
the GCS) is running code on the cluster: user code on a node reaches both (the sandbox keeps
the network), so the cluster must run with Ray's token authentication (``RAY_AUTH_MODE=token``).
The head this server starts does (``LocalHead``: a token of its own, in the process's
environment, where Ray's clients read it, and in the head's record); for a cluster of your own,
give the server ``RAY_AUTH_MODE=token`` and ``RAY_AUTH_TOKEN`` (it warns when the cluster's
authentication is off). The runtime's commands never inherit ``RAY_*`` (``runtime/taskenv.py``).

``stop_job`` on a job that waits for room answers True and does nothing (#58353): such a job is
stopped again on every later call until Ray says it ended, and its task token stops working
two minutes after the stop, so a job that starts later finds nothing to run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from headwater.domain.compute import Resources
from headwater.domain.errors import HeadwaterError, InvalidInput
from headwater.executors.base import Launch, Liveness, Runner

if TYPE_CHECKING:
    from headwater.executors.raypool import RayPool

log = logging.getLogger(__name__)

# Ray's grace between its SIGTERM to a stopped job's processes and its SIGKILL: the runtime's
# own (runtime/stopping.py) is 10 s, and it must report "stopped" before the SIGKILL.
STOP_WAIT_SECONDS = 15
HEAD_START_TIMEOUT = 150.0
CAPACITY_SECONDS = 5.0
CLOSE_GRACE = 10.0
MIB = 1024 * 1024
_ACTIVE = ("PENDING", "RUNNING")
AUTH_MODE = "RAY_AUTH_MODE"  # Ray's token authentication: "token" turns it on
AUTH_TOKEN = "RAY_AUTH_TOKEN"


def auth_headers() -> dict[str, str]:
    """The header of Ray's token authentication for a call to the dashboard's REST API, where
    this process runs with it (``RAY_AUTH_MODE=token``): the token from ``RAY_AUTH_TOKEN``,
    else the file at ``RAY_AUTH_TOKEN_PATH`` (``~/.ray/auth_token``), as Ray's clients read it."""
    if os.environ.get(AUTH_MODE, "").lower() != "token":
        return {}
    token = os.environ.get(AUTH_TOKEN, "").strip()
    if not token:
        path = os.environ.get("RAY_AUTH_TOKEN_PATH") or str(Path.home() / ".ray" / "auth_token")
        try:
            token = Path(path).read_text().strip()
        except OSError:
            return {}
    return {"Authorization": f"Bearer {token}"}


def _use_token(token: str) -> None:
    """Ray's clients in this process (and the processes it starts: the head) authenticate with
    ``token``. Ray reads the mode when it is imported: where it was already, its config is
    read again (what Ray's own ``_enable_token_auth`` does)."""
    os.environ[AUTH_MODE] = "token"
    os.environ[AUTH_TOKEN] = token
    raylet = sys.modules.get("ray._raylet")
    if raylet is not None:
        raylet.Config.initialize("")


class RayUnavailable(HeadwaterError):
    code = "ray_unavailable"
    status_code = 503


def _import_ray() -> Any:
    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError as exc:
        raise RayUnavailable(
            "the ray executor needs Ray, and it is not installed",
            where="HEADWATER_EXECUTOR",
            hint="pip install 'headwater[ray]' on the server (and Headwater on every Ray node).",
        ) from exc
    return JobSubmissionClient


def entrypoint(launch: Launch, *, python: str, workroot: str | None, sandbox: Any) -> str:
    """The job's command line: the runtime and the task's ids, nothing secret."""
    argv = [python, "-m", "headwater.runtime", launch.experiment_id]
    argv += ["--project", launch.project_id]
    if workroot:
        argv += ["--workroot", workroot]
    if sandbox is not None:
        argv += ["--sandbox", json.dumps(sandbox, sort_keys=True)]
    return shlex.join(argv)


def ray_resources(resources: Resources) -> dict[str, Any]:
    """A compute template's resources as Ray asks for them (an actor's options): its custom
    ones (``accelerator_type:A100``, a node's ``--resources``) too, so Ray places the work
    only on a node that has them."""
    asked: dict[str, Any] = {"num_cpus": resources.cpus}
    if resources.gpus:
        asked["num_gpus"] = resources.gpus
    if resources.memory_mb > 0:
        asked["memory"] = int(resources.memory_mb) * MIB
    if resources.custom:
        asked["resources"] = dict(sorted(resources.custom.items()))
    return asked


def entrypoint_resources(resources: Resources) -> dict[str, Any]:
    """The same as a Ray Job's entrypoint resources (``entrypoint_num_cpus``, ...)."""
    return {f"entrypoint_{name}": value for name, value in ray_resources(resources).items()}


# What a node counts that is not a custom resource: the template's own fields, and Ray's
# object store and per-node markers (``node:10.0.0.1``, ``node:__internal_head__``).
_NOT_CUSTOM = frozenset({"CPU", "GPU", "memory", "object_store_memory"})


def cluster_resources(nodes: list[dict[str, Any]]) -> Resources:
    """The sum of the alive nodes' resources (Ray counts memory in bytes), custom ones by
    name."""
    cpus, memory, gpus = 0.0, 0.0, 0.0
    custom: dict[str, float] = {}
    for node in nodes:
        if str(node.get("state", "ALIVE")) != "ALIVE":
            continue
        total = node.get("resources_total") or {}
        cpus += float(total.get("CPU", 0))
        memory += float(total.get("memory", 0))
        gpus += float(total.get("GPU", 0))
        for name, amount in total.items():
            if name not in _NOT_CUSTOM and not str(name).startswith("node:"):
                custom[str(name)] = custom.get(str(name), 0.0) + float(amount)
    return Resources(cpus=cpus, memory_mb=int(memory // MIB), gpus=int(gpus), custom=custom)


class LocalHead:
    """A Ray head on this machine for a laptop trial (``HEADWATER_RAY_ADDRESS`` unset), started
    by the server in a session of its own so that tasks outlive a server crash; the next server
    finds it through ``HOME/ray/head.json`` and adopts its jobs."""

    def __init__(
        self,
        home: Path,
        *,
        ray: str | None = None,
        cpus: int | None = None,
        resources: dict[str, float] | None = None,
    ) -> None:
        """``cpus``: what the head offers (None: Ray counts this machine's); ``resources``:
        custom resources it advertises (``ray start --resources``)."""
        self.folder = home / "ray"
        self.record = self.folder / "head.json"
        self.log = self.folder / "head.log"
        self.ray = ray or str(Path(sys.executable).with_name("ray"))
        self.cpus = cpus
        self.resources = resources
        self._process: subprocess.Popen[bytes] | None = None

    def address(self) -> str | None:
        """The running head's dashboard; None when none runs."""
        found = self._running()
        return None if found is None else str(found["dashboard"])

    def cluster(self) -> str | None:
        """The running head's cluster address (its GCS, what a Ray driver connects to)."""
        found = self._running()
        return None if found is None else found.get("cluster")

    def _running(self) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = json.loads(self.record.read_text())
        except (OSError, ValueError):
            return None
        pid = int(found.get("pid", 0))
        if pid <= 0 or not _alive(pid):
            return None
        if found.get("auth_token"):
            _use_token(str(found["auth_token"]))
        return found

    def start(self) -> str:
        """The head's dashboard address, starting it first when none runs. Ray gives its
        node 30 s to register and gives up past that (a loaded machine): one more try then."""
        address = self.address()
        if address is not None:
            return address
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        deadline = time.monotonic() + HEAD_START_TIMEOUT
        for _attempt in range(2):
            address = self._launch()
            if self._wait_up(address, deadline):
                return address
            self.stop()
        raise RayUnavailable(
            "the local Ray head did not start",
            where=str(self.log),
            hint="Read its log; or run a cluster yourself and set HEADWATER_RAY_ADDRESS.",
        )

    def _launch(self) -> str:
        # Ray's sockets live under its temp folder: a short path (sun_path is 107 bytes)
        digest = hashlib.sha256(str(self.folder.resolve()).encode()).hexdigest()[:10]
        temp = Path("/tmp") / f"hw-ray-{digest}"
        dashboard, port = free_port(), free_port()
        # Ray's token authentication: the processes of its nodes inherit the token, and user
        # code, which does not (taskenv), can neither read the dashboard nor reach the GCS.
        # A token this process runs with already (a test session's, one for all its heads:
        # Ray's clients keep the first they read) is kept.
        token = os.environ.get(AUTH_TOKEN, "").strip()
        if os.environ.get(AUTH_MODE, "").lower() != "token" or not token:
            token = secrets.token_hex(32)
        _use_token(token)
        argv = [self.ray, "start", "--head", "--block", "--disable-usage-stats", f"--port={port}"]
        argv += [f"--temp-dir={temp}", "--include-dashboard=true", "--dashboard-host=127.0.0.1"]
        argv += [f"--dashboard-port={dashboard}"]
        # Free ports all: Ray's defaults (6379, 10001, 52365...) meet any other head here.
        for option in (
            "ray-client-server-port",
            "dashboard-agent-listen-port",
            "dashboard-agent-grpc-port",
            "runtime-env-agent-port",
            "metrics-export-port",
        ):
            argv.append(f"--{option}={free_port()}")
        if self.cpus is not None:
            argv.append(f"--num-cpus={self.cpus}")
        if self.resources:
            argv.append(f"--resources={json.dumps(self.resources)}")
        with open(self.log, "ab") as out:
            self._process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives a server crash, like the local worker
                close_fds=True,
            )
        address = f"http://127.0.0.1:{dashboard}"
        record = {
            "pid": self._process.pid,
            "dashboard": address,
            "cluster": f"127.0.0.1:{port}",
            "temp": str(temp),
            "auth_token": token,
        }
        self.record.touch(mode=0o600)
        self.record.write_text(json.dumps(record))
        return address

    def _wait_up(self, address: str, deadline: float) -> bool:
        """Whether the head answers with its node counted before ``deadline`` (False as
        soon as ``ray start`` has given up)."""
        client_type = _import_ray()
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            try:
                client_type(address)
                if _nodes(address):  # the dashboard answers before the head's node counts
                    return True
            except Exception:  # Ray raises its own kinds while it starts
                pass
            time.sleep(0.5)
        return False

    def stop(self) -> None:
        """End the head (``ray start --block`` takes its processes down with it)."""
        try:
            found = json.loads(self.record.read_text())
        except (OSError, ValueError):
            return
        pid = int(found.get("pid", 0))
        if self._process is not None and self._process.pid == pid:
            self._process.terminate()
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:  # it waits on a process that does not leave
                _end_group(pid, grace=0)
                self._process.wait(10)
        elif pid > 0 and _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _alive(pid):
                _end_group(pid, grace=0)
        if pid > 0 and not _alive(pid):
            _end_group(pid)  # what it started and left behind (a dashboard module, a worker)
            if found.get("temp"):  # its sessions' logs and sockets
                _remove(Path(str(found["temp"])))
        with contextlib.suppress(FileNotFoundError):
            self.record.unlink()


def _end_group(pgid: int, grace: float = 10.0) -> None:
    """Wait for the rest of the head's process group (it leads a session of its own) to leave,
    then SIGKILL what is still there."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        except PermissionError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _remove(folder: Path) -> None:
    """Remove the head's temp folder; the last of its processes (the dashboard's) may still
    write there for a moment after ``ray start`` has left."""
    for _attempt in range(20):
        shutil.rmtree(folder, ignore_errors=True)
        time.sleep(0.25)
        if not folder.exists():
            return


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RayExecutor:
    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        home: Path | None = None,
        python: str | None = None,
        workroot: str | None = None,
        sandbox: dict[str, Any] | None = None,
        dispatch: str = "pool",
    ) -> None:
        """``address``: ``auto`` (the cluster of this machine), ``ray://host:10001``, the
        head's ``host:6379``, ``http://host:8265`` (its dashboard: Ray Jobs only), or None: a
        head on this machine that the server starts (``home`` holds its record) and stops when
        it leaves with nothing running.
        ``dispatch``: ``pool`` (tasks in Ray's reused workers, ``runtime/onray.py``) or ``jobs``
        (a Ray Job each).
        ``python``: the interpreter on the nodes (Headwater installed in it).
        ``sandbox``: the server's sandbox settings, for the runtime on the node (bubblewrap
        there, as in the local worker); None runs tasks unsandboxed."""
        self.python = python or ("python" if address not in (None, "auto") else sys.executable)
        self.workroot = workroot
        self.sandbox = sandbox
        if sandbox is not None and home is not None:  # hidden where the node is this machine
            self.sandbox = {**sandbox, "server_home": str(home.resolve())}
        self._total: tuple[float, Resources] | None = None  # when read, and what
        if dispatch not in ("pool", "jobs"):
            raise InvalidInput(
                f"no Ray dispatch named {dispatch!r}",
                where="HEADWATER_RAY_DISPATCH",
                hint="Use pool (the default) or jobs.",
            )
        self.head: LocalHead | None = None
        if address is None:
            if home is None:
                raise InvalidInput(
                    "a Ray head on this machine needs the server's home",
                    where="HEADWATER_RAY_ADDRESS",
                    hint="Set HEADWATER_RAY_ADDRESS to your cluster (auto, ray://host:10001).",
                )
            self.head = LocalHead(home)
            address = self.head.start()
        self.address = address
        self._client: Any = None
        self._lock = threading.Lock()
        self._stopping: set[str] = set()  # stopped while pending: stop again until ended
        self._cancelled: set[str] = set()  # stopped by this server: a relaunch is a new run
        self._connect()
        self._warn_if_open()
        self.pool: RayPool | None = None
        if dispatch == "pool":
            cluster = self.head.cluster() if self.head is not None else address
            if cluster is None or cluster.startswith(("http://", "https://")):
                raise InvalidInput(
                    f"the Ray pool needs the cluster's address, not its dashboard ({address})",
                    where="HEADWATER_RAY_ADDRESS",
                    hint="Give auto, ray://host:10001 or the head's host:6379; or set "
                    "HEADWATER_RAY_DISPATCH=jobs to run each task as a Ray Job.",
                )
            from headwater.executors.raypool import RayPool

            self.pool = RayPool(cluster)

    # -- the cluster -----------------------------------------------------------------------

    def _connect(self) -> Any:
        with self._lock:
            if self._client is None:
                client_type = _import_ray()
                try:
                    self._client = client_type(self.address)
                except (OSError, ConnectionError, RuntimeError, ValueError) as exc:
                    raise RayUnavailable(
                        f"cannot reach the Ray cluster at {self.address}: {exc}",
                        where="HEADWATER_RAY_ADDRESS",
                        hint="Start it (ray start --head) or point HEADWATER_RAY_ADDRESS at it.",
                    ) from exc
            return self._client

    def _dashboard(self) -> str:
        client = self._connect()
        return str(client.get_address())

    def _warn_if_open(self) -> None:
        """Say so when the cluster runs without Ray's token authentication: then user code on
        any node reads every task's token from the dashboard, and runs code outside its
        sandbox through it (see the module's doc)."""
        try:
            answer = httpx.get(self._dashboard() + "/api/authentication_mode", timeout=10)
            mode = str(answer.json().get("authentication_mode", ""))
        except (httpx.HTTPError, ValueError, AttributeError):
            return
        if mode != "token":
            log.warning(
                "the Ray cluster at %s runs without token authentication (%s): user code on "
                "its nodes can read every task's token from its dashboard and run code outside "
                "the sandbox; start it with RAY_AUTH_MODE=token and give this server "
                "RAY_AUTH_TOKEN (docs/scale-out.md)",
                self.address,
                mode or "unknown",
            )

    def capacity(self) -> Resources:
        """The alive nodes' resources, read at most every ``CAPACITY_SECONDS`` (the engine
        asks on every pass); the last answer while the cluster cannot be reached."""
        self._stop_again()
        if self._total is not None and time.monotonic() - self._total[0] < CAPACITY_SECONDS:
            return self._total[1]
        try:
            nodes = _nodes(self._dashboard())
        except Exception as exc:  # the state API raises its own kinds for an outage
            if self._total is None:
                raise RayUnavailable(
                    f"cannot read the Ray cluster's resources at {self.address}: {exc}",
                    where="HEADWATER_RAY_ADDRESS",
                    hint="Check that the cluster's head and its dashboard run.",
                ) from exc
            log.warning("the Ray cluster's resources: kept the last reading (%s)", exc)
            return self._total[1]
        total = cluster_resources(nodes)
        if total.cpus > 0:  # a cluster between its nodes is not one to remember
            self._total = (time.monotonic(), total)
        return total

    def _status(self, experiment_id: str) -> str | None:
        """The job's status name; None when Ray has no such job. Raises OSError when the
        cluster cannot be reached."""
        client = self._connect()
        try:
            return str(client.get_job_status(experiment_id).value)
        except RuntimeError as exc:
            if "does not exist" in str(exc):
                return None
            raise OSError(str(exc)) from exc

    def waiting(self, experiment_id: str, runner: Runner) -> str | None:
        """Why the task's job has not started, in Ray's words, while it is PENDING (e.g. no
        node has the resources it asks for: Ray waits, for a node an autoscaler may add);
        None once it started, ended, or when the cluster cannot be reached."""
        if self.pool is not None and runner.get("pool"):
            try:
                found = self.pool.state(experiment_id)
            except RayUnavailable:
                return None
            if found is None or found["state"] != "waiting":
                return None
            return (
                "Ray has not placed it: waiting for resources on a node that has them. "
                f"It asks for {found['resources']}."
            )
        job = str(runner.get("submission_id", experiment_id))
        try:
            info = self._connect().get_job_info(job)
        except (OSError, RuntimeError, RayUnavailable):
            return None
        if str(info.status.value) != "PENDING":
            return None
        asked = (info.metadata or {}).get("headwater_resources", "?")
        return f"{info.message or 'Job has not started yet.'} It asks for {asked}."

    # -- the protocol ------------------------------------------------------------------------

    def launch(self, launch: Launch) -> Runner:
        if self.pool is not None:
            return self._launch_in_pool(self.pool, launch)
        self._stop_again()
        client = self._connect()
        command = entrypoint(
            launch, python=self.python, workroot=self.workroot, sandbox=self.sandbox
        )
        env = {
            "HEADWATER_URL": launch.server_url,
            "HEADWATER_TOKEN": launch.token,
            "PYTHONUNBUFFERED": "1",
            "RAY_JOB_STOP_WAIT_TIME_S": str(STOP_WAIT_SECONDS),  # read by Ray's supervisor
        }
        job = launch.experiment_id

        def submit() -> None:
            client.submit_job(
                entrypoint=command,
                submission_id=job,
                runtime_env={"env_vars": env},
                metadata={
                    "headwater_project": launch.project_id,
                    # what it waits for, while PENDING (Ray's job details do not say)
                    "headwater_resources": str(launch.resources),
                },
                **entrypoint_resources(launch.resources),
            )

        try:
            submit()
        except RuntimeError as exc:
            if "already exists" not in str(exc):
                raise
            if self._replace(job):  # a restart (stuck, idle): the old run ended, run anew
                submit()
            else:  # submitted before a server restart: the same run, adopted
                log.info("experiment %s: its Ray job was already submitted", job)
        return {"executor": self.name, "submission_id": job}

    def _launch_in_pool(self, pool: RayPool, launch: Launch) -> Runner:
        task = {
            "experiment_id": launch.experiment_id,
            "project_id": launch.project_id,
            "url": launch.server_url,
            "token": launch.token,
            "workroot": self.workroot,
            "sandbox": self.sandbox,
        }
        if not pool.launch(task, ray_resources(launch.resources), str(launch.resources)):
            log.info("experiment %s: already launched in the Ray pool", launch.experiment_id)
        return {"executor": self.name, "pool": True}

    def _replace(self, job: str) -> bool:
        """Whether the job of this id is an earlier run to clear away (then it is deleted):
        one that ended, or one this server stopped, once it ends. A job that runs and was not
        stopped is this very launch, submitted before a restart: it stays."""
        with self._lock:
            stopped = job in self._cancelled
        deadline = time.monotonic() + STOP_WAIT_SECONDS + 15
        status = self._status(job)
        while stopped and status in _ACTIVE and time.monotonic() < deadline:
            time.sleep(0.2)
            status = self._status(job)
        if status in _ACTIVE:
            return False
        if status is not None:
            self._connect().delete_job(job)
        with self._lock:
            self._cancelled.discard(job)
        return True

    def poll(self, experiment_id: str, runner: Runner) -> Liveness:
        if runner.get("pool"):
            return self._poll_pool(experiment_id)
        self._stop_again()
        try:
            status = self._status(str(runner.get("submission_id", experiment_id)))
        except (OSError, RayUnavailable):
            return Liveness.UNKNOWN
        if status in _ACTIVE:
            return Liveness.ALIVE
        return Liveness.GONE  # ended, stopped, failed (its node lost), or never there

    def _poll_pool(self, experiment_id: str) -> Liveness:
        if self.pool is None:  # launched by a server whose dispatch was the pool
            return Liveness.UNKNOWN
        try:
            found = self.pool.state(experiment_id)
        except RayUnavailable:
            return Liveness.UNKNOWN
        if found is not None and found["state"] != "ended":
            return Liveness.ALIVE
        return Liveness.GONE  # ended (its node lost too), or the dispatcher has none

    def cancel(self, experiment_id: str, runner: Runner) -> None:
        if runner.get("pool"):
            try:
                if self.pool is None:
                    raise RayUnavailable("this server's Ray dispatch is jobs, not the pool")
                self.pool.cancel(experiment_id)
            except RayUnavailable as exc:
                log.warning("experiment %s: could not stop it on Ray: %s", experiment_id, exc)
            return
        job = str(runner.get("submission_id", experiment_id))
        with self._lock:
            self._cancelled.add(job)
        try:
            self._connect().stop_job(job)
            if self._status(job) == "PENDING":
                with self._lock:
                    self._stopping.add(job)
        except (OSError, RuntimeError, RayUnavailable) as exc:
            log.warning("experiment %s: could not stop its Ray job: %s", experiment_id, exc)
            with self._lock:
                self._stopping.add(job)

    def _stop_again(self) -> None:
        """Stop once more each job stopped while it waited for room (#58353), until Ray says
        it ended: the stop that counts is the one after its supervisor started."""
        with self._lock:
            pending = list(self._stopping)
        for job in pending:
            try:
                status = self._status(job)
                if status in _ACTIVE:
                    self._connect().stop_job(job)
                    continue
            except (OSError, RuntimeError, RayUnavailable):
                continue
            with self._lock:
                self._stopping.discard(job)

    def close(self) -> None:
        """Running jobs go on; a head this server started stops when none runs. A job whose
        runtime has just reported its end still shows RUNNING for a moment: it is given
        ``CLOSE_GRACE`` seconds to show its end."""
        if self.head is None:
            if self.pool is not None:
                self.pool.close()
            return
        deadline = time.monotonic() + CLOSE_GRACE
        while True:
            try:
                jobs = self._connect().list_jobs()
                tasks = self.pool.states() if self.pool is not None else {}
            except (OSError, RuntimeError, RayUnavailable):
                return
            busy = any(t["state"] != "ended" for t in tasks.values())
            # a driver is a job too (the pool's, this server's own): only submitted ones count
            submitted = [job for job in jobs if job.submission_id]
            if not busy and not any(str(job.status.value) in _ACTIVE for job in submitted):
                if self.pool is not None:
                    self.pool.end()
                self.head.stop()
                return
            if time.monotonic() > deadline:
                log.info("the local Ray head keeps running: it has tasks")
                if self.pool is not None:
                    self.pool.close()
                return
            time.sleep(0.5)


def _nodes(dashboard: str) -> list[dict[str, Any]]:
    """The cluster's nodes, as Ray's state API lists them."""
    from ray.util.state import list_nodes

    found = list_nodes(address=dashboard, detail=True, raise_on_missing_output=False)
    return [{"state": node.state, "resources_total": node.resources_total} for node in found]
