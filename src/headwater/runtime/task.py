"""One task, start to end: spec, workspace, setup, command, streams, outputs, final state.

The same code runs under every executor. It talks to the control plane over HTTP only, and
nothing raises out of ``run_task``: whatever goes wrong is written to the task's log and
reported as the task's end.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from headwater.client.objectcache import ObjectCache
from headwater.client.transfer import NoProgress, RepoTransfer
from headwater.domain.errors import Conflict, HeadwaterError
from headwater.domain.jobs import JobState
from headwater.domain.trees import Tree
from headwater.runtime.reporting import TaskApi, patiently
from headwater.runtime.shipping import LogShipper
from headwater.runtime.workspace import (
    SetupFailed,
    has_requirements,
    materialise,
    output_tree,
    requirements_venv,
)
from headwater.schemas.experiments import TaskSpec


@dataclass(frozen=True)
class JobOutcome:
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
    ) -> None:
        self.api = api
        self.root = workroot / api.experiment_id
        self.cache = ObjectCache(cache_root / "objects")
        self.venvs = cache_root / "venvs"
        self.cancel = cancel
        self.on_process = on_process
        self.log = LogShipper(api)
        self.start_tree = Tree()
        self.last_commit: str | None = None

    # -- the steps -------------------------------------------------------------------------

    def spec(self) -> TaskSpec:
        http, base = self.api.http, self.api.base
        return patiently(lambda: http.call("GET", f"{base}/spec", TaskSpec))

    def report(self, state: JobState, **fields: object) -> None:
        http, base = self.api.http, self.api.base
        body = {"state": state.value, **fields}
        patiently(lambda: http.request("POST", f"{base}/state", json=body))

    def environment(self, spec: TaskSpec, extra: dict[str, str], output: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HEADWATER_", "HW_"))}
        # `python` in a task is the platform's interpreter, so the SDK imports as is.
        env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
        env.update(spec.env)
        env.update(extra)
        env["HW_OUTPUT_DIR"] = str(output)
        return env

    def setup(self, spec: TaskSpec) -> dict[str, str]:
        self.log.system(f"preparing experiment {spec.experiment.number} in {self.root}")
        self.start_tree, extra = materialise(self.api, spec, self.root, self.cache)
        requirements = self.root / "requirements.txt"
        env = self.environment(spec, extra, self.root / spec.output_dir)
        if spec.requirements and has_requirements(requirements):
            venv = requirements_venv(requirements, self.venvs, self.log)
            env["PATH"] = os.pathsep.join([str(venv / "bin"), env["PATH"]])
            env["VIRTUAL_ENV"] = str(venv)
        prerun = self.root / "prerun.sh"
        if spec.prerun and prerun.is_file():
            self.log.system("running prerun.sh")
            code = self.run_streamed(["bash", "prerun.sh"], env, self.root)
            if code != 0:
                raise SetupFailed(f"prerun.sh failed: {describe_exit(code)}")
        (self.root / spec.output_dir).mkdir(parents=True, exist_ok=True)
        return env

    def run_streamed(self, argv: list[str], env: dict[str, str], cwd: Path) -> int:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: a stop ends all of it
        )
        if self.on_process is not None:
            self.on_process(process.pid)
        assert process.stdout is not None
        assert process.stderr is not None
        readers = [self.log.pump("stdout", process.stdout), self.log.pump("stderr", process.stderr)]
        code = process.wait()
        for reader in readers:
            reader.join()
        return code

    def commit_outputs(self, spec: TaskSpec, message: str) -> str | None:
        """Commit the output folder on the experiment's branch; None when there is nothing."""
        tree, paths = output_tree(self.start_tree, self.root, spec.output_dir)
        if not paths and self.last_commit is None:
            return None
        transfer = BranchTransfer(self.api.http, f"/projects/{self.api.project_id}/files")
        known = [e.hash for e in self.start_tree.entries]
        patiently(lambda: transfer.push(tree, paths, NoProgress(), known=known))
        base = self.last_commit or spec.files_commit
        branch = spec.experiment.branch
        result = patiently(lambda: transfer.commit_on(tree, base, message, branch))
        self.last_commit = result
        http, path = self.api.http, f"{self.api.base}/output"
        patiently(lambda: http.request("POST", path, json={"commit": result}))
        return result

    def periodic_sync(self, spec: TaskSpec, done: threading.Event) -> None:
        assert spec.sync_seconds is not None
        while not done.wait(spec.sync_seconds):
            try:
                self.commit_outputs(spec, "periodic sync of the outputs")
            except Exception as exc:
                self.log.system(f"periodic sync failed (will try again): {exc}")

    # -- the whole run ---------------------------------------------------------------------

    def run(self) -> JobOutcome:
        try:
            spec = self.spec()
        except HeadwaterError as exc:
            return self.finish(None, JobState.FAILED, None, f"could not read the task: {exc}")
        try:
            env = self.setup(spec)
        except (SetupFailed, HeadwaterError, OSError) as exc:
            return self.finish(spec, JobState.FAILED, None, str(exc))
        if self.cancel.is_set():
            return self.finish(spec, JobState.ABORTED, None, "stopped")
        try:
            self.report(
                JobState.RUNNING,
                runner={"host": socket.gethostname(), "workdir": str(self.root)},
            )
        except Conflict:
            return self.finish(spec, JobState.ABORTED, None, "stopped")
        done = threading.Event()
        syncer = None
        if spec.sync_seconds:
            syncer = threading.Thread(target=self.periodic_sync, args=(spec, done), daemon=True)
            syncer.start()
        cwd = self.root / spec.working_dir if spec.working_dir else self.root
        self.log.system(f"$ {spec.command}")
        try:
            code = self.run_streamed(["/bin/sh", "-c", spec.command], env, cwd)
        except OSError as exc:
            done.set()
            return self.finish(spec, JobState.FAILED, None, f"could not start the command: {exc}")
        done.set()
        if syncer is not None:
            syncer.join()
        if self.cancel.is_set():
            return self.finish(spec, JobState.ABORTED, code, "stopped")
        if code == 0:
            return self.finish(spec, JobState.SUCCESS, 0, None)
        return self.finish(spec, JobState.FAILED, code, describe_exit(code))

    def finish(
        self, spec: TaskSpec | None, state: JobState, code: int | None, reason: str | None
    ) -> JobOutcome:
        if reason and state is not JobState.SUCCESS:
            self.log.system(f"ended {state.value}: {reason}")
        if spec is not None:
            try:
                self.commit_outputs(spec, f"outputs of experiment {spec.experiment.number}")
            except Exception as exc:
                self.log.system(f"could not commit the outputs: {exc}")
        fields: dict[str, object] = {"reason": reason, "logs": self.log.close(hold_last=True)}
        if code is not None:
            fields["exit_code"] = code if code >= 0 else 128 - code
        try:
            self.report(state, **fields)
        except Conflict:
            pass  # stopped or ended meanwhile: the server has the last word
        except HeadwaterError:
            pass  # the server stayed away past our patience: the engine calls it lost
        shutil.rmtree(self.root, ignore_errors=True)
        return JobOutcome(state, code, reason)


class BranchTransfer(RepoTransfer):
    """Commits on a named branch (an experiment's), not the default one."""

    def commit_on(self, tree: Tree, base: str | None, message: str, branch: str) -> str:
        body = {
            "base": base,
            "message": message,
            "branch": branch,
            "entries": [
                {"path": e.path, "hash": e.hash, "size": e.size, "mode": e.mode}
                for e in tree.entries
            ],
        }
        answer = self.http.request("POST", f"{self.base}/commits", json=body).json()
        commit: str = answer["id"]
        return commit


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
) -> JobOutcome:
    api = TaskApi(url, token, project_id, experiment_id)
    task = Task(api, workroot, cache_root, cancel or threading.Event(), on_process)
    try:
        return task.run()
    except Exception as exc:  # a bug of ours must still end the task, with its cause
        return task.finish(None, JobState.FAILED, None, f"the task runtime failed: {exc!r}")
    finally:
        api.close()
