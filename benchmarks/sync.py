"""File sync benchmark: Headwater against git and DVC on the same tree, in the same run.

    .venv/bin/python benchmarks/sync.py [--scale 1.0] [--repeat 3] [--skip-dvc] [--keep]
        [--work-dir DIR]

The tree (issue 3): 10,000 files of 1-10 KiB plus 20 files of 20 MiB (about 475 MB), random bytes
from a seeded generator, so every run and every tool sees the same bytes. ``--scale`` multiplies
both file counts (at least one large file). Each tool gets its own fresh copy of the tree.

Headwater: a real ``hw server`` on a loopback port with a fresh home, ``hw login``, ``hw link``,
then timed whole commands (start-up included): the first ``hw sync``, a no-change ``hw sync``, a
one-file change ``hw sync``, ``hw clone`` with an empty client cache and again with a warm one.
git: ``git init``, ``git add -A && git commit``, ``git status``, a one-file add and commit, and
``git clone git://127.0.0.1:PORT/...`` from a bare repository served by ``git daemon`` on loopback.
DVC (in its own venv, installed on first use under ``~/.cache/headwater-bench``): ``dvc init
--no-scm``, ``dvc add data && dvc push`` to a local remote, ``dvc status``, a one-file ``dvc add
&& dvc push``, ``dvc pull`` into a fresh folder from the remote.

``--repeat N`` runs every operation but the first sync N times (each one-file change writes
new bytes; each clone goes to a fresh folder, the cold ones after emptying the client cache) and
reports the median; every run is in the JSON. Earlier folders and caches are set aside (moved
into ``trash/``), not deleted, until the run ends: see ``set_aside``. After the Headwater rows,
the warm clone's floor is timed on the same files: ``cp -a`` and a bare Python copier.

Everything runs on this machine over loopback; temp dirs are removed and the server and the git
daemon are stopped at the end (``--keep`` keeps the temp dir). The results table is printed in
markdown and written with the machine facts to ``benchmarks/results/sync-<date>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
HW = REPO / ".venv" / "bin" / "hw"
HOST = "127.0.0.1"
SEED = 20261123
SMALL_FILES, SMALL_MIN, SMALL_MAX = 10_000, 1024, 10 * 1024
LARGE_FILES, LARGE_SIZE = 20, 20 * 1024 * 1024
# Issue 3, measured on this machine before any code was written.
GIT_REFERENCE = {"first_sync": 19.3, "no_change": 0.04, "one_file": 0.09}
DVC_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "headwater-bench"
# Issue 18's targets (issue 3's were < 0.5 s, < 1 s and >= 200 MB/s).
NO_CHANGE_TARGET_S = 0.25
ONE_FILE_TARGET_S = 0.5
CLONE_TARGET_MBPS = 300.0
WARM_CLONE_TARGET_MBPS = 1000.0
OPS = ("first_sync", "no_change", "one_file", "clone_cold", "clone_warm")


# ----------------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def loadavg() -> str:
    with contextlib.suppress(OSError):
        return Path("/proc/loadavg").read_text().split(" ")[0]
    return "?"


def cpu_pressure() -> str:
    """``some avg60`` of /proc/pressure/cpu: the share of the last minute something waited."""
    with contextlib.suppress(OSError, IndexError):
        return Path("/proc/pressure/cpu").read_text().split()[2].split("=")[1] + "%"
    return "?"


def filesystem(path: Path) -> dict[str, str | bool | None]:
    """The filesystem under ``path``: its type, device and options, and for ext4 whether it
    has a journal (without one, ext4 scans past recently deleted inodes on every create)."""
    best: list[str] = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            fields = line.split()[:4]
            mnt = fields[1]
            inside = mnt == "/" or str(path) == mnt or str(path).startswith(mnt + "/")
            if inside and (not best or len(mnt) > len(best[1])):
                best = fields
    if not best:
        return {"type": None}
    dev, mnt, kind, opts = best
    journal = None
    if kind == "ext4":
        name = Path(dev).name
        journal = any(Path("/proc/fs/jbd2").glob(f"{name}-*"))
    return {"type": kind, "device": dev, "mount": mnt, "options": opts, "ext4_journal": journal}


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process (the server), from /proc."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def children_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class Runner:
    """Runs and times commands; keeps every measurement for the JSON."""

    def __init__(self, env: dict[str, str], verbose: bool) -> None:
        self.env = env
        self.verbose = verbose
        self.records: list[dict[str, Any]] = []
        self.server_pid: int | None = None

    def run(
        self,
        cmd: list[str] | str,
        cwd: Path,
        *,
        tool: str = "",
        op: str = "",
        env: dict[str, str] | None = None,
        timeout: float = 1800,
    ) -> float:
        shell = isinstance(cmd, str)
        load0, cpu0 = loadavg(), children_cpu()
        srv0 = proc_cpu(self.server_pid) if self.server_pid and tool == "headwater" else 0.0
        t0 = time.perf_counter()
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env=env or self.env,
            shell=shell,
            timeout=timeout,
            capture_output=True,
            text=True,
            executable="/bin/bash" if shell else None,
        )
        wall = time.perf_counter() - t0
        cpu = children_cpu() - cpu0
        srv = proc_cpu(self.server_pid) - srv0 if self.server_pid and tool == "headwater" else None
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd!r} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        if op:
            rec = {
                "tool": tool,
                "op": op,
                "cmd": cmd if shell else " ".join(map(str, cmd)),
                "seconds": round(wall, 3),
                "client_cpu_s": round(cpu, 2),
                "load_before": load0,
                "load_after": loadavg(),
                "stdout_tail": proc.stdout.strip()[-300:],
            }
            if srv is not None:
                rec["server_cpu_s"] = round(srv, 2)
            self.records.append(rec)
            if self.verbose:
                extra = f", server cpu {srv:.1f}s" if srv is not None else ""
                print(
                    f"  {tool:9} {op:18} {wall:8.2f}s  (client cpu {cpu:.1f}s{extra}, "
                    f"load {load0}->{loadavg()})",
                    flush=True,
                )
        return wall


def make_tree(root: Path, scale: float) -> tuple[int, int]:
    """Deterministic tree under root/data; returns (files, bytes)."""
    rng = random.Random(SEED)
    n_small = max(1, round(SMALL_FILES * scale))
    n_large = max(1, round(LARGE_FILES * scale))
    files = total = 0
    for i in range(n_small):
        d = root / "data" / "small" / f"d{i // 100:03d}"
        if i % 100 == 0:
            d.mkdir(parents=True, exist_ok=True)
        size = rng.randint(SMALL_MIN, SMALL_MAX)
        (d / f"f{i:05d}.bin").write_bytes(rng.randbytes(size))
        files += 1
        total += size
    large = root / "data" / "large"
    large.mkdir(parents=True, exist_ok=True)
    for i in range(n_large):
        (large / f"big{i:02d}.bin").write_bytes(rng.randbytes(LARGE_SIZE))
        files += 1
        total += LARGE_SIZE
    return files, total


def change_one(root: Path, k: int = 0) -> None:
    """The same one-file change for every tool: one small file gets new bytes (the k-th)."""
    path = root / "data" / "small" / "d000" / "f00000.bin"
    path.write_bytes(random.Random(SEED + 1 + k).randbytes(4096))


def set_aside(path: Path) -> None:
    """Move ``path`` into the run's ``trash`` folder, deleted only when the run ends.

    Deleting during the run would slow the next timed command's file creations on a
    journal-less ext4 (this machine's): for 5 minutes after an inode is freed, every new inode
    in its group scans past it (``recently_deleted`` in ``find_inode_bit``, ~50-60% of a cold
    clone's samples under perf after a previous repeat's 30,000 files were deleted). A
    journalled ext4, the default, skips that check. Every tool's repeats get the same.
    """
    if path.exists():
        trash = path.parent / "trash"
        trash.mkdir(exist_ok=True)
        path.rename(trash / f"{path.name}-{time.monotonic_ns()}")


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def copy_tree(src: Path, dst: Path) -> None:
    subprocess.run(["cp", "-a", str(src), str(dst)], check=True)


def same_data(a: Path, b: Path) -> bool:
    out = subprocess.run(["diff", "-rq", str(a / "data"), str(b / "data")], capture_output=True)
    return out.returncode == 0


# ----------------------------------------------------------------------------- tools


def bench_headwater(r: Runner, base: Path, work: Path, repeat: int) -> dict[str, Any]:
    home, cfg = work / "hw-home", work / "hw-config"
    cfg.mkdir()
    env = dict(r.env, HEADWATER_CONFIG_DIR=str(cfg))
    for var in ("HEADWATER_URL", "HEADWATER_TOKEN", "HEADWATER_PROJECT", "HEADWATER_HOME"):
        env.pop(var, None)
    port = free_port()
    log = open(work / "hw-server.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [str(HW), "server", "--home", str(home), "--port", str(port), "--host", HOST],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = f"http://{HOST}:{port}"
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise RuntimeError(
                    f"hw server exited: {(work / 'hw-server.log').read_text()[-2000:]}"
                )
            with contextlib.suppress(OSError):
                if (home / "admin.token").exists():
                    with urllib.request.urlopen(f"{url}/healthz", timeout=2) as resp:
                        if resp.status == 200:
                            break
            if time.monotonic() > deadline:
                raise RuntimeError("hw server did not become healthy in 120 s")
            time.sleep(0.2)
        r.server_pid = server.pid
        token = (home / "admin.token").read_text().strip()
        r.run([str(HW), "login", "--url", url, "--token", token], work, env=env)
        folder = work / "hw-tree"
        copy_tree(base, folder)
        r.run([str(HW), "link", "--title", "bench"], folder, env=env)
        t = {}
        t["first_sync"] = r.run(
            [str(HW), "sync", "-m", "first"], folder, tool="headwater", op="first sync", env=env
        )
        runs: dict[str, list[float]] = {op: [] for op in OPS[1:]}
        for _ in range(repeat):
            runs["no_change"].append(
                r.run([str(HW), "sync"], folder, tool="headwater", op="no-change", env=env)
            )
        for k in range(repeat):
            change_one(folder, k)
            runs["one_file"].append(
                r.run(
                    [str(HW), "sync", "-m", f"one {k}"],
                    folder,
                    tool="headwater",
                    op="one-file change",
                    env=env,
                )
            )
        project_id = _project_id(folder)
        for k in range(repeat):
            for name in ("hw-clone1", "hw-clone2"):
                set_aside(work / name)
            set_aside(cfg / "cache")  # an empty client cache
            runs["clone_cold"].append(
                r.run(
                    [str(HW), "clone", project_id, str(work / "hw-clone1")],
                    work,
                    tool="headwater",
                    op="clone (cold cache)",
                    env=env,
                )
            )
            runs["clone_warm"].append(
                r.run(
                    [str(HW), "clone", project_id, str(work / "hw-clone2")],
                    work,
                    tool="headwater",
                    op="clone (warm cache)",
                    env=env,
                )
            )
            if k == 0:
                ok = same_data(folder, work / "hw-clone1") and same_data(folder, work / "hw-clone2")
                if not ok:
                    raise RuntimeError("hw clone differs from the synced folder")
        t.update({op: median(values) for op, values in runs.items()})
        return t
    finally:
        r.server_pid = None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def _project_id(folder: Path) -> str:
    for line in (folder / ".headwater" / "project.yml").read_text().splitlines():
        if line.startswith("id:"):
            return line.split(":", 1)[1].strip().strip("\"'")  # an all-digit id is quoted
    raise RuntimeError("no id in project.yml")


def bench_git(r: Runner, base: Path, work: Path, repeat: int) -> dict[str, Any]:
    folder = work / "git-tree"
    copy_tree(base, folder)
    env = dict(
        r.env,
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@localhost",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@localhost",
        GIT_CONFIG_NOSYSTEM="1",
        HOME=str(work),
    )  # no user config: git's defaults
    r.run(["git", "init", "-q", "-b", "master"], folder, env=env)
    t = {}
    t["first_sync"] = r.run(
        "git add -A && git commit -q -m first", folder, tool="git", op="first sync", env=env
    )
    t["no_change"] = median(
        [
            r.run(["git", "status"], folder, tool="git", op="no-change", env=env)
            for _ in range(repeat)
        ]
    )
    one = []
    for k in range(repeat):
        change_one(folder, k)
        one.append(
            r.run(
                f"git add -A && git commit -q -m 'one {k}'",
                folder,
                tool="git",
                op="one-file change",
                env=env,
            )
        )
    t["one_file"] = median(one)
    served = work / "git-served"
    served.mkdir()
    r.run(["git", "clone", "-q", "--bare", str(folder), str(served / "tree.git")], work, env=env)
    port = free_port()
    daemon = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            f"--listen={HOST}",
            f"--port={port}",
            "--export-all",
            f"--base-path={served}",
            str(served),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("git daemon did not start")
            time.sleep(0.1)
        clones = []
        source = f"git://{HOST}:{port}/tree.git"
        for _ in range(repeat):
            set_aside(work / "git-clone")
            clones.append(
                r.run(
                    ["git", "clone", "-q", source, str(work / "git-clone")],
                    work,
                    tool="git",
                    op="clone (cold cache)",
                    env=env,
                )
            )
        t["clone_cold"] = median(clones)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=10)
    if not same_data(folder, work / "git-clone"):
        raise RuntimeError("git clone differs")
    return t


def dvc_install(verbose: bool, venv: Path) -> tuple[Path | None, str, float]:
    """DVC in its own venv (default under ~/.cache/headwater-bench); (dvc, version or reason, s)."""
    dvc = venv / "bin" / "dvc"
    t0 = time.perf_counter()
    if not dvc.exists():
        if verbose:
            print(f"installing DVC into {venv} (first run only)...", flush=True)
        venv.parent.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(
                [sys.executable, "-m", "venv", "--clear", str(venv)],
                check=True,
                capture_output=True,
                timeout=120,
            )
            subprocess.run(
                [str(venv / "bin" / "pip"), "install", "-q", "dvc"],
                check=True,
                capture_output=True,
                timeout=420,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            shutil.rmtree(venv, ignore_errors=True)
            err = getattr(exc, "stderr", b"") or b""
            return None, f"install failed: {exc} {err.decode(errors='replace')[-300:]}", 0.0
    installed = time.perf_counter() - t0
    out = subprocess.run([str(dvc), "--version"], capture_output=True, text=True)
    if out.returncode != 0:
        return None, f"dvc --version failed: {out.stderr[-300:]}", installed
    return dvc, out.stdout.strip(), installed


def bench_dvc(r: Runner, dvc: Path, base: Path, work: Path) -> dict[str, Any]:
    folder, remote = work / "dvc-tree", work / "dvc-remote"
    copy_tree(base, folder)
    remote.mkdir()
    env = dict(
        r.env, DVC_NO_ANALYTICS="1", HOME=str(work), PATH=f"{dvc.parent}:{r.env.get('PATH', '')}"
    )
    d = str(dvc)
    r.run([d, "init", "--no-scm", "-q"], folder, env=env)
    r.run([d, "remote", "add", "-d", "local", str(remote)], folder, env=env)
    t = {}
    t["first_sync"] = r.run(
        f"{d} add -q data && {d} push -q", folder, tool="dvc", op="first sync", env=env
    )
    t["no_change"] = r.run([d, "status", "-q"], folder, tool="dvc", op="no-change", env=env)
    change_one(folder)
    t["one_file"] = r.run(
        f"{d} add -q data && {d} push -q", folder, tool="dvc", op="one-file change", env=env
    )
    fresh = work / "dvc-clone"
    fresh.mkdir()
    r.run([d, "init", "--no-scm", "-q"], fresh, env=env)
    shutil.copy2(folder / ".dvc" / "config", fresh / ".dvc" / "config")
    shutil.copy2(folder / "data.dvc", fresh / "data.dvc")
    t["clone_cold"] = r.run([d, "pull", "-q"], fresh, tool="dvc", op="clone (cold cache)", env=env)
    if not same_data(folder, fresh):
        raise RuntimeError("dvc pull differs")
    return t


_COPY_FLOOR = """
import os, sys
from concurrent.futures import ThreadPoolExecutor
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = [os.path.relpath(os.path.join(d, f), src) for d, _, fs in os.walk(src) for f in fs]
for d in sorted({os.path.dirname(f) for f in files}):
    os.makedirs(os.path.join(dst, d), exist_ok=True)
def copy(share):
    for f in share:
        s = os.open(os.path.join(src, f), os.O_RDONLY)
        t = os.open(os.path.join(dst, f), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        size, done = os.fstat(s).st_size, 0
        while done < size:
            done += os.copy_file_range(s, t, size - done)
        os.close(t)
        os.close(s)
with ThreadPoolExecutor(n) as pool:
    list(pool.map(copy, [files[i::n] for i in range(n)]))
"""


def floor_copies(r: Runner, src: Path, work: Path) -> dict[str, float]:
    """What a warm clone must at least do, timed on the same files in the same run: copy the
    tree (10,020 new files, every byte) from the page cache to a new folder on the same disk,
    with ``cp -a`` and with a bare Python copier (interpreter start-up included, no hashing, no
    HTTP, no stat cache) on 1 and 4 threads."""
    out = {}
    runs = {
        "cp -a": lambda dst: ["cp", "-a", str(src), str(dst)],
        "python, 1 thread": lambda dst: [
            sys.executable,
            "-c",
            _COPY_FLOOR,
            str(src),
            str(dst),
            "1",
        ],
        "python, 4 threads": lambda dst: [
            sys.executable,
            "-c",
            _COPY_FLOOR,
            str(src),
            str(dst),
            "4",
        ],
    }
    for name, cmd in runs.items():
        dst = work / "floor-copy"
        out[name] = r.run(cmd(dst), work, tool="floor", op=f"copy ({name})")
        set_aside(dst)
    return out


# ----------------------------------------------------------------------------- report


def table(res: dict[str, Any], nbytes: int) -> str:
    tools = [t for t in ("headwater", "git", "dvc") if t in res["times"]]
    names = {"headwater": "Headwater `hw`", "git": "git", "dvc": "DVC"}
    git_first = res["times"].get("git", {}).get("first_sync")
    git_label = "git"
    if git_first is None:  # git skipped: the measurement
        git_first, git_label = GIT_REFERENCE["first_sync"], "git (issue 3)"
    targets: dict[str, tuple[str, Callable[[float], bool] | None]] = {
        "first_sync": (f"≤ ½ {git_label} = {git_first / 2:.1f} s", lambda s: s <= git_first / 2),
        "no_change": (f"≤ {NO_CHANGE_TARGET_S} s", lambda s: s <= NO_CHANGE_TARGET_S),
        "one_file": (f"≤ {ONE_FILE_TARGET_S} s", lambda s: s <= ONE_FILE_TARGET_S),
        "clone_cold": (
            f"≥ {CLONE_TARGET_MBPS:.0f} MB/s",
            lambda s: nbytes / s / 1e6 >= CLONE_TARGET_MBPS,
        ),
        "clone_warm": (
            f"≥ {WARM_CLONE_TARGET_MBPS / 1000:.0f} GB/s",
            lambda s: nbytes / s / 1e6 >= WARM_CLONE_TARGET_MBPS,
        ),
    }
    labels = {
        "first_sync": "first sync (hw sync / git add+commit / dvc add+push)",
        "no_change": "no-change (hw sync / git status / dvc status)",
        "one_file": "one-file change (hw sync / git add+commit / dvc add+push)",
        "clone_cold": "clone, empty cache (hw clone / git clone git:// / dvc pull)",
        "clone_warm": "clone again, warm client cache (hw clone)",
    }
    head = "| operation | " + " | ".join(names[t] for t in tools) + " | target | Headwater |"
    lines = [head, "|" + " --- |" * (len(tools) + 3)]
    for op, label in labels.items():
        cells = []
        for t in tools:
            s = res["times"][t].get(op)
            if s is None:
                cells.append("-")
            elif op.startswith("clone"):
                cells.append(f"{s:.2f} s ({nbytes / s / 1e6:.0f} MB/s)")
            else:
                cells.append(f"{s:.2f} s")
        target, check = targets[op]
        hw = res["times"].get("headwater", {}).get(op)
        verdict = "" if check is None or hw is None else ("**pass**" if check(hw) else "**miss**")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} | {verdict} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the file counts (default 1)")
    ap.add_argument("--skip-dvc", action="store_true", help="do not install or measure DVC")
    ap.add_argument(
        "--dvc-venv",
        type=Path,
        default=DVC_CACHE / "dvc-venv",
        help="venv for DVC, created with `pip install dvc` if it lacks bin/dvc",
    )
    ap.add_argument("--skip-git", action="store_true", help="do not measure git")
    ap.add_argument(
        "--repeat", type=int, default=3, help="runs of each operation but the first sync (median)"
    )
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (prints its path)")
    ap.add_argument(
        "--out",
        type=Path,
        default=REPO / "benchmarks" / "results",
        help="folder for sync-<date>.json",
    )
    ap.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="where the run's temp folder goes (default: the system's temp folder)",
    )
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args()

    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's machine writes bytecode
    env["NO_COLOR"] = "1"
    r = Runner(env, verbose=not args.quiet)
    work = Path(tempfile.mkdtemp(prefix="hw-sync-bench-", dir=args.work_dir))
    fs = filesystem(work)
    pressures = [cpu_pressure()]
    started = dt.datetime.now(dt.UTC)
    res: dict[str, Any] = {"times": {}, "notes": {}}
    loads = [loadavg()]
    try:
        base = work / "base"
        base.mkdir()
        t0 = time.perf_counter()
        nfiles, nbytes = make_tree(base, args.scale)
        if not args.quiet:
            print(
                f"tree: {nfiles} files, {nbytes / 1e6:.1f} MB in {work} "
                f"(generated in {time.perf_counter() - t0:.1f} s)",
                flush=True,
            )
        # A warm-up: hw's own bytecode is compiled (as on a user's machine after the first command).
        subprocess.run([str(HW), "--help"], env=env, capture_output=True, check=True)

        res["times"]["headwater"] = bench_headwater(r, base, work, args.repeat)
        loads.append(loadavg())
        pressures.append(cpu_pressure())
        res["floor"] = floor_copies(r, work / "hw-clone1" / "data", work)
        for p in ("hw-clone1", "hw-clone2", "hw-home"):
            set_aside(work / p)
        if not args.skip_git:
            res["times"]["git"] = bench_git(r, base, work, args.repeat)
            loads.append(loadavg())
            pressures.append(cpu_pressure())
            for p in ("git-tree", "git-served", "git-clone"):
                set_aside(work / p)
        if args.skip_dvc:
            res["notes"]["dvc"] = "not measured: --skip-dvc"
        else:
            dvc, info, install_s = dvc_install(not args.quiet, args.dvc_venv)
            if dvc is None:
                res["notes"]["dvc"] = f"not measured: {info}"
            else:
                res["notes"]["dvc"] = info
                res["notes"]["dvc_install_s"] = round(install_s, 1)
                res["times"]["dvc"] = bench_dvc(r, dvc, base, work)
                loads.append(loadavg())
                pressures.append(cpu_pressure())
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    git_v = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    mem_kib = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        mem_kib = next((int(ln.split()[1]) for ln in fh if ln.startswith("MemTotal:")), 0)
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    res.update(
        {
            "date": started.isoformat(timespec="seconds"),
            "scale": args.scale,
            "repeat": args.repeat,
            "pythonpath": os.environ.get("PYTHONPATH", ""),
            "files": nfiles,
            "bytes": nbytes,
            "machine": {
                "nproc": os.cpu_count(),
                "memory_gib": round(mem_kib / 1024 / 1024, 1),
                "python": platform.python_version(),
                "git": git_v,
                "dvc": res["notes"].get("dvc", ""),
                "os": platform.platform(),
                "commit": commit,
                "loadavg_1min_between_tools": loads,
                "cpu_pressure_some_avg60_between_tools": pressures,
                "filesystem": fs,
            },
            "git_reference_issue3": GIT_REFERENCE,
            "git_clone_transport": "git daemon on 127.0.0.1 (git:// protocol), from a bare repo",
            "records": r.records,
        }
    )
    out = table(res, nbytes)
    print()
    print(
        f"{nfiles} files, {nbytes / 1e6:.0f} MB (scale {args.scale}); "
        f"load (1 min) between tools: {' / '.join(loads)}"
    )
    print(out)
    if res.get("floor"):
        print(
            "\nFloor for the warm clone (the same files copied on the same disk): "
            + ", ".join(
                f"{k} {v:.2f} s ({nbytes / v / 1e6:.0f} MB/s)" for k, v in res["floor"].items()
            )
        )
    if "dvc" not in res["times"]:
        print(f"\nDVC {res['notes'].get('dvc')}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"sync-{started.date().isoformat()}.json"
    res["table_markdown"] = out
    path.write_text(json.dumps(res, indent=2) + "\n")
    print(f"\nwrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
