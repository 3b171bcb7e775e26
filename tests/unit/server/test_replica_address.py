"""What a replica's task may report as its address: a Unix socket in its own task folder."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.domain.errors import InvalidInput
from headwater.server.routes.endpoints import check_address


@pytest.fixture
def listening(tmp_path: Path) -> Iterator[Path]:
    """A task folder with a listening socket in it."""
    folder = tmp_path / "task"
    folder.mkdir()
    path = folder / "replica.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.listen(1)
    yield path
    sock.close()


def test_a_socket_in_the_task_folder_is_taken(listening: Path) -> None:
    address = f"unix:{listening}"
    assert check_address(address, str(listening.parent)) == address


@pytest.mark.parametrize(
    "address",
    [
        "http://127.0.0.1:8080",
        "unix:relative.sock",
        "unix:{other}/replica.sock",  # another task's folder
        "unix:{task}/../other/replica.sock",
    ],
)
def test_an_address_outside_the_task_folder_is_refused(listening: Path, address: str) -> None:
    other = listening.parent.parent / "other"
    other.mkdir()
    given = address.format(task=listening.parent, other=other)
    with pytest.raises(InvalidInput) as caught:
        check_address(given, str(listening.parent))
    assert caught.value.where == "address"


def test_a_link_to_a_socket_elsewhere_and_a_plain_file_are_refused(
    listening: Path, tmp_path: Path
) -> None:
    task = tmp_path / "second"
    task.mkdir()
    (task / "link.sock").symlink_to(listening)  # e.g. the worker's socket
    (task / "file.sock").write_text("")
    for name in ("link.sock", "file.sock", "missing.sock"):
        with pytest.raises(InvalidInput, match="not a listening Unix socket"):
            check_address(f"unix:{task / name}", str(task))


def test_a_task_whose_folder_is_unknown_reports_nothing(listening: Path) -> None:
    with pytest.raises(InvalidInput):
        check_address(f"unix:{listening}", "")
