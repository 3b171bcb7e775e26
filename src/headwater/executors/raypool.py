"""The server's side of the runtime pool on Ray (``runtime/onray.py`` is the cluster's side).

The server talks to the one detached ``Dispatcher`` actor through ``raybridge``, a process of
its own that holds the Ray driver (so a driver that dies, with the cluster away or by Ray's
own failure, does not take the server with it: the next call starts a new bridge). The
dispatcher and its tasks outlive both. ``states()`` is one call for every task, read at most
every ``FRESH_SECONDS`` for an answer that a task runs; an answer that it ended is always
fresh.
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from typing import Any

from headwater.executors.ray import RayUnavailable

log = logging.getLogger(__name__)

START_SECONDS = 120.0  # the bridge's ``ray.init``: seconds on a loaded machine
CALL_SECONDS = 70.0  # the bridge's own patience is 60 s
FRESH_SECONDS = 0.5


class RayPool:
    def __init__(self, cluster: str) -> None:
        self.cluster = cluster
        self._bridge: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()  # one request in flight on the bridge
        self._read_lock = threading.Lock()
        self._read: tuple[float, dict[str, dict[str, Any]]] | None = None
        with self._lock:
            self._started()  # a cluster that cannot be reached says so at the server's start

    @property
    def driver_pid(self) -> int | None:
        """The bridge process's, while one runs."""
        bridge = self._bridge
        return bridge.pid if bridge is not None and bridge.poll() is None else None

    # -- the bridge --------------------------------------------------------------------------

    def _started(self) -> subprocess.Popen[bytes]:
        if self._bridge is not None and self._bridge.poll() is None:
            return self._bridge
        bridge = subprocess.Popen(
            [sys.executable, "-m", "headwater.executors.raybridge", self.cluster],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=os.environ.copy(),  # Ray's token, where the cluster asks for one
            close_fds=True,
        )
        self._bridge = bridge
        self._answer(bridge, START_SECONDS, f"cannot reach the Ray cluster at {self.cluster}")
        return bridge

    def _answer(self, bridge: subprocess.Popen[bytes], seconds: float, failing: str) -> Any:
        """The bridge's next line; a bridge that says nothing in time, or leaves, is ended."""
        assert bridge.stdout is not None
        ready, _, _ = select.select([bridge.stdout], [], [], seconds)
        line = bridge.stdout.readline() if ready else b""
        if not line:
            self._end_bridge(bridge)
            raise RayUnavailable(
                f"{failing}: the Ray driver process "
                + ("did not answer" if ready == [] else f"ended ({bridge.returncode})"),
                where="HEADWATER_RAY_ADDRESS",
                hint="Check that the cluster's head runs and this server can reach it (and "
                "RAY_AUTH_TOKEN, where it asks for one); `hw server`'s log has Ray's words.",
            )
        reply = json.loads(line)
        if not reply.get("ok"):
            raise RayUnavailable(
                f"{failing}: {reply.get('error')}",
                where="HEADWATER_RAY_ADDRESS",
                hint="Check the cluster's head; `ray list actors` shows headwater-dispatcher.",
            )
        return reply.get("result")

    def _end_bridge(self, bridge: subprocess.Popen[bytes]) -> None:
        if bridge.poll() is None:
            bridge.kill()
        bridge.wait()
        for pipe in (bridge.stdin, bridge.stdout):
            if pipe is not None:
                pipe.close()
        if self._bridge is bridge:
            self._bridge = None

    def _call(self, op: str, **args: Any) -> Any:
        request = json.dumps({"op": op, **args}).encode() + b"\n"
        with self._lock:
            for attempt in range(2):  # a bridge that left between two calls: a new one
                bridge = self._started()
                assert bridge.stdin is not None
                try:
                    bridge.stdin.write(request)
                    bridge.stdin.flush()
                    break
                except OSError:
                    self._end_bridge(bridge)
                    if attempt:
                        raise RayUnavailable(
                            "the Ray driver process would not take a request",
                            where="HEADWATER_RAY_ADDRESS",
                            hint="`hw server`'s log has Ray's words.",
                        ) from None
            return self._answer(bridge, CALL_SECONDS, "the Headwater dispatcher on Ray")

    # -- the dispatcher ----------------------------------------------------------------------

    def launch(self, task: dict[str, Any], options: dict[str, Any], resources: str) -> bool:
        """Whether a new attempt started (False: this very one was launched before)."""
        started = bool(self._call("launch", task=task, options=options, resources=resources))
        with self._read_lock:
            self._read = None
        return started

    def state(self, eid: str) -> dict[str, Any] | None:
        """The task's attempt as the dispatcher has it; None when it has none."""
        with self._read_lock:
            read = self._read
        if read is not None and time.monotonic() - read[0] < FRESH_SECONDS:
            found = read[1].get(eid)
            if found is not None and found["state"] != "ended":
                return found
        return self.states().get(eid)

    def states(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = self._call("states")
        with self._read_lock:
            self._read = (time.monotonic(), found)
        return found

    def cancel(self, eid: str) -> None:
        self._call("cancel", eid=eid)
        with self._read_lock:
            self._read = None

    def end(self) -> None:
        """End the dispatcher (a head this server started stops next: Ray's processes would
        wait 30 s for a detached actor to leave by itself), then the bridge."""
        try:
            self._call("end")
        except RayUnavailable as exc:  # already gone, or the cluster is
            log.info("the Headwater dispatcher on Ray: %s", exc)
        self.close()

    def close(self) -> None:
        """End the bridge: the dispatcher and its tasks go on."""
        with self._lock:
            if self._bridge is not None:
                bridge = self._bridge
                assert bridge.stdin is not None
                bridge.stdin.close()  # the end of its input: it leaves
                try:
                    bridge.wait(10)
                except subprocess.TimeoutExpired:
                    bridge.kill()
                    bridge.wait()
                if bridge.stdout is not None:
                    bridge.stdout.close()
                self._bridge = None
