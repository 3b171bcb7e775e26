"""The task's folder (seed 002, Task Environment Creation): the project's files at the start
commit, datasets in ``data/<name>/``, parents' artifacts in ``input/<name>/``, and a virtualenv
for ``requirements.txt``, cached by the file's hash so the next task with it installs nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import shutil
import site
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Protocol

from headwater.client.objectcache import ObjectCache, checkout
from headwater.client.repos import RepoClient, tree_of
from headwater.client.transfer import NoProgress
from headwater.domain.flowspec.names import passed_condition_env
from headwater.domain.trees import Entry, Tree, matching
from headwater.runtime.reporting import TaskApi, patiently
from headwater.schemas.experiments import TaskSpec

VENV_READY = ".headwater-ready"
# Datasets and inputs are hardlinks to the read-only cache: cheap, and a task cannot change
# them. Root ignores the read-only bit, so as root a write would corrupt the cache for every
# later task: then they are copies.
LINK = os.geteuid() != 0


class SetupFailed(Exception):
    """A step before the command failed: the task fails with this message in its log."""


def inside(root: Path, relative: str, what: str) -> Path:
    """``root / relative``, refused when it would leave ``root`` (``..``, absolute paths):
    the spec comes from users' settings, and a task must not write outside its folder."""
    path = (root / relative).resolve()
    if path != root.resolve() and root.resolve() not in path.parents:
        raise SetupFailed(f"the {what} {relative!r} is outside the task's folder")
    return path


def folder_env_name(name: str) -> str:
    return "INPUT_" + "".join(c if c.isalnum() else "_" for c in name.upper())


def fetch_tree(repo: RepoClient, commit: str, cache: ObjectCache, trees: Path) -> Tree:
    """The tree of ``commit`` with every blob of it in ``cache``. A commit never changes, so
    its tree is kept in ``trees``: the next task on the same commit asks the server nothing."""
    stored = trees / hashlib.sha256(f"{repo.base}\0{commit}".encode()).hexdigest()
    try:
        tree = Tree.decode(stored.read_bytes())
    except (OSError, ValueError, TypeError):
        listed = patiently(lambda: repo.tree(commit))
        tree = tree_of(listed.entries)
        if listed.commit.id == commit:  # not a branch name or a prefix: those move
            trees.mkdir(parents=True, exist_ok=True)
            partial = stored.with_name(f"{stored.name}.{os.getpid()}.{threading.get_ident()}")
            partial.write_bytes(tree.encode())
            partial.replace(stored)
    patiently(lambda: repo.transfer.fetch(tree.entries, cache, NoProgress()))
    return tree


def materialise(
    api: TaskApi, spec: TaskSpec, root: Path, cache: ObjectCache, trees: Path
) -> tuple[Tree, dict[str, str]]:
    """Build ``root``; returns the start tree and the extra env vars (``INPUT_<NAME>``).
    ``trees`` keeps the trees of commits already seen (see ``fetch_tree``)."""
    root.mkdir(parents=True, exist_ok=True)
    base = f"/projects/{api.project_id}"
    start = Tree()
    if spec.files_commit:
        files = RepoClient(api.http, f"{base}/files")
        start = fetch_tree(files, spec.files_commit, cache, trees)
        checkout(start, root, cache, link=False, fresh=True)  # copies: the task may edit them
    for dataset in spec.datasets:
        repo = RepoClient(api.http, f"{base}/datasets/{dataset.name}")
        tree = fetch_tree(repo, dataset.commit, cache, trees)
        if dataset.filter:
            tree = matching(tree, dataset.filter)
        target = inside(root, f"data/{dataset.name}", "dataset folder")
        checkout(tree, target, cache, link=LINK, fresh=True)
    env: dict[str, str] = {}
    for parent in spec.inputs:
        target = inside(root, f"input/{parent.name}", "input folder")
        target.mkdir(parents=True, exist_ok=True)
        if parent.commit is not None:  # None: the parent left no artifacts, the folder is empty
            repo = RepoClient(api.http, f"{base}/{parent.repo}")
            tree = fetch_tree(repo, parent.commit, cache, trees)
            prefix = parent.output_dir.rstrip("/") + "/"
            outputs = [
                Entry(e.path[len(prefix) :], e.hash, e.size, e.mode)
                for e in tree.entries
                if e.path.startswith(prefix)
            ]
            checkout(outputs, target, cache, link=LINK, fresh=True)
        env[folder_env_name(parent.name)] = str(target)
    if spec.model is not None:  # an endpoint serving a registered model version
        repo = RepoClient(api.http, f"{base}/models/{spec.model.name}")
        tree = fetch_tree(repo, spec.model.commit, cache, trees)
        target = inside(root, "model", "model folder")
        checkout(tree, target, cache, link=LINK, fresh=True)
        env["HW_MODEL_DIR"] = str(target)
    if spec.passed_condition:
        root_input = str(root / "input")
        env.update(passed_condition_env(spec.passed_condition, root_input, cnvrg=spec.cnvrg_env))
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


def requirements_venv(
    requirements: Path,
    venvs: Path,
    log: LogSink,
    confine: Callable[[list[str], Path], list[str]] | None = None,
) -> Path:
    """A virtualenv with ``requirements`` installed, made once per distinct file; it sees the
    platform's own packages too (after its own), so the SDK stays importable. ``confine``
    turns the ``pip install`` (user code: a requirement may run its own setup) into the
    command that runs it sandboxed, given the venv it may write."""
    # The interpreter is part of the key: after an upgrade of the platform's Python, a venv
    # made for the old one would not run.
    key = requirements.read_bytes() + f"\0{sys.executable}\0{sys.version}".encode()
    digest = hashlib.sha256(key).hexdigest()[:24]
    venv = venvs / digest
    with _locked(venvs / f"{digest}.lock"):
        if (venv / VENV_READY).exists():
            log.system(f"requirements.txt: reusing the environment {venv}")
            return venv
        log.system(f"requirements.txt: installing into {venv}")
        shutil.rmtree(venv, ignore_errors=True)  # what a failed or killed build left
        borrow_pip = importlib.util.find_spec("pip") is not None
        # The platform's pip serves the venv (it sees the platform's packages): a venv made
        # without its own pip takes 0.1 s instead of 10.
        bare = ["--without-pip"] if borrow_pip else []
        _run_logged([sys.executable, "-m", "venv", *bare, str(venv)], log, "venv")
        _see_platform_packages(venv)
        if borrow_pip:
            _pip_commands(venv)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
        install = [*pip, "-r", str(requirements)]
        # from the task's folder: requirement lines may name paths relative to it
        _run_logged(
            confine(install, venv) if confine is not None else install,
            log,
            "pip install -r requirements.txt",
            cwd=requirements.parent,
        )
        (venv / VENV_READY).write_text(digest + "\n")
    return venv


def _pip_commands(venv: Path) -> None:
    """``pip`` and ``pip3`` in the venv's bin/, so a task's own ``pip install`` goes into
    its venv, never into the platform's."""
    for name in ("pip", "pip3"):
        script = venv / "bin" / name
        script.write_text(f'#!/bin/sh\nexec "{venv}/bin/python" -m pip "$@"\n')
        script.chmod(0o755)


class LogSink(Protocol):
    """What setup steps write to (the shipper)."""

    def system(self, text: str) -> None: ...

    def pump(self, stream: str, pipe: IO[bytes]) -> threading.Thread: ...


def _run_logged(argv: list[str], log: LogSink, what: str, cwd: Path | None = None) -> None:
    """Run a setup step with its output streamed to the task's log as it comes (an install
    can take minutes; the user sees it progress, and its error message when it fails)."""
    process = subprocess.Popen(
        argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    assert process.stderr is not None
    readers = [log.pump("stdout", process.stdout), log.pump("stderr", process.stderr)]
    code = process.wait()
    for reader in readers:
        reader.join()
    if code != 0:
        raise SetupFailed(f"{what} failed with exit code {code} (its output is above)")
