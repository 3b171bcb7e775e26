"""The task's folder (seed 002, Task Environment Creation): the project's files at the start
commit, datasets in ``data/<name>/``, parents' artifacts in ``input/<name>/``, and a virtualenv
for ``requirements.txt``, cached by the file's hash so the next task with it installs nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import site
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from headwater.client.objectcache import ObjectCache, checkout
from headwater.client.repos import RepoClient, tree_of
from headwater.client.transfer import NoProgress
from headwater.client.workspace import SyncState, Workspace
from headwater.domain.trees import Entry, Tree
from headwater.runtime.reporting import TaskApi, patiently
from headwater.schemas.experiments import TaskSpec

VENV_READY = ".headwater-ready"


class SetupFailed(Exception):
    """A step before the command failed: the task fails with this message in its log."""


def folder_env_name(name: str) -> str:
    return "INPUT_" + "".join(c if c.isalnum() else "_" for c in name.upper())


def fetch_tree(repo: RepoClient, commit: str, cache: ObjectCache) -> Tree:
    listed = patiently(lambda: repo.tree(commit))
    tree = tree_of(listed.entries)
    patiently(lambda: repo.transfer.fetch(tree.entries, cache, NoProgress()))
    return tree


def materialise(
    api: TaskApi, spec: TaskSpec, root: Path, cache: ObjectCache
) -> tuple[Tree, dict[str, str]]:
    """Build ``root``; returns the start tree and the extra env vars (``INPUT_<NAME>``)."""
    root.mkdir(parents=True, exist_ok=True)
    base = f"/projects/{api.project_id}"
    start = Tree()
    if spec.files_commit:
        start = fetch_tree(RepoClient(api.http, f"{base}/files"), spec.files_commit, cache)
        checkout(start, root, cache, link=False, fresh=True)  # copies: the task may edit them
    for dataset in spec.datasets:
        tree = fetch_tree(
            RepoClient(api.http, f"{base}/datasets/{dataset.name}"), dataset.commit, cache
        )
        checkout(tree, root / "data" / dataset.name, cache, link=True, fresh=True)
    env: dict[str, str] = {}
    for parent in spec.inputs:
        tree = fetch_tree(RepoClient(api.http, f"{base}/{parent.repo}"), parent.commit, cache)
        prefix = spec.output_dir.rstrip("/") + "/"
        outputs = [
            Entry(e.path[len(prefix) :], e.hash, e.size, e.mode)
            for e in tree.entries
            if e.path.startswith(prefix)
        ]
        target = root / "input" / parent.name
        target.mkdir(parents=True, exist_ok=True)
        checkout(outputs, target, cache, link=True, fresh=True)
        env[folder_env_name(parent.name)] = str(target)
    return start, env


def _see_platform_packages(venv: Path) -> None:
    """Let the venv import what the platform's own interpreter can (the SDK above all),
    after its own packages: ``--system-site-packages`` would reach the base interpreter's,
    not those of the virtualenv Headwater itself may run in."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    own = venv / "lib" / version / "site-packages"
    lines = [f"import site; site.addsitedir({path!r})" for path in site.getsitepackages()]
    (own / "zz-headwater-platform.pth").write_text("\n".join(lines) + "\n")


def has_requirements(path: Path) -> bool:
    if not path.is_file():
        return False
    lines = (line.strip() for line in path.read_text(errors="replace").splitlines())
    return any(line and not line.startswith("#") for line in lines)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def requirements_venv(requirements: Path, venvs: Path, log: LogSink) -> Path:
    """A virtualenv with ``requirements`` installed, made once per distinct file; it sees the
    platform's own packages too (after its own), so the SDK stays importable."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:24]
    venv = venvs / digest
    with _locked(venvs / f"{digest}.lock"):
        if (venv / VENV_READY).exists():
            log.system(f"requirements.txt: reusing the environment {venv}")
            return venv
        log.system(f"requirements.txt: installing into {venv}")
        _run_logged([sys.executable, "-m", "venv", str(venv)], log, "venv")
        _see_platform_packages(venv)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
        # from the task's folder: requirement lines may name paths relative to it
        _run_logged(
            [*pip, "-r", str(requirements)],
            log,
            "pip install -r requirements.txt",
            cwd=requirements.parent,
        )
        (venv / VENV_READY).write_text(digest + "\n")
    return venv


class LogSink(Protocol):
    """What setup steps write to (the shipper)."""

    def system(self, text: str) -> None: ...

    def write(self, stream: str, data: bytes) -> None: ...


def _run_logged(argv: list[str], log: LogSink, what: str, cwd: Path | None = None) -> None:
    result = subprocess.run(argv, capture_output=True, check=False, cwd=cwd)
    if result.stdout:
        log.write("stdout", result.stdout)
    if result.stderr:
        log.write("stderr", result.stderr)
    if result.returncode != 0:
        raise SetupFailed(f"{what} failed with exit code {result.returncode} (its output is above)")


def output_tree(start: Tree, root: Path, output_dir: str) -> tuple[Tree, dict[str, str]]:
    """The start tree with the output folder's files added or replaced: what the experiment's
    branch holds. Returns it with where each output file is on disk."""
    folder = root / output_dir
    if not folder.is_dir():
        return start, {}
    scanned, paths = Workspace(folder).scan(SyncState())
    prefix = output_dir.strip("/") + "/"
    outputs = [Entry(prefix + e.path, e.hash, e.size, e.mode) for e in scanned.entries]
    kept = [e for e in start.entries if not e.path.startswith(prefix)]
    return Tree.of([*kept, *outputs]), {prefix + rel: path for rel, path in paths.items()}
