"""The worker channel (issue 11, finding 3) and a dead worker (the kill -9 finding).

Before: the socket was ``/tmp/hw-worker-<hash of home>.sock``, another local user could
listen there first and the server sent it launches (task token, secrets) without asking who
it was; and a worker killed with SIGKILL left its experiments ``running`` for minutes.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.executors.local import socket_path
from headwater.unixsocket import ChannelRefused, address, check_peer, peer_uid, private_folder
from tests.security.conftest import Site, log_text
from tests.support.waiting import wait_until

PY = sys.executable


# -- SO_PEERCRED, without a server ------------------------------------------------------------


def test_peer_uid_is_the_kernels_word_for_the_other_end() -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        assert peer_uid(left) == os.geteuid()
        check_peer(left, "pair")  # this user: accepted


def test_a_peer_of_another_uid_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        monkeypatch.setattr(os, "geteuid", lambda: peer_uid(left) + 1)
        with pytest.raises(ChannelRefused, match="not this user"):
            check_peer(left, "pair")


def test_the_socket_folder_must_be_private_and_is_never_loosened_nor_tightened(
    tmp_path: Path,
) -> None:
    made = private_folder(tmp_path / "worker")
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: refused, and left as it is
    with pytest.raises(ChannelRefused, match="private"):
        private_folder(shared)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    link = tmp_path / "link"
    link.symlink_to(made)
    with pytest.raises(ChannelRefused):
        private_folder(link)


def test_a_socket_path_past_the_sun_path_limit_still_binds(tmp_path: Path) -> None:
    folder = tmp_path / ("d" * 60) / ("e" * 60)
    folder.mkdir(parents=True)
    path = folder / "worker.sock"
    assert len(str(path)) > 108
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        with address(path) as name:
            server.bind(name)
        server.listen(1)
        assert path.exists()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client, address(path) as name:
            client.connect(name)


# -- against a real server --------------------------------------------------------------------


class Squatter:
    """A listener at a socket path that records every byte it is sent."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.received = bytearray()
        self.connections = 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with conn:
                conn.settimeout(1.0)
                try:
                    while chunk := conn.recv(65536):
                        self.received += chunk
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()
        self.path.unlink(missing_ok=True)


@pytest.fixture
def old_path_squatter(site: Site) -> Iterator[Squatter]:
    """A listener where the worker's socket used to be, before the server's first launch."""
    digest = hashlib.sha256(str(site.home.resolve()).encode()).hexdigest()[:16]
    squatter = Squatter(Path(tempfile.gettempdir()) / f"hw-worker-{digest}.sock")
    yield squatter
    squatter.close()


@pytest.mark.slow
def test_the_old_predictable_socket_path_gets_nothing(
    site: Site, old_path_squatter: Squatter
) -> None:
    ran = site.run(site.user(), "echo hello")
    assert ran.experiment.state.value == "success", ran.log
    assert old_path_squatter.connections == 0
    assert bytes(old_path_squatter.received) == b""
    folder = socket_path(site.home).parent
    assert folder.parent == site.home
    assert (folder.stat().st_mode & 0o777) == 0o700


SQUAT = """
import os, socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
os.setgid(65534); os.setuid(65534)  # listen() records the listener's uid: another user's
sock.listen(8)
print("listening", flush=True)
sock.settimeout(30)
while True:
    try:
        conn, _ = sock.accept()
    except OSError:
        break
    conn.settimeout(2)
    try:
        data = conn.recv(65536)
    except OSError:
        data = b""
    print("received", len(data), data[:80], flush=True)
    conn.close()
"""


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="taking another uid needs root")
def test_a_socket_of_another_user_at_the_path_gets_no_launch(site: Site) -> None:
    path = socket_path(site.home)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    squatter = subprocess.Popen(
        [PY, "-c", SQUAT, str(path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert squatter.stdout is not None
        assert squatter.stdout.readline().strip() == "listening"
        client = site.user()
        made = client.experiments.create("echo never")[0]
        [done] = client.experiments.wait([made])
    finally:
        squatter.terminate()
        out, _ = squatter.communicate(timeout=10)
    assert done.state.value == "failed"
    assert "uid 65534" in (done.reason or "")
    received = [line for line in out.splitlines() if line.startswith("received")]
    assert received, out  # the server did connect (the path is where it looks) ...
    assert all(line.startswith("received 0 ") for line in received), out  # ... and sent nothing


@pytest.mark.slow
def test_a_killed_worker_is_noticed_and_its_experiments_end_lost(site: Site) -> None:
    client = site.user()
    made = client.experiments.create("echo started; sleep 387")[0]
    wait_until(lambda: "started" in log_text(client, made.id), message="it never started")
    pidfile = Path(str(socket_path(site.home)) + ".pid")
    worker = int(pidfile.read_text())
    os.kill(worker, signal.SIGKILL)

    def ended() -> bool:
        return client.experiments.get(made.id).state.value == "failed"

    wait_until(ended, timeout=15, interval=0.2, message="the experiment stayed running")
    reason = client.experiments.get(made.id).reason or ""
    assert "lost" in reason
    # its command went with the worker (bwrap's --die-with-parent): nothing runs unseen
    wait_until(lambda: not _running("sleep 387"), timeout=10, message="the task outlived it")
    # and the platform goes on: the next task starts a new worker
    again = site.run(client, "echo again")
    assert again.experiment.state.value == "success", again.log


def _running(command: str) -> bool:
    for proc in Path("/proc").iterdir():
        try:
            if (proc / "cmdline").read_bytes().replace(b"\0", b" ").strip() == command.encode():
                return True
        except OSError:
            continue
    return False
