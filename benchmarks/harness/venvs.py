"""Peers in venvs of their own, installed on first use under a cache folder.

Nothing a peer needs goes into the project's venv: each peer gets ``<cache>/<name>-venv`` with
exactly its requirements, reinstalled only when they change (a marker file holds them). Install
time is not part of any measurement.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "headwater-bench"


@dataclass(frozen=True)
class VenvSpec:
    name: str  # the venv's folder is <cache>/<name>-venv
    requirements: tuple[str, ...]
    package: str  # the distribution whose version the JSON records
    version_prefix: str = ""  # a check that the pin resolved as meant


@dataclass(frozen=True)
class Venv:
    python: Path
    version: str  # of ``package``
    install_s: float

    @property
    def bin(self) -> Path:
        return self.python.parent


def _tail(data: bytes | str | None, n: int = 800) -> str:
    if isinstance(data, bytes):
        data = data.decode(errors="replace")
    return (data or "")[-n:]


def ensure_venv(spec: VenvSpec, verbose: bool = True) -> Venv | str:
    """The venv's python, installing it first if needed; a string says why it is not there."""
    venv = BENCH_CACHE / f"{spec.name}-venv"
    py = venv / "bin" / "python"
    marker = venv / ".headwater-bench-requirements"
    wanted = "\n".join(spec.requirements)
    t0 = time.perf_counter()
    if not py.exists() or not marker.exists() or marker.read_text() != wanted:
        if verbose:
            print(f"installing {' '.join(spec.requirements)} into {venv} (first run only)...")
        BENCH_CACHE.mkdir(parents=True, exist_ok=True)
        try:
            if not py.exists():
                subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                               capture_output=True, timeout=300)  # fmt: skip
            subprocess.run([str(py), "-m", "pip", "install", "-q", *spec.requirements],
                           check=True, capture_output=True, timeout=1800)  # fmt: skip
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            return f"install failed: {exc} {_tail(getattr(exc, 'stderr', b''))}"
        marker.write_text(wanted)
    install_s = time.perf_counter() - t0
    probe = subprocess.run(
        [str(py), "-c", f"import importlib.metadata as m; print(m.version({spec.package!r}))"],
        capture_output=True,
        text=True,
    )
    got = probe.stdout.strip()
    if probe.returncode != 0 or not got.startswith(spec.version_prefix):
        return f"wrong or missing {spec.package}: {got or _tail(probe.stderr, 300)}"
    return Venv(python=py, version=got, install_s=round(install_s, 1))
