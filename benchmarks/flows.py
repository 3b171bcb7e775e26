"""Flows benchmark (issue 5): expansion, and a 200-task fan-out and fan-in beside Metaflow, Prefect.

    .venv/bin/python benchmarks/flows.py [--repeat 3] [--instances 200] [--skip metaflow,prefect]

Everything runs on this machine, in one run, over loopback:

* **expand**: ``flows_expand.py``'s three shapes of 10,000 instances of one task (its own grid of
  100 x 100; a grid of 100 after a grid of 100; a dynamic route of 100 after 100 instances, with
  a condition), each parsed and expanded with ``domain.flowspec.routes.expand_all`` as the flow
  driver would; ``--expand-repeat`` runs after a warm-up, median and worst. Target: under 1 s.
* **fan-out / fan-in**: a flow file with one exec task whose grid gives ``--instances`` (200)
  instances of ``python -c pass``, then one ``single_mode`` task (``python -c pass`` once, after
  all of them: the fan-in), run as ``hw flow run --file flow.yaml --wait --json`` against a real
  ``hw server`` on a temporary home (SQLite, the local executor, two slots of the default compute
  template), timed as a whole command. Beside it, in the same rounds and the same way:

  - the plain experiments: ``hw run --param i=1..200 --wait --json -- python -c pass``;
  - Metaflow: ``foreach`` over 200 items, each step running the process, then a ``join`` step
    that runs it once more (``python flow.py run --max-workers 2``, local metadata and datastore);
  - Prefect: ``run_one.map(range(200))`` running the process on ``ThreadPoolTaskRunner(2)``, then
    one fan-in task over their results that runs it once more (temporary local server, SQLite);
  - the floor: the same 200 processes from a bare pool of two (``ThreadPoolExecutor(2)`` +
    ``subprocess.run``), run right before each tool.

  Every task runs the same interpreter (``.venv/bin/python``, what ``python`` is in a ``hw``
  task). Each tool does one untimed warm-up of 2 items first; then ``--repeat`` rounds; medians.
  Target: the per-task overhead of a flow task, (wall - floor) / 200, within 2x of a plain
  experiment's, both against the median floor. The flow's rounds run with ``--no-cache``.
* **cached re-run** (issue 17): after the rounds, the same ``hw flow run --file ... --wait
  --json`` with the step cache on, ``--repeat`` times: every instance a hit, nothing launched.
  Target: under 1 s from ``hw flow run`` to ``success``.

The server, the peers' installs (own venvs under ``~/.cache/headwater-bench``) and the helpers
come from ``engine.py``, whose harness this reuses. ``--profile-dir DIR`` (needs py-spy) runs one
more flow, not reported in the table, with py-spy sampling the server and the local worker, and
writes their raw stacks and a summary of the hottest frames. The markdown table and the target
checks are printed and written with the machine facts to ``benchmarks/results/flows-<date>.json``.
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
from pathlib import Path
from typing import Any

import flows_expand
from engine import (
    HW,
    PEERS,
    REPO,
    TASK_PYTHON,
    Headwater,
    Peers,
    Window,
    X,
    floor_once,
    loadavg,
    log,
    median,
    peer_python,
    tail,
    ts,
    verdict,
)
from harness.machine import machine_info
from harness.profile import top_frames

TARGET = {
    "expand_10000_s": 1.0,
    "flow_task_overhead_x_experiment": 2.0,
    "cached_rerun_s": 1.0,  # issue 17: every task a step-cache hit, `hw flow run` to success
}
TOOLS = ("headwater-flow", "headwater-experiments", "metaflow", "prefect")
LABEL = {
    "headwater-flow": "Headwater flow (`hw flow run --wait`)",
    "headwater-experiments": "Headwater experiments (`hw run --param i=1..N --wait`)",
    "metaflow": "Metaflow `foreach` + join",
    "prefect": "Prefect `map` + fan-in task",
    "floor": "floor: bare pool of 2",
}

# ----------------------------------------------------------------------------- scripts

FLOW_YAML = """\
# Benchmark: {n} instances of a trivial command, then one fan-in task after all of them.
flow: bench fan-out {n}
tasks:
  - title: Fan out
    type: exec
    input: python -c pass
    computes: [default]
    params:
      - key: i
        value: [{values}]
  - title: Fan in
    type: exec
    input: python -c pass
    computes: [default]
    single_mode: true
relations:
  - from: Fan out
    to: Fan in
"""

METAFLOW_FLOW = """\
import os
import subprocess
import sys
import time

from metaflow import FlowSpec, step

PY = os.environ.get("BENCH_TASK_PYTHON", sys.executable)
N = int(os.environ.get("BENCH_N", "200"))
# `run --max-num-splits` (default 100), through Click's environment prefix: a foreach over more
os.environ.setdefault("METAFLOW_RUN_MAX_NUM_SPLITS", str(max(100, N)))


class FanFlow(FlowSpec):
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
        subprocess.run([PY, "-c", "pass"], check=True)
        self.next(self.end)

    @step
    def end(self):
        print(f"BENCH_T1 {time.time():.6f}")


if __name__ == "__main__":
    FanFlow()
"""

PREFECT_FLOW = """\
import os
import subprocess
import sys
import time

from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner

PY = os.environ.get("BENCH_TASK_PYTHON", sys.executable)
N = int(os.environ.get("BENCH_N", "200"))


@task
def run_one(i: int) -> int:
    subprocess.run([PY, "-c", "pass"], check=True)
    return i


@task
def fan_in(done: list[int]) -> int:
    subprocess.run([PY, "-c", "pass"], check=True)
    return len(done)


@flow(task_runner=ThreadPoolTaskRunner(max_workers=2))
def fan() -> None:
    print(f"BENCH_T0 {time.time():.6f}", flush=True)
    done = run_one.map(range(N)).result()
    assert fan_in(done) == N
    print(f"BENCH_T1 {time.time():.6f}", flush=True)


if __name__ == "__main__":
    fan()
"""

# ----------------------------------------------------------------------------- expansion


def bench_expand(repeat: int) -> dict[str, Any]:
    """flows_expand.py's shapes, timed by its own ``run_once`` (parse + expand_all)."""
    shapes: dict[str, Any] = {}
    for name, build in (
        ("own grid", flows_expand.own_grid),
        ("routes", flows_expand.routes),
        ("dynamic", flows_expand.dynamic),
    ):
        text, tags = build()
        flows_expand.run_once(text, tags)  # warm-up: imports, caches
        times = [flows_expand.run_once(text, tags) for _ in range(repeat)]
        shapes[name] = {
            "instances": 10_000,
            "median_s": round(statistics.median(times), 4),
            "worst_s": round(max(times), 4),
            "runs_s": [round(t, 4) for t in times],
        }
        log(f"  expand {name:<9} median {shapes[name]['median_s']:.3f} s, worst "
            f"{shapes[name]['worst_s']:.3f} s")  # fmt: skip
    return {"repeat": repeat, "shapes": shapes}


# ----------------------------------------------------------------------------- Headwater flows


def _p50(values: list[float]) -> float | None:
    return round(sorted(values)[len(values) // 2], 3) if values else None


def slot_gaps(started: list[float], ended: list[float], slots: int = 2) -> list[float]:
    """With ``slots`` slots the k-th start waits for the (k-slots)-th end: the engine's time
    between one task ending and the next starting in the slot it freed."""
    s, e = sorted(started), sorted(ended)
    return sorted(s[k] - e[k - slots] for k in range(slots, len(s)))


class FlowBench:
    """The flow file in the linked folder of engine.py's ``Headwater``, run and dissected."""

    def __init__(self, hw: Headwater) -> None:
        self.hw = hw

    def write(self, n: int) -> Path:
        """The file, written once: rewriting it would make the next `hw run` sync it again."""
        path = self.hw.folder / f"flow-{n}.yaml"
        text = FLOW_YAML.format(n=n, values=", ".join(str(i) for i in range(1, n + 1)))
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        return path

    def instances(self, number: int, task: str) -> list[dict[str, Any]]:
        """Every instance of one task of a run, page by page (500 a page)."""
        items: list[dict[str, Any]] = []
        while True:
            page = self.hw.get(
                f"/flow-runs/{number}/instances", task=task, offset=len(items), limit=500
            )
            items += page["items"]
            if not page["items"] or len(items) >= page["total"]:
                return items

    def run(self, n: int) -> dict[str, Any]:
        """One timed run of every task (``--no-cache``: the step cache would serve them)."""
        path = self.write(n)
        cmd = ["flow", "run", "--file", path.name, "--no-cache", "--wait", "--json"]
        log_at = self.hw.log_path.stat().st_size
        t0, clock0 = time.perf_counter(), time.time()
        proc = subprocess.run(
            [str(HW), *cmd], cwd=self.hw.folder, env=self.hw.env, capture_output=True,
            text=True, timeout=600,
        )  # fmt: skip
        wall, clock1 = time.perf_counter() - t0, time.time()
        if proc.returncode != 0:
            raise RuntimeError(
                f"`hw {' '.join(cmd)}` exited {proc.returncode}\nstdout: {tail(proc.stdout)}\n"
                f"stderr: {tail(proc.stderr)}"
            )
        run = json.loads(proc.stdout)
        # an inspected run lists each task's first instances only: page them all
        out_i, in_i = (
            self.instances(run["number"], "Fan out"),
            self.instances(run["number"], "Fan in"),
        )
        states = {i["status"] for i in out_i + in_i}
        ok = run["status"] == "success" and states == {"success"}
        if not ok or len(out_i) != n or len(in_i) != 1:
            raise RuntimeError(
                f"run {run['status']}: {len(out_i)} fan-out and {len(in_i)} fan-in instances, "
                f"states {sorted(states)}"
            )
        created = ts(run["created_at"]) or 0.0
        started = [ts(i["started_at"]) or 0.0 for i in out_i]
        ended = [ts(i["finished_at"]) or 0.0 for i in out_i]
        fan_in_start = ts(in_i[0]["started_at"]) or 0.0
        fan_in_end = ts(in_i[0]["finished_at"]) or 0.0
        inst_created = [ts(i["created_at"]) or 0.0 for i in out_i]
        run_ended = ts(run["ended_at"]) or fan_in_end
        gaps = slot_gaps(started, ended)
        runs = [b - a for a, b in zip(started, ended, strict=True)]
        return {
            "seconds": round(wall, 3),
            "run": run["number"],
            # the server's own timestamps: the run created to the run ended (Prefect's and
            # Metaflow's in-flow time is their flow function's first line to its last)
            "in_flow_s": round(run_ended - created, 3),
            "cli_start_to_run_created_s": round(created - clock0, 3),
            "run_created_to_instances_created_s": round(max(inst_created) - created, 3),
            "run_created_to_first_start_s": round(min(started) - created, 3),
            "fan_out_first_start_to_last_end_s": round(max(ended) - min(started), 3),
            "fan_out_last_end_to_fan_in_start_s": round(fan_in_start - max(ended), 3),
            "fan_in_run_s": round(fan_in_end - fan_in_start, 3),
            "fan_in_end_to_run_ended_s": round(run_ended - fan_in_end, 3),
            "run_ended_to_cli_exit_s": round(clock1 - run_ended, 3),
            "slot_idle_between_tasks_p50_s": _p50(gaps),
            "task_started_to_ended_p50_s": _p50(runs),
            "http_requests": self.hw.requests_since(log_at),
        }


def run_cached(fb: FlowBench, n: int) -> dict[str, Any]:
    """The same flow again with the step cache on (issue 17): every instance an earlier run's
    result, nothing launched; timed from `hw flow run` to the run's `success`."""
    path = fb.write(n)
    cmd = [str(HW), "flow", "run", "--file", path.name, "--wait", "--json"]
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=fb.hw.folder, env=fb.hw.env, capture_output=True, text=True, timeout=600
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"`hw flow run` exited {proc.returncode}: {tail(proc.stderr)}")
    run = json.loads(proc.stdout)
    instances = [i for t in run["tasks"] for i in t["instances"]]
    hits = sum(bool((i.get("cache") or {}).get("hit")) for i in instances)
    if run["status"] != "success" or hits != len(instances):
        raise RuntimeError(f"run {run['status']}: {hits} of {len(instances)} cached")
    return {"seconds": round(wall, 3), "run": run["number"], "cached": hits}


def profile_flow(hw: Headwater, fb: FlowBench, n: int, out: Path, spy: str) -> dict[str, Any]:
    """One more flow run with py-spy on the server and the local worker (GIL holders, 100 Hz)."""
    out.mkdir(parents=True, exist_ok=True)
    pids = hw.pids()
    targets = {"server": pids["server"][:1], "worker": pids["worker"][:1]}
    procs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    for name, pid in targets.items():
        if not pid:
            continue
        raw = out / f"flows-{name}.raw"
        cmd = [spy, "record", "--pid", str(pid[0]), "--rate", "100", "--nonblocking", "--gil",
               "--format", "raw", "--output", str(raw)]  # fmt: skip
        procs[name] = (
            subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE),
            raw,
        )
    time.sleep(1.0)  # py-spy attaches
    try:
        got = fb.run(n)
    finally:
        for proc, _ in procs.values():
            proc.send_signal(signal.SIGINT)  # py-spy writes what it has on Ctrl-C
        for proc, _ in procs.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    summary: dict[str, Any] = {"run": got}
    for name, (proc, raw) in procs.items():
        if raw.exists():
            summary[name] = top_frames(raw, prefix="headwater")
        else:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            summary[name] = {"error": f"py-spy wrote nothing: {err[-500:]}"}
    (out / "flows-profile.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


# ----------------------------------------------------------------------------- report


def overhead(wall: float | None, floor: float | None, n: int) -> float | None:
    return round(1000 * (wall - floor) / n, 2) if wall is not None and floor else None


def table(res: dict[str, Any]) -> str:
    lines: list[str] = []
    e = res.get("expand")
    if e:
        lines += [
            "| expansion: 10,000 instances of one task (parse + `expand_all`) | median s | "
            f"worst s (of {e['repeat']}) |",
            "| --- | ---: | ---: |",
        ]
        for name, s in e["shapes"].items():
            lines.append(f"| {name} | {s['median_s']:.3f} | {s['worst_s']:.3f} |")
        lines.append("")
    f = res.get("fanout")
    if f:
        n, floor = f["instances"], f.get("floor_median_s")
        lines += [
            f"| {n} trivial tasks, 2 slots (wall, median of {f['repeat']}) | wall s | "
            f"{X} floor | per-task overhead ms | in-flow s | server + worker CPU ms/task |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        lines.append(f"| {LABEL['floor']} | {floor:.2f} | 1.00 | 0 | | |" if floor else "| - |")
        for tool in TOOLS:
            s = f.get(f"{tool}_median_s")
            if s is None:
                note = res["notes"].get(tool, "not measured")
                lines.append(f"| {LABEL[tool]} | {note} | | | | |")
                continue
            got = f["runs"].get(tool, [])
            inflow = median([r["in_flow_s"] for r in got if r.get("in_flow_s")])
            cpus = [r["server_cpu_s"] + r["worker_cpu_s"] for r in got if "worker_cpu_s" in r]
            cpu = median(cpus)
            ver = res["versions"].get(tool, "")
            lines.append(
                f"| {LABEL[tool]}{' ' + ver if ver else ''} | {s:.2f} | {s / floor:.2f} | "
                f"{f[f'{tool}_overhead_ms_per_task']:.1f} | {inflow if inflow else ''} | "
                f"{f'{1000 * cpu / n:.0f}' if cpu is not None else ''} |"
            )
        lines.append("")
    c = res.get("cached_rerun")
    if c:
        lines += [
            f"| cached re-run of the {c['instances']}-task flow | median s | worst s "
            f"(of {len(c['runs'])}) |",
            "| --- | ---: | ---: |",
            f"| `hw flow run --wait`, every task a step-cache hit | {c['median_s']:.2f} | "
            f"{c['worst_s']:.2f} |",
            "",
        ]
    lines += ["| target | measured | verdict |", "| --- | --- | --- |"]
    for check in res.get("checks", []):
        lines.append(f"| {check['target']} | {check['measured']} | {verdict(check['ok'])} |")
    return "\n".join(lines)


def checks(res: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    e = res.get("expand")
    if e:
        worst = max(s["median_s"] for s in e["shapes"].values())
        slowest = max(s["worst_s"] for s in e["shapes"].values())
        out.append(
            {
                "target": "expanding 10,000 instances < 1 s",
                "measured": f"slowest shape {worst:.3f} s median, {slowest:.3f} s worst run",
                "ok": worst < TARGET["expand_10000_s"],
            }
        )
    f = res.get("fanout")
    if f:
        flow = f.get("headwater-flow_overhead_ms_per_task")
        exp = f.get("headwater-experiments_overhead_ms_per_task")
        ratio = round(flow / exp, 2) if flow is not None and exp else None
        f["flow_over_experiment_overhead"] = ratio
        out.append(
            {
                "target": f"flow task overhead ≤ 2{X} a plain experiment's",
                "measured": (
                    f"flow {flow:.1f} ms/task, experiment {exp:.1f} ms/task: {ratio:.2f}{X}"
                    if ratio is not None
                    else "not measured"
                ),
                "ok": ratio <= TARGET["flow_task_overhead_x_experiment"] if ratio else None,
            }
        )
    if f:
        hw_in = median([r["in_flow_s"] for r in f["runs"].get("headwater-flow", [])])
        pf_in = median([r["in_flow_s"] for r in f["runs"].get("prefect", []) if r.get("in_flow_s")])
        out.append(
            {
                "target": "the fan-out's in-flow time ≤ Prefect's (run created to ended)",
                "measured": (
                    f"Headwater {hw_in:.2f} s, Prefect {pf_in:.2f} s: {hw_in / pf_in:.2f}{X}"
                    if hw_in and pf_in
                    else "not measured"
                ),
                "ok": hw_in <= pf_in if hw_in and pf_in else None,
            }
        )
    c = res.get("cached_rerun")
    if c:
        out.append(
            {
                "target": f"cached re-run of the {c['instances']}-task flow < 1 s",
                "measured": f"{c['median_s']:.2f} s median, {c['worst_s']:.2f} s worst",
                "ok": c["median_s"] < TARGET["cached_rerun_s"],
            }
        )
    return out


# ----------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--instances", type=int, default=200, help="fan-out: tasks (200)")
    ap.add_argument("--repeat", type=int, default=3, help="fan-out: timed rounds (3)")
    ap.add_argument("--expand-repeat", type=int, default=5, help="expand: timed runs (5)")
    ap.add_argument("--only", default="expand,fanout", help="which benchmarks")
    ap.add_argument(
        "--skip", default="", help="tools not to run: metaflow,prefect,experiments,flow"
    )
    ap.add_argument("--quiet-wait", type=float, default=5, help="wait up to s for an idle machine")
    ap.add_argument("--profile-dir", type=Path, help="one more flow under py-spy; stacks here")
    ap.add_argument("--py-spy", default=shutil.which("py-spy") or "", help="py-spy binary")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (prints its path)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    only = set(args.only.split(","))
    skip = {s for s in args.skip.split(",") if s}
    started, t_start = dt.datetime.now(dt.UTC), time.perf_counter()
    res: dict[str, Any] = {"notes": {}, "versions": {}, "errors": {}}

    if "expand" in only:
        log(f"expand: 10,000 instances, {args.expand_repeat} runs per shape")
        res["expand"] = bench_expand(args.expand_repeat)

    if "fanout" not in only:
        return finish(res, started, t_start, args.out)

    pythons: dict[str, Path] = {}
    for name in ("metaflow", "prefect"):
        if name in skip:
            res["notes"][name] = "not measured: --skip"
            continue
        py, info, install_s = peer_python(PEERS[name], True)
        if py is None:
            res["notes"][name] = f"not measured: {info}"
        else:
            pythons[name] = py
            res["versions"][name] = info
            res["notes"][f"{name}_install_or_check_s"] = round(install_s, 1)
            res["notes"][f"{name}_requirements"] = list(PEERS[name].requirements)

    work = Path(tempfile.mkdtemp(prefix="hw-flows-bench-"))
    window = Window(args.quiet_wait)
    n = args.instances
    peers = Peers(work, pythons, n)
    (work / "metaflow" / "flow.py").write_text(METAFLOW_FLOW)  # engine.py's, with a fan-in
    (work / "prefect" / "flow.py").write_text(PREFECT_FLOW)
    hw = Headwater(work)
    fb = FlowBench(hw)
    res["loadavg_at_start"] = loadavg()
    log(f"work dir {work}; load {res['loadavg_at_start']}")

    def guard(part: str, fn: Any, *fargs: Any) -> dict[str, Any] | None:
        try:
            out: dict[str, Any] = fn(*fargs)
            return out
        except Exception as exc:  # recorded; the run goes on with the other parts
            msg = f"{type(exc).__name__}: {exc}"
            if part.startswith("headwater"):
                msg += f"\n--- server log tail ---\n{hw.server_log_tail()}"
            res["errors"].setdefault(part, []).append(msg)
            log(f"  {part} FAILED: {msg[:3000]}")
            return None

    try:
        hw_ok = guard("headwater setup", lambda: hw.start() or {}) is not None
        res["hw_server"] = {"url": hw.url, "project": hw.project} if hw_ok else {}
        run_of = {
            "headwater-flow": fb.run,
            "headwater-experiments": hw.dispatch,
            "metaflow": peers.metaflow,
            "prefect": peers.prefect,
        }
        tools = [
            t
            for t in TOOLS
            if (t.startswith("headwater") and hw_ok and t.split("-")[1] not in skip) or t in pythons
        ]
        if "experiments" in skip:
            res["notes"]["headwater-experiments"] = "not measured: --skip"
        if hw_ok:  # before the warm-ups, so that the first `hw run` syncs them untimed
            fb.write(2)
            fb.write(n)
        log(f"fan-out: {n} x python -c pass, two slots; warm-ups of 2 first")
        floor_once(4)
        for tool in tools:
            guard(f"{tool} warm-up", run_of[tool], 2)
        runs: dict[str, list[dict[str, Any]]] = {"floor": []}
        for rnd in range(args.repeat):
            for tool in tools:
                with window() as facts:
                    floor = floor_once(n)
                runs["floor"].append(dict(facts, seconds=round(floor, 3), before=tool))
                log(f"  round {rnd + 1} floor                 {floor:7.2f} s  {facts}")
                groups = hw.pids if tool.startswith("headwater") else None
                with window(groups) as facts:
                    got = guard(tool, run_of[tool], n)
                if got is not None:
                    got.update(facts, floor_before_s=round(floor, 3))
                    runs.setdefault(tool, []).append(got)
                    ratio = got["seconds"] / floor
                    log(f"  round {rnd + 1} {tool:21} {got['seconds']:7.2f} s  "
                        f"({ratio:.2f}x the floor just before) {facts}")  # fmt: skip
        f: dict[str, Any] = {"instances": n, "repeat": args.repeat, "runs": runs}
        f["floor_python"] = str(TASK_PYTHON)
        f["floor_median_s"] = median([r["seconds"] for r in runs["floor"]])
        for tool in TOOLS:
            s = median([r["seconds"] for r in runs.get(tool, [])])
            if s is not None:
                f[f"{tool}_median_s"] = s
                f[f"{tool}_x_floor"] = round(s / f["floor_median_s"], 2)
                f[f"{tool}_overhead_ms_per_task"] = overhead(s, f["floor_median_s"], n)
            elif tool in tools:
                res["notes"][tool] = "failed (see errors)"
        res["fanout"] = f
        if hw_ok and "flow" not in skip:  # the rounds above stored every task's result
            log(f"cached re-run: {n} tasks, every one a step-cache hit")
            cached = [guard("headwater cached", run_cached, fb, n) for _ in range(args.repeat)]
            walls = [c["seconds"] for c in cached if c]
            if walls:
                res["cached_rerun"] = {
                    "instances": n,
                    "runs": [c for c in cached if c],
                    "median_s": median(walls),
                    "worst_s": max(walls),
                }
        if args.profile_dir and hw_ok:
            if not args.py_spy:
                res["notes"]["profile"] = "py-spy not found (pip install py-spy): no profile"
            else:
                log("profile: one more flow under py-spy")
                got = guard("headwater profile", profile_flow, hw, fb, n, args.profile_dir,
                            args.py_spy)  # fmt: skip
                if got:
                    res["profile"] = {k: v for k, v in got.items() if k != "run"}
                    res["profile"]["run_seconds"] = got["run"]["seconds"]
    finally:
        hw.stop()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return finish(res, started, t_start, args.out)


def finish(res: dict[str, Any], started: dt.datetime, t_start: float, out_dir: Path) -> int:
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
        env=os.environ,
    )
    machine["headwater_imported_from"] = where.stdout.strip()
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        res["versions"]["headwater"] = version("headwater")
    res["checks"] = checks(res)
    res.update(
        {
            "date": started.isoformat(timespec="seconds"),
            "run_s": round(time.perf_counter() - t_start, 1),
            "machine": machine,
            "loadavg_at_end": loadavg(),
            "task_python": str(TASK_PYTHON),
            "targets": TARGET,
        }
    )
    if not res["errors"]:
        del res["errors"]
    out = table(res)
    res["table_markdown"] = out
    print()
    print(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"flows-{started.date().isoformat()}.json"
    path.write_text(json.dumps(res, indent=2) + "\n")
    shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    log(f"\nran {res['run_s']:.0f} s; wrote {shown}")
    return 1 if res.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
