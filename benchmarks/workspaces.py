"""Workspaces (issue 15): time from start to JupyterLab answering through the proxy, and what
the proxy adds per request.

A real ``hw server`` on a throwaway home (sandbox on, its local worker). Start: ``POST
.../workspaces`` then ``GET /workspaces/<id>/api/status`` through the proxy every 20 ms until
it answers 200; ``--starts`` times, each stopped (discarded) before the next, so the first is
the cold one (worker and interpreter caches cold) and the rest are warm. Overhead: the same
request sequentially over one kept-alive connection, through the proxy (TCP, login checked,
token added) and straight to JupyterLab's Unix socket with its token (httpx both), interleaved
in rounds; p50 and p99 of each, for a small JSON answer (``/api/status``) and a 1 MiB file
(``/api/contents``).

    PYTHONPATH=src .venv/bin/python benchmarks/workspaces.py [--starts 4] [--requests 300]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))
from harness.machine import machine_info, percentile  # noqa: E402
from tests.support.liveserver import running_server  # noqa: E402

from headwater.db.cipher import SecretBox  # noqa: E402
from headwater.db.database import Database, sqlite_url  # noqa: E402
from headwater.db.repos.workspaces import WorkspaceRepo  # noqa: E402


def wait_running(http: httpx.Client, base: str, workspace_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        shown = http.get(f"{base}/workspaces/{workspace_id}").json()
        if shown["state"] == "running":
            return dict(shown)
        if shown["state"] in ("failed", "stopped"):
            raise SystemExit(f"workspace ended: {shown}")
        time.sleep(0.05)
    raise SystemExit("workspace never ran")


def time_start(http: httpx.Client, base: str) -> tuple[float, dict[str, Any]]:
    began = time.perf_counter()
    made = http.post(f"{base}/workspaces", json={"name": f"b{uuid.uuid4().hex[:6]}"})
    made.raise_for_status()
    workspace = made.json()
    while True:
        answer = http.get(f"/workspaces/{workspace['id']}/api/status")
        if answer.status_code == 200:
            return time.perf_counter() - began, workspace
        time.sleep(0.02)


def timed(client: httpx.Client, url: str, headers: dict[str, str], n: int) -> list[float]:
    out = []
    for _ in range(n):
        began = time.perf_counter()
        answer = client.get(url, headers=headers)
        answer.read()
        out.append(time.perf_counter() - began)
        assert answer.status_code == 200, answer.text[:200]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=4)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hw-wsb-", dir="/tmp"))
    report: dict[str, Any] = {"machine": machine_info(ROOT)}
    with running_server(tmp / "home", tmp / "server.log", "--log-level", "warning") as server:
        admin = {"Authorization": f"Bearer {server.admin_token}"}
        with httpx.Client(base_url=server.url, headers=admin, timeout=120) as http:
            pid = http.post("/api/v1/projects", json={"name": "bench"}).json()["id"]
            tiny = {"name": "tiny", "cpus": 0.1, "memory_mb": 64}
            http.post("/api/v1/compute", json=tiny).raise_for_status()
            http.patch(
                f"/api/v1/projects/{pid}/settings", json={"compute": ["tiny"]}
            ).raise_for_status()
            base = f"/api/v1/projects/{pid}"
            starts = []
            workspace: dict[str, Any] = {}
            for i in range(args.starts):
                seconds, workspace = time_start(http, base)
                starts.append(seconds)
                print(f"start {i + 1}: {seconds:.2f} s", flush=True)
                if i < args.starts - 1:
                    stop = f"{base}/workspaces/{workspace['id']}/stop"
                    http.post(stop, json={"discard": True}).raise_for_status()
            report["start_seconds"] = {"cold": starts[0], "warm": starts[1:]}
            if len(starts) > 1:
                report["start_seconds"]["warm_median"] = statistics.median(starts[1:])
            shown = wait_running(http, base, workspace["id"])
            big = {"type": "file", "format": "text", "content": "x" * (1 << 20)}
            wid = shown["id"]
            http.put(f"/workspaces/{wid}/api/contents/big.txt", json=big).raise_for_status()
        db = Database(sqlite_url(tmp / "home"))
        with db.read() as session:
            repo = WorkspaceRepo(session)
            address = repo.get(None, wid).address or ""
            box = SecretBox((tmp / "home" / "secret.key").read_text().strip())
            token = box.open(repo.sealed_token(wid))
        db.dispose()
        sock = address.removeprefix("unix:")
        paths = {"status": "api/status", "file-1MiB": "api/contents/big.txt?content=1"}
        results: dict[str, dict[str, list[float]]] = {k: {"proxy": [], "direct": []} for k in paths}
        with (
            httpx.Client(base_url=server.url, timeout=60) as proxied,
            httpx.Client(transport=httpx.HTTPTransport(uds=sock), timeout=60) as direct,
        ):
            for _ in range(args.rounds):
                for name, path in paths.items():
                    results[name]["proxy"] += timed(
                        proxied, f"/workspaces/{wid}/{path}", admin, args.requests
                    )
                    results[name]["direct"] += timed(
                        direct,
                        f"http://workspace/workspaces/{wid}/{path}",
                        {"Authorization": f"token {token}"},
                        args.requests,
                    )
        summary = {}
        for name, by in results.items():
            row = {}
            for how, samples in by.items():
                ordered = sorted(samples)
                row[how] = {
                    "p50_ms": round(percentile(ordered, 50) * 1000, 2),
                    "p99_ms": round(percentile(ordered, 99) * 1000, 2),
                }
            row["overhead_p50_ms"] = round(row["proxy"]["p50_ms"] - row["direct"]["p50_ms"], 2)
            summary[name] = row
        report["per_request"] = summary
    print(json.dumps(report, indent=2))
    out = Path(__file__).parent / "results" / "workspaces-2026-12-07.json"
    out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
