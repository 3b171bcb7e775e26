"""API benchmark: project list and show under concurrent clients, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/api.py [--db sqlite|postgres|both] [--clients 32] [--duration 10]

For each database: a fresh server home (and for PostgreSQL a throwaway cluster from the machine's
``initdb``/``pg_ctl``), the server under ``uvicorn --factory`` in its own process on a free
loopback port, 100 users and 1,000 projects seeded through the API, then three workloads, each
for a warm-up and a fixed measured window:

* ``list user``   GET /api/v1/projects?limit=100, each client as a different regular user
* ``list admin``  GET /api/v1/projects?limit=100 as ``admin``, who sees every project
* ``show``        GET /api/v1/projects/{id}, each client as a regular user, cycling over the
                  projects that user may see (owned, shared with them, public)

driven by two closed-loop load generators (Python/httpx and, when installed, wrk), with 1 and 2
uvicorn workers. Prints a markdown table and writes ``benchmarks/results/api-<date>.json``.
Everything listens on and talks to 127.0.0.1; every loop stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import json
import random
import shlex
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from harness.load import Measurement, Plan, profile_run, run_python, run_wrk, wrk_available
from harness.machine import Meter, machine_info, wait_quiet
from harness.profile import buckets
from harness.services import APP_FACTORY, Postgres, Server, postgres_cluster, running

API = "/api/v1"
HERE = Path(__file__).resolve().parent
ENDPOINTS = ("list user", "list admin", "show")
TARGET_DB, TARGET_ENDPOINT, TARGET_P99_MS, TARGET_RPS = "sqlite", "show", 50.0, 1000.0


# -- seeding through the API ---------------------------------------------------------------------


@dataclass
class Seed:
    admin_token: str
    user_tokens: list[str]
    visible: list[list[str]]  # per user: ids of the projects that user may see
    projects: int
    public: int
    memberships: int
    seconds: float


def project_spec(j: int) -> dict[str, Any]:
    return {
        "name": f"project-{j:04d}",
        "description": f"Benchmark project {j}: sample data, a model and some experiments.",
        "public": j % 5 == 0,  # 20% public
    }


async def seed(base_url: str, admin_token: str, users: int, projects: int) -> Seed:
    """Users, then projects spread over them (round robin), then shares: every third project
    gets one member with ``all`` on files and jobs, every sixth a second one with ``read``, and
    every ninth member may manage."""
    started = time.perf_counter()
    gate = asyncio.Semaphore(8)
    limits = httpx.Limits(max_connections=8)
    async with httpx.AsyncClient(base_url=base_url + API, limits=limits, timeout=60) as http:

        async def post(path: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
            async with gate:
                r = await http.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
            if r.status_code != 201:
                raise RuntimeError(f"seeding: POST {path} answered {r.status_code}: {r.text}")
            return dict(r.json())

        def user(u: int) -> dict[str, Any]:
            return {"username": f"user{u:03d}", "email": f"user{u:03d}@bench.local"}

        made = await asyncio.gather(*(post("/users", admin_token, user(u)) for u in range(users)))
        tokens = [m["token"] for m in made]
        visible: list[set[str]] = [{m["user"]["personal_project_id"]} for m in made]

        owners = [j % users for j in range(projects)]
        created = await asyncio.gather(
            *(post("/projects", tokens[owners[j]], project_spec(j)) for j in range(projects))
        )
        ids = [c["id"] for c in created]
        public = {ids[j] for j in range(projects) if project_spec(j)["public"]}
        shares: list[tuple[str, int, int, dict[str, Any]]] = []
        for j, pid in enumerate(ids):
            visible[owners[j]].add(pid)
            if j % 3:
                continue
            for k, step in enumerate((1, 7)[: 1 + (j % 2)]):
                member = (owners[j] + step) % users
                level = "all" if k == 0 else "read"
                body = {
                    "email": user(member)["email"],
                    "files": level,
                    "jobs": level,
                    "manage": j % 9 == 0,
                }
                shares.append((pid, owners[j], member, body))
        await asyncio.gather(
            *(post(f"/projects/{pid}/members", tokens[o], body) for pid, o, _, body in shares)
        )
        for pid, _, member, _ in shares:
            visible[member].add(pid)
    return Seed(
        admin_token=admin_token,
        user_tokens=tokens,
        visible=[sorted(v | public) for v in visible],
        projects=projects,
        public=len(public),
        memberships=len(shares),
        seconds=round(time.perf_counter() - started, 1),
    )


def plans_for(endpoint: str, data: Seed, clients: int) -> list[Plan]:
    """Per client, the (path, token) pairs it cycles over."""
    rng = random.Random(42)
    users = len(data.user_tokens)
    plans: list[Plan] = []
    for c in range(clients):
        u = (c * 37) % users  # clients spread over users
        if endpoint == "list user":
            plans.append([(f"{API}/projects?limit=100", data.user_tokens[u])])
        elif endpoint == "list admin":
            plans.append([(f"{API}/projects?limit=100", data.admin_token)])
        elif endpoint == "show":
            ids = list(data.visible[u])
            rng.shuffle(ids)
            plans.append([(f"{API}/projects/{pid}", data.user_tokens[u]) for pid in ids])
        else:
            raise ValueError(endpoint)
    return plans


# -- the runs ------------------------------------------------------------------------------------


@dataclass
class Row:
    db: str
    workers: int
    endpoint: str
    m: Measurement


def bench_database(
    db: str, pg: Postgres | None, args: argparse.Namespace, scratch: Path
) -> tuple[list[Row], dict[str, Any]]:
    home = scratch / f"home-{db}"
    home.mkdir()
    url = pg.url if pg else None
    rows: list[Row] = []
    profiles: dict[str, dict[str, float]] = {}
    # Seed through a one-worker server; its first start migrates and creates admin.
    with running(Server(home, url, 1, args.uvicorn_args)) as server:
        admin_token = (home / "admin.token").read_text().strip()
        data = asyncio.run(seed(server.base_url, admin_token, args.users, args.projects))
    info = {
        "users": args.users + 1,
        "projects": data.projects + args.users + 1,  # with each user's Personal project
        "public": data.public,
        "memberships": data.memberships,
        "visible_per_user": round(statistics.fmean(len(v) for v in data.visible), 1),
        "seed_seconds": data.seconds,
    }
    print(f"[{db}] seeded {info}", flush=True)
    for workers in args.workers:
        with running(Server(home, url, workers, args.uvicorn_args)) as server:
            for endpoint in args.endpoints:
                plans = plans_for(endpoint, data, args.clients)
                for loadgen in args.loadgen:
                    busy = wait_quiet(args.quiet_wait) if args.quiet_wait > 0 else None
                    meter = Meter(server.worker_pids(), pg.pids if pg else list)
                    if loadgen == "python":
                        m = run_python(server.base_url, plans, args.warmup, args.duration, meter)
                    else:
                        m = run_wrk(
                            server.base_url,
                            plans,
                            args.warmup,
                            args.duration,
                            scratch,
                            args.wrk_threads,
                            meter,
                        )
                    if busy is not None:
                        m.notes["busy_cores_before"] = busy
                    rows.append(Row(db, workers, endpoint, m))
                    print(
                        f"[{db}] {workers} worker(s) {m.loadgen:12} {endpoint:10} "
                        f"p50 {m.p50_ms:7.2f} ms  p99 {m.p99_ms:7.2f} ms  {m.rps:7.0f} req/s  "
                        f"errors {m.errors}  server {m.notes['server_cpu_ms_per_request']} "
                        f"ms CPU/req, others {m.notes['other_cores']} cores",
                        flush=True,
                    )
                if args.profile_dir and workers == 1 and wrk_available():
                    out = args.profile_dir / f"{db}-{endpoint.replace(' ', '-')}.txt"
                    drive = functools.partial(
                        run_wrk, server.base_url, plans, 0, args.duration, scratch
                    )
                    if profile_run(server, out, drive, args.duration):
                        profiles[endpoint] = buckets(out)
                        print(f"[{db}] profile of {endpoint!r} ({out}): {profiles[endpoint]}")
    if profiles:
        info["profile_percent_of_gil_samples"] = profiles
    return rows, info


def table(rows: list[Row]) -> str:
    lines = [
        "| database | workers | load generator | endpoint | p50 ms | p99 ms | req/s | errors "
        "| server CPU ms/req | server cores | load-gen cores | PostgreSQL cores | other cores |",
        "| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        m, n = r.m, r.m.notes
        db_cores = n.get("db_cores", "") if r.db == "postgres" else "n/a"
        lines.append(
            f"| {r.db} | {r.workers} | {m.loadgen} | {r.endpoint} | {m.p50_ms:.2f} "
            f"| {m.p99_ms:.2f} | {m.rps:,.0f} | {m.errors} "
            f"| {n.get('server_cpu_ms_per_request', '')} | {n.get('server_cores', '')} "
            f"| {n.get('loadgen_cores', '')} | {db_cores} | {n.get('other_cores', '')} |"
        )
    return "\n".join(lines)


def target_checks(rows: list[Row]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        if r.db == TARGET_DB and r.endpoint == TARGET_ENDPOINT:
            m = r.m
            met = m.p99_ms < TARGET_P99_MS and m.rps > TARGET_RPS and not m.errors
            out.append(
                {
                    "workers": r.workers,
                    "loadgen": m.loadgen,
                    "p99_ms": m.p99_ms,
                    "rps": m.rps,
                    "met": met,
                }
            )
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--clients", type=int, default=32, help="concurrent clients (wrk: connections)")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring")
    p.add_argument("--workers", default="1,2", help="uvicorn worker counts to try, e.g. 1 or 1,2")
    p.add_argument("--loadgen", default="python,wrk", help="python and/or wrk, comma-separated")
    p.add_argument(
        "--endpoints",
        default=",".join(ENDPOINTS),
        help="comma-separated subset of: " + ", ".join(ENDPOINTS),
    )
    p.add_argument("--uvicorn-args", default="", help="more uvicorn options, e.g. '--loop asyncio'")
    p.add_argument("--users", type=int, default=100)
    p.add_argument("--projects", type=int, default=1000)
    p.add_argument("--wrk-threads", type=int, default=1)
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="before each run, wait up to this many seconds for an idle machine",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="result JSON (default: benchmarks/results/api-<date>.json)",
    )
    p.add_argument(
        "--profile-dir",
        type=Path,
        default=None,
        help="after each 1-worker endpoint, one more wrk run under py-spy (not reported)",
    )
    args = p.parse_args(argv)
    args.workers = [int(w) for w in args.workers.split(",") if w.strip()]
    args.loadgen = [g.strip() for g in args.loadgen.split(",") if g.strip()]
    args.endpoints = [e.strip() for e in args.endpoints.split(",") if e.strip()]
    args.uvicorn_args = tuple(shlex.split(args.uvicorn_args))
    if not set(args.loadgen) <= {"python", "wrk"}:
        p.error("--loadgen takes python and/or wrk")
    if not set(args.endpoints) <= set(ENDPOINTS):
        p.error(f"--endpoints takes a subset of {ENDPOINTS}")
    if not 1 <= args.clients <= 1024 or not 0 < args.duration <= 600 or args.warmup < 0:
        p.error("--clients must be 1..1024, --duration 0..600 seconds, --warmup >= 0")
    if not args.workers or min(args.workers) < 1 or max(args.workers) > 16:
        p.error("--workers takes counts from 1 to 16")
    if "wrk" in args.loadgen and not wrk_available():
        print("wrk is not installed (apt-get install -y wrk): Python load only", file=sys.stderr)
        args.loadgen.remove("wrk")
    if not args.loadgen:
        p.error("no load generator left to run")
    if args.profile_dir:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
    return args


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds, so the server and PostgreSQL are stopped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    machine = machine_info(HERE.parent)
    print(
        f"machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['memory_gib']} GiB, "
        f"Python {machine['python']}, commit {machine['commit']}",
        flush=True,
    )
    rows: list[Row] = []
    seeded: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="hw-bench-") as tmp:
        for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
            if db == "sqlite":
                got, seeded[db] = bench_database(db, None, args, Path(tmp))
            else:
                with postgres_cluster() as pg:
                    machine["postgres"] = pg.version
                    got, seeded[db] = bench_database(db, pg, args, Path(tmp))
            rows += got
    checks = target_checks(rows)
    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "config": {
            "clients": args.clients,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "workers": args.workers,
            "loadgen": args.loadgen,
            "wrk_threads": args.wrk_threads,
            "quiet_wait_s": args.quiet_wait,
            "server": shlex.join(["uvicorn", "--factory", APP_FACTORY, *args.uvicorn_args])
            + ("" if "--access-log" in args.uvicorn_args else " --no-access-log"),
        },
        "seed": seeded,
        "target": {
            "db": TARGET_DB,
            "endpoint": TARGET_ENDPOINT,
            "p99_ms_below": TARGET_P99_MS,
            "rps_above": TARGET_RPS,
        },
        "target_checks": checks,
        "results": [
            {"db": r.db, "workers": r.workers, "endpoint": r.endpoint, **asdict(r.m)} for r in rows
        ],
    }
    out = args.out or HERE / "results" / f"api-{dt.date.today().isoformat()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print("\n" + table(rows) + "\n")
    for check in checks:
        print(
            f"target (show on SQLite: p99 < 50 ms and > 1,000 req/s), {check['workers']} "
            f"worker(s), {check['loadgen']}: p99 {check['p99_ms']:.2f} ms, "
            f"{check['rps']:,.0f} req/s -> {'met' if check['met'] else 'NOT met'}"
        )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
