"""The endpoint replica (``python -m headwater.serving``) against a bare uvicorn app, same function.

Issue 13's serving slice asks what the replica's own layer costs: requests/s and p50/p99 with
32 concurrent keep-alive clients over the Unix socket, against a bare ASGI callable under the
same uvicorn (uvloop, httptools) calling the same function inline: the floor. One server
process each. ``replica-inline`` is the replica's app with sync calls made on the event loop
instead of in its thread pool, the choice ``asgi.py`` explains.

The load generator is a raw HTTP/1.1 client on uvloop in this process (one connection per
client, closed loop), cheaper than httpx, so the server rather than the client is measured.
Targets run interleaved, ``--rounds`` times; the report gives each one's median round, and
the server's CPU time per request (from /proc), which a busy shared machine disturbs less.

    PYTHONPATH=src .venv/bin/python benchmarks/replica.py [--duration 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket as sockets
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).parent))
from harness.machine import machine_info, percentile

WORKLOADS = {
    # the function of the seed's example: hand the input back
    "trivial": "def predict(x):\n    return {'echo': x}\n",
    # about 1 ms of pure-Python work under the GIL: where a thread hop costs least, relatively
    "cpu-1ms": "def predict(x):\n    return sum(i * i for i in range(20_000)) + len(x)\n",
}

FLOOR = textwrap.dedent(
    """
    import json
    from predict import predict


    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        out = json.dumps({"prediction": predict(json.loads(body)["input_params"])}).encode()
        length = str(len(out)).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", length)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": out})
    """
)

INLINE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from predict import predict
    from headwater.serving import ReplicaApp
    from headwater.serving.process import serve

    sys.exit(serve(ReplicaApp(predict, sync_calls="inline"), socket_path=Path(sys.argv[1])))
    """
)


def commands(socket: Path) -> dict[str, list[str]]:
    py = sys.executable
    uvicorn = [py, "-m", "uvicorn", "floor_app:app", "--uds", str(socket), "--loop", "uvloop"]
    uvicorn += ["--http", "httptools", "--no-access-log", "--log-level", "warning"]
    uvicorn += ["--lifespan", "off", "--no-server-header", "--no-date-header"]
    replica = [py, "-m", "headwater.serving", "--file", "predict.py"]
    return {
        "floor": uvicorn,
        "replica": [*replica, "--function", "predict", "--socket", str(socket)],
        "replica-inline": [py, "inline_replica.py", str(socket)],
    }


@dataclass
class Round:
    target: str
    workload: str
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float
    server_cpu_ms_per_request: float


_LENGTH = re.compile(rb"content-length: *(\d+)", re.IGNORECASE)


async def _load(
    socket: Path, clients: int, warmup: float, duration: float
) -> tuple[list[float], int]:
    body = json.dumps({"input_params": "a short input"}).encode()
    request = (
        b"POST /predict HTTP/1.1\r\nHost: replica\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    latencies: list[float] = []
    errors = 0
    measure_from = time.perf_counter() + warmup
    stop_at = measure_from + duration

    async def client() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_unix_connection(str(socket))
        while (t0 := time.perf_counter()) < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            match = _LENGTH.search(head)
            await reader.readexactly(int(match.group(1)) if match else 0)
            if t0 >= measure_from:
                latencies.append(time.perf_counter() - t0)
                errors += head[9:12] != b"200"
        writer.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, errors


def _accepts(path: Path) -> bool:
    with sockets.socket(sockets.AF_UNIX) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
        return True


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(target: str, workload: str, folder: Path, args: argparse.Namespace) -> Round:
    socket = folder / f"{target}.sock"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.Popen(commands(socket)[target], cwd=folder, env=env)
    try:
        deadline = time.monotonic() + 30
        while not _accepts(socket):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{target} did not start")
            time.sleep(0.05)
        cpu_before = _cpu_seconds(process.pid)
        latencies, errors = uvloop.run(_load(socket, args.clients, args.warmup, args.duration))
        cpu = _cpu_seconds(process.pid) - cpu_before
    finally:
        process.terminate()
        process.wait(timeout=30)
    latencies.sort()
    return Round(
        target=target,
        workload=workload,
        requests=len(latencies),
        errors=errors,
        rps=len(latencies) / args.duration,
        p50_ms=1000 * percentile(latencies, 50),
        p99_ms=1000 * percentile(latencies, 99),
        # CPU over warm-up and window together, per request of the window: a relative measure
        server_cpu_ms_per_request=1000
        * cpu
        / max(1, len(latencies))
        * args.duration
        / (args.duration + args.warmup),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--targets", default="floor,replica,replica-inline")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--out", type=Path, default=None, help="write the JSON results here")
    args = parser.parse_args()
    targets, workloads = args.targets.split(","), args.workloads.split(",")
    rounds: list[Round] = []
    with tempfile.TemporaryDirectory(prefix="hwbench-") as tmp:
        folder = Path(tmp)
        (folder / "floor_app.py").write_text(FLOOR)
        (folder / "inline_replica.py").write_text(INLINE)
        for workload in workloads:
            (folder / "predict.py").write_text(WORKLOADS[workload])
            for _ in range(args.rounds):
                for target in targets:
                    rounds.append(measure(target, workload, folder, args))
                    print(json.dumps(asdict(rounds[-1])), flush=True)
    summary = {}
    for workload in workloads:
        for target in targets:
            mine = [r for r in rounds if r.target == target and r.workload == workload]
            middle = sorted(mine, key=lambda r: r.rps)[len(mine) // 2]
            summary[f"{workload}/{target}"] = {
                **asdict(middle),
                "cpu_ms_median": statistics.median(r.server_cpu_ms_per_request for r in mine),
            }
    print("\n| workload | target | req/s | p50 ms | p99 ms | server CPU ms/req |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in summary.values():
        print(
            f"| {row['workload']} | {row['target']} | {row['rps']:.0f} | {row['p50_ms']:.2f} "
            f"| {row['p99_ms']:.2f} | {row['cpu_ms_median']:.3f} |"
        )
    if args.out:
        report = {
            "machine": machine_info(Path(__file__).parents[1]),
            "args": {k: str(v) for k, v in vars(args).items()},
            "rounds": [asdict(r) for r in rounds],
            "summary": summary,
        }
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
