"""Loopback ports, the machine's description, and CPU accounting on a shared machine."""

from __future__ import annotations

import contextlib
import glob
import os
import platform
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"  # every service listens here and every client talks here: loopback only
CLK_TCK = os.sysconf("SC_CLK_TCK")
PACKAGES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "pydantic",
    "sqlalchemy",
    "psycopg",
    "httpx",
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (``q`` in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(q / 100 * len(sorted_values) + 0.5))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def machine_info(repo: Path) -> dict[str, Any]:
    """CPU count and model, memory, Python, package versions and the commit under test."""
    mem_kib, cpu = 0, ""
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        mem_kib = next((int(ln.split()[1]) for ln in fh if ln.startswith("MemTotal:")), 0)
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "")
    packages: dict[str, str] = {}
    for name in PACKAGES:
        with contextlib.suppress(PackageNotFoundError):
            packages[name] = version(name)
    commit = ""
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        git = ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"]
        commit = subprocess.run(git, capture_output=True, text=True, check=True).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "os": platform.platform(),
        "packages": packages,
        "commit": commit,
        "pythonpath": os.environ.get("PYTHONPATH", ""),
    }


# -- CPU accounting: the machine may be shared, so say how busy it was while we measured ---------


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (not idle, not waiting on I/O)."""
    with open("/proc/stat") as fh:
        cpu = [int(x) for x in fh.readline().split()[1:9]]
    return (sum(cpu) - cpu[3] - cpu[4]) / CLK_TCK


def children_of(parent: int) -> list[int]:
    """``parent`` and its direct children (PostgreSQL's postmaster and its backends)."""
    pids = [parent]
    for stat in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError), open(stat) as fh:
            if int(fh.read().rsplit(")", 1)[1].split()[1]) == parent:
                pids.append(int(stat.split("/")[2]))
    return pids


def process_tree(roots: list[int]) -> list[int]:
    """``roots`` and every live process below them (a server's workers and their helpers)."""
    kids: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError), open(stat) as fh:
            ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(stat.split("/")[2]))
    found, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.append(pid)
            todo += kids.get(pid, [])
    return found


@dataclass
class Meter:
    """CPU used between two marks by the server, this process (the load generator and its
    children, wrk included), the database, and everything else on the machine."""

    server_pids: list[int]
    db_pids: Callable[[], list[int]] = list
    marks: list[tuple[float, float, float, float, float]] = field(default_factory=list)

    def mark(self) -> None:
        own = os.times()
        loadgen = own.user + own.system + own.children_user + own.children_system
        server = sum(proc_cpu_s(p) for p in self.server_pids)
        database = sum(proc_cpu_s(p) for p in self.db_pids())
        self.marks.append((time.perf_counter(), server, loadgen, database, machine_busy_s()))

    def summary(self, requests: int) -> dict[str, float]:
        (t0, s0, l0, d0, b0), (t1, s1, l1, d1, b1) = self.marks[0], self.marks[-1]
        wall, server, loadgen, database = t1 - t0, s1 - s0, l1 - l0, max(0.0, d1 - d0)
        other = max(0.0, (b1 - b0) - server - loadgen - database)
        return {
            "server_cores": round(server / wall, 2),
            "loadgen_cores": round(loadgen / wall, 2),
            "db_cores": round(database / wall, 2),
            "other_cores": round(other / wall, 2),
            "server_cpu_ms_per_request": round(1000 * server / requests, 3) if requests else 0.0,
        }


def wait_quiet(limit_s: float, threshold: float = 0.15) -> float:
    """Wait (at most ``limit_s``) for two idle seconds in a row; return the busy cores last seen."""
    deadline = time.monotonic() + limit_s
    quiet_in_a_row, busy = 0, 0.0
    while True:
        b0, t0 = machine_busy_s(), time.perf_counter()
        time.sleep(1.0)
        busy = (machine_busy_s() - b0) / (time.perf_counter() - t0)
        quiet_in_a_row = quiet_in_a_row + 1 if busy < threshold else 0
        if quiet_in_a_row >= 2 or time.monotonic() >= deadline:
            return round(busy, 2)
