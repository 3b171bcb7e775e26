"""What this machine has: CPU cores, memory and GPUs (read from ``nvidia-smi`` when present)."""

from __future__ import annotations

import os
import shutil
import subprocess

from headwater.domain.compute import Resources


def gpu_count() -> int:
    binary = shutil.which("nvidia-smi")
    if binary is None:
        return 0
    try:
        out = subprocess.run(
            [binary, "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.splitlines() if line.strip())


def memory_mb() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024))
    except (ValueError, OSError):
        return 1024


def machine_resources() -> Resources:
    return Resources(cpus=float(os.cpu_count() or 1), memory_mb=memory_mb(), gpus=gpu_count())
