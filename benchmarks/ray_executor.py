"""Ray executor benchmark (issue 14): dispatch and a fan-out flow on a local Ray head, beside
the local executor and the floor, and where a Ray task's time goes.

    PYTHONPATH=$PWD/src .venv/bin/python benchmarks/ray_executor.py [--experiments 100]
        [--instances 200] [--only dispatch,fanout,parts] [--skip ray-jobs]

Everything runs on this machine, in one run, over loopback:

* **dispatch**: ``hw run --param i=1..N --wait --json -- python -c pass`` (N = 100), timed as a
  whole command (``engine.py``'s measurement), on a ``hw server`` with the local executor and on
  one with ``HEADWATER_EXECUTOR=ray`` against a Ray head of two CPUs on this machine (the
  default compute template takes 1 CPU: two slots on both): ``ray`` with the runtime pool
  (the default dispatch), ``ray-jobs`` with a Ray Job a task (``--skip ''`` to run it: its
  rows take ~9 minutes).
* **fan-out**: ``flows.py``'s flow (200 instances of ``python -c pass``, then one fan-in task),
  ``hw flow run --file ... --no-cache --wait --json``, on both servers.
* **floor**: the same processes from a bare pool of two (``ThreadPoolExecutor(2)`` +
  ``subprocess.run``), run right before each measurement.
* **parts** (where a Ray task's time goes, no Headwater server involved): N bare Ray Jobs of
  ``python -c pass`` two at a time through ``JobSubmissionClient`` (what Ray Jobs cost alone),
  with each job's timeline from Ray's state API (submission, the supervisor actor's creation
  task queued / started / ended, its ``run`` task, the job's end); the ``submit_job`` call
  alone; the interpreter start of ``python -m headwater.runtime`` against ``python -c pass``;
  and the design the issue asks to weigh: one long-lived detached actor on the node that runs
  each task's process in a thread (as the local worker does), called N times two at a time from
  a driver.

One round each (a Ray task costs seconds: 100 + 200 + 100 of them take minutes). CPU per task
is the whole machine's busy time over the measurement (``/proc/stat``) divided by the tasks:
it counts Ray's own processes, which the wall time on a shared machine hides. The table is
printed in markdown and written with the machine facts to
``benchmarks/results/ray-executor-<date>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from engine import TASK_PYTHON, Headwater, Window, floor_once, loadavg, log
from flows import FlowBench
from harness.machine import machine_info

REPO = Path(__file__).resolve().parent.parent
TARGET_MS = 50.0  # issue 14: per-task overhead on Ray over the local backend, two slots
RAY_CPUS = 2
# ray: the pool (HEADWATER_RAY_DISPATCH=pool, the default); ray-jobs: a Ray Job each
EXECUTORS = ("local", "ray", "ray-jobs")


def p50(values: list[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None


def cpu_ms_per_task(facts: dict[str, Any], n: int) -> float:
    return round(facts["busy_cores"] * facts["window_s"] / n * 1000, 1)


# ----------------------------------------------------------------------------- the servers


def start_server(work: Path, executor: str, head: Any) -> Headwater:
    """``executor``: local, ray (the pool, on the head's cluster address) or ray-jobs (a Ray
    Job each, through the head's dashboard)."""
    work.mkdir(parents=True, exist_ok=True)
    hw = Headwater(work)
    if executor in ("ray", "ray-jobs"):
        pool = executor == "ray"
        hw.env.update(
            HEADWATER_EXECUTOR="ray",
            HEADWATER_RAY_ADDRESS=head.cluster() if pool else head.address(),
            HEADWATER_RAY_DISPATCH="pool" if pool else "jobs",
            HEADWATER_RAY_PYTHON=str(TASK_PYTHON),
        )
    hw.start()
    return hw


def measure_server(
    executor: str, work: Path, head: Any, args: argparse.Namespace, window: Window
) -> dict[str, Any]:
    res: dict[str, Any] = {}
    hw = start_server(work, executor, head)
    try:
        fb = FlowBench(hw)
        # warm-up: bytecode, the first job's worker processes
        hw.dispatch(2)
        if "dispatch" in args.only:
            with window() as facts:
                floor = floor_once(args.experiments)
            res["dispatch_floor"] = {"seconds": round(floor, 3), **facts}
            log(f"{executor}: floor for {args.experiments}: {floor:.2f} s")
            with window(hw.pids) as facts:
                res["dispatch"] = hw.dispatch(args.experiments)
            res["dispatch"].update(facts)
            res["dispatch"]["cpu_ms_per_task"] = cpu_ms_per_task(facts, args.experiments)
            log(f"{executor}: dispatch {args.experiments}: {res['dispatch']['seconds']:.2f} s")
        if "fanout" in args.only:
            with window() as facts:
                floor = floor_once(args.instances + 1)
            res["fanout_floor"] = {"seconds": round(floor, 3), **facts}
            log(f"{executor}: floor for {args.instances + 1}: {floor:.2f} s")
            with window(hw.pids) as facts:
                res["fanout"] = fb.run(args.instances)
            res["fanout"].update(facts)
            res["fanout"]["cpu_ms_per_task"] = cpu_ms_per_task(facts, args.instances + 1)
            log(f"{executor}: fan-out {args.instances}: {res['fanout']['seconds']:.2f} s")
    finally:
        hw.stop()
    return res


# ----------------------------------------------------------------------------- Ray's parts


def bare_jobs(dashboard: str, n: int, window: Window) -> dict[str, Any]:
    """N Ray Jobs of ``python -c pass``, two in flight (each asks for one of the two CPUs)."""
    from ray.job_submission import JobStatus, JobSubmissionClient

    client = JobSubmissionClient(dashboard)
    stamp = dt.datetime.now().strftime("%H%M%S")
    ids = [f"bare-{stamp}-{i}" for i in range(n)]
    submit_s: list[float] = []
    done_at: dict[str, float] = {}
    submitted_at: dict[str, float] = {}

    def one(job: str) -> None:
        t0 = time.perf_counter()
        submitted_at[job] = time.time()
        client.submit_job(
            entrypoint=f"{TASK_PYTHON} -c pass", submission_id=job, entrypoint_num_cpus=1
        )
        submit_s.append(time.perf_counter() - t0)
        while True:
            status = client.get_job_status(job)
            if status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED):
                done_at[job] = time.time()
                if status is not JobStatus.SUCCEEDED:
                    raise RuntimeError(f"bare job {job}: {status}")
                return
            time.sleep(0.02)

    with window() as facts:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(one, ids))
        wall = time.perf_counter() - t0
    per_job = [done_at[j] - submitted_at[j] for j in ids]
    out: dict[str, Any] = {
        "n": n,
        "seconds": round(wall, 3),
        "per_slot_task_s": round(wall / n * 2, 3),
        "submit_call_p50_s": p50(submit_s),
        "submit_to_seen_ended_p50_s": p50(per_job),
        "cpu_ms_per_task": cpu_ms_per_task(facts, n),
        **facts,
    }
    try:
        out["timeline"] = job_timelines(dashboard, ids, submitted_at)
    except Exception as exc:  # the state API's own kinds; the wall numbers stand without it
        out["timeline"] = {"error": repr(exc)}
    return out


def job_timelines(dashboard: str, ids: list[str], submitted: dict[str, float]) -> dict[str, Any]:
    """Each job's supervisor, from Ray's task events: the actor's creation task (queued, then a
    worker process to run it, then its ``__init__``) and its ``run`` task (the entrypoint's
    process, and the supervisor's polling of it), against the submission and the job's end."""
    from ray.job_submission import JobSubmissionClient
    from ray.util.state import list_actors, list_tasks

    client = JobSubmissionClient(dashboard)
    actors = {
        str(a.name): str(a.actor_id)
        for a in list_actors(address=dashboard, limit=10_000, raise_on_missing_output=False)
        if a.name
    }
    steps: dict[str, dict[str, Any]] = {}
    for t in list_tasks(
        address=dashboard, detail=True, limit=10_000, raise_on_missing_output=False
    ):
        name = str(t.name or "")
        if "JobSupervisor" in name and t.actor_id:
            steps.setdefault(str(t.actor_id), {})[name.rsplit(".", 1)[-1]] = t
    parts: dict[str, list[float]] = {
        "submit_to_supervisor_queued_s": [],
        "supervisor_queued_to_started_s": [],
        "supervisor_init_s": [],
        "supervisor_ready_to_run_s": [],
        "run_task_s": [],
        "run_end_to_job_end_s": [],
    }
    matched = 0
    for job in ids:
        found = steps.get(actors.get(f"_ray_internal_job_actor_{job}", ""), {})
        init, run = found.get("__init__"), found.get("run")
        if init is None or run is None:
            continue
        if not all(
            getattr(x, a, None)
            for x in (init, run)
            for a in ("creation_time_ms", "start_time_ms", "end_time_ms")
        ):
            continue
        matched += 1
        parts["submit_to_supervisor_queued_s"].append(init.creation_time_ms / 1000 - submitted[job])
        parts["supervisor_queued_to_started_s"].append(
            (init.start_time_ms - init.creation_time_ms) / 1000
        )
        parts["supervisor_init_s"].append((init.end_time_ms - init.start_time_ms) / 1000)
        parts["supervisor_ready_to_run_s"].append((run.start_time_ms - init.end_time_ms) / 1000)
        parts["run_task_s"].append((run.end_time_ms - run.start_time_ms) / 1000)
        info = client.get_job_info(job)
        if info.end_time:
            parts["run_end_to_job_end_s"].append(info.end_time / 1000 - run.end_time_ms / 1000)
    return {"matched": matched, **{k: p50(v) for k, v in parts.items()}}


def runtime_start(n: int) -> dict[str, Any]:
    """The task's interpreter start: ``python -c pass`` against importing the runtime (what a
    job's entrypoint pays before it asks the server anything)."""

    def timed(argv: list[str]) -> float:
        t0 = time.perf_counter()
        subprocess.run(argv, check=True)
        return time.perf_counter() - t0

    bare = [timed([str(TASK_PYTHON), "-c", "pass"]) for _ in range(n)]
    runtime = [
        timed([str(TASK_PYTHON), "-c", "import headwater.runtime.__main__"]) for _ in range(n)
    ]
    return {"python_c_pass_p50_s": p50(bare), "import_runtime_p50_s": p50(runtime)}


POOL_ACTOR = '''
import subprocess
import ray


@ray.remote(num_cpus=0, max_concurrency=2)
class Pool:
    """A long-lived runtime pool on a node: runs a task's process in a thread, as the local
    worker does (here only the process: the runtime's own HTTP work is the local backend's)."""

    def run(self, argv):
        return subprocess.run(argv).returncode
'''


def actor_pool(dashboard: str, n: int, window: Window) -> dict[str, Any]:
    """N calls of a detached actor that runs ``python -c pass``, two in flight, from a driver:
    the dispatch cost of a long-lived pool on the node, without Jobs' supervisor per task."""
    code = (
        POOL_ACTOR
        + f"""
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
ray.init(address="auto", logging_level="ERROR", log_to_driver=False)
t0 = time.perf_counter()
pool = Pool.options(name="hw-bench-pool", lifetime="detached", get_if_exists=True).remote()
ray.get(pool.run.remote([{str(TASK_PYTHON)!r}, "-c", "pass"]))
ready = time.perf_counter() - t0
calls = []
def one(_):
    c0 = time.perf_counter()
    assert ray.get(pool.run.remote([{str(TASK_PYTHON)!r}, "-c", "pass"])) == 0
    calls.append(time.perf_counter() - c0)
t1 = time.perf_counter()
with ThreadPoolExecutor(2) as ex:
    list(ex.map(one, range({n})))
wall = time.perf_counter() - t1
ray.kill(pool)
calls.sort()
print(json.dumps({{"seconds": wall, "actor_ready_s": ready, "call_p50_s": calls[len(calls)//2]}}))
"""
    )
    gcs = gcs_address(dashboard)
    with window() as facts:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=300,
            env={**_env(), "RAY_ADDRESS": gcs},
        )
    if proc.returncode != 0:
        raise RuntimeError(f"actor pool: {proc.stderr[-2000:]}")
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "n": n,
        **{k: round(v, 4) for k, v in found.items()},
        "per_slot_task_s": round(found["seconds"] / n * 2, 4),
        "cpu_ms_per_task": cpu_ms_per_task(facts, n),
        **facts,
    }


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}


def gcs_address(dashboard: str) -> str:
    """The head's GCS address (a driver's ``ray.init`` needs it, not the dashboard's)."""
    from ray.util.state import list_nodes

    node = list_nodes(address=dashboard, detail=True)[0]
    return f"{node.node_ip}:{head_port()}"


_HEAD_PORT: list[int] = []


def head_port() -> int:
    return _HEAD_PORT[0]


# ----------------------------------------------------------------------------- the run


def start_head(work: Path) -> tuple[Any, str]:
    from headwater.executors.ray import LocalHead

    head = LocalHead(work / "ray-home", cpus=RAY_CPUS)
    dashboard = head.start()
    record = json.loads(head.record.read_text())
    argv = Path(f"/proc/{record['pid']}/cmdline").read_bytes().split(b"\0")
    port = next(int(a.split(b"=")[1]) for a in argv if a.startswith(b"--port="))
    _HEAD_PORT.append(port)
    return head, dashboard


def overhead_ms(wall: float, floor: float, n: int) -> float:
    return round((wall - floor) / n * 1000, 1)


def table(res: dict[str, Any], args: argparse.Namespace) -> str:
    rows = ["| measurement | wall s | floor s | overhead ms/task | machine CPU ms/task |",
            "| --- | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for executor in EXECUTORS:
        part = res.get(executor) or {}
        for key, n in (("dispatch", args.experiments), ("fanout", args.instances + 1)):
            if key not in part:
                continue
            m, floor = part[key], part[f"{key}_floor"]["seconds"]
            label = f"{executor}: " + (
                f"`hw run` {args.experiments}" if key == "dispatch" else f"flow {args.instances}+1"
            )
            rows.append(
                f"| {label} | {m['seconds']:.2f} | {floor:.2f} | "
                f"{overhead_ms(m['seconds'], floor, n)} | {m['cpu_ms_per_task']} |"
            )
    parts = res.get("parts") or {}
    if "bare_jobs" in parts:
        b = parts["bare_jobs"]
        rows.append(
            f"| bare Ray Jobs of `python -c pass`, {b['n']} | {b['seconds']:.2f} | | "
            f"{b['per_slot_task_s'] * 1000:.0f} (a slot's time a job) | "
            f"{b['cpu_ms_per_task']} |"
        )
    if "actor_pool" in parts:
        a = parts["actor_pool"]
        rows.append(
            f"| long-lived actor running `python -c pass`, {a['n']} | {a['seconds']:.2f} | | "
            f"{a['per_slot_task_s'] * 1000:.0f} (a slot's time a task) | "
            f"{a['cpu_ms_per_task']} |"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiments", type=int, default=100)
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--only", default="dispatch,fanout,parts")
    parser.add_argument("--skip", default="ray-jobs", help="of local, ray, ray-jobs")
    parser.add_argument("--quiet-wait", type=float, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    args.only = set(args.only.split(","))
    skip = set(filter(None, args.skip.split(",")))
    window = Window(args.quiet_wait)
    started = dt.datetime.now(dt.UTC)
    work = Path(tempfile.mkdtemp(prefix="hw-raybench-"))
    res: dict[str, Any] = {
        "machine": machine_info(REPO),
        "load_start": loadavg(),
        "pressure_cpu_start": _pressure(),
    }
    head = None
    try:
        head, dashboard = start_head(work)
        log(f"Ray head at {dashboard}")
        for executor in EXECUTORS:
            if executor in skip or not ({"dispatch", "fanout"} & args.only):
                continue
            res[executor] = measure_server(executor, work / executor, head, args, window)
        if "parts" in args.only:
            parts: dict[str, Any] = {"runtime_start": runtime_start(20)}
            parts["bare_jobs"] = bare_jobs(dashboard, args.experiments, window)
            log(f"bare jobs: {parts['bare_jobs']['seconds']:.2f} s")
            try:
                parts["actor_pool"] = actor_pool(dashboard, args.experiments, window)
            except Exception as exc:
                parts["actor_pool_error"] = repr(exc)[-2000:]
                log(f"actor pool failed: {exc}")
            if "actor_pool" in parts:
                log(f"actor pool: {parts['actor_pool']['seconds']:.2f} s")
            res["parts"] = parts
    finally:
        if head is not None:
            head.stop()
        res["load_end"] = loadavg()
        res["pressure_cpu_end"] = _pressure()
        res["seconds"] = round((dt.datetime.now(dt.UTC) - started).total_seconds(), 1)
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / f"ray-executor-{started.date().isoformat()}.json"
        path.write_text(json.dumps(res, indent=1, default=str))
        log(f"wrote {path}")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(table(res, args))
    return 0


def _pressure() -> str:
    with contextlib.suppress(OSError):
        return Path("/proc/pressure/cpu").read_text().strip()
    return ""


if __name__ == "__main__":
    sys.exit(main())
