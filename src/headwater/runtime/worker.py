"""The long-lived local worker: runs the task runtime in threads, one per task.

``python -m headwater.runtime.worker --socket PATH ...`` listens on a Unix socket for one JSON
object per line (launch, cancel, list, exit_when_idle, ping) and answers one line each, to its
own user only (the socket is in a 0700 folder, and each client's uid is checked). It runs
in a session of its own, so it outlives the server that started it; tasks go on, their reports
wait for the server to come back, and the next server adopts them. It leaves by itself after
``--idle-exit`` seconds without a task.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socketserver
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headwater.client.objectcache import ObjectCache
from headwater.domain.errors import HeadwaterError
from headwater.runtime.reporting import SharedTransport
from headwater.runtime.sandbox import Sandbox, for_worker
from headwater.runtime.stopping import signal_group
from headwater.runtime.task import run_task
from headwater.unixsocket import address, check_peer, private_folder

log = logging.getLogger("headwater.worker")
KILL_AFTER = 10.0


@dataclass
class Running:
    """One attempt at a task. ``token``: the attempt's own (each launch brings a new one);
    ``after``: the earlier attempt of the same task, which must have ended before this starts."""

    thread: threading.Thread
    token: str
    cancel: threading.Event = field(default_factory=threading.Event)
    pgid: int | None = None
    after: Running | None = None


class Worker:
    def __init__(
        self, workroot: Path, cache: Path, idle_exit: float, sandbox: Sandbox | None = None
    ) -> None:
        self.workroot = workroot
        self.cache = cache
        self.idle_exit = idle_exit
        self.sandbox = sandbox
        self.tasks: dict[str, Running] = {}
        self.lock = threading.Lock()
        self.exit_when_idle = False
        self.idle_since = time.monotonic()
        self.transports: dict[str, SharedTransport] = {}  # by server URL: kept-alive connections
        self._objects: ObjectCache | None = None  # every task's blob cache: probed once

    def objects(self) -> ObjectCache:
        with self.lock:
            if self._objects is None:
                self._objects = ObjectCache(self.cache / "objects")
            return self._objects

    def transport(self, url: str) -> SharedTransport:
        with self.lock:
            found = self.transports.get(url)
            if found is None:
                found = self.transports[url] = SharedTransport(url)
            return found

    def launch(self, req: dict[str, Any]) -> dict[str, Any]:
        """Start an attempt at the task. The same launch again (its token) is the one already
        running: nothing starts twice. A launch with a new token is a new attempt (the
        watchdog's restart put the task back in the queue, which ended the earlier attempt's
        token): the earlier attempt is stopped, and the new one starts once it has ended, so
        two attempts never run at once nor share the task's folder."""
        eid = str(req["experiment_id"])
        token = str(req["token"])
        with self.lock:
            earlier = self.tasks.get(eid)
            if earlier is not None and earlier.token == token:
                return {"ok": True, "pid": os.getpid(), "already": True}
            thread = threading.Thread(target=lambda: self._run(eid, req, running), daemon=True)
            running = self.tasks[eid] = Running(thread, token, after=earlier)
            thread.start()  # under the lock: a launch that finds it may join it
        if earlier is not None:
            log.info("experiment %s: a new attempt, once the earlier one has ended", eid)
            self._stop(earlier)
        return {"ok": True, "pid": os.getpid()}

    def _run(self, eid: str, req: dict[str, Any], running: Running) -> None:
        if running.after is not None:
            running.after.thread.join()  # SIGKILL comes KILL_AFTER seconds after SIGTERM
            running.after = None
        log.info("experiment %s: starting", eid)

        def started(pid: int) -> None:
            running.pgid = pid  # the command leads its own process group
            if running.cancel.is_set():
                self._signal(running, signal.SIGTERM)

        try:
            outcome = run_task(
                eid,
                str(req["project_id"]),
                url=str(req["url"]),
                token=str(req["token"]),
                workroot=self.workroot,
                cache_root=self.cache,
                cancel=running.cancel,
                on_process=started,
                spec=req.get("spec"),
                transport=self.transport(str(req["url"])),
                sandbox=self.sandbox,
                objects=self.objects(),
            )
            log.info("experiment %s ended %s", eid, outcome.state.value)
        finally:
            with self.lock:
                if self.tasks.get(eid) is running:  # not a later attempt that waits on us
                    del self.tasks[eid]
                if not self.tasks:
                    self.idle_since = time.monotonic()

    @staticmethod
    def _signal(running: Running, sig: signal.Signals) -> None:
        if running.pgid is not None:
            signal_group(running.pgid, sig)

    @staticmethod
    def _alive(running: Running) -> bool:
        if running.pgid is None:
            return running.thread.is_alive()  # still setting up: its command may yet start
        try:
            os.killpg(running.pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def cancel(self, eid: str) -> dict[str, Any]:
        with self.lock:
            running = self.tasks.get(eid)
        if running is None:
            return {"ok": True, "running": False}
        self._stop(running)
        return {"ok": True, "running": True}

    def _stop(self, running: Running) -> None:
        """SIGTERM now, SIGKILL ``KILL_AFTER`` seconds later for a command still there."""
        running.cancel.set()
        self._signal(running, signal.SIGTERM)

        def finish_off() -> None:
            """SIGKILL for a command that is still there ``KILL_AFTER`` seconds later."""
            deadline = time.monotonic() + KILL_AFTER
            while time.monotonic() < deadline:
                if not self._alive(running):
                    return
                time.sleep(0.1)
            self._signal(running, signal.SIGKILL)

        threading.Thread(target=finish_off, daemon=True).start()

    def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        op = req.get("op")
        if op == "launch":
            return self.launch(req)
        if op == "cancel":
            return self.cancel(str(req.get("experiment_id")))
        if op == "list":
            with self.lock:
                return {"ok": True, "tasks": {k: {"pgid": r.pgid} for k, r in self.tasks.items()}}
        if op == "exit_when_idle":
            self.exit_when_idle = True
            return {"ok": True}
        if op == "ping":
            return {"ok": True, "pid": os.getpid()}
        return {"ok": False, "error": f"unknown op {op!r}"}

    def should_exit(self) -> bool:
        with self.lock:
            if self.tasks:
                return False
            idle = time.monotonic() - self.idle_since
        return self.exit_when_idle or idle > self.idle_exit


def serve(socket_path: Path, worker: Worker) -> None:
    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            try:
                check_peer(self.request, str(socket_path))
            except HeadwaterError as exc:  # another user: no answer at all
                log.warning("refused a connection: %s", exc)
                return
            line = self.rfile.readline()
            try:
                answer = worker.handle(json.loads(line))
            except Exception as exc:
                answer = {"ok": False, "error": repr(exc)}
            self.wfile.write(json.dumps(answer).encode() + b"\n")

    private_folder(socket_path.parent)
    with contextlib.suppress(FileNotFoundError):
        socket_path.unlink()
    # Launches carry task tokens and specs (secrets included): only this user may connect.
    # The folder is 0700; the socket is made 0600 as it is bound, too (a chmod after would
    # leave a window open).
    mask = os.umask(0o177)
    try:
        with address(socket_path) as name:
            server = socketserver.ThreadingUnixStreamServer(name, Handler)
    finally:
        os.umask(mask)
    server.daemon_threads = True
    pidfile = Path(str(socket_path) + ".pid")
    pidfile.write_text(f"{os.getpid()}\n")

    def watch() -> None:
        while not worker.should_exit():
            time.sleep(0.5)
        server.shutdown()

    threading.Thread(target=watch, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        for transport in worker.transports.values():
            transport.shut()
        _remove_own(socket_path)


def _remove_own(socket_path: Path) -> None:
    """Remove the socket and pid file if they are still this process's (a newer worker may
    have taken the name)."""
    pidfile = Path(str(socket_path) + ".pid")
    with contextlib.suppress(FileNotFoundError):
        if pidfile.read_text().strip() == str(os.getpid()):
            pidfile.unlink()
            socket_path.unlink()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m headwater.runtime.worker")
    parser.add_argument("--socket", type=Path, required=True)
    parser.add_argument("--workroot", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--idle-exit", type=float, default=300.0)
    parser.add_argument("--home", type=Path, help="the server home (hidden from tasks)")
    parser.add_argument("--sandbox", help="the sandbox settings, as JSON (none: no sandbox)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the server's terminal going away is not ours
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    # Tasks' folders and virtualenvs get the usual modes (a sandboxed task must read its
    # virtualenv); the folders holding them are this user's alone.
    os.umask(0o022)
    for folder in (args.workroot, args.cache):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)
    sandbox = None
    if args.sandbox:
        sandbox = for_worker(json.loads(args.sandbox), args.home or args.workroot.parent)
    worker = Worker(args.workroot, args.cache, args.idle_exit, sandbox)

    def terminate(*_: object) -> None:
        """Told to stop: end every task's process group with us, leave no socket behind."""
        with worker.lock:
            running = list(worker.tasks.values())
        for task in running:
            worker._signal(task, signal.SIGTERM)
            if task.after is not None:  # an earlier attempt still ending
                worker._signal(task.after, signal.SIGTERM)
        _remove_own(args.socket)
        os._exit(0)

    signal.signal(signal.SIGTERM, terminate)
    serve(args.socket, worker)


if __name__ == "__main__":
    main()
