"""The sandbox's start cost per task: N runs of ``true``, bare and through ``Sandbox.wrap``.

Each run is what the worker does for a task's command: one ``Popen`` in a session of its own,
waited for. The sandbox is the worker's own (``for_worker``: the server home hidden, the
interpreter mounted back, the uid dropped under root), on a throwaway home with one task folder.

    .venv/bin/python benchmarks/sandbox_start.py [--runs 200] [--command "python -c pass"]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from headwater.runtime.sandbox import for_worker, hand_over


def timed(argv: list[str], cwd: str, runs: int) -> list[float]:
    spent = []
    for _ in range(runs):
        start = time.perf_counter()
        code = subprocess.Popen(argv, cwd=cwd, start_new_session=True).wait()
        spent.append(time.perf_counter() - start)
        assert code == 0, argv
    return spent


def summary(spent: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in spent)
    return {
        "mean_ms": round(statistics.fmean(ms), 2),
        "p50_ms": round(ms[len(ms) // 2], 2),
        "p99_ms": round(ms[int(len(ms) * 0.99) - 1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--command", default="/bin/true", help="what each run runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        work = home / "work" / "task"
        work.mkdir(parents=True)
        sandbox = for_worker({}, home)
        if sandbox.uid is not None and sandbox.gid is not None:
            hand_over(work, sandbox.uid, sandbox.gid)
        command = args.command.split()
        wrapped = sandbox.wrap(command, workdir=str(work), cwd=str(work))
        timed(wrapped, str(work), 10)  # warm the page cache
        bare = summary(timed(command, str(work), args.runs))
        boxed = summary(timed(wrapped, str(work), args.runs))
    result = {
        "runs": args.runs,
        "command": args.command,
        "as_root": os.geteuid() == 0,
        "bare": bare,
        "sandboxed": boxed,
        "added_ms_p50": round(boxed["p50_ms"] - bare["p50_ms"], 2),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
