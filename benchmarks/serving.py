"""Serving benchmark (issue 13): Headwater's endpoints beside a bare uvicorn app, MLflow and peers.

    .venv/bin/python benchmarks/serving.py [--workers 2] [--duration 10] [--repeat 3]
        [--targets floor,headwater,mlflow,litserve,bentoml] [--workloads trivial,sklearn]

Two workloads, the same for every target: a **trivial** function (it returns its input, four
floats) and a **scikit-learn** model (``predict_proba`` of a ``LogisticRegression`` trained here
on scikit-learn's bundled iris data, pickled once per run), asked about one row. Each target
serves it with the same number of worker processes (``--workers``) and gets the same load: 32
keep-alive connections (``--clients``), closed loop, each POSTing the same JSON body again as
soon as its answer is in, from **wrk** (C, one thread, the request built once), for a 2 s
warm-up and then ``--duration`` seconds, ``--repeat`` times back to back; the table takes the
median of the runs (requests/s, p50, p99 each). Before it is loaded, every target's answer to
the workload's request is checked against the model's own answer (same probabilities).

Targets:

* **floor**: a bare ASGI callable (no framework) under ``uvicorn --workers N`` (uvloop and
  httptools, the versions of the project's venv) that parses the body, calls the function with
  cnvrg's calling convention and answers ``{"prediction": ...}``. Nothing can serve the function
  over HTTP with less; Headwater's targets are measured against it.
* **headwater**: a real ``hw server`` (fresh home; tasks sandboxed unless ``--no-sandbox``), a
  project linked and synced from a folder holding ``predict.py``, ``model.pkl`` and
  ``requirements.txt`` (scikit-learn, installed by the platform's requirements cache, not into
  the project's venv), one endpoint per workload deployed with ``POST
  /api/v1/projects/{p}/endpoints`` (min = max replicas = N), loaded at ``POST
  /api/v1/endpoints/<slug>/predict`` with its key as a bearer token. Skipped, with a line
  saying so, while the server has no such routes.
* **mlflow**: ``mlflow models serve --env-manager local -w N`` of the same pickled model saved
  with ``mlflow.sklearn.save_model(..., pyfunc_predict_fn="predict_proba")``, and of a pyfunc
  that returns its input; ``POST /invocations`` with ``{"inputs": ...}``.
* **litserve**: ``LitServer`` with ``workers_per_device=N`` on CPU, whose ``LitAPI`` calls the
  same function from the same ``predict.py``; ``POST /predict``.
* **bentoml**: ``bentoml serve`` of a ``@bentoml.service(workers=N)`` whose API calls the same
  function; ``POST /predict``.

Every peer runs in its own venv under ``~/.cache/headwater-bench`` (``serving-<name>-venv``),
installed by this script on first use (not timed); nothing of theirs enters the project's venv.
Every service listens on 127.0.0.1 and is stopped on the way out (SIGTERM included). The JSON
(``benchmarks/results/serving-<date>.json``) has the machine, versions, every run with its CPU
split (the target's process tree, wrk, everything else), and the markdown tables printed at the
end.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any

import httpx
from harness.load import Measurement, run_wrk_post, wrk_available
from harness.machine import (
    HOST,
    Meter,
    free_port,
    machine_info,
    proc_cpu_s,
    process_tree,
    wait_quiet,
)
from harness.venvs import Venv, VenvSpec, ensure_venv

REPO = Path(__file__).resolve().parent.parent
HW = Path(sys.executable).parent / "hw"  # the platform's CLI, from the venv running this script
SKLEARN = "scikit-learn==1.9.*"
ROW = [5.1, 3.5, 1.4, 0.2]  # the first iris sample: every request asks about it
X, DASH = "\u00d7", "\u2013"  # the multiplication sign and a dash, for the tables
TARGETS = ("floor", "proxy", "headwater", "mlflow", "litserve", "bentoml")
TARGET = {"p50_added_ms_max": 1.0, "share_of_floor_rps_min": 0.8, "x_mlflow_rps_min": 2.0}


def _pinned(package: str) -> str:
    """``package==<the project's version>``, so the floor runs the server Headwater runs."""
    try:
        return f"{package}=={version(package)}"
    except PackageNotFoundError:
        return package


VENVS = {
    "floor": VenvSpec(
        "serving-floor",
        (SKLEARN, _pinned("uvicorn"), _pinned("uvloop"), _pinned("httptools")),
        "uvicorn",
    ),
    "mlflow": VenvSpec("serving-mlflow", ("mlflow==3.17.*", SKLEARN), "mlflow", "3.17."),
    "litserve": VenvSpec("serving-litserve", ("litserve==0.2.*", SKLEARN), "litserve", "0.2."),
    "bentoml": VenvSpec("serving-bentoml", ("bentoml==1.4.*", SKLEARN), "bentoml", "1.4."),
}


VENV_OF = {"proxy": "floor"}  # the reference proxy runs in the floor's venv


@dataclass(frozen=True)
class Workload:
    name: str
    function: str  # in predict.py
    input_params: Any  # what a caller sends as ``input_params`` (MLflow: ``inputs``)
    label: str


WORKLOADS = {
    "trivial": Workload("trivial", "trivial", ROW, "trivial function (returns its input)"),
    "sklearn": Workload("sklearn", "predict", [ROW], "scikit-learn `predict_proba`, one row"),
}

# ----------------------------------------------------------------------------- the user's code

PREDICT_PY = '''\
"""What every target serves: a trivial function and a scikit-learn model's predict_proba."""
import pickle
from pathlib import Path

_model = None


def trivial(params):
    return params


def predict(params):
    global _model
    if _model is None:  # loaded once per process, on its first request (the warm-up's)
        with open(Path(__file__).with_name("model.pkl"), "rb") as fh:
            _model = pickle.load(fh)
    return _model.predict_proba(params).tolist()
'''

TRAIN_PY = """\
import json, pickle, sys
import sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

X, y = load_iris(return_X_y=True)
clf = LogisticRegression(max_iter=1000).fit(X, y)
with open(sys.argv[1], "wb") as fh:
    pickle.dump(clf, fh)
row = json.loads(sys.argv[2])
print(json.dumps({"sklearn": sklearn.__version__, "train_accuracy": clf.score(X, y),
                  "expected": clf.predict_proba([row]).tolist()}))
"""

# Shared by the floor, LitServe and BentoML: load the function, call it by cnvrg's convention.
LOADER_PY = """\
import importlib.util, inspect, os, sys


def load_caller():
    path, name = os.environ["BENCH_FILE"], os.environ["BENCH_FUNCTION"]
    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location("predict", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fn = getattr(module, name)
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    many = sum(p.kind in kinds for p in inspect.signature(fn).parameters.values()) > 1
    if many:
        return lambda x: fn(*x) if isinstance(x, list) else fn(x)
    return fn
"""

FLOOR_APP = """\
\"\"\"The floor: a bare ASGI callable, no framework, calling the function inline.\"\"\"
import json

from bench_loader import load_caller

call = load_caller()
JSON = [(b"content-type", b"application/json")]


async def app(scope, receive, send):
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    try:
        x = json.loads(body)["input_params"]
    except (ValueError, KeyError, TypeError):
        status, out = 400, b'{"error": "bad_request"}'
    else:
        status, out = 200, json.dumps({"prediction": call(x)}).encode()
    headers = [*JSON, (b"content-length", str(len(out)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": out})
"""

# The least the design's gateway can cost: one process, a key check, a keep-alive pool of Unix
# socket connections to the floor's workers, the answer passed through. Not Headwater: a bound.
PROXY_APP = """\
\"\"\"A bare reverse proxy: bearer key check, then the body over a pooled Unix socket.\"\"\"
import asyncio, hashlib, hmac, os

UPSTREAM = os.environ["BENCH_UPSTREAM"]
KEY_HASH = hashlib.sha256(os.environ["BENCH_KEY"].encode()).hexdigest()
pool = []  # idle (reader, writer) pairs to the upstream
DENIED = b'{"error": "unauthorized"}'


async def upstream_call(body):
    try:
        return await exchange(body, pool.pop() if pool else None)
    except (OSError, asyncio.IncompleteReadError):  # an idle pooled connection was closed
        return await exchange(body, None)


async def exchange(body, conn):
    reader, writer = conn or await asyncio.open_unix_connection(UPSTREAM)
    writer.write(b"POST /predict HTTP/1.1\\r\\nhost: replica\\r\\ncontent-type: application/json"
                 b"\\r\\ncontent-length: %d\\r\\n\\r\\n%s" % (len(body), body))
    head = await reader.readuntil(b"\\r\\n\\r\\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\\r\\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    out = await reader.readexactly(length)
    pool.append((reader, writer))
    return status, out


async def app(scope, receive, send):
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    auth = dict(scope["headers"]).get(b"authorization", b"")
    given = hashlib.sha256(auth.removeprefix(b"Bearer ")).hexdigest()
    if hmac.compare_digest(given, KEY_HASH):
        status, out = await upstream_call(body)
    else:
        status, out = 401, DENIED
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(out))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": out})
"""

MLFLOW_SAVE_PY = """\
import json, pickle, sys
import mlflow
import mlflow.pyfunc
import mlflow.sklearn


class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


model_pkl, out = sys.argv[1], sys.argv[2]
with open(model_pkl, "rb") as fh:
    clf = pickle.load(fh)
mlflow.sklearn.save_model(clf, out + "/sklearn", pyfunc_predict_fn="predict_proba")
mlflow.pyfunc.save_model(out + "/trivial", python_model=Echo())
print(json.dumps({"mlflow": mlflow.__version__}))
"""

LITSERVE_APP = """\
import os

import litserve as ls
from bench_loader import load_caller


class Bench(ls.LitAPI):
    def setup(self, device):
        self.call = load_caller()

    def decode_request(self, request):
        return request["input_params"]

    def predict(self, x):
        return self.call(x)

    def encode_response(self, output):
        return {"prediction": output}


if __name__ == "__main__":
    workers = int(os.environ["BENCH_WORKERS"])
    server = ls.LitServer(Bench(), accelerator="cpu", workers_per_device=workers)
    server.run(host="127.0.0.1", port=int(os.environ["BENCH_PORT"]),
               generate_client_file=False, log_level="warning")
"""

BENTO_SERVICE = """\
import os
from typing import Any

import bentoml
from bench_loader import load_caller


@bentoml.service(workers=int(os.environ["BENCH_WORKERS"]))
class Bench:
    def __init__(self) -> None:
        self.call = load_caller()

    @bentoml.api
    def predict(self, input_params: Any) -> dict:
        return {"prediction": self.call(input_params)}
"""

# ----------------------------------------------------------------------------- helpers


def log(msg: str) -> None:
    print(msg, flush=True)


def tail(data: str | bytes, n: int = 2000) -> str:
    if isinstance(data, bytes):
        data = data.decode(errors="replace")
    return data[-n:]


def loadavg() -> list[float]:
    with contextlib.suppress(OSError, ValueError):
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    return []


def clean_env() -> dict[str, str]:
    """The caller's environment without any tool's own settings: each tool gets only ours."""
    drop = ("HEADWATER_", "MLFLOW_", "BENTOML_", "LITSERVE_", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["NO_COLOR"] = "1"
    env["DO_NOT_TRACK"] = "1"
    return env


def close_to(got: Any, want: Any, tol: float = 1e-6) -> bool:
    """Equal JSON values, numbers within ``tol`` (each server prints floats its own way)."""
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(close_to(g, w, tol) for g, w in zip(got, want, strict=True))
        )
    if isinstance(want, float | int) and isinstance(got, float | int):
        return abs(got - want) <= tol
    return bool(got == want)


@dataclass
class Ready:
    """A target serving one workload: where to POST what, and how to read the answer."""

    url: str
    body: bytes
    headers: dict[str, str]
    prediction: Callable[[Any], Any]  # the answer's JSON -> the function's result
    notes: dict[str, Any] = field(default_factory=dict)


class Skip(Exception):
    """The target cannot run here (not installed, not implemented yet): say why, go on."""


def _json_headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"Content-Type": "application/json", **(extra or {})}


def first_answer(ready: Ready, timeout: float, alive: Callable[[], bool]) -> tuple[float, Any]:
    """POST until the first 200 (a server still loading answers 503 or refuses the connection);
    the seconds it took and the answer's JSON."""
    t0 = time.monotonic()
    last = ""
    while time.monotonic() - t0 < timeout:
        if not alive():
            raise RuntimeError(f"the server exited before answering ({last})")
        try:
            r = httpx.post(ready.url, content=ready.body, headers=ready.headers, timeout=30)
            if r.status_code == 200:
                return time.monotonic() - t0, r.json()
            last = f"{r.status_code} {r.text[:300]}"
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.25)
    raise RuntimeError(f"no 200 from {ready.url} in {timeout:.0f} s; last: {last}")


# ----------------------------------------------------------------------------- process targets


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group we started (SIGKILL after 20 s); then any process of its
    tree that left the group goes by its pid."""
    pids = process_tree([proc.pid])
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    for pid in pids[1:]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if Path(f"/proc/{pid}").exists():
                os.kill(pid, signal.SIGKILL)


class ProcessTarget:
    """A peer server started as one command in a session of its own; stopped as a group."""

    name = ""

    def __init__(self, work: Path, venv: Venv, workers: int) -> None:
        self.work, self.venv, self.workers = work, venv, workers
        self.proc: subprocess.Popen[bytes] | None = None
        self.log: IO[bytes] | None = None
        self.log_path = work / f"{self.name}.log"

    def command(self, workload: Workload, port: int) -> tuple[list[str], Path, dict[str, str]]:
        raise NotImplementedError

    def ready(self, workload: Workload, port: int) -> Ready:
        raise NotImplementedError

    def start(self, workload: Workload, timeout: float) -> Ready:
        port = free_port()
        cmd, cwd, env = self.command(workload, port)
        self.log = self.log_path.open("ab")
        self.log.write(f"\n=== {workload.name}: {' '.join(cmd)}\n".encode())
        self.log.flush()
        self.proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        ready = self.ready(workload, port)
        try:
            took, _ = first_answer(
                ready, timeout, lambda: self.proc is not None and self.proc.poll() is None
            )
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n--- {self.log_path.name} ---\n{self.log_tail()}") from exc
        ready.notes["first_answer_s"] = round(took, 2)
        return ready

    def roots(self) -> list[int]:
        return [self.proc.pid] if self.proc else []

    def groups(self) -> dict[str, list[int]]:
        """The target's processes by role, for the CPU split."""
        return {"all": process_tree(self.roots())}

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return tail(self.log_path.read_bytes())
        return ""

    def stop(self) -> None:
        if self.proc is not None:
            _stop_group(self.proc)
            self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def env(self, workload: Workload, port: int) -> dict[str, str]:
        return dict(
            clean_env(),
            HOME=str(self.work / "peer-home"),
            # as with the venv activated: MLflow execs `uvicorn` from PATH
            PATH=f"{self.venv.bin}{os.pathsep}{os.environ.get('PATH', '')}",
            BENCH_FILE=str(self.work / "project" / "predict.py"),
            BENCH_FUNCTION=workload.function,
            BENCH_WORKERS=str(self.workers),
            BENCH_PORT=str(port),
            PYTHONPATH=str(self.work / "apps"),  # bench_loader; never the platform's tree
        )


class Floor(ProcessTarget):
    name = "floor"

    def command(self, workload: Workload, port: int) -> tuple[list[str], Path, dict[str, str]]:
        cmd = [
            str(self.venv.python),
            "-m",
            "uvicorn",
            "floor_app:app",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(self.workers),
            "--no-access-log",
            "--log-level",
            "warning",
            "--lifespan",
            "off",
        ]
        return cmd, self.work / "apps", self.env(workload, port)

    def ready(self, workload: Workload, port: int) -> Ready:
        body = json.dumps({"input_params": workload.input_params}).encode()
        return Ready(
            f"http://{HOST}:{port}/predict", body, _json_headers(), lambda a: a["prediction"]
        )


class Proxy(Floor):
    """The floor's workers on a Unix socket behind a bare one-process Python proxy: the shape
    of Headwater's design (gateway + replicas) with nothing else in it, so its distance from
    the floor is the least the gateway hop can cost here. A reference row, not a product."""

    name = "proxy"
    KEY = "hwe_bench-proxy-key"

    def __init__(self, work: Path, venv: Venv, workers: int) -> None:
        super().__init__(work, venv, workers)
        self.upstream: subprocess.Popen[bytes] | None = None
        self.upstream_sock = work / "proxy-upstream.sock"

    def start(self, workload: Workload, timeout: float) -> Ready:
        sock = self.work / f"proxy-upstream-{workload.name}.sock"
        env = self.env(workload, 0)
        cmd = [
            str(self.venv.python),
            "-m",
            "uvicorn",
            "floor_app:app",
            "--uds",
            str(sock),
            "--workers",
            str(self.workers),
            "--no-access-log",
            "--log-level",
            "warning",
            "--lifespan",
            "off",
        ]
        self.log = self.log_path.open("ab")
        self.upstream = subprocess.Popen(
            cmd,
            cwd=self.work / "apps",
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not sock.exists():
            if self.upstream.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the upstream did not listen on {sock}\n{self.log_tail()}")
            time.sleep(0.1)
        self.upstream_sock = sock
        self.log.close()
        return super().start(workload, timeout)

    def command(self, workload: Workload, port: int) -> tuple[list[str], Path, dict[str, str]]:
        cmd = [
            str(self.venv.python),
            "-m",
            "uvicorn",
            "proxy_app:app",
            "--host",
            HOST,
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            "--lifespan",
            "off",
        ]
        env = dict(
            self.env(workload, port), BENCH_UPSTREAM=str(self.upstream_sock), BENCH_KEY=self.KEY
        )
        return cmd, self.work / "apps", env

    def ready(self, workload: Workload, port: int) -> Ready:
        ready = super().ready(workload, port)
        ready.headers["Authorization"] = f"Bearer {self.KEY}"
        return ready

    def roots(self) -> list[int]:
        return super().roots() + ([self.upstream.pid] if self.upstream else [])

    def groups(self) -> dict[str, list[int]]:
        return {
            "gateway": process_tree(super().roots()),
            "workers": process_tree([self.upstream.pid] if self.upstream else []),
        }

    def stop(self) -> None:
        super().stop()
        if self.upstream is not None:
            _stop_group(self.upstream)
            self.upstream = None


class MLflow(ProcessTarget):
    name = "mlflow"

    def command(self, workload: Workload, port: int) -> tuple[list[str], Path, dict[str, str]]:
        model = self.work / "mlflow-models" / workload.name
        cmd = [
            str(self.venv.bin / "mlflow"),
            "models",
            "serve",
            "-m",
            str(model),
            "--env-manager",
            "local",
            "-w",
            str(self.workers),
            "-h",
            HOST,
            "-p",
            str(port),
        ]
        return cmd, self.work, self.env(workload, port)

    def ready(self, workload: Workload, port: int) -> Ready:
        body = json.dumps({"inputs": workload.input_params}).encode()
        return Ready(
            f"http://{HOST}:{port}/invocations", body, _json_headers(), lambda a: a["predictions"]
        )


class LitServe(ProcessTarget):
    name = "litserve"

    def command(self, workload: Workload, port: int) -> tuple[list[str], Path, dict[str, str]]:
        cmd = [str(self.venv.python), "litserve_app.py"]
        return cmd, self.work / "apps", self.env(workload, port)

    def ready(self, workload: Workload, port: int) -> Ready:
        body = json.dumps({"input_params": workload.input_params}).encode()
        return Ready(
            f"http://{HOST}:{port}/predict", body, _json_headers(), lambda a: a["prediction"]
        )


class BentoML(ProcessTarget):
    name = "bentoml"

    def command(self, workload: Workload, port: int) -> tuple[list[str], Path, dict[str, str]]:
        cmd = [
            str(self.venv.bin / "bentoml"),
            "serve",
            "bento_service:Bench",
            "--host",
            HOST,
            "--port",
            str(port),
        ]
        env = dict(
            self.env(workload, port),
            BENTOML_HOME=str(self.work / "bentoml-home"),
            BENTOML_DO_NOT_TRACK="True",
        )
        return cmd, self.work / "apps", env

    def ready(self, workload: Workload, port: int) -> Ready:
        body = json.dumps({"input_params": workload.input_params}).encode()
        return Ready(
            f"http://{HOST}:{port}/predict", body, _json_headers(), lambda a: a["prediction"]
        )


# ----------------------------------------------------------------------------- Headwater


class Headwater:
    """A real `hw server` with a fresh home, a project synced from the benchmark's folder, and
    one endpoint per workload deployed through the management API."""

    name = "headwater"

    def __init__(self, work: Path, workers: int, *, sandbox: bool) -> None:
        self.work, self.workers, self.sandbox = work, workers, sandbox
        self.home = work / "hw-home"
        self.cfg = work / "hw-config"
        self.folder = work / "project"
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.env = dict(clean_env(), HEADWATER_CONFIG_DIR=str(self.cfg))
        self.env["PATH"] = f"{HW.parent}{os.pathsep}{self.env.get('PATH', '')}"
        self.server: subprocess.Popen[bytes] | None = None
        self.log_path = work / "hw-server.log"
        self.project = ""
        self.api: httpx.Client | None = None
        self.deployed: list[str] = []

    # -- the server ----------------------------------------------------------------------------

    def boot(self) -> None:
        """Start the server, log in, link and sync the folder; skip when serving is not there."""
        if self.server is not None:
            return
        self.cfg.mkdir(exist_ok=True)
        cmd = [
            str(HW),
            "server",
            "--home",
            str(self.home),
            "--port",
            str(self.port),
            "--host",
            HOST,
        ]
        if not self.sandbox:
            cmd.append("--no-sandbox")
        with self.log_path.open("wb") as out:
            self.server = subprocess.Popen(
                cmd,
                env=dict(self.env, HEADWATER_HOME=str(self.home)),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while True:
            if self.server.poll() is not None:
                raise RuntimeError(f"hw server exited:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                if (self.home / "admin.token").exists():
                    with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as resp:
                        if resp.status == 200:
                            break
            if time.monotonic() > deadline:
                raise RuntimeError("hw server did not become healthy in 120 s")
            time.sleep(0.2)
        token = (self.home / "admin.token").read_text().strip()
        self.api = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=120
        )
        # The predict route first: until the server side lands it does not exist, and the
        # answer is the framework's own (an unknown slug gets the gateway's 404 or a 401).
        probe = self.api.post("/api/v1/endpoints/hw-bench-probe/predict", json={"input_params": 1})
        no_route = _json(probe) == {"detail": "Not Found"}
        if probe.status_code == 405 or (probe.status_code == 404 and no_route):
            self.shutdown()  # not idling beside the other targets' runs
            raise Skip(
                f"POST /api/v1/endpoints/<slug>/predict answered {probe.status_code} "
                f"{probe.text[:80]!r}: the server side of serving has not landed in this tree"
            )
        self.hw(["login", "--url", self.url, "--token", token])
        linked = json.loads(self.hw(["link", "--title", "bench", "--sync", "--json"]).stdout)
        self.project = linked["project"]["id"]

    def hw(self, args: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(HW), *args],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"`hw {' '.join(args)}` exited {proc.returncode}\n"
                f"{tail(proc.stdout)}\n{tail(proc.stderr)}"
            )
        return proc

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return tail(self.log_path.read_bytes(), 3000)
        return ""

    def worker_pids(self) -> list[int]:
        """The local worker this server started (it runs the replicas), by our home in its
        command line."""
        found = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            with contextlib.suppress(OSError):
                args = cmdline.read_bytes().split(b"\0")
                if b"headwater.runtime.worker" in args and str(self.home).encode() in b" ".join(
                    args
                ):
                    found.append(int(cmdline.parent.name))
        return found

    def roots(self) -> list[int]:
        """The gateway (the server) and the worker, whose children are the replicas."""
        return ([self.server.pid] if self.server else []) + self.worker_pids()

    def groups(self) -> dict[str, list[int]]:
        """The server ("gateway": also the engine and the controller), the local worker, and
        the replicas (every process under the worker: sandbox and replica)."""
        workers = self.worker_pids()
        return {
            "gateway": [self.server.pid] if self.server else [],
            "worker": workers,
            "replicas": [p for p in process_tree(workers) if p not in workers],
        }

    # -- one endpoint per workload ---------------------------------------------------------------

    def start(self, workload: Workload, timeout: float) -> Ready:
        self.boot()
        assert self.api is not None
        title = f"bench-{workload.name}"
        base = f"/api/v1/projects/{self.project}/endpoints"
        deploy = {
            "title": title,
            "file_name": "predict.py",
            "function_name": workload.function,
            "min_replica": self.workers,
            "max_replica": self.workers,
        }
        t0 = time.monotonic()
        made = self.api.post(base, json=deploy)
        if made.status_code in (404, 405):
            raise Skip(f"POST {base} answered {made.status_code}: no deploy route in this tree")
        if made.status_code >= 400:
            raise RuntimeError(f"deploy answered {made.status_code}: {made.text[:1000]}")
        # EndpointDeployed: {"endpoint": EndpointDetail, "version": N, "key": EndpointKey}
        answer = made.json()
        endpoint, key = answer.get("endpoint") or {}, (answer.get("key") or {}).get("key")
        if not key:
            raise RuntimeError(f"the deploy answer carries no key: {made.text[:500]}")
        slug = endpoint.get("slug") or title.lower()
        self.deployed.append(title)
        status, ready_replicas = "", 0
        while time.monotonic() - t0 < timeout:
            shown = self.api.get(f"{base}/{title}")
            detail = _json(shown) if shown.status_code == 200 else {}
            status = detail.get("status", "")
            replicas = detail.get("replicas", [])
            ready_replicas = sum(r.get("state") == "ready" for r in replicas)
            # "running" once one replica is ready; the load waits for all of them
            if status == "running" and ready_replicas >= self.workers:
                break
            if status in ("failed", "stopped"):
                raise RuntimeError(f"endpoint {title} is {status}:\n{shown.text[:2000]}")
            time.sleep(0.5)
        else:
            raise RuntimeError(
                f"endpoint {title} still {status!r} with {ready_replicas} ready replica(s) "
                f"after {timeout:.0f} s"
            )
        running_s = time.monotonic() - t0
        ready = Ready(
            f"{self.url}/api/v1/endpoints/{slug}/predict",
            json.dumps({"input_params": workload.input_params}).encode(),
            _json_headers({"Authorization": f"Bearer {key}"}),
            lambda a: a["prediction"],
            notes={
                "slug": slug,
                "replicas": self.workers,
                "deploy_to_running_s": round(running_s, 2),
            },
        )
        took, _ = first_answer(
            ready,
            max(30.0, timeout - running_s),
            lambda: self.server is not None and self.server.poll() is None,
        )
        ready.notes["deploy_to_first_answer_s"] = round(running_s + took, 2)
        return ready

    def stop_endpoint(self) -> None:
        """Stop the workload's endpoint so that its replicas do not share the next one's cores."""
        if self.api is not None and self.deployed:
            title = self.deployed[-1]
            with contextlib.suppress(httpx.HTTPError):
                self.api.post(f"/api/v1/projects/{self.project}/endpoints/{title}/stop")

    def stop(self) -> None:
        self.stop_endpoint()

    def shutdown(self) -> None:
        if self.api is not None:
            self.api.close()
            self.api = None
        if self.server is None:
            return
        leftovers = process_tree(self.roots())
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.server.pid, signal.SIGINT)
        try:
            self.server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait()
        self.server = None
        # The worker and the replicas leave when the server tells them to; any still here after
        # 15 s (started by this run: found under our server and worker above) go by their pid.
        deadline = time.monotonic() + 15
        while leftovers and time.monotonic() < deadline:
            leftovers = [p for p in leftovers if Path(f"/proc/{p}").exists()]
            time.sleep(0.2)
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        got = resp.json()
    except ValueError:
        return {}
    return got if isinstance(got, dict) else {}


# ----------------------------------------------------------------------------- setup


def prepare(work: Path, venvs: dict[str, Venv], verbose: bool) -> dict[str, Any]:
    """The project folder (predict.py, model.pkl, requirements.txt), the peers' apps, and
    MLflow's saved models; the model's own answer for the check request."""
    project, apps = work / "project", work / "apps"
    project.mkdir()
    apps.mkdir()
    (work / "peer-home").mkdir()
    (project / "predict.py").write_text(PREDICT_PY)
    (project / "requirements.txt").write_text(SKLEARN + "\n")
    (apps / "train.py").write_text(TRAIN_PY)
    for name, text in (
        ("bench_loader.py", LOADER_PY),
        ("floor_app.py", FLOOR_APP),
        ("proxy_app.py", PROXY_APP),
        ("litserve_app.py", LITSERVE_APP),
        ("bento_service.py", BENTO_SERVICE),
        ("mlflow_save.py", MLFLOW_SAVE_PY),
    ):
        (apps / name).write_text(text)
    trained = subprocess.run(
        [
            str(venvs["floor"].python),
            str(apps / "train.py"),
            str(project / "model.pkl"),
            json.dumps(ROW),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    facts: dict[str, Any] = json.loads(trained.stdout.strip().splitlines()[-1])
    if "mlflow" in venvs:
        saved = subprocess.run(
            [
                str(venvs["mlflow"].python),
                str(apps / "mlflow_save.py"),
                str(project / "model.pkl"),
                str(work / "mlflow-models"),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=work,
            env=dict(clean_env(), HOME=str(work / "peer-home")),
        )
        if saved.returncode != 0:
            raise RuntimeError(f"saving the MLflow models failed:\n{tail(saved.stderr)}")
    if verbose:
        log(
            f"model: LogisticRegression on iris, scikit-learn {facts['sklearn']}, "
            f"train accuracy {facts['train_accuracy']:.3f}"
        )
    return facts


class GroupMeter(Meter):
    """``Meter`` over all of the target's processes, plus the CPU of each role (gateway,
    workers, replicas) per request."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        super().__init__(server_pids=sorted({p for ps in groups.values() for p in ps}))
        self.groups = groups
        self.group_marks: list[dict[str, float]] = []

    def mark(self) -> None:
        super().mark()
        self.group_marks.append(
            {g: sum(proc_cpu_s(p) for p in ps) for g, ps in self.groups.items()}
        )

    def summary(self, requests: int) -> dict[str, float]:
        out = super().summary(requests)
        first, last = self.group_marks[0], self.group_marks[-1]
        for g in self.groups:
            used = last[g] - first[g]
            out[f"{g}_cpu_ms_per_request"] = round(1000 * used / requests, 3) if requests else 0.0
        return out


# ----------------------------------------------------------------------------- report


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def summarize(runs: list[Measurement]) -> dict[str, Any]:
    cpu = [r.notes.get("server_cpu_ms_per_request", 0.0) for r in runs]
    total = ("server_cpu_ms_per_request", "all_cpu_ms_per_request")  # Meter's, and one group's
    roles = [k for k in runs[0].notes if k.endswith("_cpu_ms_per_request") and k not in total]
    split = {k: median([r.notes.get(k, 0.0) for r in runs]) for k in roles}
    return {
        **split,
        "rps": median([r.rps for r in runs]),
        "p50_ms": median([r.p50_ms for r in runs]),
        "p99_ms": median([r.p99_ms for r in runs]),
        "errors": sum(r.errors for r in runs),
        "requests": sum(r.requests for r in runs),
        "target_cpu_ms_per_request": median(cpu),
        "target_cores": median([r.notes.get("server_cores", 0.0) for r in runs]),
        "loadgen_cores": median([r.notes.get("loadgen_cores", 0.0) for r in runs]),
        "other_cores": median([r.notes.get("other_cores", 0.0) for r in runs]),
    }


LABELS = {
    "floor": "floor: bare ASGI app under uvicorn",
    "proxy": "floor behind a bare Python proxy (reference)",
    "headwater": "Headwater (gateway + replicas)",
    "mlflow": "MLflow `models serve`",
    "litserve": "LitServe",
    "bentoml": "BentoML",
}


def tables(res: dict[str, Any]) -> str:
    out: list[str] = []
    for wl_name, wl in res["workloads"].items():
        out += [
            f"**{WORKLOADS[wl_name].label}**, {res['config']['workers']} worker process(es), "
            f"{res['config']['clients']} connections, median of {res['config']['repeat']} "
            f"{X} {res['config']['duration_s']:.0f} s",
            "",
            "| target | version | req/s | p50 ms | p99 ms | errors | target CPU ms/req | "
            f"{X} floor req/s | other cores |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        floor = wl.get("floor", {}).get("summary")
        for name in TARGETS:
            t = wl.get(name)
            if t is None:
                continue
            label = LABELS[name]
            ver = res["versions"].get(name, "")
            s = t.get("summary")
            if s is None:
                why = t.get("skipped") or t.get("error", "failed").splitlines()[0]
                out.append(f"| {label} | {ver} |{f' {DASH} |' * 6} {why[:160]} |")
                continue
            share = f"{s['rps'] / floor['rps']:.2f}" if floor and floor["rps"] else DASH
            out.append(
                f"| {label} | {ver} | {s['rps']:,.0f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | "
                f"{s['errors']} | {s['target_cpu_ms_per_request']:.2f} | {share} | "
                f"{s['other_cores']:.2f} |"
            )
        out.append("")
    out += ["| target (issue 13) | measured | verdict |", "| --- | --- | --- |"]
    for wl_name, wl in res["workloads"].items():
        f, h, m = (wl.get(k, {}).get("summary") for k in ("floor", "headwater", "mlflow"))
        if not h:
            why = wl.get("headwater", {}).get("skipped") or "not measured"
            out.append(
                f"| {wl_name}: Headwater vs floor and MLflow | pending: {why[:120]} | {DASH} |"
            )
            continue
        if f:
            added = h["p50_ms"] - f["p50_ms"]
            ok = added <= TARGET["p50_added_ms_max"]
            out.append(
                f"| {wl_name}: p50 added over the floor ≤ 1 ms | {added:+.2f} ms | "
                f"{'**pass**' if ok else '**miss**'} |"
            )
            share = h["rps"] / f["rps"]
            ok = share >= TARGET["share_of_floor_rps_min"]
            out.append(
                f"| {wl_name}: ≥ 80 % of the floor's req/s | {100 * share:.0f} % | "
                f"{'**pass**' if ok else '**miss**'} |"
            )
        if m:
            x = h["rps"] / m["rps"]
            ok = x >= TARGET["x_mlflow_rps_min"]
            out.append(
                f"| {wl_name}: ≥ 2{X} MLflow's req/s | {x:.2f}{X} | "
                f"{'**pass**' if ok else '**miss**'} |"
            )
    return "\n".join(out)


# ----------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--targets", default=",".join(TARGETS), help="which targets, in this order")
    ap.add_argument("--workloads", default="trivial,sklearn", help="trivial,sklearn")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (replicas) each")
    ap.add_argument("--clients", type=int, default=32, help="concurrent connections (32)")
    ap.add_argument("--duration", type=float, default=10, help="measured seconds per run")
    ap.add_argument("--warmup", type=float, default=2, help="seconds of load before each run")
    ap.add_argument("--repeat", type=int, default=3, help="runs per target and workload")
    ap.add_argument("--quiet-wait", type=float, default=5, help="before each run, wait up to s")
    ap.add_argument("--start-timeout", type=float, default=180, help="s for a peer to answer")
    ap.add_argument("--deploy-timeout", type=float, default=900, help="s for an endpoint to run")
    ap.add_argument("--no-sandbox", action="store_true", help="hw server --no-sandbox")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (prints its path)")
    ap.add_argument("--out", type=Path, default=None, help="the JSON (results/serving-<date>.json)")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds: servers stop, dirs go
    if not wrk_available():
        log("wrk is not installed: apt-get install -y wrk (Debian's package)")
        return 2
    verbose = not args.quiet
    names = [t for t in args.targets.split(",") if t]
    unknown = set(names) - set(TARGETS)
    workloads = [WORKLOADS[w] for w in args.workloads.split(",") if w]
    if unknown:
        ap.error(f"unknown targets {sorted(unknown)}; choose from {', '.join(TARGETS)}")
    started, t_start = dt.datetime.now(dt.UTC), time.perf_counter()
    res: dict[str, Any] = {"versions": {}, "notes": {}, "workloads": {}, "errors": {}}
    with contextlib.suppress(PackageNotFoundError):
        res["versions"]["headwater"] = version("headwater")
    res["versions"]["wrk"] = subprocess.run(
        ["wrk", "--version"], capture_output=True, text=True
    ).stdout.split(" [")[0]

    venvs: dict[str, Venv] = {}
    for name in ["floor", *[n for n in names if n in VENVS and n != "floor"]]:
        got = ensure_venv(VENVS[name], verbose)
        if isinstance(got, str):
            res["notes"][name] = f"not measured: {got}"
            log(f"{name}: {got}")
            if name == "floor":
                return 2  # the floor's venv also trains the model
            continue
        venvs[name] = got
        res["versions"][name] = got.version
        res["notes"][f"{name}_requirements"] = list(VENVS[name].requirements)

    work = Path(tempfile.mkdtemp(prefix="hw-serving-bench-"))
    hw = Headwater(work, args.workers, sandbox=not args.no_sandbox)
    classes = {
        "floor": Floor,
        "proxy": Proxy,
        "mlflow": MLflow,
        "litserve": LitServe,
        "bentoml": BentoML,
    }
    targets: dict[str, Any] = {
        n: hw if n == "headwater" else classes[n](work, venvs[VENV_OF.get(n, n)], args.workers)
        for n in names
        if n == "headwater" or VENV_OF.get(n, n) in venvs
    }
    res["loadavg_at_start"] = loadavg()
    log(f"work dir {work}; load {res['loadavg_at_start']}; {args.workers} worker(s) per target")
    skipped: dict[str, str] = {}
    try:
        res["model"] = prepare(work, venvs, verbose)
        expected = {"trivial": ROW, "sklearn": res["model"]["expected"]}
        for wl in workloads:
            log(f"\n== {wl.label}")
            entries: dict[str, dict[str, Any]] = {}
            res["workloads"][wl.name] = entries

            def failed(
                name: str, exc: Exception, entries: dict[str, Any] = entries, wl: Workload = wl
            ) -> None:
                msg = f"{type(exc).__name__}: {exc}"
                if name == "headwater":
                    msg += f"\n--- server log tail ---\n{hw.log_tail()}"
                entries[name]["error"] = msg
                res["errors"].setdefault(f"{wl.name} {name}", []).append(msg)
                log(f"  {name:9} FAILED: {msg[:3000]}")

            # Every target up at once, then the runs interleaved (round 1 of each, round 2 of
            # each...), so a neighbour's burst on this shared machine hits all targets alike.
            serving: dict[str, Ready] = {}
            for name, target in targets.items():
                entry = entries[name] = {}
                if name in skipped:
                    entry["skipped"] = skipped[name]
                    continue
                timeout = args.deploy_timeout if name == "headwater" else args.start_timeout
                try:
                    ready = target.start(wl, timeout)
                    # the same question gets the model's own answer from every target
                    answer = httpx.post(
                        ready.url, content=ready.body, headers=ready.headers, timeout=30
                    ).json()
                    if not close_to(ready.prediction(answer), expected[wl.name]):
                        raise RuntimeError(f"wrong answer {str(answer)[:300]}")
                    entry.update(url=ready.url, body=ready.body.decode(), **ready.notes)
                    serving[name] = ready
                    log(f"  {name:9} serving at {ready.url} {ready.notes}")
                except Skip as why:
                    skipped[name] = entry["skipped"] = str(why)
                    log(f"  {name:9} SKIPPED: {why}")
                    target.stop()
                except Exception as exc:  # recorded; the other targets still run
                    failed(name, exc)
                    target.stop()
            for name in serving:  # what each costs while the others are measured
                idle = GroupMeter(targets[name].groups())
                idle.mark()
                time.sleep(2)
                idle.mark()
                entries[name]["idle_cores"] = idle.summary(1)["server_cores"]
            runs: dict[str, list[Measurement]] = {name: [] for name in serving}
            for rnd in range(args.repeat):
                for name, ready in serving.items():
                    if "error" in entries[name]:
                        continue
                    try:
                        busy = wait_quiet(args.quiet_wait) if args.quiet_wait > 0 else None
                        meter = GroupMeter(targets[name].groups())
                        m = run_wrk_post(
                            ready.url, ready.body, ready.headers, args.clients, args.warmup,
                            args.duration, work, meter,
                        )  # fmt: skip
                    except Exception as exc:
                        failed(name, exc)
                        continue
                    m.notes["busy_cores_before"] = busy
                    runs[name].append(m)
                    log(
                        f"  {name:9} run {rnd + 1}: {m.rps:8,.0f} req/s  p50 {m.p50_ms:7.2f} "
                        f"ms  p99 {m.p99_ms:7.2f} ms  errors {m.errors}  {m.notes}"
                    )
            for name, measured in runs.items():
                if measured:
                    entries[name]["runs"] = [asdict(r) for r in measured]
                    entries[name]["summary"] = summarize(measured)
            for target in targets.values():
                target.stop()
    finally:
        for target in targets.values():
            with contextlib.suppress(Exception):
                target.stop()
        hw.shutdown()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    res["notes"]["headwater_sandbox"] = not args.no_sandbox
    res.update(
        {
            "date": started.isoformat(timespec="seconds"),
            "run_s": round(time.perf_counter() - t_start, 1),
            "machine": machine_info(REPO),
            "loadavg_at_end": loadavg(),
            "config": {
                "workers": args.workers,
                "clients": args.clients,
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "repeat": args.repeat,
                "targets": names,
                "loadgen": "wrk, 1 thread, one keep-alive connection per client, fixed POST",
            },
            "targets_issue_13": TARGET,
        }
    )
    if not res["errors"]:
        del res["errors"]
    text = tables(res)
    res["table_markdown"] = text
    print()
    print(text)
    out = args.out or REPO / "benchmarks" / "results" / f"serving-{started.date().isoformat()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    shown = out.relative_to(REPO) if out.is_relative_to(REPO) else out
    log(f"\nran {res['run_s']:.0f} s; wrote {shown}")
    return 1 if res.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
