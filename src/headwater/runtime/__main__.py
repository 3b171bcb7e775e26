"""``python -m headwater.runtime TASK_ID --project PID``: one task, as remote executors start it.

The server's address and the task's token come from ``HEADWATER_URL`` and ``HEADWATER_TOKEN``.
``--sandbox JSON`` (the server's sandbox settings) runs the task's commands in bubblewrap, as the
local worker does. A SIGTERM (Ray's ``stop_job``) is a stop: the command's group is asked to end
and the runtime reports the task ``aborted`` ("stopped") before it leaves.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType

from headwater.domain.jobs import JobState
from headwater.runtime.sandbox import for_node
from headwater.runtime.stopping import signal_group
from headwater.runtime.task import run_task


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m headwater.runtime")
    parser.add_argument("task_id")
    parser.add_argument("--project", required=True)
    parser.add_argument("--workroot", type=Path, default=Path(tempfile.gettempdir()) / "hw-work")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".headwater" / "task-cache")
    parser.add_argument("--sandbox", help="the sandbox settings, as JSON (none: no sandbox)")
    args = parser.parse_args(argv)
    url, token = os.environ.get("HEADWATER_URL"), os.environ.get("HEADWATER_TOKEN")
    if not url or not token:
        print("HEADWATER_URL and HEADWATER_TOKEN must be set", file=sys.stderr)
        return 2
    sandbox = for_node(json.loads(args.sandbox), args.workroot) if args.sandbox else None
    cancel = threading.Event()
    groups: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        cancel.set()
        for pgid in list(groups):
            signal_group(pgid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    outcome = run_task(
        args.task_id,
        args.project,
        url=url,
        token=token,
        workroot=args.workroot,
        cache_root=args.cache,
        cancel=cancel,
        on_process=groups.append,
        sandbox=sandbox,
    )
    return 0 if outcome.state is JobState.SUCCESS else 1


if __name__ == "__main__":
    sys.exit(main())
