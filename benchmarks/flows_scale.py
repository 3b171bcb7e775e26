"""A 10,000-instance flow (issue 17): wall time against its floor, the server's memory all the
way through, and how fast `hw flow stop` ends a run of that width.

    .venv/bin/python benchmarks/flows_scale.py [--instances 10000] [--no-sandbox] [--keep]

Everything runs on this machine, over loopback, with engine.py's set-up (a real `hw server` on
a fresh home, SQLite, the local executor and its worker, a logged-in CLI in a linked folder):

* **run**: a flow of one task, `python -c pass` with `params: i: [1..N]` (N instances), run as
  `hw flow run --file F --wait --json`, timed as a whole command. The floor: the same N
  processes from a bare pool of two (`ThreadPoolExecutor(2)` + `subprocess.run`), the default
  compute template's two slots. While the run goes, a thread samples the resident memory
  (VmRSS) of the `hw server` process and of its worker every 0.25 s; the table gives the
  largest sample and the samples at 10 %, 50 % and 90 % of the run.
* **stop**: the same flow run again (``--no-cache``: the step cache would serve every instance
  from the first run); once 20 instances have ended, `POST .../stop` (what
  `hw flow stop` sends) is timed alone, and `hw flow stop RUN --json` as a whole command on a
  third run. Then every instance must be terminal (none queued or running), and none may have
  started after the stop answered.

* **engine** (`--only engine`): the engine's own cost, no process at all: the app in this
  process on a fresh SQLite home with the fake executor, the same flow started through the API,
  and the engine's passes driven by hand, every launched task reporting success at once (a
  short task's one report). Per instance: the passes, launches and reports; then a second run
  of N stopped while queued (the stop alone, and the size of its answer), and the size of an
  inspected run. Run it against another tree with `PYTHONPATH` to compare.

Targets: wall ≤ 2x the floor, server RSS ≤ 500 MB throughout, stop within 2 s. The JSON
(machine facts, load before and after, every sample) goes to
`benchmarks/results/flows-scale-<date>.json`; the table is printed in markdown.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
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

import engine as eng
from engine import Headwater, Window, floor_once, loadavg, log, tail, ts
from harness.machine import machine_info

REPO = Path(__file__).resolve().parent.parent
if not eng.HW.exists():  # a worktree without its own venv: the interpreter running this one
    eng.HW = Path(sys.executable).parent / "hw"
    eng.TASK_PYTHON = Path(sys.executable)
TARGET = {"x_floor": 2.0, "server_rss_mb": 500, "stop_s": 2.0}
FLOW = """flow: Scale {n}
tasks:
  - title: Fan
    type: exec
    input: python -c pass
    computes: [default]
    params:
      - key: i
        value: [{values}]
relations: []
"""


def rss_mb(pid: int) -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        text = Path(f"/proc/{pid}/status").read_text()
        return int(text.split("VmRSS:")[1].split()[0]) / 1024
    return None


class Sampler:
    """The server's and its worker's RSS every ``every`` seconds, in a thread of its own."""

    def __init__(self, hw: Headwater, every: float = 0.25) -> None:
        self.hw, self.every = hw, every
        self.samples: list[tuple[float, float | None, float | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._t0 = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = self.hw.pids()
            server = sum(filter(None, (rss_mb(p) for p in pids["server"]))) or None
            worker = sum(filter(None, (rss_mb(p) for p in pids["worker"]))) or None
            self.samples.append((round(time.perf_counter() - self._t0, 2), server, worker))
            self._stop.wait(self.every)

    def summary(self) -> dict[str, Any]:
        server = [s for _, s, _ in self.samples if s is not None]
        worker = [w for _, _, w in self.samples if w is not None]
        at = {
            f"server_mb_at_{p}pct": round(server[min(len(server) - 1, len(server) * p // 100)], 1)
            for p in (10, 50, 90)
            if server
        }
        return {
            "samples": len(self.samples),
            "server_mb_max": round(max(server), 1) if server else None,
            "server_mb_first": round(server[0], 1) if server else None,
            "worker_mb_max": round(max(worker), 1) if worker else None,
            **at,
        }


def write_flow(hw: Headwater, n: int) -> Path:
    path = hw.folder / f"scale-{n}.yaml"
    path.write_text(FLOW.format(n=n, values=", ".join(str(i) for i in range(1, n + 1))))
    return path


def counts(hw: Headwater, number: int) -> dict[str, Any]:
    run = hw.get(f"/flow-runs/{number}", instances="false")
    out: dict[str, Any] = {}
    for task in run["tasks"]:
        for state, n in task["counts"].items():
            out[state] = out.get(state, 0) + n
    out["_status"] = run["status"]
    return out


def all_instances(hw: Headwater, number: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = hw.get(f"/flow-runs/{number}/instances", offset=len(items), limit=500)
        items += page["items"]
        if not page["items"] or len(items) >= page["total"]:
            return items


def bench_run(hw: Headwater, n: int, window: Window) -> dict[str, Any]:
    path = write_flow(hw, n)
    cmd = [str(eng.HW), "flow", "run", "--file", path.name, "--wait", "--json"]
    with window(hw.pids) as facts, Sampler(hw) as sampler:
        t0 = time.perf_counter()
        proc = subprocess.run(
            cmd, cwd=hw.folder, env=hw.env, capture_output=True, text=True, timeout=3600
        )
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"flow run exited {proc.returncode}: {tail(proc.stderr)}")
    run = json.loads(proc.stdout)
    [task] = run["tasks"]
    if run["status"] != "success" or task["counts"] != {"success": n}:
        raise RuntimeError(f"run {run['status']}: {task['counts']}")
    items = all_instances(hw, run["number"])
    started = [ts(i["started_at"]) or 0.0 for i in items]
    ended = [ts(i["finished_at"]) or 0.0 for i in items]
    created = ts(run["created_at"]) or 0.0
    return {
        "seconds": round(wall, 2),
        "run": run["number"],
        "instances_per_s": round(n / wall, 1),
        "run_created_to_first_start_s": round(min(started) - created, 2),
        "first_start_to_last_end_s": round(max(ended) - min(started), 2),
        "rss": sampler.summary(),
        "rss_samples": sampler.samples,
        **facts,
    }


def start_and_wait_some(hw: Headwater, path: Path, ended: int) -> int:
    # --no-cache: the step cache holds the first run's results, and would end this one at once
    out = hw.hw(["flow", "run", "--file", path.name, "--no-cache", "--json"])
    number = int(json.loads(out.stdout)["number"])
    deadline = time.monotonic() + 600
    while counts(hw, number).get("success", 0) < ended:
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {number}: fewer than {ended} instances ended in 600 s")
        time.sleep(0.2)
    return number


def check_stopped(hw: Headwater, number: int, answered_at: float) -> dict[str, Any]:
    time.sleep(2)  # whatever a late launch would start, it would have started by now
    seen = counts(hw, number)
    items = all_instances(hw, number)
    late = [i for i in items if (ts(i["started_at"]) or 0) > answered_at]
    going = {s: seen.get(s, 0) for s in ("queued", "initializing", "running")}
    return {
        "status": seen["_status"],
        "counts": {k: v for k, v in seen.items() if not k.startswith("_")},
        "not_ended": sum(going.values()),
        "started_after_stop": len(late),
        "ok": seen["_status"] == "aborted" and not any(going.values()) and not late,
    }


def bench_stop(hw: Headwater, n: int, window: Window) -> dict[str, Any]:
    path = write_flow(hw, n)
    assert hw.api is not None
    number = start_and_wait_some(hw, path, 20)
    with window(hw.pids) as facts:
        t0 = time.perf_counter()
        resp = hw.api.post(f"/flow-runs/{number}/stop")
        api_s = time.perf_counter() - t0
    resp.raise_for_status()
    api = {"run": number, "api_stop_s": round(api_s, 3), **facts}
    api |= check_stopped(hw, number, time.time())
    number = start_and_wait_some(hw, path, 20)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(eng.HW), "flow", "stop", str(number), "--json"],
        cwd=hw.folder, env=hw.env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    cli_s = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"hw flow stop exited {proc.returncode}: {tail(proc.stderr)}")
    cli = {"run": number, "cli_stop_s": round(cli_s, 3)}
    cli |= check_stopped(hw, number, time.time())
    return {"api": api, "cli": cli}


def bench_engine(n: int) -> dict[str, Any]:
    """The engine alone, in this process, with the fake executor (see the module docstring)."""
    from fastapi.testclient import TestClient

    from headwater.domain.jobs import JobState
    from headwater.server import create_app
    from headwater.settings import ServerSettings

    home = Path(tempfile.mkdtemp(prefix="hw-engine-scale-"))
    settings = ServerSettings(home=home, engine=False, executor="fake")
    app = create_app(settings)
    token = (home / "admin.token").read_text().strip()
    http = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    try:
        pid = http.post("/api/v1/projects", json={"name": "scale"}).json()["id"]
        base = f"/api/v1/projects/{pid}"
        text = FLOW.format(n=n, values=", ".join(str(i) for i in range(n)))
        http.post(f"{base}/flows", json={"yaml": text, "file_name": "f.yaml"}).raise_for_status()
        engine = app.state.platform.engine
        fake = engine.executor
        out: dict[str, Any] = {}
        for what in ("run", "stop"):
            t0 = time.perf_counter()
            started = http.post(f"{base}/flows/Scale {n}/runs", json={})
            started.raise_for_status()
            out[f"{what}_start_s"] = round(time.perf_counter() - t0, 3)
            number = started.json()["number"]
            if what == "stop":
                engine.schedule()
                t0 = time.perf_counter()
                stopped = http.post(f"{base}/flow-runs/{number}/stop")
                out["stop_s"] = round(time.perf_counter() - t0, 3)
                out["stop_answer_bytes"] = len(stopped.content)
                continue
            passes, t0 = 0, time.perf_counter()
            while True:
                passes += 1
                engine.schedule()
                engine.flows.advance()
                launched = sorted(fake.alive)
                for eid in launched:
                    engine.report(
                        eid, JobState.SUCCESS, reason=None, exit_code=0, runner=None,
                        output_commit=None, running_for=0.01,
                    )  # fmt: skip
                    fake.alive.discard(eid)
                if not launched:
                    seen = http.get(f"{base}/flow-runs/{number}", params={"instances": False})
                    if seen.json()["status"] != "running":
                        break
            wall = time.perf_counter() - t0
            out |= {
                "passes": passes,
                "run_s": round(wall, 2),
                "ms_per_instance": round(wall / n * 1000, 2),
                "server_rss_mb": rss_mb(os.getpid()),
                "status": seen.json()["status"],
                "inspect_answer_bytes": len(http.get(f"{base}/flow-runs/{number}").content),
            }
        return out
    finally:
        http.close()
        app.state.platform.close()
        shutil.rmtree(home, ignore_errors=True)


def table(res: dict[str, Any]) -> str:
    run, stop, floor = res.get("run", {}), res.get("stop", {}), res.get("floor_s")
    ratio = run["seconds"] / floor if run and floor else None
    rss = run.get("rss", {})
    rows = [
        "| measure | Headwater | floor / target | verdict |",
        "| --- | --- | --- | --- |",
    ]
    if run:
        rows.append(
            f"| {res['instances']:,}-instance flow, wall | {run['seconds']:.1f} s "
            f"({run['instances_per_s']}/s) | floor {floor:.1f} s; ≤ 2x | "
            f"{ratio:.2f}x {'pass' if ratio and ratio <= 2 else 'miss'} |"
            if floor
            else f"| {res['instances']:,}-instance flow, wall | {run['seconds']:.1f} s | - | - |"
        )
        mx = rss.get("server_mb_max") or 0
        rows.append(
            f"| server RSS, max of {rss.get('samples')} samples | {mx:.0f} MB (start "
            f"{rss.get('server_mb_first')}, 50 % {rss.get('server_mb_at_50pct')}, 90 % "
            f"{rss.get('server_mb_at_90pct')}); worker max {rss.get('worker_mb_max')} MB | "
            f"≤ 500 MB | {'pass' if mx <= 500 else 'miss'} |"
        )
    for key, label in (("api", "api_stop_s"), ("cli", "cli_stop_s")):
        got = stop.get(key)
        if got:
            s = got[label]
            rows.append(
                f"| stop ({'POST .../stop' if key == 'api' else 'hw flow stop, whole command'})"
                f" | {s:.2f} s; {got['counts']}; started after: {got['started_after_stop']} |"
                f" ≤ 2 s, all ended | {'pass' if s <= 2 and got['ok'] else 'miss'} |"
            )
    got = res.get("engine")
    if got:
        rows.append(
            f"| engine alone (fake executor, in process), {res['instances']:,} instances | "
            f"{got['ms_per_instance']} ms an instance ({got['passes']} passes); stop while "
            f"queued {got['stop_s']} s, answer {got['stop_answer_bytes']:,} B | - | - |"
        )
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--instances", type=int, default=10_000, help="the task's grid (10,000)")
    ap.add_argument("--only", default="run,stop", help="run,stop,engine")
    ap.add_argument("--skip-floor", action="store_true", help="no floor (it takes N processes)")
    ap.add_argument("--no-sandbox", action="store_true", help="`hw server --no-sandbox`")
    ap.add_argument("--quiet-wait", type=float, default=5, help="wait up to s for an idle machine")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (prints its path)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    only = set(args.only.split(","))
    n = args.instances
    started, t_start = dt.datetime.now(dt.UTC), time.perf_counter()
    res: dict[str, Any] = {"instances": n, "sandbox": not args.no_sandbox, "errors": {}}
    res["loadavg_at_start"] = loadavg()
    work = Path(tempfile.mkdtemp(prefix="hw-flows-scale-"))
    window = Window(args.quiet_wait)
    hw = Headwater(work, sandbox=not args.no_sandbox)
    try:
        if not args.skip_floor and "run" in only:
            log(f"floor: {n:,} x python -c pass from a pool of two")
            with window() as facts:
                res["floor_s"] = round(floor_once(n, eng.TASK_PYTHON), 2)
            res["floor_window"] = facts
            log(f"  {res['floor_s']} s")
        if only & {"run", "stop"}:
            hw.start()
        if "run" in only:
            log(f"run: a flow of {n:,} instances, --wait")
            try:
                res["run"] = bench_run(hw, n, window)
                log(f"  {res['run']['seconds']} s, server RSS max {res['run']['rss']}")
            except Exception as exc:  # report what was measured, then the failure
                res["errors"]["run"] = f"{exc}\n{hw.server_log_tail()}"
        if "engine" in only:
            log(f"engine: {n:,} instances in process, fake executor")
            res["engine"] = bench_engine(n)
            log(f"  {res['engine']}")
        if "stop" in only:
            log(f"stop: two runs of {n:,}, stopped once 20 ended")
            try:
                res["stop"] = bench_stop(hw, n, window)
                log(f"  {json.dumps(res['stop'])}")
            except Exception as exc:
                res["errors"]["stop"] = f"{exc}\n{hw.server_log_tail()}"
    finally:
        hw.stop()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    res.update(
        {
            "date": started.isoformat(timespec="seconds"),
            "run_s": round(time.perf_counter() - t_start, 1),
            "machine": machine_info(REPO),
            "loadavg_at_end": loadavg(),
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
    path = args.out / f"flows-scale-{started.date().isoformat()}.json"
    path.write_text(json.dumps(res, indent=2) + "\n")
    log(f"\nran {res['run_s']:.0f} s; wrote {path}")
    return 1 if res.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
