"""The replica process's edges: its socket and its ready file."""

import os
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.domain.errors import InvalidInput
from headwater.serving.process import bind_socket, write_ready_file


@pytest.fixture
def short() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="hwp-") as folder:
        yield Path(folder)


def test_the_socket_is_private_from_its_first_instant(short: Path) -> None:
    os.umask(0o022)
    with bind_socket(short / "r.sock"):
        assert stat.S_IMODE((short / "r.sock").stat().st_mode) == 0o600
    assert os.umask(0o022) == 0o022  # the process's umask is left as it was


def test_a_stale_socket_is_replaced_but_a_file_is_not(short: Path) -> None:
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(short / "r.sock"))
    stale.close()
    with bind_socket(short / "r.sock") as sock:
        assert sock.getsockname() == str(short / "r.sock")
    (short / "f.sock").write_text("data")
    with pytest.raises(InvalidInput) as caught:
        bind_socket(short / "f.sock")
    assert caught.value.where == "--socket"
    assert (short / "f.sock").read_text() == "data"


def test_a_path_too_long_for_a_socket_says_so(short: Path) -> None:
    with pytest.raises(InvalidInput, match="over the 107"):
        bind_socket(short / ("x" * 120))


def test_the_ready_file_appears_whole(short: Path) -> None:
    write_ready_file(short / "ready", "unix:/x/r.sock")
    assert (short / "ready").read_text() == "unix:/x/r.sock\n"
    assert sorted(p.name for p in short.iterdir()) == ["ready"]
