"""Two closed-loop load generators over the same request plans, and an optional profile.

A *plan* is, per client (per connection), the list of ``(path, bearer token)`` pairs it sends
in turn. Each client sends its next request as soon as the last answer is in, for a warm-up and
then for the measured window; every loop ends by itself when its time is up.

* ``run_python``: asyncio + one keep-alive ``httpx.AsyncClient`` per client, in this process.
  Realistic for Python callers, but the client is expensive and shares the machine's cores.
* ``run_wrk``: wrk (C) with a generated Lua script; costs little, so it shows what the server
  can do. Its percentiles come from wrk's own latency histogram.
* ``run_wrk_post``: wrk sending one fixed POST (body and headers) on every connection: the
  serving benchmark's load, the same for every target.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness.machine import Meter, percentile
from harness.services import Server

Plan = list[tuple[str, str]]  # (path, token) pairs one client cycles over


@dataclass
class Measurement:
    loadgen: str
    clients: int
    duration_s: float
    requests: int
    errors: int  # non-200 answers and failed requests
    rps: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    notes: dict[str, Any] = field(default_factory=dict)


# -- Python: asyncio + httpx ---------------------------------------------------------------------


async def _python_load(
    base_url: str, plans: list[Plan], warmup: float, duration: float, meter: Meter | None
) -> tuple[list[float], int, float]:
    """Latencies (s) and errors of requests *started* in the window, and the window (s)."""
    latencies: list[float] = []
    errors = 0
    measure_from = time.perf_counter() + warmup
    stop_at = measure_from + duration
    last_done = measure_from

    async def client(plan: Plan, offset: int) -> None:
        nonlocal errors, last_done
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as http:
            i = offset
            while (t0 := time.perf_counter()) < stop_at:
                path, token = plan[i % len(plan)]
                i += 1
                try:
                    answer = await http.get(path, headers={"Authorization": f"Bearer {token}"})
                    ok = answer.status_code == 200
                except httpx.HTTPError:
                    ok = False
                t1 = time.perf_counter()
                if t0 >= measure_from:
                    latencies.append(t1 - t0)
                    errors += not ok
                    last_done = max(last_done, t1)

    async def metering() -> None:
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        if meter is not None:
            meter.mark()

    await asyncio.gather(metering(), *(client(p, n * 13) for n, p in enumerate(plans)))
    if meter is not None:
        meter.mark()
    return latencies, errors, last_done - measure_from


def run_python(
    base_url: str, plans: list[Plan], warmup: float, duration: float, meter: Meter | None = None
) -> Measurement:
    runner: Callable[[Coroutine[Any, Any, Any]], Any] = asyncio.run
    with contextlib.suppress(ImportError):
        import uvloop

        runner = uvloop.run  # the cheaper loop, so the client costs what it must and no more
    lat, errors, window = runner(_python_load(base_url, plans, warmup, duration, meter))
    lat.sort()
    n = len(lat)
    return Measurement(
        loadgen="python-httpx",
        clients=len(plans),
        duration_s=round(window, 2),
        requests=n,
        errors=errors,
        rps=round(n / window, 1) if window > 0 else 0.0,
        p50_ms=round(percentile(lat, 50) * 1000, 2),
        p99_ms=round(percentile(lat, 99) * 1000, 2),
        mean_ms=round(statistics.fmean(lat) * 1000, 2) if lat else float("nan"),
        max_ms=round(lat[-1] * 1000, 2) if lat else float("nan"),
        notes=meter.summary(n) if meter else {},
    )


# -- wrk -----------------------------------------------------------------------------------------

WRK_LUA = r"""
local reqs = {
%(pairs)s
}
local counter = 0
local nthreads = 0
function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
end
function init(args)
  counter = (tid or 0) * 7919
end
function request()
  counter = counter + 1
  local r = reqs[(counter %% #reqs) + 1]
  return wrk.format("GET", r[1], {["Authorization"] = "Bearer " .. r[2]})
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\"requests\": %%d, \"duration_us\": %%d, \"p50_us\": %%d, \"p99_us\": %%d, " ..
    "\"mean_us\": %%f, \"max_us\": %%d, \"connect\": %%d, \"read\": %%d, \"write\": %%d, " ..
    "\"status\": %%d, \"timeout\": %%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def write_wrk_script(plans: list[Plan], path: Path) -> None:
    """The clients' plans interleaved, so every wrk connection sends the same mix."""
    pairs: list[tuple[str, str]] = []
    for i in range(max(len(p) for p in plans)):
        pairs += [p[i % len(p)] for p in plans]
        if len(pairs) >= 20_000:
            break
    body = ",\n".join(f'  {{"{path}", "{token}"}}' for path, token in pairs)
    path.write_text(WRK_LUA % {"pairs": body})


def run_wrk(
    base_url: str,
    plans: list[Plan],
    warmup: float,
    duration: float,
    scratch: Path,
    threads: int = 1,
    meter: Meter | None = None,
) -> Measurement:
    """wrk with one connection per client; a separate warm-up run first."""
    script = scratch / "wrk-plan.lua"
    write_wrk_script(plans, script)
    common = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(len(plans)),
        "--timeout",
        "10s",
        "-s",
        str(script),
    ]

    def wrk(seconds: float) -> dict[str, Any]:
        out = subprocess.run(
            [*common, "-d", f"{max(1, round(seconds))}s", base_url],
            check=True,
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        ).stdout
        line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
        return dict(json.loads(line.removeprefix("WRKJSON ")))

    if warmup > 0:
        wrk(warmup)
    if meter is not None:
        meter.mark()
    s = wrk(duration)
    if meter is not None:
        meter.mark()
    window = s["duration_us"] / 1e6
    errors = s["status"] + s["connect"] + s["read"] + s["write"] + s["timeout"]
    return Measurement(
        loadgen="wrk",
        clients=len(plans),
        duration_s=round(window, 2),
        requests=s["requests"],
        errors=errors,
        rps=round(s["requests"] / window, 1),
        p50_ms=round(s["p50_us"] / 1000, 2),
        p99_ms=round(s["p99_us"] / 1000, 2),
        mean_ms=round(s["mean_us"] / 1000, 2),
        max_ms=round(s["max_us"] / 1000, 2),
        notes={"wrk_threads": threads, **(meter.summary(s["requests"]) if meter else {})},
    )


# -- py-spy: where the server's time goes, in an extra run that is not reported ------------------


def profile_run(server: Server, out: Path, drive: Callable[[], object], seconds: float) -> bool:
    """Sample the (first) worker with py-spy while ``drive()`` loads it; raw folded stacks.

    Only the thread holding the GIL is sampled (``--gil``): the server is GIL-bound, so that is
    where its core goes. Time in SQLite or a socket call that released the GIL does not show.
    """
    spy = shutil.which("py-spy")
    if spy is None:
        print("py-spy is not installed (pip install py-spy): no profile", file=sys.stderr)
        return False
    cmd = [
        spy,
        "record",
        "--pid",
        str(server.worker_pids()[0]),
        "--duration",
        str(round(seconds)),
        "--rate",
        "250",
        "--nonblocking",
        "--gil",
        "--format",
        "raw",
        "--output",
        str(out),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        drive()
    finally:
        try:
            proc.wait(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return out.exists()


# -- wrk with one fixed POST: the serving benchmark's load --------------------------------------

WRK_POST_LUA = r"""
wrk.method = "POST"
wrk.body = %(body)s
%(headers)s
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\"requests\": %%d, \"duration_us\": %%d, \"p50_us\": %%d, \"p90_us\": %%d, " ..
    "\"p99_us\": %%d, \"mean_us\": %%f, \"max_us\": %%d, \"connect\": %%d, \"read\": %%d, " ..
    "\"write\": %%d, \"status\": %%d, \"timeout\": %%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max, e.connect, e.read, e.write, e.status,
    e.timeout))
end
"""


def _lua_string(text: str) -> str:
    """A Lua long string holding ``text`` exactly (no escapes to get wrong)."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    eq = "=" * level
    return f"[{eq}[{text}]{eq}]"


def run_wrk_post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    clients: int,
    warmup: float,
    duration: float,
    scratch: Path,
    meter: Meter | None = None,
) -> Measurement:
    """``clients`` keep-alive connections on one wrk thread, each POSTing ``body`` to ``url``
    again as soon as its answer is in; a separate warm-up run first.

    No per-request Lua (wrk builds the request once), so the generator costs as little as it
    can. Every answer of 400 or more counts as an error (wrk's ``status`` errors), as do socket
    errors and timeouts. Percentiles are wrk's own (microsecond histogram of every request).
    """
    script = scratch / "wrk-post.lua"
    lines = "\n".join(
        f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()
    )
    script.write_text(WRK_POST_LUA % {"body": _lua_string(body.decode()), "headers": lines})
    common = ["wrk", "-t", "1", "-c", str(clients), "--timeout", "10s", "-s", str(script)]

    def wrk(seconds: float) -> dict[str, Any]:
        out = subprocess.run(
            [*common, "-d", f"{max(1, round(seconds))}s", url],
            check=True,
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
        line = next((x for x in out.stdout.splitlines() if x.startswith("WRKJSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk printed no summary: {out.stdout[-500:]} {out.stderr[-500:]}")
        return dict(json.loads(line.removeprefix("WRKJSON ")))

    if warmup > 0:
        wrk(warmup)
    if meter is not None:
        meter.mark()
    s = wrk(duration)
    if meter is not None:
        meter.mark()
    window = s["duration_us"] / 1e6
    errors = s["status"] + s["connect"] + s["read"] + s["write"] + s["timeout"]
    return Measurement(
        loadgen="wrk",
        clients=clients,
        duration_s=round(window, 2),
        requests=s["requests"],
        errors=errors,
        rps=round(s["requests"] / window, 1),
        p50_ms=round(s["p50_us"] / 1000, 3),
        p99_ms=round(s["p99_us"] / 1000, 3),
        mean_ms=round(s["mean_us"] / 1000, 3),
        max_ms=round(s["max_us"] / 1000, 2),
        notes={
            "p90_ms": round(s["p90_us"] / 1000, 3),
            "error_kinds": {k: s[k] for k in ("status", "connect", "read", "write", "timeout")},
            **(meter.summary(s["requests"]) if meter else {}),
        },
    )
