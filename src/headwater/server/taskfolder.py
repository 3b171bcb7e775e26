"""Where a task's folder is, as the server knows it.

A task reports its own ``runner`` (host, workdir) with its own token, so what it says about
itself may be forged: anything the server reads from a task's folder (a replica's socket, a
workspace's files to save) is found here instead, where the local worker puts it."""

from __future__ import annotations

import os

from headwater.executors.local import task_folder
from headwater.server.platform import Platform


def known_task_folder(platform: Platform, experiment_id: str) -> str:
    """The task's folder, resolved as the sandbox mounts it; "" where tasks run elsewhere
    (another executor: the server cannot read their folders)."""
    if platform.settings.executor != "local":
        return ""
    return os.path.realpath(task_folder(platform.settings.home, experiment_id))
