"""The server's side of the runtime pool on Ray (``runtime/onray.py`` is the cluster's side).

The server holds a Ray driver (``ray.init`` to the cluster's address) and calls the one
detached ``Dispatcher`` actor by name; the driver may die with the server, the dispatcher and
its tasks do not. ``states()`` is one call for every task, read at most every
``FRESH_SECONDS`` for an answer that a task runs; an answer that it ended is always fresh.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from headwater.executors.ray import RayUnavailable

log = logging.getLogger(__name__)

NAMESPACE = "headwater"
DISPATCHER = "headwater-dispatcher"
CALL_SECONDS = 60.0  # the first call starts the dispatcher's worker process
FRESH_SECONDS = 0.5

_connect_lock = threading.Lock()
_connected: list[str] = []  # the cluster this process's driver is on


def connect(cluster: str) -> Any:
    """This process's Ray driver, on ``cluster`` (one cluster a process: a driver on another
    is shut down first)."""
    import ray

    with _connect_lock:
        if ray.is_initialized():
            if _connected == [cluster]:
                return ray
            ray.shutdown()
        _connected.clear()
        try:
            ray.init(
                address=cluster,
                namespace=NAMESPACE,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise RayUnavailable(
                f"cannot reach the Ray cluster at {cluster}: {exc}",
                where="HEADWATER_RAY_ADDRESS",
                hint="Start it (ray start --head) or point HEADWATER_RAY_ADDRESS at it.",
            ) from exc
        _connected.append(cluster)
    return ray


class RayPool:
    def __init__(self, cluster: str) -> None:
        self.ray = connect(cluster)
        from headwater.runtime.onray import Dispatcher

        self.dispatcher = Dispatcher.options(  # type: ignore[attr-defined]
            name=DISPATCHER,
            namespace=NAMESPACE,
            lifetime="detached",
            get_if_exists=True,
            # on the head: a worker node that goes takes no one else's tasks with it
            resources={"node:__internal_head__": 0.001},
        ).remote()
        self._lock = threading.Lock()
        self._read: tuple[float, dict[str, dict[str, Any]]] | None = None

    def _call(self, ref: Any) -> Any:
        try:
            return self.ray.get(ref, timeout=CALL_SECONDS)
        except Exception as exc:  # Ray raises its own kinds for a dead actor, a timeout
            raise RayUnavailable(
                f"the Headwater dispatcher on Ray did not answer: {exc}",
                where="HEADWATER_RAY_ADDRESS",
                hint="Check the cluster's head; `ray list actors` shows the dispatcher.",
            ) from exc

    def launch(self, task: dict[str, Any], options: dict[str, Any], resources: str) -> bool:
        """Whether a new attempt started (False: this very one was launched before)."""
        started = bool(self._call(self.dispatcher.launch.remote(task, options, resources)))
        with self._lock:
            self._read = None
        return started

    def state(self, eid: str) -> dict[str, Any] | None:
        """The task's attempt as the dispatcher has it; None when it has none."""
        with self._lock:
            read = self._read
        if read is not None and time.monotonic() - read[0] < FRESH_SECONDS:
            found = read[1].get(eid)
            if found is not None and found["state"] != "ended":
                return found
        return self.states().get(eid)

    def states(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = self._call(self.dispatcher.states.remote())
        with self._lock:
            self._read = (time.monotonic(), found)
        return found

    def cancel(self, eid: str) -> None:
        self._call(self.dispatcher.cancel.remote(eid))
        with self._lock:
            self._read = None

    def end(self) -> None:
        """End the dispatcher (a head this server started stops next: Ray's processes would
        wait 30 s for a detached actor to leave by itself), then leave the cluster."""
        try:
            self.ray.kill(self.dispatcher)
        except Exception as exc:  # already gone, or the cluster is
            log.info("the Headwater dispatcher on Ray: %s", exc)
        self.close()

    def close(self) -> None:
        """Leave the cluster: the dispatcher and its tasks go on."""
        with _connect_lock:
            self.ray.shutdown()
            _connected.clear()
