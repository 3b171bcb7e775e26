"""Engine benchmark (issue 4): dispatch, metrics and logs, beside Metaflow, Prefect and MLflow.

    .venv/bin/python benchmarks/engine.py [--repeat 3] [--skip metaflow,prefect,mlflow] [--keep]

Everything runs on this machine, in one run, over loopback:

* **dispatch**: ``hw run --param i=1..N --wait --json -- python -c pass`` (N = 100 experiments;
  the server's default compute template takes 1 CPU, so a 2-core machine has two slots), timed as
  a whole command, start-up and the no-change sync of the linked folder included. Against the
  floor: the same N ``python -c pass`` processes from a bare pool of two
  (``ThreadPoolExecutor(2)`` + ``subprocess.run``). Beside Metaflow (a flow with ``foreach`` over
  N items, each step running the process; ``python flow.py run --max-workers 2``, local metadata
  and datastore in a temp dir) and Prefect (a flow mapping N tasks that each run the process, on
  ``ThreadPoolTaskRunner(max_workers=2)``, with Prefect's temporary local server on SQLite in a
  temp ``PREFECT_HOME``). Peers are timed as whole commands too. Every task runs the same
  interpreter (the platform's ``python``, the one ``hw run`` tasks get). Each tool does one
  untimed warm-up of 2 items first (bytecode, database migrations); then ``--repeat`` rounds, a
  floor run before each tool's run; the table takes medians.
* **metrics**: ``hw run --wait -- python bench_metrics.py``: inside the experiment, one
  ``headwater.Experiment()`` logs ``--points`` (100,000) points with ``log_metric`` in a loop,
  then ``close()``; the script prints the loop's time, the slowest 1,000-call block and the total.
  The benchmark then reads the series back (``GET .../metrics?key=loss``) and checks every step
  and a sample of values. MLflow (own venv, SQLite backend in a temp dir) beside it: one
  ``mlflow.log_metric`` per point for ``--mlflow-single`` points (extrapolated), then
  ``MlflowClient().log_batch`` of 1,000 metrics per call for ``--points`` points, then MLflow's
  own non-blocking mode (``log_metric(..., synchronous=False)`` + ``flush_async_logging()``)
  for ``--mlflow-async`` points. Each MLflow series is read back and counted too.
* **logs**: one experiment whose command writes ``--log-lines`` (100,000) lines of 100 bytes
  (10 MB) to stdout, each starting with its ``time.time()`` and flushed, after a 2 s pause (so
  the follower is ready). Its last line carries the byte count, the SHA-256 of everything before
  it and the time of its last write; the process exits right after it. The benchmark follows the
  logs through the API (``GET .../logs?after=SEQ``), as ``hw experiments logs -f`` would, and
  records how far behind the newest line it sees is (live lag), and when the final line becomes
  queryable (against the process's last write and the ``ended_at`` the runtime reports). Then it
  fetches every chunk again from seq 0 and compares the byte count and hash.

The server is a real ``hw server`` on a free loopback port with a fresh home; the CLI uses a
private config dir; the scripts live in a temp folder linked with ``hw link``. Peers are installed
by this script on first use into their own venvs under ``~/.cache/headwater-bench``. Temp dirs are
removed and the server stopped on the way out (``--keep`` keeps the temp dir). The table is printed
in markdown and written with the machine facts to ``benchmarks/results/engine-<date>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import httpx
from harness.machine import (
    HOST,
    free_port,
    machine_busy_s,
    machine_info,
    proc_cpu_s,
    wait_quiet,
)

REPO = Path(__file__).resolve().parent.parent
HW = REPO / ".venv" / "bin" / "hw"
TASK_PYTHON = REPO / ".venv" / "bin" / "python"  # what `python` is inside a hw task
BENCH_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "headwater-bench"

# Issue 4, measured on this machine before any code was written.
ISSUE = {
    "metaflow_2.19_x_floor": 8.0,
    "prefect_3.8_x_floor": 4.6,
    "mlflow_3.17_single_points_per_s": 137,
    "mlflow_3.17_batch_1000_points_per_s": 6238,
}
X = "\u00d7"  # the multiplication sign, for the printed table
TARGET = {"dispatch_x_floor": 1.5, "metrics_points_per_s": 100_000, "logs_lag_s": 1.0}
# Issue 17 (1,000 experiments): sandbox on within 2x the floor, sandbox off within 1.5x.
TARGET_X_FLOOR = {"headwater": 2.0, "headwater_nosandbox": 1.5}
HW_TOOLS = {
    "headwater": "Headwater (sandbox on)",
    "headwater_nosandbox": "Headwater (--no-sandbox)",
}


@dataclass(frozen=True)
class Peer:
    name: str
    requirements: tuple[str, ...]
    version_prefix: str


PEERS = {
    "metaflow": Peer("metaflow", ("metaflow==2.19.*",), "2.19."),
    # Prefect 3.8's server passes `min_items=` to `fastapi.Body`, which FastAPI 0.155 dropped:
    # with the newest FastAPI its temporary server dies on import.
    "prefect": Peer("prefect", ("prefect==3.8.*", "fastapi<0.155"), "3.8."),
    "mlflow": Peer("mlflow", ("mlflow==3.17.*",), "3.17."),
}

# ----------------------------------------------------------------------------- scripts

METAFLOW_FLOW = """\
import os
import subprocess
import sys
import time

from metaflow import FlowSpec, step

PY = os.environ.get("BENCH_TASK_PYTHON", sys.executable)
N = int(os.environ.get("BENCH_N", "100"))


class DispatchFlow(FlowSpec):
    @step
    def start(self):
        print(f"BENCH_T0 {time.time():.6f}")
        self.items = list(range(N))
        self.next(self.run_one, foreach="items")

    @step
    def run_one(self):
        subprocess.run([PY, "-c", "pass"], check=True)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        print(f"BENCH_T1 {time.time():.6f}")


if __name__ == "__main__":
    DispatchFlow()
"""

PREFECT_FLOW = """\
import os
import subprocess
import sys
import time

from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner

PY = os.environ.get("BENCH_TASK_PYTHON", sys.executable)
N = int(os.environ.get("BENCH_N", "100"))


@task
def run_one(i: int) -> int:
    subprocess.run([PY, "-c", "pass"], check=True)
    return i


@flow(task_runner=ThreadPoolTaskRunner(max_workers=2))
def dispatch() -> None:
    print(f"BENCH_T0 {time.time():.6f}", flush=True)
    run_one.map(range(N)).result()
    print(f"BENCH_T1 {time.time():.6f}", flush=True)


if __name__ == "__main__":
    dispatch()
"""

MLFLOW_SCRIPT = """\
import json
import math
import sys
import time

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric

uri, n_single, n_batch, batch, n_async = sys.argv[1], *map(int, sys.argv[2:6])
mlflow.set_tracking_uri(uri)
client = MlflowClient()
exp_id = client.create_experiment("bench")  # creates and migrates the database: not timed
out = {"version": mlflow.__version__}


def value(i, n):
    return math.exp(-i / n) + 0.001 * (i % 7)


def stored(run_id):
    return len(client.get_metric_history(run_id, "loss"))


with mlflow.start_run(experiment_id=exp_id) as run:
    t0 = time.perf_counter()
    for i in range(n_single):
        mlflow.log_metric("loss", value(i, n_single), step=i)
    out["single"] = {"points": n_single, "seconds": time.perf_counter() - t0}
out["single"]["stored"] = stored(run.info.run_id)

run = client.create_run(exp_id)
t0 = time.perf_counter()
for start in range(0, n_batch, batch):
    ts = int(time.time() * 1000)
    end = min(n_batch, start + batch)
    metrics = [Metric("loss", value(i, n_batch), ts, i) for i in range(start, end)]
    client.log_batch(run.info.run_id, metrics=metrics)
out["batch"] = {"points": n_batch, "batch": batch, "seconds": time.perf_counter() - t0}
client.set_terminated(run.info.run_id)
out["batch"]["stored"] = stored(run.info.run_id)

if n_async:
    with mlflow.start_run(experiment_id=exp_id) as run:
        t0 = time.perf_counter()
        for i in range(n_async):
            mlflow.log_metric("loss", value(i, n_async), step=i, synchronous=False)
        t1 = time.perf_counter()
        mlflow.flush_async_logging()
        t2 = time.perf_counter()
        out["async"] = {"points": n_async, "loop_seconds": t1 - t0, "seconds": t2 - t0}
    out["async"]["stored"] = stored(run.info.run_id)
print("BENCH_RESULT " + json.dumps(out), flush=True)
"""

HW_METRICS_SCRIPT = '''\
"""Benchmark: log N points from one SDK client in a tight loop (run with `hw run`)."""
import math
import sys
import time

t_import = time.perf_counter()
from headwater import Experiment  # noqa: E402

n = int(sys.argv[sys.argv.index("--points") + 1]) if "--points" in sys.argv else 100_000
exp = Experiment()
t0 = time.perf_counter()
worst = 0.0
block = t0
for i in range(n):
    exp.log_metric("loss", math.exp(-i / n) + 0.001 * (i % 7), step=i)
    if i % 1000 == 999:
        now = time.perf_counter()
        worst = max(worst, now - block)
        block = now
t1 = time.perf_counter()
exp.close()
t2 = time.perf_counter()
print(
    f"BENCH_METRICS points={n} import_s={t0 - t_import:.6f} loop_s={t1 - t0:.6f} "
    f"worst_block_1000_s={worst:.6f} total_s={t2 - t0:.6f}",
    flush=True,
)
'''

HW_LOGS_SCRIPT = '''\
"""Benchmark: write N lines of 100 bytes to stdout, each flushed, then a summary line."""
import hashlib
import sys
import time

args = sys.argv
n = int(args[args.index("--lines") + 1]) if "--lines" in args else 100_000
delay = float(args[args.index("--delay") + 1]) if "--delay" in args else 0.0
time.sleep(delay)  # lets the follower get ready
out = sys.stdout.buffer
digest = hashlib.sha256()
total = 0
first = time.time()
for i in range(n):
    head = f"{time.time():.6f} {i:07d} ".encode()
    line = head + b"x" * (99 - len(head)) + b"\\n"
    out.write(line)
    out.flush()
    digest.update(line)
    total += len(line)
end = time.time()
out.write(
    f"BENCH_LOGS_END lines={n} bytes={total} sha256={digest.hexdigest()} "
    f"first={first:.6f} end={end:.6f}\\n".encode()
)
out.flush()
'''

# ----------------------------------------------------------------------------- helpers


def log(msg: str) -> None:
    print(msg, flush=True)


def loadavg() -> list[float]:
    with contextlib.suppress(OSError, ValueError):
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    return []


def clean_env() -> dict[str, str]:
    """The caller's environment without any tool's own settings: each tool gets only ours."""
    drop = ("HEADWATER_", "PREFECT_", "METAFLOW_", "MLFLOW_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's machine writes bytecode
    env.pop("PYTHONUNBUFFERED", None)  # and buffers stdout as Python does by default
    env["NO_COLOR"] = "1"
    return env


def tail(text: str | bytes, n: int = 2000) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return text[-n:]


def ts(value: str | None) -> float | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class Window:
    """What the machine did while one measurement ran: busy cores, load, an idle wait before,
    and the CPU of named process groups (the server, its worker)."""

    def __init__(self, quiet_wait: float) -> None:
        self.quiet_wait = quiet_wait

    @contextlib.contextmanager
    def __call__(
        self, groups: Callable[[], dict[str, list[int]]] | None = None
    ) -> Iterator[dict[str, Any]]:
        facts: dict[str, Any] = {}
        if self.quiet_wait > 0:
            facts["busy_cores_before"] = wait_quiet(self.quiet_wait)
        facts["load1_before"] = loadavg()[:1]
        pids = groups() if groups else {}
        cpu0 = {g: sum(proc_cpu_s(p) for p in ps) for g, ps in pids.items()}
        b0, t0 = machine_busy_s(), time.perf_counter()
        yield facts
        wall = time.perf_counter() - t0
        facts["window_s"] = round(wall, 3)
        facts["busy_cores"] = round((machine_busy_s() - b0) / wall, 2) if wall else 0.0
        facts["load1_after"] = loadavg()[:1]
        for g, ps in pids.items():
            facts[f"{g}_cpu_s"] = round(sum(proc_cpu_s(p) for p in ps) - cpu0[g], 2)


def run_cmd(
    cmd: list[str], cwd: Path, env: dict[str, str], timeout: float, what: str
) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(
            f"{what}: `{' '.join(cmd)}` exited {proc.returncode}\n"
            f"stdout: {tail(proc.stdout)}\nstderr: {tail(proc.stderr)}"
        )
    return wall, proc


def bench_times(text: str) -> float | None:
    """Seconds between the BENCH_T0 and BENCH_T1 lines a flow printed (its in-flow time)."""
    t0 = re.search(r"BENCH_T0 ([0-9.]+)", text)
    t1 = re.search(r"BENCH_T1 ([0-9.]+)", text)
    return float(t1.group(1)) - float(t0.group(1)) if t0 and t1 else None


# ----------------------------------------------------------------------------- peers


def peer_python(peer: Peer, verbose: bool) -> tuple[Path | None, str, float]:
    """The peer's venv python (installed on first use), its version or why not, install s."""
    venv = BENCH_CACHE / f"{peer.name}-venv"
    py = venv / "bin" / "python"
    marker = venv / ".headwater-bench-requirements"
    wanted = "\n".join(peer.requirements)
    t0 = time.perf_counter()
    if not py.exists() or not marker.exists() or marker.read_text() != wanted:
        if verbose:
            log(f"installing {' '.join(peer.requirements)} into {venv} (first run only)...")
        BENCH_CACHE.mkdir(parents=True, exist_ok=True)
        try:
            if not py.exists():
                subprocess.run(
                    [sys.executable, "-m", "venv", str(venv)],
                    check=True,
                    capture_output=True,
                    timeout=300,
                )
            subprocess.run(
                [str(py), "-m", "pip", "install", "-q", *peer.requirements],
                check=True,
                capture_output=True,
                timeout=1500,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            err = tail(getattr(exc, "stderr", b"") or b"", 600)
            return None, f"install failed: {exc} {err}", 0.0
        marker.write_text(wanted)
    installed = time.perf_counter() - t0
    probe = subprocess.run(
        [str(py), "-c", f"import importlib.metadata as m; print(m.version({peer.name!r}))"],
        capture_output=True,
        text=True,
    )
    got = probe.stdout.strip()
    if probe.returncode != 0 or not got.startswith(peer.version_prefix):
        return None, f"wrong or missing {peer.name}: {got or tail(probe.stderr, 300)}", installed
    return py, got, installed


class Peers:
    def __init__(self, work: Path, pythons: dict[str, Path], n: int) -> None:
        self.work, self.pythons, self.n = work, pythons, n
        self.home = work / "peer-home"
        self.home.mkdir()
        (work / "metaflow").mkdir()
        (work / "metaflow" / "flow.py").write_text(METAFLOW_FLOW)
        (work / "prefect").mkdir()
        (work / "prefect" / "flow.py").write_text(PREFECT_FLOW)

    def _env(self, n: int) -> dict[str, str]:
        return dict(
            clean_env(),
            HOME=str(self.home),
            BENCH_N=str(n),
            BENCH_TASK_PYTHON=str(TASK_PYTHON),
            DO_NOT_TRACK="1",
        )

    def metaflow(self, n: int) -> dict[str, Any]:
        root = self.work / "metaflow" / "store"
        root.mkdir(exist_ok=True)
        env = dict(
            self._env(n),
            USERNAME="bench",
            METAFLOW_HOME=str(self.work / "metaflow"),
            METAFLOW_DATASTORE_SYSROOT_LOCAL=str(root),
            METAFLOW_DEFAULT_METADATA="local",
            METAFLOW_DEFAULT_DATASTORE="local",
        )
        cmd = [str(self.pythons["metaflow"]), "flow.py", "--no-pylint", "run", "--max-workers", "2"]
        cmd += ["--max-num-splits", str(max(n, 100))]  # Metaflow refuses a foreach over 100
        wall, proc = run_cmd(cmd, self.work / "metaflow", env, 1200, "metaflow")
        return {"seconds": round(wall, 3), "in_flow_s": bench_times(proc.stdout + proc.stderr)}

    def prefect(self, n: int) -> dict[str, Any]:
        env = dict(
            self._env(n),
            PREFECT_HOME=str(self.work / "prefect" / "home"),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180",
        )
        cmd = [str(self.pythons["prefect"]), "flow.py"]
        wall, proc = run_cmd(cmd, self.work / "prefect", env, 1200, "prefect")
        return {"seconds": round(wall, 3), "in_flow_s": bench_times(proc.stdout + proc.stderr)}

    def mlflow(self, single: int, points: int, batch: int, n_async: int) -> dict[str, Any]:
        folder = self.work / "mlflow"
        folder.mkdir()
        (folder / "bench_mlflow.py").write_text(MLFLOW_SCRIPT)
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        cmd = [str(self.pythons["mlflow"]), "bench_mlflow.py", uri, str(single), str(points)]
        cmd += [str(batch), str(n_async)]
        env = dict(self._env(0), MLFLOW_ENABLE_ASYNC_LOGGING="false")
        _, proc = run_cmd(cmd, folder, env, 1800, "mlflow")
        found = re.search(r"^BENCH_RESULT (.*)$", proc.stdout, re.M)
        if not found:
            raise RuntimeError(f"mlflow printed no result: {tail(proc.stdout)} {tail(proc.stderr)}")
        res: dict[str, Any] = json.loads(found.group(1))
        for part in ("single", "batch", "async"):
            if part in res:
                r = res[part]
                r["points_per_s"] = round(r["points"] / r["seconds"], 1)
                r["complete"] = r["stored"] == r["points"]
        return res


def floor_once(n: int, python: Path | str = TASK_PYTHON) -> float:
    """The same n processes from a bare pool of two: nothing but process start-up and exit."""
    t0 = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        for _ in pool.map(lambda _: subprocess.run([str(python), "-c", "pass"], check=True),
                          range(n)):  # fmt: skip
            pass
    return time.perf_counter() - t0


# ----------------------------------------------------------------------------- Headwater


class Headwater:
    """A real `hw server` on loopback with a fresh home, a logged-in CLI, a linked folder."""

    def __init__(self, work: Path, *, sandbox: bool = True) -> None:
        self.work = work
        self.sandbox = sandbox  # tasks in bubblewrap, as `hw server` runs them by default
        self.home = work / "hw-home"
        self.cfg = work / "hw-config"
        self.folder = work / "hw-project"
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.env = dict(clean_env(), HEADWATER_CONFIG_DIR=str(self.cfg))
        # `hw` and `python` as a user with the platform's venv active would have them
        self.env["PATH"] = f"{HW.parent}{os.pathsep}{self.env.get('PATH', '')}"
        self.server: subprocess.Popen[bytes] | None = None
        self.log_path = work / "hw-server.log"
        self.project = ""
        self.api: httpx.Client | None = None

    def pids(self) -> dict[str, list[int]]:
        """The server, and the local worker it started (found by our home in its command)."""
        workers = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            with contextlib.suppress(OSError):
                args = cmdline.read_bytes().split(b"\0")
                if b"headwater.runtime.worker" in args and str(self.home).encode() in b" ".join(
                    args
                ):
                    workers.append(int(cmdline.parent.name))
        return {"server": [self.server.pid] if self.server else [], "worker": workers}

    def server_log_tail(self, n: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return tail(self.log_path.read_bytes(), n)
        return ""

    def start(self) -> None:
        self.cfg.mkdir()
        self.folder.mkdir()
        (self.folder / "bench_metrics.py").write_text(HW_METRICS_SCRIPT)
        (self.folder / "bench_logs.py").write_text(HW_LOGS_SCRIPT)
        env = dict(self.env, HEADWATER_HOME=str(self.home))
        cmd = [str(HW), "server", "--home", str(self.home), "--port", str(self.port)]
        if not self.sandbox:
            cmd.append("--no-sandbox")
        with self.log_path.open("wb") as out:
            self.server = subprocess.Popen(
                [*cmd, "--host", HOST],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while True:
            if self.server.poll() is not None:
                raise RuntimeError(f"hw server exited:\n{self.server_log_tail()}")
            with contextlib.suppress(OSError):
                if (self.home / "admin.token").exists():
                    with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as resp:
                        if resp.status == 200:
                            break
            if time.monotonic() > deadline:
                raise RuntimeError("hw server did not become healthy in 120 s")
            time.sleep(0.2)
        token = (self.home / "admin.token").read_text().strip()
        self.hw(["login", "--url", self.url, "--token", token])
        # `hw link` creates the folder's project; `hw configure` makes it the active one too
        linked = json.loads(self.hw(["link", "--title", "bench", "--sync", "--json"]).stdout)
        self.project = linked["project"]["id"]
        self.hw(["configure", "--project", self.project])
        self.api = httpx.Client(
            base_url=f"{self.url}/api/v1/projects/{self.project}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        )

    def stop(self) -> None:
        if self.api is not None:
            self.api.close()
        if self.server is None:
            return
        workers = self.pids()["worker"]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.server.pid, signal.SIGINT)
        try:
            self.server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait()
        # The worker lives in a session of its own and leaves when its server tells it to (or
        # when idle); make sure the one this server started is gone before its home is removed.
        deadline = time.monotonic() + 15
        while workers and time.monotonic() < deadline:
            workers = [p for p in workers if Path(f"/proc/{p}").exists()]
            time.sleep(0.2)
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def hw(self, args: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        _, proc = run_cmd([str(HW), *args], self.folder, self.env, timeout, "hw")
        return proc

    def get(self, path: str, **params: Any) -> Any:
        assert self.api is not None
        resp = self.api.get(path, params=params)
        resp.raise_for_status()
        return resp.json()

    def all_logs(self, ref: str) -> list[dict[str, Any]]:
        chunks: list[dict[str, Any]] = []
        after = 0
        while True:
            page = self.get(f"/experiments/{ref}/logs", after=after, limit=10_000)
            chunks += page["chunks"]
            if not page["chunks"]:
                return chunks
            after = page["next_seq"]

    def wait_ended(self, ref: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            found: dict[str, Any] = self.get(f"/experiments/{ref}")
            if found["state"] in ("success", "failed", "aborted"):
                return found
            if time.monotonic() > deadline:
                raise RuntimeError(f"experiment {ref} still {found['state']} after {timeout:.0f} s")
            time.sleep(0.1)

    # -- the measurements ------------------------------------------------------------------

    def dispatch(self, n: int) -> dict[str, Any]:
        cmd = ["run", "--param", f"i=1..{n}", "--wait", "--json", "--", "python", "-c", "pass"]
        log_at = self.log_path.stat().st_size
        t0, clock0 = time.perf_counter(), time.time()
        proc = subprocess.run(
            [str(HW), *cmd], cwd=self.folder, env=self.env, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
        wall, clock1 = time.perf_counter() - t0, time.time()
        if proc.returncode != 0:
            raise RuntimeError(
                f"`hw {' '.join(cmd)}` exited {proc.returncode}\nstdout: {tail(proc.stdout)}\n"
                f"stderr: {tail(proc.stderr)}"
            )
        made = json.loads(proc.stdout)
        states = [e["state"] for e in made]
        if len(made) != n or set(states) != {"success"}:
            raise RuntimeError(f"{len(made)} experiments, states {sorted(set(states))}")
        created = [ts(e["created_at"]) or 0.0 for e in made]
        started = [ts(e["started_at"]) or 0.0 for e in made]
        ended = [ts(e["ended_at"]) or 0.0 for e in made]
        runs = sorted(e - s for s, e in zip(started, ended, strict=True))
        # With two slots the k-th start waits for the (k-2)-th end: the gap is the engine's time
        # between one task ending and the next starting in the slot it freed.
        starts, ends = sorted(started), sorted(ended)
        gaps = sorted(starts[k] - ends[k - 2] for k in range(2, len(starts)))
        return {
            "seconds": round(wall, 3),
            "cli_start_to_first_created_s": round(min(created) - clock0, 3),
            "server_first_created_to_last_ended_s": round(max(ended) - min(created), 3),
            "last_ended_to_cli_exit_s": round(clock1 - max(ended), 3),
            "slot_idle_between_tasks_p50_s": round(gaps[len(gaps) // 2], 3) if gaps else None,
            "task_started_to_ended_p50_s": round(runs[len(runs) // 2], 3),
            "task_started_to_ended_max_s": round(runs[-1], 3),
            "http_requests": self.requests_since(log_at),
        }

    def requests_since(self, offset: int) -> dict[str, int]:
        """Requests the server answered since ``offset`` in its log (uvicorn's access log, which
        `hw server` keeps on), by method and route with ids and queries left out."""
        with self.log_path.open("rb") as fh:
            fh.seek(offset)
            text = fh.read().decode(errors="replace")
        counts: dict[str, int] = {}
        for found in re.finditer(
            r'"(GET|POST|PUT|PATCH|DELETE) ([^ ?"]+)[^"]* HTTP/[0-9.]+"', text
        ):
            route = re.sub(r"/[0-9a-f]{12,64}(?=/|$)", "/{id}", found.group(2))
            key = f"{found.group(1)} {route}"
            counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))

    def metrics(self, points: int) -> dict[str, Any]:
        cmd = ["run", "--param", f"points={points}", "--wait", "--json", "--no-sync"]
        made = json.loads(self.hw([*cmd, "--", "python", "bench_metrics.py"]).stdout)
        exp = made[0]
        text = "".join(c["text"] for c in self.all_logs(exp["id"]) if c["stream"] == "stdout")
        found = re.search(r"BENCH_METRICS (.*)", text)
        if exp["state"] != "success" or not found:
            raise RuntimeError(f"metrics task {exp['state']}: {exp.get('reason')}\n{tail(text)}")
        res: dict[str, Any] = {
            k: float(v) for k, v in (kv.split("=") for kv in found.group(1).split())
        }
        t0 = time.perf_counter()
        series = self.get(f"/experiments/{exp['id']}/metrics", key="loss")
        res["read_back_s"] = round(time.perf_counter() - t0, 3)
        loss = next((s for s in series if s["key"] == "loss"), {"steps": [], "values": []})
        steps, values = loss["steps"], loss["values"]
        res["stored"] = len(steps)
        by_step = dict(zip(steps, values, strict=True))
        sample = range(0, points, max(1, points // 997))
        res["complete"] = (
            len(steps) == points
            and set(steps) == set(range(points))
            and all(
                abs(by_step[i] - (math.exp(-i / points) + 0.001 * (i % 7))) < 1e-9 for i in sample
            )
        )
        res["points_per_s"] = round(points / res["total_s"], 1)
        res["experiment"] = exp["number"]
        return res

    def logs(self, lines: int) -> dict[str, Any]:
        cmd = ["run", "--param", f"lines={lines}", "--param", "delay=2", "--json", "--no-sync"]
        made = json.loads(self.hw([*cmd, "--", "python", "bench_logs.py"]).stdout)
        ref = made[0]["id"]
        after, buf, seen_at, polls = 0, "", None, 0
        live: list[float] = []
        stamp = re.compile(r"^(\d+\.\d{6}) \d{7} x+$")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            page = self.get(f"/experiments/{ref}/logs", after=after, limit=10_000)
            now = time.time()
            polls += 1
            new = "".join(c["text"] for c in page["chunks"] if c["stream"] == "stdout")
            after = page["next_seq"]
            if new:
                buf = (buf + new)[-4096:]
                if "BENCH_LOGS_END" in buf and buf.endswith("\n"):
                    seen_at = now
                    break
                parts = buf.split("\n")  # the last complete line is parts[-2]
                last = stamp.match(parts[-2]) if len(parts) >= 2 else None
                if last:
                    live.append(now - float(last.group(1)))
            elif page["state"] in ("failed", "aborted"):
                break
            else:
                time.sleep(0.02)
        final = self.wait_ended(ref)
        end_line = re.search(r"BENCH_LOGS_END (.*)", buf)
        if seen_at is None or end_line is None:
            raise RuntimeError(f"final line never seen; task {final['state']} {final['reason']}")
        info = dict(kv.split("=") for kv in end_line.group(1).split())
        # stored complete: every chunk again, from seq 0
        t0 = time.perf_counter()
        chunks = self.all_logs(ref)
        read_back = time.perf_counter() - t0
        out = "".join(c["text"] for c in chunks if c["stream"] == "stdout").encode()
        body = out[: out.rfind(b"BENCH_LOGS_END")]
        ended_at = ts(final["ended_at"])
        live.sort()
        return {
            "state": final["state"],
            "lines": lines,
            "bytes_written": int(info["bytes"]),
            "bytes_stored": len(body),
            "complete": len(body) == int(info["bytes"])
            and hashlib.sha256(body).hexdigest() == info["sha256"],
            "chunks": len(chunks),
            "chunks_not_stdout": sum(c["stream"] != "stdout" for c in chunks),
            "write_s": round(float(info["end"]) - float(info["first"]), 3),
            "lag_after_last_write_s": round(seen_at - float(info["end"]), 3),
            "lag_after_ended_at_s": round(seen_at - ended_at, 3) if ended_at else None,
            "live_lag_p50_s": round(live[len(live) // 2], 3) if live else None,
            "live_lag_max_s": round(live[-1], 3) if live else None,
            "polls": polls,
            "read_back_all_s": round(read_back, 3),
            "experiment": final["number"],
        }


# ----------------------------------------------------------------------------- report


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("**pass**" if ok else "**miss**")


def table(res: dict[str, Any]) -> str:
    v, d = res["versions"], res.get("dispatch", {})
    floor = d.get("floor_median_s")
    lines = [
        "| benchmark | Headwater | floor / peers (same run) | target | Headwater |",
        "| --- | --- | --- | --- | --- |",
    ]
    if d:
        peers = [f"floor {floor:.2f} s" if floor else "floor -"]
        for name, label in (("metaflow", "Metaflow"), ("prefect", "Prefect")):
            s = d.get(f"{name}_median_s")
            if s and floor:
                peers.append(f"{label} {v.get(name, '')} {s:.2f} s ({s / floor:.1f}{X})")
            else:
                peers.append(f"{label}: {res['notes'].get(name, 'not measured')}")
        n = d["experiments"]
        for tool in d.get("headwater_tools", ["headwater"]):
            hw = d.get(f"{tool}_median_s")
            hw_cell = f"{hw:.2f} s ({hw / floor:.2f}{X} floor)" if hw and floor else "failed"
            cpu = d.get(f"{tool}_cpu_ms_per_task")
            if cpu:
                hw_cell += f"; CPU a task: server {cpu['server']} ms, worker {cpu['worker']} ms"
            target = TARGET_X_FLOOR[tool] if n >= 1000 else TARGET["dispatch_x_floor"]
            ok = hw / floor <= target if hw and floor else None
            lines.append(
                f"| dispatch: {n:,} {X} `python -c pass`, 2 slots, {HW_TOOLS[tool]} (wall, "
                f"median of {d['repeat']}) | {hw_cell} | {'; '.join(peers)} | ≤ {target}{X} floor "
                f"| {verdict(ok)} |"
            )
    m = res.get("metrics", {})
    if m:
        hw = m.get("headwater", {})
        if "points_per_s" in hw:
            stored = "all stored" if hw["complete"] else f"**{hw['stored']:,} stored**"
            hw_cell = (
                f"{hw['points_per_s']:,.0f} points/s ({hw['total_s']:.2f} s; loop "
                f"{hw['loop_s']:.2f} s, slowest 1,000 calls {1000 * hw['worst_block_1000_s']:.1f}"
                f" ms; {stored})"
            )
            ok: bool | None = (
                hw["complete"] and hw["points_per_s"] >= TARGET["metrics_points_per_s"]
            )
        else:
            hw_cell, ok = hw.get("error", "-"), None
        ml = m.get("mlflow", {})
        if "single" in ml:
            s, b = ml["single"], ml["batch"]
            peer = (
                f"MLflow {ml['version']} on SQLite: `log_metric` {s['points_per_s']:,.0f} points/s "
                f"({s['points']:,} timed, 100,000 would take ~{100_000 / s['points_per_s']:.0f} s);"
                f" `log_batch` of {b['batch']:,} {b['points_per_s']:,.0f} points/s"
            )
            if "async" in ml:
                a = ml["async"]
                peer += f"; `synchronous=False` {a['points_per_s']:,.0f} points/s ({a['points']:,})"
        else:
            peer = f"MLflow: {res['notes'].get('mlflow', 'not measured')}"
        lines.append(
            f"| metrics: {m['points']:,} `log_metric` points, one client, stored | {hw_cell} | "
            f"{peer} | ≥ 100,000 points/s | {verdict(ok)} |"
        )
    lg = res.get("logs", {})
    if lg:
        if "lag_after_last_write_s" in lg:
            hw_cell = (
                f"last line queryable {lg['lag_after_last_write_s']:.2f} s after the last write "
                f"({lg['lag_after_ended_at_s']:+.2f} s vs `ended_at`); live lag p50 "
                f"{lg['live_lag_p50_s']} s, max {lg['live_lag_max_s']} s; "
                f"{lg['bytes_stored'] / 1e6:.1f} MB stored, "
                + ("complete (SHA-256 equal)" if lg["complete"] else "**incomplete**")
            )
            ok = lg["complete"] and lg["lag_after_last_write_s"] < TARGET["logs_lag_s"]
        else:
            hw_cell, ok = lg.get("error", "-"), None
        lines.append(
            f"| logs: {lg.get('lines', 0) * 100 / 1e6:.1f} MB of stdout from one task | {hw_cell} "
            f"| - | complete, < 1 s behind | {verdict(ok)} |"
        )
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--experiments", type=int, default=100, help="dispatch: processes (100)")
    ap.add_argument("--repeat", type=int, default=3, help="dispatch: timed rounds (3)")
    ap.add_argument("--points", type=int, default=100_000, help="metrics: points (100,000)")
    ap.add_argument("--mlflow-single", type=int, default=2000, help="MLflow log_metric points")
    ap.add_argument("--mlflow-batch", type=int, default=1000, help="MLflow log_batch size")
    ap.add_argument("--mlflow-async", type=int, default=1000, help="MLflow async points (0: off)")
    ap.add_argument("--log-lines", type=int, default=100_000, help="logs: lines of 100 bytes")
    ap.add_argument("--only", default="dispatch,metrics,logs", help="which benchmarks")
    ap.add_argument(
        "--skip", default="", help="peers not to install or run: metaflow,prefect,mlflow"
    )
    ap.add_argument("--quiet-wait", type=float, default=5, help="wait up to s for an idle machine")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (prints its path)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    ap.add_argument("-q", "--quiet", action="store_true")
    ap.add_argument(
        "--no-sandbox", action="store_true", help="tasks run unsandboxed (hw server --no-sandbox)"
    )
    ap.add_argument(
        "--no-other-floors",
        action="store_true",
        help="skip the reference floors with other interpreters (the pyenv shim takes ~50 s "
        "at 1,000)",
    )
    ap.add_argument(
        "--sandbox",
        choices=("on", "off", "both"),
        default=None,
        help="dispatch with the sandbox on, off (= --no-sandbox), or both: two servers, each "
        "measured in every round (issue 17)",
    )
    args = ap.parse_args()
    # SIGTERM unwinds like Ctrl-C: the server stops, running commands are killed, temp dirs go
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    only = set(args.only.split(","))
    skip = {s for s in args.skip.split(",") if s}
    verbose = not args.quiet
    started, t_start = dt.datetime.now(dt.UTC), time.perf_counter()
    res: dict[str, Any] = {"notes": {}, "versions": {}, "errors": {}}

    wanted = {"metaflow", "prefect"} if "dispatch" in only else set()
    wanted |= {"mlflow"} if "metrics" in only else set()
    pythons: dict[str, Path] = {}
    for name in sorted(wanted - skip):
        py, info, install_s = peer_python(PEERS[name], verbose)
        if py is None:
            res["notes"][name] = f"not measured: {info}"
        else:
            pythons[name] = py
            res["versions"][name] = info
            res["notes"][f"{name}_install_or_check_s"] = round(install_s, 1)
            res["notes"][f"{name}_requirements"] = list(PEERS[name].requirements)
    for name in skip & wanted:
        res["notes"][name] = "not measured: --skip"
    with contextlib.suppress(PackageNotFoundError):
        res["versions"]["headwater"] = version("headwater")

    work = Path(tempfile.mkdtemp(prefix="hw-engine-bench-"))
    window = Window(args.quiet_wait)
    peers = Peers(work, pythons, args.experiments)
    mode = args.sandbox or ("off" if args.no_sandbox else "on")
    hw = Headwater(work / "on" if mode == "both" else work, sandbox=mode != "off")
    hw_off = Headwater(work / "off", sandbox=False) if mode == "both" else None
    for one in (hw, hw_off):
        if one is not None:
            one.work.mkdir(exist_ok=True)
    res["notes"]["headwater_sandbox"] = {"on": True, "off": False, "both": "both"}[mode]
    res["loadavg_at_start"] = loadavg()
    log(f"work dir {work}; load {res['loadavg_at_start']}")

    def guard(part: str, fn: Any, *fargs: Any) -> dict[str, Any] | None:
        try:
            out: dict[str, Any] = fn(*fargs)
            return out
        except Exception as exc:  # recorded, the run goes on with the other parts
            msg = f"{type(exc).__name__}: {exc}"
            if part.startswith("headwater"):
                msg += f"\n--- server log tail ---\n{hw.server_log_tail()}"
            res["errors"].setdefault(part, []).append(msg)
            log(f"  {part} FAILED: {msg[:3000]}")
            return None

    try:
        up = guard("headwater setup", lambda: hw.start() or {})
        hw_ok = up is not None
        res["hw_server"] = {"url": hw.url, "project": hw.project} if hw_ok else {}
        srv = hw.pids if hw_ok else None
        off_ok = False
        if hw_off is not None:
            off_ok = guard("headwater (no sandbox) setup", lambda: hw_off.start() or {}) is not None
        # the Headwater variants measured: tool name -> its server
        hws: dict[str, Headwater] = {}
        if hw_ok:
            hws["headwater" if mode != "off" else "headwater_nosandbox"] = hw
        if off_ok and hw_off is not None:
            hws["headwater_nosandbox"] = hw_off

        if "dispatch" in only:
            n = args.experiments
            log(f"dispatch: {n} x python -c pass, two slots; warm-ups first")
            floor_once(4)
            for tool, one in hws.items():
                guard(f"{tool} dispatch warm-up", one.dispatch, 2)
            for name in sorted(pythons.keys() & {"metaflow", "prefect"}):
                guard(f"{name} warm-up", getattr(peers, name), 2)
            # For reference, once each: the floor with other interpreters a user might reach for
            # (not what hw tasks run): the `python` the caller's PATH finds (here a pyenv shim),
            # and the venv's base interpreter (its own site-packages and .pth files).
            other_floors: list[dict[str, Any]] = []
            seen = {str(TASK_PYTHON)}
            for label, python in (
                ()
                if args.no_other_floors
                else (
                    ("python on PATH", shutil.which("python")),
                    ("base interpreter of the venv", str(TASK_PYTHON.resolve())),
                )
            ):
                if not python or python in seen:
                    continue
                seen.add(python)
                with window() as facts:
                    seconds = round(floor_once(n, python), 3)
                other_floors.append(dict(facts, what=label, python=python, seconds=seconds))
                log(f"  floor with {python} ({label}): {seconds:.2f} s {facts}")
            runs: dict[str, list[dict[str, Any]]] = {"floor": []}
            tools = [*hws, *(t for t in ("metaflow", "prefect") if t in pythons)]
            for rnd in range(args.repeat):
                for tool in tools:
                    with window() as facts:
                        floor = floor_once(n)
                    runs["floor"].append(dict(facts, seconds=round(floor, 3), before=tool))
                    log(f"  round {rnd + 1} floor        {floor:7.2f} s  {facts}")
                    one = hws.get(tool)
                    fn = one.dispatch if one is not None else getattr(peers, tool)
                    with window(one.pids if one is not None else None) as facts:
                        got = guard(f"{tool} dispatch" if one else tool, fn, n)
                    if got is not None:
                        got.update(facts, floor_before_s=round(floor, 3))
                        if one is not None:  # the platform's CPU a task: server and worker
                            got["cpu_ms_per_task"] = {
                                g: round(1000 * facts.get(f"{g}_cpu_s", 0.0) / n, 2)
                                for g in ("server", "worker")
                            }
                        runs.setdefault(tool, []).append(got)
                        ratio = got["seconds"] / floor
                        log(f"  round {rnd + 1} {tool:12} {got['seconds']:7.2f} s  "
                            f"({ratio:.2f}x the floor just before) {facts}")  # fmt: skip
            d: dict[str, Any] = {"experiments": n, "repeat": args.repeat, "runs": runs}
            d["floor_python"] = str(TASK_PYTHON)
            d["floor_with_other_interpreters"] = other_floors
            d["floor_median_s"] = median([r["seconds"] for r in runs["floor"]])
            d["headwater_tools"] = list(hws)
            for tool in (*hws, "metaflow", "prefect"):
                s = median([r["seconds"] for r in runs.get(tool, [])])
                if s is not None:
                    d[f"{tool}_median_s"] = s
                    d[f"{tool}_x_floor"] = round(s / d["floor_median_s"], 2)
                if tool in hws and runs.get(tool):
                    d[f"{tool}_cpu_ms_per_task"] = {
                        g: median([r["cpu_ms_per_task"][g] for r in runs[tool]])
                        for g in ("server", "worker")
                    }
            if hws and not any(f"{t}_median_s" in d for t in hws):
                d["error"] = "failed (see errors)"
            res["dispatch"] = d

        if "metrics" in only:
            m: dict[str, Any] = {"points": args.points}
            log(f"metrics: {args.points:,} points")
            if hw_ok:
                with window(srv) as facts:
                    got = guard("headwater metrics", hw.metrics, args.points)
                m["headwater"] = dict(got, **facts) if got else {"error": "failed (see errors)"}
                log(f"  headwater {m['headwater']}")
            if "mlflow" in pythons:
                with window() as facts:
                    got = guard(
                        "mlflow",
                        peers.mlflow,
                        args.mlflow_single,
                        args.points,
                        args.mlflow_batch,
                        args.mlflow_async,
                    )
                if got:
                    m["mlflow"] = dict(got, **facts)
                    log(f"  mlflow {m['mlflow']}")
            res["metrics"] = m

        if "logs" in only and hw_ok:
            log(f"logs: {args.log_lines:,} lines of 100 bytes")
            with window(srv) as facts:
                got = guard("headwater logs", hw.logs, args.log_lines)
            lg = dict(got, **facts) if got else {"error": "failed (see errors)"}
            res["logs"] = dict(lg, lines=args.log_lines)
            log(f"  headwater {res['logs']}")
    finally:
        hw.stop()
        if hw_off is not None:
            hw_off.stop()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    machine = machine_info(REPO)
    status = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--", "src"],
        capture_output=True,
        text=True,
    )
    machine["src_modified_since_commit"] = bool(status.stdout.strip())
    where = subprocess.run(
        [str(TASK_PYTHON), "-c", "import headwater; print(headwater.__file__)"],
        capture_output=True,
        text=True,
    )
    machine["headwater_imported_from"] = where.stdout.strip()  # PYTHONPATH measures another tree
    res.update(
        {
            "date": started.isoformat(timespec="seconds"),
            "run_s": round(time.perf_counter() - t_start, 1),
            "machine": machine,
            "loadavg_at_end": loadavg(),
            "task_python": str(TASK_PYTHON),
            "issue_4_reference": ISSUE,
            "targets": TARGET,
        }
    )
    if not res["errors"]:
        del res["errors"]
    out = table(res)
    res["table_markdown"] = out
    print()
    print(out)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"engine-{started.date().isoformat()}.json"
    path.write_text(json.dumps(res, indent=2) + "\n")
    shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    log(f"\nran {res['run_s']:.0f} s; wrote {shown}")
    return 1 if res.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
