"""Property: any tree of files round-trips through sync and clone byte for byte, modes included,
and a later tree reaches an untouched clone through its next sync, deletions too.

The SDK runs in this process against a real server (uvicorn on loopback in a thread, SQLite), so
an example costs a few requests rather than a few interpreter start-ups.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.client import Client
from headwater.client.folders import clone_project, link_folder, sync_here
from headwater.server import create_app
from headwater.settings import ServerSettings

Files = dict[str, tuple[bytes, bool]]  # path: (content, executable)
_names = itertools.count()

# Names a person might give, unicode included; never a name sync treats specially.
segment = st.text(alphabet=st.sampled_from("abcXYZ019-_. éß中"), min_size=1, max_size=8).filter(
    lambda s: s.strip(".") != "" and s not in (".headwater", ".hwignore") and s == s.strip()
)


@st.composite
def trees(draw: st.DrawFn) -> Files:
    paths = draw(st.lists(st.lists(segment, min_size=1, max_size=3), max_size=12))
    files: Files = {}
    for parts in paths:
        path = "/".join(parts)
        folders = {"/".join(parts[:i]) for i in range(1, len(parts))}
        if folders & files.keys() or any(p.startswith(path + "/") for p in files):
            continue  # a file cannot also be a folder
        files[path] = (draw(st.binary(max_size=3000)), draw(st.booleans()))
    return files


def write_tree(root: Path, files: Files) -> None:
    for path, (content, executable) in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        os.chmod(target, 0o755 if executable else 0o644)


def read_tree(root: Path) -> Files:
    found: Files = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith(".headwater/"):
            found[rel] = (path.read_bytes(), os.access(path, os.X_OK))
    return found


def empty(root: Path) -> None:
    for child in root.iterdir():
        if child.name != ".headwater":
            shutil.rmtree(child) if child.is_dir() else child.unlink()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    home = tmp_path_factory.mktemp("sync-server")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(ServerSettings(home=home))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    token = (home / "admin.token").read_text().strip()
    sdk = Client(
        url=f"http://127.0.0.1:{port}", token=token, config_dir=home.parent / "sync-client"
    )
    yield sdk
    sdk.close()
    server.should_exit = True
    thread.join(10)


@settings(max_examples=30)
@given(first=trees(), second=trees())
def test_any_tree_round_trips_through_sync_and_clone(
    client: Client, first: Files, second: Files
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source, clone = Path(tmp, "source"), Path(tmp, "clone")
        source.mkdir()
        write_tree(source, first)
        project = link_folder(client, source, title=f"prop-{next(_names)}")
        sync_here(client, start=source)
        clone_project(client, project.id, clone)
        assert read_tree(clone) == first

        empty(source)
        write_tree(source, second)
        sync_here(client, start=source)
        _, report = sync_here(client, start=clone)
        assert report.kept_local == []
        assert read_tree(clone) == second
