"""What runs in a Ray Serve replica of an endpoint version (``executors/rayserve.py`` deploys
it; it imports ``ray.serve``, so only the Ray nodes import this module, never the server).

A Serve replica is a forwarder with no rights of its own. Its replica rank picks one of the
version's Headwater replica tasks from the deployment's ``user_config`` (task id and that
task's scoped token, in the order the tasks were launched); it starts the task's runtime
(``python -m headwater.runtime TASK`` with ``--sandbox``: the user's predict code runs in
bubblewrap with only that token, exactly as on the local backend) in a private folder of its
own, and forwards each request Serve's proxy routes to it to the replica's Unix socket there.
The runtime fetches files and model over HTTP with the token, reports its states and log as
any task does, and dies with this actor (``PR_SET_PDEATHSIG``).

When the task list no longer holds this replica's task (a scale-down: Serve may stop another
replica than the one whose task was stopped), or its runtime has ended, the health check
fails and Serve replaces the replica; the replacement takes the task at its rank if that task
never ran.

A task's runtime starts once (``first_start``): a fresh replica whose task already ran (state
``running``: the Serve replica that ran it died with no word, its node or process lost, and
Serve started this one at its rank) does not run it again but reports it ``failed`` ("lost")
with its token, as the engine does for a Ray Job whose node went; the serving controller
then starts a new replica task. A fresh replica that may not run its task fails to start
(Serve routes nothing to it, and tries again with a backoff until the executor takes the
ended task out of the list); a running one takes no other task and fails its health check.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from ray import serve
from starlette.requests import Request
from starlette.responses import Response

from headwater.domain.jobs import JobState

PR_SET_PDEATHSIG = 1
LOST = (
    "lost: its Ray Serve replica went away with no word (its node or process died); "
    "a new replica task takes its place"
)
FORWARD_TIMEOUT = 300.0
STOP_GRACE = 12.0  # the runtime's own stop takes up to 10 s (runtime/stopping.py)


def _die_with_parent() -> None:
    """In the runtime's child, before exec: SIGTERM when this actor's process dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def pick(tasks: list[list[str]], rank: int) -> tuple[str, str] | None:
    """The (task id, token) at ``rank``; None when there is none (Serve runs more replicas
    than tasks for a moment while it scales down)."""
    if 0 <= rank < len(tasks):
        task_id, token = tasks[rank]
        return str(task_id), str(token)
    return None


def first_start(
    server_url: str, project_id: str, task_id: str, token: str, *, replacement: bool
) -> bool:
    """Whether this replica may start the task's runtime: only a task that never ran. One
    whose runtime ran already (``running``) is not run twice: for a ``replacement`` (a
    replica's first task, which Serve started at a dead replica's rank) its runtime died with
    that replica, and it is reported ``failed`` ("lost"); otherwise another replica runs it.
    One that has ended (its token refused) is not run either. A server out of reach: the
    runtime waits for it, as it always does."""
    base = f"{server_url.rstrip('/')}/api/v1/projects/{project_id}/experiments/{task_id}"
    auth = {"Authorization": f"Bearer {token}"}
    try:
        answer = httpx.get(base, headers=auth, timeout=30)
    except httpx.HTTPError:
        return True
    if answer.status_code != 200:
        return False
    state = answer.json().get("state")
    if state == JobState.RUNNING.value and replacement:
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(
                f"{base}/state",
                json={"state": JobState.FAILED.value, "reason": LOST},
                headers=auth,
                timeout=30,
            )
    return state in (JobState.QUEUED.value, JobState.INITIALIZING.value)


class HeadwaterReplica:
    """One Serve replica: one Headwater replica task's runtime, and a forwarder to it."""

    def __init__(
        self,
        server_url: str,
        project_id: str,
        python: str,
        sandbox: dict[str, Any] | None,
    ) -> None:
        self.server_url = server_url
        self.project_id = project_id
        self.python = python
        self.sandbox = sandbox
        # a short path: the replica's socket lives in it (sun_path is 107 bytes)
        self.folder = Path(tempfile.mkdtemp(prefix="hws-", dir="/tmp"))
        self.folder.chmod(0o700)
        self.task: str | None = None
        self.refused: str | None = None  # a task this replica may not run (``first_start``)
        self.fresh = True  # no task taken yet: Serve's first reconfigure is to come
        self.process: subprocess.Popen[bytes] | None = None
        self.client: httpx.AsyncClient | None = None

    # -- Serve's calls ---------------------------------------------------------------------

    def reconfigure(self, config: dict[str, Any], rank: Any) -> None:
        """A new task list, or a new rank (Serve keeps ranks contiguous: a replica started
        while another stopped may get its rank later). A replica keeps its task while the
        list holds it; one whose task left the list stops that task's runtime; one without
        a task takes the task at its rank."""
        tasks = [[str(t[0]), str(t[1])] for t in config.get("tasks", [])]
        number = int(getattr(rank, "rank", rank) if rank is not None else 0)
        if self.task is not None and not any(t[0] == self.task for t in tasks):
            self.stop()
            self.task = None
        fresh, self.fresh = self.fresh, False
        if self.task is None and self.refused is None:  # a refused one waits for its end
            chosen = pick(tasks, number)
            if chosen is None:
                return
            if first_start(self.server_url, self.project_id, *chosen, replacement=fresh):
                self.start(*chosen)
                return
            self.refused = chosen[0]
            if fresh:  # a start that fails: Serve sends it nothing, and tries again later
                raise RuntimeError(f"task {chosen[0]} ran or ended already: not run again")

    def check_health(self) -> None:
        if self.task is None and self.refused is not None:
            raise RuntimeError(f"task {self.refused} ran or ended already: not run again")
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"the runtime of task {self.task} ended ({self.process.returncode})")

    async def __call__(self, request: Request) -> Response:
        socket = self.folder / str(self.task) / "replica.sock"
        if self.task is None or not (self.folder / str(self.task) / "replica.ready").exists():
            return Response(
                b'{"error":"replica_starting","detail":"the replica is not ready yet"}',
                status_code=503,
                media_type="application/json",
                headers={"Retry-After": "1"},
            )
        if self.client is None:
            transport = httpx.AsyncHTTPTransport(uds=str(socket))
            self.client = httpx.AsyncClient(transport=transport, timeout=FORWARD_TIMEOUT)
        body = await request.body()
        headers = {"content-type": "application/json"}
        if "x-request-id" in request.headers:
            headers["x-request-id"] = request.headers["x-request-id"]
        try:
            answer = await self.client.post("http://replica/predict", content=body, headers=headers)
        except httpx.HTTPError as error:  # the runtime's replica went while answering
            detail = json.dumps(
                {
                    "error": "replica_lost",
                    "detail": f"the replica answering this request stopped: {error}",
                    "where": "endpoint",
                    "hint": "Send the request again: another replica answers it.",
                }
            )
            return Response(
                detail.encode(),
                status_code=503,
                media_type="application/json",
                headers={"Retry-After": "0"},
            )
        keep = {k: v for k, v in answer.headers.items() if k.lower() == "x-request-id"}
        return Response(
            answer.content,
            status_code=answer.status_code,
            media_type="application/json",
            headers=keep,
        )

    def __del__(self) -> None:
        self.stop()

    # -- the runtime ----------------------------------------------------------------------------

    def start(self, task_id: str, token: str) -> None:
        argv = [self.python, "-m", "headwater.runtime", task_id, "--project", self.project_id]
        argv += ["--workroot", str(self.folder), "--cache", str(self.folder / "cache")]
        if self.sandbox is not None:
            argv += ["--sandbox", json.dumps(self.sandbox, sort_keys=True)]
        # the runtime needs no Ray: it does not carry the cluster's token (its commands would
        # not inherit it either: runtime/taskenv.py)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
        env.update(HEADWATER_URL=self.server_url, HEADWATER_TOKEN=token, PYTHONUNBUFFERED="1")
        self.task = task_id
        self.folder.mkdir(mode=0o700, exist_ok=True)
        started: list[subprocess.Popen[bytes]] = []
        ready = threading.Event()

        def spawn() -> None:
            # PR_SET_PDEATHSIG fires when the *thread* that started the child ends, and Serve
            # calls reconfigure in a pool's thread: this thread lives as long as the runtime
            try:
                process = subprocess.Popen(
                    argv,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    preexec_fn=_die_with_parent,  # prctl only: no lock taken
                    close_fds=True,
                )
                started.append(process)
            finally:
                ready.set()
            process.wait()

        threading.Thread(target=spawn, name=f"hw-runtime-{task_id}", daemon=True).start()
        ready.wait()
        self.process = started[0] if started else None
        if self.process is None:
            raise RuntimeError(f"could not start the runtime of task {task_id}")

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()  # the runtime's own stop: its command's group, then it
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(STOP_GRACE)
            if process.poll() is None:
                process.kill()
        self.process = None
        self.client = None  # its socket goes with the task's folder
        deadline = time.monotonic() + 1
        while self.folder.exists() and time.monotonic() < deadline:
            shutil.rmtree(self.folder, ignore_errors=True)


def build(args: dict[str, Any]) -> Any:
    """The application of one endpoint version (Serve's ``import_path`` calls this)."""
    deployment = serve.deployment(name="replica")(HeadwaterReplica)
    return deployment.bind(
        str(args["server_url"]),
        str(args["project_id"]),
        str(args.get("python") or sys.executable),
        args.get("sandbox"),
    )
