"""The runtime's pool on a Ray cluster: tasks run in Ray's own long-lived worker processes.

A Ray Job per task costs a supervisor actor and two fresh interpreters, seconds a task
(benchmarks/README.md, ``ray_executor.py``). Here a task is a plain Ray task, ``run_on_node``,
which Ray places by the task's resources (the compute template's CPUs, memory, GPUs and custom
resources, as for a job) and runs in a worker process it keeps and reuses, so the runtime's
imports, its connections to the server and its blob cache are paid once per worker, and a
task costs one dispatch and its command's own process.

Ray tasks belong to whoever submitted them and die with their owner, so the server does not
submit them: ``Dispatcher``, one detached actor on the head node, does, and keeps the table
of attempts by task id. It outlives the server (a ``kill -9`` of the server leaves tasks
running; the next server finds the dispatcher by name and adopts them), and it makes a launch
idempotent: the same attempt again (its token) is the one there is; a new attempt (the
watchdog's restart) starts once the earlier one has ended. The dispatcher's table is its
memory: a dispatcher that dies takes its tasks with it (Ray ends a task whose owner died), and
the server sees them gone, as a lost node.

A stop is ``ray.cancel``, which Ray raises in the task as ``KeyboardInterrupt``: the task
turns it into the runtime's own stop (SIGTERM to the command's group, SIGKILL ten seconds
later) and returns once the runtime has reported ``aborted``. Nothing is retried by Ray
(``max_retries=0``): the engine retries a task when the task says so.

This module imports Ray: only the Ray executor and the nodes import it.
"""

from __future__ import annotations

import logging
import os
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import ray

from headwater.client.objectcache import ObjectCache
from headwater.runtime.reporting import SharedTransport
from headwater.runtime.sandbox import for_node
from headwater.runtime.stopping import signal_group
from headwater.runtime.task import run_task

log = logging.getLogger("headwater.onray")

KILL_AFTER = 10.0
# An ended attempt is remembered this long (a launch of it again finds it ended, not new).
FORGET_AFTER = 3600.0
SHOWN_ENDED = 60.0

# What a worker process keeps between the tasks it runs (one at a time): the connections to
# each server, and the blob cache (probed once).
_transports: dict[str, SharedTransport] = {}
_objects: dict[Path, ObjectCache] = {}


def _transport(url: str) -> SharedTransport:
    found = _transports.get(url)
    if found is None:
        found = _transports[url] = SharedTransport(url)
    return found


def _cache(root: Path) -> ObjectCache:
    found = _objects.get(root)
    if found is None:
        found = _objects[root] = ObjectCache(root / "objects")
    return found


@ray.remote(max_retries=0)
def run_on_node(task: dict[str, Any], dispatcher: Any, after: list[Any]) -> str:
    """One attempt at a task, in a Ray worker: the runtime in a thread, this one waiting for it
    and turning Ray's cancel into the runtime's stop. ``after``: the earlier attempt of the same
    task, which must have ended first (in a list, so Ray does not fail this one for its
    error)."""
    if after:
        ray.wait(after, timeout=KILL_AFTER + 20)
    eid = str(task["experiment_id"])
    dispatcher.started.remote(eid, str(task["token"]), os.getpid())
    workroot = Path(task.get("workroot") or Path(tempfile.gettempdir()) / "hw-work")
    cache = Path.home() / ".headwater" / "task-cache"
    options = task.get("sandbox")
    cancel = threading.Event()
    groups: list[int] = []
    ended: list[str] = []

    def body() -> None:
        outcome = run_task(
            eid,
            str(task["project_id"]),
            url=str(task["url"]),
            token=str(task["token"]),
            workroot=workroot,
            cache_root=cache,
            cancel=cancel,
            on_process=groups.append,
            transport=_transport(str(task["url"])),
            sandbox=for_node(options, workroot) if options else None,
            objects=_cache(cache),
        )
        ended.append(outcome.state.value)

    runner = threading.Thread(target=body, name=f"task-{eid}", daemon=True)
    runner.start()
    kill_at: float | None = None
    while runner.is_alive():
        try:
            runner.join(0.2)
        except KeyboardInterrupt:  # ray.cancel: the task's stop
            cancel.set()
            for pgid in list(groups):
                signal_group(pgid, signal.SIGTERM)
            kill_at = kill_at or time.monotonic() + KILL_AFTER
        if kill_at is not None and time.monotonic() > kill_at:
            for pgid in list(groups):
                signal_group(pgid, signal.SIGKILL)
            kill_at = float("inf")
    return ended[0] if ended else "unknown"


class Attempt:
    """One launch of a task: its token names it."""

    def __init__(self, token: str, ref: Any, resources: str) -> None:
        self.token = token
        self.ref = ref
        self.resources = resources
        self.pid: int | None = None  # the Ray worker's, once it started
        self.ended_at: float | None = None


@ray.remote(num_cpus=0, max_restarts=-1)
class Dispatcher:
    """Submits each task's Ray task and keeps the attempts by task id (see the module's doc)."""

    def __init__(self) -> None:
        self.attempts: dict[str, Attempt] = {}

    def launch(self, task: dict[str, Any], options: dict[str, Any], resources: str) -> bool:
        """Start an attempt; False when this very attempt (its token) was launched before."""
        eid, token = str(task["experiment_id"]), str(task["token"])
        earlier = self.attempts.get(eid)
        if earlier is not None and earlier.token == token:
            return False
        after = []
        if earlier is not None and self._active(earlier):
            ray.cancel(earlier.ref)
            after = [earlier.ref]
        me = ray.get_runtime_context().current_actor
        ref = run_on_node.options(**options).remote(task, me, after)
        self.attempts[eid] = Attempt(token, ref, resources)
        return True

    def started(self, eid: str, token: str, pid: int) -> None:
        found = self.attempts.get(eid)
        if found is not None and found.token == token:
            found.pid = pid

    def _active(self, attempt: Attempt) -> bool:
        if attempt.ended_at is None:
            self._look([attempt])
        return attempt.ended_at is None

    @staticmethod
    def _look(attempts: list[Attempt]) -> None:
        """Mark the attempts whose Ray task has ended (one ``ray.wait`` for all)."""
        running = {a.ref: a for a in attempts if a.ended_at is None}
        if not running:
            return
        ready, _ = ray.wait(list(running), num_returns=len(running), timeout=0)
        now = time.monotonic()
        for ref in ready:
            running[ref].ended_at = now

    def states(self) -> dict[str, dict[str, Any]]:
        """The attempts that wait (for room on a node), run, or ended in the last
        ``SHOWN_ENDED`` seconds (an older end reads as no attempt, which is gone as well, and
        keeps this answer the size of what runs), with the resources each asked for and its
        worker's pid."""
        self._look(list(self.attempts.values()))
        now = time.monotonic()
        out: dict[str, dict[str, Any]] = {}
        for eid, attempt in list(self.attempts.items()):
            if attempt.ended_at is not None and now - attempt.ended_at > FORGET_AFTER:
                del self.attempts[eid]
                continue
            if attempt.ended_at is not None and now - attempt.ended_at > SHOWN_ENDED:
                continue
            if attempt.ended_at is not None:
                state = "ended"
            else:
                state = "running" if attempt.pid is not None else "waiting"
            out[eid] = {"state": state, "resources": attempt.resources, "pid": attempt.pid}
        return out

    def cancel(self, eid: str) -> None:
        found = self.attempts.get(eid)
        if found is not None and self._active(found):
            ray.cancel(found.ref)
