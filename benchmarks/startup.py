"""CLI start-up benchmark: every ``hw`` command group against git, DVC and a bare interpreter.

    .venv/bin/python benchmarks/startup.py [--runs 9] [--skip-dvc] [--out benchmarks/results]

Issue 18: every ``hw`` command reaches its first network call (or its answer, for a local
command) within 150 ms. For each command group this times ``hw GROUP --help`` (a whole local
command, run as the console script ``hw``) and one real call of the group, run until its first
network call: ``tests/support/importprobe.py`` ends the process there (an audit hook on the
first ``socket.getaddrinfo``/``socket.connect``), so the time is start-up, argument parsing,
config and SDK set-up, and no server is needed (the URL names a port nobody listens on). Each
row is the wall time of the whole process (fork, exec, interpreter start, imports, exit), the
median and the minimum of ``--runs`` runs, its CPU time (user + system), and the modules it
had imported by then (all, and those outside the standard library).

Peers in the same run: ``python -c pass`` with the same interpreter (the floor), ``git status``
in a repository of 100 small committed files, and ``dvc status`` in a DVC project tracking a
folder of the same files (DVC in its own venv, installed on first use as ``sync.py`` does).
``hw --version`` is timed both directly and through the probe, which says what the probe itself
costs. Results: a markdown table on stdout and ``results/startup-<date>.json`` with the machine
facts. Runs alternate between commands (round-robin), so a burst of load on a shared machine
touches every row alike; take ``flock -x /tmp/hw-quiet.lock`` first where others run suites.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PROBE = REPO / "tests" / "support" / "importprobe.py"
HW = Path(sys.executable).parent / "hw"
TARGET_MS = 150.0
PROJECT_ID = "p-startup"

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync import DVC_CACHE, dvc_install  # noqa: E402

# One real call per command group, in COMMANDS order; run in a linked folder.
REAL_CALLS: dict[str, str] = {
    "server": "",  # a real `hw server` starts the server stack: by design, not measured here
    "login": "login --url http://127.0.0.1:9 --token t",
    "whoami": "whoami --json",
    "token": "token list --json",
    "configure": "configure --project p-other",
    "demo": "demo --port 9",
    "new": "new fresh",
    "link": "",  # the folder is linked already: its real call is `hw sync`'s
    "sync": "sync --json",
    "clone": f"clone {PROJECT_ID} copy --json",
    "run": "run -- python -c pass",
    "status": "status --json",
    "bakes": "bakes --json",
    "inspect": "inspect 1 --json",
    "endpoint": "endpoint show my-model --json",
    "endpoints": "endpoints --json",
    "workspace": "workspace list --json",
    "experiments": "experiments list --json",
    "flow": "flow list --json",
    "live": "live ps --json",
    "compute": "compute list --json",
    "user": "user list --json",
    "project": "project list",
    "secret": "secret list --json",
    "env": "env list --json",
    "keys": "keys list --json",
    "webhook": "webhook list --json",
    "settings": "settings show --json",
    "files": "files versions --json",
    "dataset": "dataset list --json",
    "model": "model list --json",
    "admin": "admin fsck --json",
}


@dataclass
class Row:
    label: str
    kind: str  # floor, peer, local (whole command), first request (through the probe)
    argv: list[str]
    cwd: Path
    probed: bool = False
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    modules: int | None = None
    non_stdlib: int | None = None
    reached: str = ""
    codes: set[int] = field(default_factory=set)

    def summary(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "kind": self.kind,
            "argv": self.argv,
            "wall_ms_median": round(statistics.median(self.walls), 1),
            "wall_ms_min": round(min(self.walls), 1),
            "cpu_ms_median": round(statistics.median(self.cpus), 1),
            "wall_ms": [round(w, 1) for w in self.walls],
            "modules": self.modules,
            "modules_outside_stdlib": self.non_stdlib,
            "reached": self.reached,
            "exit_codes": sorted(self.codes),
        }


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def loadavg() -> str:
    with contextlib.suppress(OSError):
        return Path("/proc/loadavg").read_text().split(" ")[0]
    return "?"


def timed(row: Row, env: dict[str, str]) -> None:
    """One run of ``row``: wall and CPU of the child, and its report when probed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(
        row.argv, cwd=row.cwd, env=env, capture_output=True, timeout=120, check=False
    )
    wall = (time.perf_counter() - t0) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    row.walls.append(wall)
    row.cpus.append((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000)
    row.codes.add(done.returncode)


def count_modules(row: Row, hw_args: list[str], env: dict[str, str], report: Path) -> None:
    """What ``hw ARGS`` had imported at its first request (or its exit), from the probe."""
    report.unlink(missing_ok=True)
    subprocess.run(
        [sys.executable, str(PROBE), str(report), "hw", *hw_args],
        cwd=row.cwd,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    found = json.loads(report.read_text())
    modules: list[str] = found["modules"]
    stdlib = sys.stdlib_module_names
    row.modules = len(modules)
    row.non_stdlib = len([m for m in modules if m.split(".")[0] not in stdlib])
    row.reached = found["reached"]


def make_peers(work: Path, env: dict[str, str], dvc: Path | None) -> tuple[Path, Path | None]:
    """A git repository and a DVC project, each holding the same 100 small files."""
    git_repo = work / "git-repo"
    (git_repo / "data").mkdir(parents=True)
    for i in range(100):
        (git_repo / "data" / f"f{i:03d}.txt").write_text(f"line {i}\n" * 20)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "first"]):
        subprocess.run([*git, *cmd], cwd=git_repo, check=True, env=env, capture_output=True)
    if dvc is None:
        return git_repo, None
    dvc_repo = work / "dvc-repo"
    shutil.copytree(git_repo / "data", dvc_repo / "data")
    for cmd in (["init", "--no-scm", "-q"], ["add", "-q", "data"]):
        subprocess.run([str(dvc), *cmd], cwd=dvc_repo, check=True, env=env, capture_output=True)
    return git_repo, dvc_repo


def hw_rows(linked: Path, only: set[str] | None) -> list[Row]:
    rows = [
        Row("hw --version", "local", [str(HW), "--version"], linked),
        Row(
            "hw --version (through the probe)",
            "local",
            [sys.executable, str(PROBE), "REPORT", "hw", "--version"],
            linked,
            probed=True,
        ),
        Row("hw --help", "local", [str(HW), "--help"], linked),
    ]
    for group, call in REAL_CALLS.items():
        if only and group not in only:
            continue
        rows.append(Row(f"hw {group} --help", "local", [str(HW), group, "--help"], linked))
        if call:
            rows.append(
                Row(
                    f"hw {call}",
                    "first request",
                    [sys.executable, str(PROBE), "REPORT", "hw", *call.split()],
                    linked,
                    probed=True,
                )
            )
    return rows


def markdown(rows: list[Row]) -> str:
    out = [
        "| command | what is timed | wall ms (median / min) | CPU ms | modules (outside stdlib) "
        "| ≤ 150 ms |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        wall = f"{statistics.median(row.walls):.0f} / {min(row.walls):.0f}"
        cpu = f"{statistics.median(row.cpus):.0f}"
        mods = f"{row.modules} ({row.non_stdlib})" if row.modules is not None else "-"
        what = {
            "floor": "whole process",
            "peer": "whole command",
            "local": "whole command",
            "first request": "to its first request",
        }[row.kind]
        verdict = ""
        if row.label.startswith("hw") and "probe)" not in row.label:
            verdict = "pass" if statistics.median(row.walls) <= TARGET_MS else "**miss**"
        out.append(f"| `{row.label}` | {what} | {wall} | {cpu} | {mods} | {verdict} |")
    return "\n".join(out)


def machine() -> dict[str, Any]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "src"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    import headwater

    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit + ("+uncommitted src" if dirty else ""),
        "headwater_from": str(Path(headwater.__file__).parent),
        "pythonpath": os.environ.get("PYTHONPATH", ""),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=9, help="timed runs of each command (default 9)")
    ap.add_argument("--skip-dvc", action="store_true", help="do not install or time DVC")
    ap.add_argument("--dvc-venv", type=Path, default=DVC_CACHE / "dvc-venv")
    ap.add_argument("--only", default="", help="comma-separated command groups (default: all)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hw-startup-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's machine writes bytecode
    env.update(
        HOME=str(work),
        HEADWATER_CONFIG_DIR=str(work / "config"),
        HEADWATER_URL=f"http://127.0.0.1:{closed_port()}",  # nobody listens there
        HEADWATER_TOKEN="not-a-real-token",
        NO_COLOR="1",
        DVC_NO_ANALYTICS="1",
    )
    started = dt.datetime.now(dt.UTC)
    try:
        linked = work / "linked"
        (linked / ".headwater").mkdir(parents=True)
        (linked / ".headwater" / "project.yml").write_text(f"id: {PROJECT_ID}\nname: bench\n")
        (linked / ".headwater" / "live.yaml").write_text(
            "jobs:\n  web:\n    command: python -m http.server\n"
        )
        dvc, dvc_note = None, "not measured: --skip-dvc"
        if not args.skip_dvc:
            dvc, dvc_note, _ = dvc_install(not args.quiet, args.dvc_venv)
        git_repo, dvc_repo = make_peers(work, env, dvc)

        rows = [Row("python -c pass", "floor", [sys.executable, "-c", "pass"], work)]
        rows.append(Row("git status", "peer", ["git", "status"], git_repo))
        if dvc is not None and dvc_repo is not None:
            rows.append(Row("dvc status", "peer", [str(dvc), "status"], dvc_repo))
        only = {g for g in args.only.split(",") if g} or None
        rows += hw_rows(linked, only)

        report = work / "report.json"
        for row in rows:  # bytecode compiled, caches warm, as on a user's machine
            row.argv = [str(report) if a == "REPORT" else a for a in row.argv]
            subprocess.run(row.argv, cwd=row.cwd, env=env, capture_output=True, timeout=120)
        for row in rows:
            if row.argv[0] == str(HW) or row.probed:
                hw_args = row.argv[row.argv.index("hw") + 1 :] if row.probed else row.argv[1:]
                count_modules(row, hw_args, env, report)
        loads = [loadavg()]
        for i in range(args.runs):
            for row in rows:
                timed(row, env)
            loads.append(loadavg())
            if not args.quiet:
                print(f"round {i + 1}/{args.runs} done (load {loads[-1]})", flush=True)

        table = markdown(rows)
        print(table)
        res = {
            "started": started.isoformat(timespec="seconds"),
            "machine": machine(),
            "runs": args.runs,
            "target_ms": TARGET_MS,
            "load_per_round": loads,
            "dvc": dvc_note,
            "rows": [row.summary() for row in rows],
        }
        args.out.mkdir(parents=True, exist_ok=True)
        out = args.out / f"startup-{started.date().isoformat()}.json"
        out.write_text(json.dumps(res, indent=2) + "\n")
        print(f"\nwrote {out}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
