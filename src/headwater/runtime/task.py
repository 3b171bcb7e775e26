"""One task, start to end: spec, workspace, setup, command, streams, outputs, final state.

The same code runs under every executor. It talks to the control plane over HTTP only, and
nothing raises out of ``run_task``: whatever goes wrong is written to the task's log and
reported as the task's end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from headwater.client.objectcache import ObjectCache
from headwater.domain.errors import Conflict, HeadwaterError
from headwater.domain.jobs import JobState
from headwater.runtime.gitrepo import clone_linked
from headwater.runtime.outputs import Outputs
from headwater.runtime.reporting import TaskApi, log, patiently
from headwater.runtime.sandbox import Sandbox, exit_status, hand_over
from headwater.runtime.shipping import LogShipper
from headwater.runtime.taskenv import inherited
from headwater.runtime.workspace import (
    SetupFailed,
    has_requirements,
    inside,
    materialise,
    requirements_venv,
)
from headwater.schemas.experiments import TaskSpec

# How long the runtime waits, once a command has exited, for processes it left behind to
# close their end of its output pipes, before it ends them.
LEFTOVER_GRACE = 2.0
# A command is reported running once it has run this long; one that ends sooner says so with
# its final report instead, so a short task costs the server one report, not two.
RUNNING_AFTER = 0.25
# An endpoint replica (``spec.replica``) listens on this socket in its task folder (bound at
# the same path inside the sandbox, so the server reaches it there) and writes the ready file
# once its function has loaded; the runtime then reports the address.
REPLICA_SOCKET = "replica.sock"
REPLICA_READY = "replica.ready"
SOCKET_PATH_MAX = 107  # sun_path holds 108 bytes with the final NUL
READY_POLL = 0.05


@dataclass(frozen=True)
class JobOutcome:
    """How a task ended, as reported (also what ``python -m headwater.runtime`` exits by)."""

    state: JobState
    exit_code: int | None
    reason: str | None


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by signal {name}"
    return f"exit code {code}"


class Task:
    def __init__(
        self,
        api: TaskApi,
        workroot: Path,
        cache_root: Path,
        cancel: threading.Event,
        on_process: Callable[[int], None] | None,
        given: dict[str, Any] | None = None,
        sandbox: Sandbox | None = None,
        objects: ObjectCache | None = None,
    ) -> None:
        self.api = api
        self.given = given
        self.sandbox = sandbox
        self.root = workroot / api.experiment_id
        # the worker's one cache object (its filesystem probed once), or this task's own
        self.cache = objects or ObjectCache(cache_root / "objects")
        self.trees = cache_root / "trees"
        self.venvs = cache_root / "venvs"
        self.cancel = cancel
        self.on_process = on_process
        self.log = LogShipper(api)
        self.outputs: Outputs | None = None
        self.groups: list[int] = []  # process groups started: none outlives the task
        self.readers: list[threading.Thread] = []
        self.shown: list[str] = []  # other tasks' folders it may read (a TensorBoard's logs)
        self.where = {"host": socket.gethostname(), "workdir": str(self.root)}
        self._started: float | None = None  # when the command started (monotonic)
        self._said_running = False
        self._ended = threading.Event()
        self._claim = threading.Lock()  # the running report: said once, by one side
        self._teller: threading.Thread | None = None

    # -- the steps -------------------------------------------------------------------------

    def spec(self) -> TaskSpec:
        if self.given is not None:
            try:
                return TaskSpec.model_validate(self.given)
            except ValidationError as exc:  # a worker older or newer than its server
                log.warning("experiment %s: asking for the spec: %s", self.api.experiment_id, exc)
        http, base = self.api.http, self.api.base
        return patiently(lambda: http.call("GET", f"{base}/spec", TaskSpec))

    def report(self, state: JobState, **fields: object) -> None:
        http, base = self.api.http, self.api.base
        body = {"state": state.value, **fields}
        patiently(lambda: http.request("POST", f"{base}/state", json=body))

    def environment(self, spec: TaskSpec, extra: dict[str, str], output: Path) -> dict[str, str]:
        env = inherited(os.environ)
        # `python` in a task is the platform's interpreter, so the SDK imports as is.
        env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
        env.update(spec.env)
        env.update(extra)
        env["HW_OUTPUT_DIR"] = str(output)
        if spec.replica:
            env["HW_REPLICA_SOCKET"] = str(self.root.resolve() / REPLICA_SOCKET)
            env["HW_REPLICA_READY"] = str(self.root.resolve() / REPLICA_READY)
        # A TensorBoard's running experiments: their output folders, where they exist on this
        # machine, read-only in its sandbox (see ``sandboxed``)
        live = {n: str(f) for n, f in self.live_folders(spec).items() if f.is_dir()}
        if live:
            env["HW_TENSORBOARD_LIVE"] = ",".join(f"{n}={f}" for n, f in live.items())
            self.shown = list(live.values())
        return env

    def live_folders(self, spec: TaskSpec) -> dict[str, Path]:
        """``spec.live_logs`` as folders of this worker's own tasks (``<work root>/<id>/<output
        dir>``): an id that is not one, or an output folder leaving its task's, is refused."""
        found = {}
        for name, where in spec.live_logs.items():
            experiment_id, _, output_dir = where.partition("/")
            if not experiment_id.isalnum():
                raise SetupFailed(f"{experiment_id!r} is not an experiment id")
            task = self.root.parent / experiment_id
            found[name] = inside(task, output_dir, "live log folder")
        return found

    def setup(self, spec: TaskSpec) -> dict[str, str]:
        # secrets, and the task's own token, never reach the stored log
        hidden = [*spec.secret_keys, "HEADWATER_TOKEN"]
        self.log.hide([spec.env[key] for key in hidden if key in spec.env])
        self.log.system(f"preparing experiment {spec.experiment.number} in {self.root}")
        self.outputs = Outputs(
            self.api,
            self.root,
            spec.output_dir,
            spec.experiment.branch,
            spec.files_commit,
            say=self.log.system,
        )
        if spec.git is not None:  # the linked Git repository instead of the project's files
            cache_root = self.trees.parent
            clone_linked(self.api, spec.git, self.root, cache_root, self.log, self.on_process)
        self.outputs.start, extra = materialise(self.api, spec, self.root, self.cache, self.trees)
        requirements = self.root / "requirements.txt"
        output = inside(self.root, spec.output_dir, "output folder")
        env = self.environment(spec, extra, output)
        if spec.requirements and has_requirements(requirements):
            confine = self.confined_install if self.sandbox is not None else None
            venv = requirements_venv(requirements, self.venvs, self.log, confine)
            env["PATH"] = os.pathsep.join([str(venv / "bin"), env["PATH"]])
            env["VIRTUAL_ENV"] = str(venv)
        prerun = self.root / "prerun.sh"
        if spec.prerun and prerun.is_file():
            self.log.system("running prerun.sh")
            code = self.run_streamed(["bash", "prerun.sh"], env, self.root)
            if code != 0:
                raise SetupFailed(f"prerun.sh failed: {describe_exit(code)}")
        output.mkdir(parents=True, exist_ok=True)
        if spec.replica and len(env["HW_REPLICA_SOCKET"].encode()) > SOCKET_PATH_MAX:
            raise SetupFailed(
                f"the replica's socket path {env['HW_REPLICA_SOCKET']} is over "
                f"{SOCKET_PATH_MAX} bytes, too long for a Unix socket: give the server a "
                "shorter home (--home)"
            )
        return env

    def run_streamed(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: Path,
        started: Callable[[], None] | None = None,
    ) -> int:
        if self.sandbox is not None:  # user code: prerun.sh and the command
            argv = self.sandboxed(self.sandbox, argv, env, cwd)
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: a stop ends all of it
        )
        self.groups.append(process.pid)  # it leads its own group: pgid == pid
        if self.on_process is not None:
            self.on_process(process.pid)
        if started is not None:
            started()
        assert process.stdout is not None
        assert process.stderr is not None
        readers = [self.log.pump("stdout", process.stdout), self.log.pump("stderr", process.stderr)]
        self.readers += readers
        # Sandboxed or not, one form: bwrap and /bin/sh both exit 128+N for a child killed by N
        code = exit_status(process.wait())
        # Processes it started in the background may hold its pipes open for ever: wait a
        # little for the rest of its output, not for them (they end with the task).
        deadline = time.monotonic() + LEFTOVER_GRACE
        for reader in readers:
            reader.join(max(0.0, deadline - time.monotonic()))
        return code

    def sandboxed(
        self, sandbox: Sandbox, argv: list[str], env: dict[str, str], cwd: Path
    ) -> list[str]:
        """``argv`` in the sandbox: the task's folder writable, its virtualenv readable."""
        root = self.root.resolve()
        if sandbox.uid is not None and sandbox.gid is not None:
            hand_over(root, sandbox.uid, sandbox.gid)
        venv = env.get("VIRTUAL_ENV")
        readable = [venv] if venv else []
        readable += self.shown
        return sandbox.wrap(argv, workdir=str(root), cwd=str(cwd), readable=readable)

    def confined_install(self, argv: list[str], venv: Path) -> list[str]:
        """The ``pip install`` of requirements.txt in the sandbox, the venv it builds writable."""
        assert self.sandbox is not None
        root = self.root.resolve()
        if self.sandbox.uid is not None and self.sandbox.gid is not None:
            hand_over(root, self.sandbox.uid, self.sandbox.gid)
            hand_over(venv, self.sandbox.uid, self.sandbox.gid)
        return self.sandbox.wrap(argv, workdir=str(root), cwd=str(root), writable=[str(venv)])

    def end_leftovers(self) -> None:
        """End what the task's commands left running (a background process, a service that
        prerun.sh started): a finished task holds no compute, and its output ends here."""
        for pgid in self.groups:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                continue
            self.log.system(f"ended the processes left running in process group {pgid}")
        self.groups.clear()
        for reader in self.readers:
            reader.join(5.0)

    def periodic_sync(self, outputs: Outputs, seconds: float, done: threading.Event) -> None:
        while not done.wait(seconds):
            try:
                outputs.commit("periodic sync of the outputs")
            except Exception as exc:
                self.log.system(f"periodic sync failed (will try again): {exc}")

    # -- the whole run ---------------------------------------------------------------------

    def run(self) -> JobOutcome:
        try:
            spec = self.spec()
        except HeadwaterError as exc:
            return self.finish(None, JobState.FAILED, None, f"could not read the task: {exc}")
        self.log.continue_from(spec.log_seq)  # a restart's attempt: after the earlier's log
        try:
            env = self.setup(spec)
        except (SetupFailed, HeadwaterError, OSError) as exc:
            if self.cancel.is_set():  # prerun.sh ended by the stop, say: not a failure
                return self.finish(spec, JobState.ABORTED, None, "stopped")
            return self.finish(spec, JobState.FAILED, None, str(exc))
        if self.cancel.is_set():
            return self.finish(spec, JobState.ABORTED, None, "stopped")
        done = threading.Event()
        syncer = None
        if spec.sync_seconds and self.outputs is not None and not spec.replica:
            syncer = threading.Thread(
                target=self.periodic_sync,
                args=(self.outputs, spec.sync_seconds, done),
                daemon=True,
            )
            syncer.start()
        if spec.replica:
            ready = Path(env["HW_REPLICA_READY"])
            watcher = threading.Thread(
                target=self.tell_serving, args=(ready, done), name="hw-serving", daemon=True
            )
            watcher.start()
        self.log.system(f"$ {spec.command}")
        try:
            cwd = inside(self.root, spec.working_dir, "working folder")
            code = self.run_streamed(["/bin/sh", "-c", spec.command], env, cwd, self._running)
        except (OSError, SetupFailed) as exc:
            code = None
            failure = f"could not start the command: {exc}"
        done.set()
        if syncer is not None:
            syncer.join()
        if code is None:
            return self.finish(spec, JobState.FAILED, None, failure)
        if self.cancel.is_set():
            return self.finish(spec, JobState.ABORTED, code, "stopped")
        if spec.replica:  # a replica serves until it is stopped: ending by itself is a failure
            why = f"the replica stopped by itself ({describe_exit(code)})"
            return self.finish(spec, JobState.FAILED, code, why)
        if code == 0:
            return self.finish(spec, JobState.SUCCESS, 0, None)
        return self.finish(spec, JobState.FAILED, code, describe_exit(code))

    def tell_serving(self, ready: Path, done: threading.Event) -> None:
        """Report the replica's address once its ready file appears (written by
        ``python -m headwater.serving --ready-file`` after it has loaded and listens)."""
        address = ""
        while not address and not done.wait(READY_POLL):
            if self._said_running:  # ready only once running: a replica's states in order
                with contextlib.suppress(OSError):
                    address = ready.read_text().strip()
        if not address:
            return
        http, url = self.api.http, f"{self.api.base}/serving"
        try:
            patiently(lambda: http.request("POST", url, json={"address": address}))
            self.log.system(f"serving on {address}")
        except HeadwaterError as exc:
            self.log.system(f"could not report the replica's address: {exc}")

    def _running(self) -> None:
        """The command has started: say so once it has run ``RUNNING_AFTER`` (in a thread:
        it runs meanwhile), unless its end comes first and says it."""
        self._started = time.monotonic()
        self._teller = threading.Thread(target=self._tell_running, name="hw-running", daemon=True)
        self._teller.start()

    def _tell_running(self) -> None:
        if self._ended.wait(RUNNING_AFTER):
            return
        with self._claim:
            if self._ended.is_set():
                return
            self._said_running = True
        assert self._started is not None
        try:
            ran = round(time.monotonic() - self._started, 3)
            self.report(JobState.RUNNING, runner=self.where, running_for=ran)
        except Conflict:  # stopped (or restarted) meanwhile: the command ends here
            self.cancel.set()
            for pgid in list(self.groups):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pgid, signal.SIGTERM)
        except HeadwaterError as exc:  # away past our patience: the end will say it all
            log.warning("experiment %s: no running report: %s", self.api.experiment_id, exc)

    def finish(
        self, spec: TaskSpec | None, state: JobState, code: int | None, reason: str | None
    ) -> JobOutcome:
        """Commit the outputs, send the last output with the final state, clean up. Never
        raises: every step that fails is written to the log (while there is one)."""
        with self._claim:
            self._ended.set()
        if self._teller is not None:
            self._teller.join()
        try:
            self.end_leftovers()
            if reason and state is not JobState.SUCCESS:
                self.log.system(f"ended {state.value}: {reason}")
            fields: dict[str, object] = {"reason": reason}
            if spec is not None and self.outputs is not None and not spec.replica:
                message = f"outputs of experiment {spec.experiment.number}"
                try:  # recorded by the final report: one request fewer
                    fields["output_commit"] = self.outputs.commit(message, record=False)
                except Exception as exc:
                    self.log.system(f"could not commit the outputs: {exc}")
                    if state is JobState.SUCCESS:  # its artifacts are lost: never a success
                        state, reason = JobState.FAILED, f"the output commit failed: {exc}"
                        fields["reason"] = reason
                        self.log.system(f"ended {state.value}: {reason}")
            fields["logs"] = self.log.close(hold_last=True)
            if code is not None:
                fields["exit_code"] = code if code >= 0 else 128 - code
            if self._started is not None and not self._said_running:  # it ran: say so now
                fields["running_for"] = round(time.monotonic() - self._started, 3)
                fields["runner"] = self.where
            self.report(state, **fields)
        except Conflict:
            pass  # stopped or ended meanwhile: the server has the last word
        except HeadwaterError as exc:  # refused, or away past our patience: the engine
            log.warning("experiment %s: no final report: %s", self.api.experiment_id, exc)
        except Exception:
            # A bug of ours: the task has ended all the same, and nothing may escape run_task.
            log.exception("experiment %s: the final report failed", self.api.experiment_id)
        shutil.rmtree(self.root, ignore_errors=True)
        return JobOutcome(state, code, reason)


def run_task(
    experiment_id: str,
    project_id: str,
    *,
    url: str,
    token: str,
    workroot: Path,
    cache_root: Path,
    cancel: threading.Event | None = None,
    on_process: Callable[[int], None] | None = None,
    spec: dict[str, Any] | None = None,
    transport: httpx.BaseTransport | None = None,
    sandbox: Sandbox | None = None,
    objects: ObjectCache | None = None,
) -> JobOutcome:
    """Run one task to its end. ``spec``: the task's spec as the server sent it with the
    launch (the local worker's); without it (or when it does not parse) the runtime asks.
    ``transport``: connections to the server shared with other tasks (the worker's).
    ``sandbox``: where the user's commands run (the local worker's; see ``sandbox.py``).
    ``objects``: the blob cache under ``cache_root`` shared by a worker's tasks (probed once)."""
    api = TaskApi(url, token, project_id, experiment_id, transport)
    task = Task(
        api, workroot, cache_root, cancel or threading.Event(), on_process, spec, sandbox, objects
    )
    try:
        return task.run()
    except Exception as exc:  # a bug of ours must still end the task, with its cause
        log.exception("experiment %s: the task runtime failed", experiment_id)
        return task.finish(None, JobState.FAILED, None, f"the task runtime failed: {exc!r}")
    finally:
        api.close()
