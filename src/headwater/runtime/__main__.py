"""``python -m headwater.runtime TASK_ID --project PID``: one task, as remote executors start it.

The server's address and the task's token come from ``HEADWATER_URL`` and ``HEADWATER_TOKEN``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from headwater.domain.jobs import JobState
from headwater.runtime.task import run_task


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m headwater.runtime")
    parser.add_argument("task_id")
    parser.add_argument("--project", required=True)
    parser.add_argument("--workroot", type=Path, default=Path(tempfile.gettempdir()) / "hw-work")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".headwater" / "task-cache")
    args = parser.parse_args(argv)
    url, token = os.environ.get("HEADWATER_URL"), os.environ.get("HEADWATER_TOKEN")
    if not url or not token:
        print("HEADWATER_URL and HEADWATER_TOKEN must be set", file=sys.stderr)
        return 2
    outcome = run_task(
        args.task_id,
        args.project,
        url=url,
        token=token,
        workroot=args.workroot,
        cache_root=args.cache,
    )
    return 0 if outcome.state is JobState.SUCCESS else 1


if __name__ == "__main__":
    sys.exit(main())
