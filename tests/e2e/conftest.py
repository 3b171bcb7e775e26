"""Fixtures for end-to-end tests: a real ``hw server`` subprocess and an ``hw`` runner.

Every ``hw`` call is a separate process with its own argv, environment, stdin, stdout, stderr
and exit status, and its own ``HEADWATER_CONFIG_DIR`` and ``HOME``, so the tests never touch
the developer's ``~/.headwater``. By default that process is forked from this one, which has
imported the CLI already: a fresh interpreter spends ~0.6 s of CPU importing, and a hundred of
them would take the suite far past its minute. ``HW_E2E_EXEC=1`` runs each call as
``python -m headwater.cli.main`` instead, the way a shell does (slower, same assertions).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from headwater.cli import main as cli
from tests.support.liveserver import free_port, stop_workers

HW = [sys.executable, "-m", "headwater.cli.main"]
EXEC = os.environ.get("HW_E2E_EXEC", "") not in ("", "0")
START_TIMEOUT_S = 30


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"hw server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail(f"hw server did not answer within {START_TIMEOUT_S} s:\n{log.read_text()}")


def clean_env(home: Path, config_dir: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without any HEADWATER_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.update(HOME=str(home), HEADWATER_CONFIG_DIR=str(config_dir), COLUMNS="200", **extra)
    return env


@dataclass
class LiveServer:
    url: str
    home: Path
    admin_token: str
    scripts: Path  # the one folder of the tests' that its sandboxed tasks may read


@pytest.fixture
def scripts(live_server: LiveServer, tmp_path: Path) -> Path:
    """A folder for files the live server's tasks run (its sandbox mounts it read-only)."""
    folder = live_server.scripts / tmp_path.name
    folder.mkdir(mode=0o755)
    return folder


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("server-home")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = home.parent / "server.log"
    scripts = tmp_path_factory.mktemp("task-scripts")
    scripts.chmod(0o755)  # tasks run as another uid when the tests run as root
    env = clean_env(
        home.parent,
        home.parent / "unused-config",
        HEADWATER_WORKER_IDLE_EXIT="10",
        HEADWATER_SANDBOX_READ_ONLY=str(scripts),
    )
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*HW, "server", "--port", str(port), "--home", str(home), "--log-level", "warning"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        wait_healthy(url, process, log)
        token = (home / "admin.token").read_text().strip()
        yield LiveServer(url=url, home=home, admin_token=token, scripts=scripts)
    finally:
        process.terminate()
        process.wait(10)
        stop_workers(home)


@dataclass
class Result:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """The one JSON document on stdout; fails if there is anything else there."""
        assert self.code == 0, self
        return json.loads(self.stdout)


def run_exec(
    args: tuple[str, ...], env: dict[str, str], stdin: str, cwd: Path | None = None
) -> Result:
    done = subprocess.run(
        [*HW, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60, cwd=cwd
    )
    return Result(args, done.returncode, done.stdout, done.stderr)


def run_forked(
    args: tuple[str, ...], env: dict[str, str], stdin: str, cwd: Path | None = None
) -> Result:
    """``hw ARGS`` in a forked child: the console script's ``run()`` with fds 0-2 on files,
    in the working directory ``cwd`` when given."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp, name) for name in ("stdin", "stdout", "stderr")]
        for path, text in zip(paths, (stdin, "", ""), strict=True):
            path.write_text(text)
        pid = os.fork()
        if pid == 0:  # the child never returns into pytest
            code = 1
            try:
                code = _child(args, env, paths, cwd)
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        out, err = (p.read_text() for p in paths[1:])
    return Result(args, os.waitstatus_to_exitcode(status), out, err)


def _child(args: tuple[str, ...], env: dict[str, str], paths: list[Path], cwd: Path | None) -> int:
    if cwd is not None:
        os.chdir(cwd)
    modes = (os.O_RDONLY, os.O_WRONLY, os.O_WRONLY)
    for fd, (path, mode) in enumerate(zip(paths, modes, strict=True)):
        os.dup2(os.open(path, mode), fd)
    sys.stdin, sys.stdout, sys.stderr = (
        open(fd, mode, encoding="utf-8", closefd=False)  # noqa: SIM115
        for fd, mode in ((0, "r"), (1, "w"), (2, "w"))
    )
    os.environ.clear()
    os.environ.update(env)
    sys.argv = ["hw", *args]
    try:
        cli.run()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    return code


@dataclass
class Hw:
    """``hw`` as a user runs it, with one config folder (one logged-in user)."""

    config_dir: Path
    home: Path
    username: str = "admin"
    env: dict[str, str] = field(default_factory=dict)

    @property
    def email(self) -> str:
        return f"{self.username}@example.com"

    def __call__(
        self,
        *args: str,
        input: str | None = None,
        code: int | None = 0,
        cwd: Path | None = None,
        **env: str,
    ) -> Result:
        """``hw ARGS`` with ``input`` on stdin and ``env`` added, run in ``cwd`` (default: the
        test process's); asserts the exit ``code``."""
        return self.run(args, input or "", code, env, cwd)

    def run(
        self,
        args: tuple[str, ...],
        stdin: str,
        code: int | None,
        env: dict[str, str],
        cwd: Path | None = None,
    ) -> Result:
        run = run_exec if EXEC else run_forked
        result = run(args, self.environment(**env), stdin, cwd)
        if code is not None:
            assert result.code == code, result
        return result

    def environment(self, **env: str) -> dict[str, str]:
        return clean_env(self.home, self.config_dir, **{**self.env, **env})

    def json(self, *args: str, cwd: Path | None = None, **env: str) -> Any:
        return self.run((*args, "--json"), "", 0, env, cwd).json()

    def config(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.config_dir / "config.json").read_text())
        return data


def unique(prefix: str) -> str:
    """Names differ per test: every test shares one server."""
    return f"{prefix}-{secrets.token_hex(3)}"


def make_hw(tmp_path: Path, name: str) -> Hw:
    return Hw(config_dir=tmp_path / name / "config", home=tmp_path / name, username=name)


@pytest.fixture
def admin(tmp_path: Path, live_server: LiveServer) -> Hw:
    """``hw`` logged in as the server's admin."""
    hw = make_hw(tmp_path, "admin")
    hw("login", "--url", live_server.url, "--token", live_server.admin_token)
    return hw


@pytest.fixture
def new_user(tmp_path: Path, live_server: LiveServer, admin: Hw) -> Any:
    """A factory: create a user with the admin's ``hw``, return an ``hw`` logged in as them."""

    def create(prefix: str) -> Hw:
        hw = make_hw(tmp_path, unique(prefix))
        created = admin.json("user", "create", hw.username, "--email", hw.email)
        hw("login", "--url", live_server.url, "--token", created["token"])
        return hw

    return create
