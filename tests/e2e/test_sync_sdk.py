"""The SDK's side of files, datasets and models, in this process: the folder's project in the
config order, the stat cache, the object and data caches, a local edit racing a sync, and the
progress bars. The ``hw`` tests cover the commands; these cover what they cannot reach."""

from __future__ import annotations

import hashlib
import io
import os
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.progress import Progress as RichProgress

from headwater.cli.progress import Bars, transfer_progress
from headwater.client import Client, InvalidInput, resolve_config, save_config, workspace
from headwater.client.config import ClientConfig
from headwater.client.datacache import DataCache
from headwater.client.folders import clone_project, link_folder, sync_here
from headwater.client.linked import write_project_file
from headwater.client.objectcache import ObjectCache
from headwater.client.transfer import NoProgress
from headwater.client.workspace import SyncState, Workspace
from headwater.domain.trees import Entry, Tree
from tests.e2e.conftest import LiveServer, unique


@pytest.fixture
def client(live_server: LiveServer, tmp_path: Path) -> Client:
    return Client(
        url=live_server.url, token=live_server.admin_token, config_dir=tmp_path / "config"
    )


def test_the_linked_folder_comes_between_the_environment_and_the_config_file(
    tmp_path: Path,
) -> None:
    save_config(ClientConfig(project="fromfile"), tmp_path)
    folder = tmp_path / "work" / "deep"
    folder.mkdir(parents=True)
    write_project_file(tmp_path / "work", "fromfolder", "work")
    linked = resolve_config(directory=tmp_path, environ={}, folder=folder)
    assert linked.project == "fromfolder"
    assert linked.project_source == str(tmp_path / "work" / ".headwater" / "project.yml")
    env = {"HEADWATER_PROJECT": "fromenv"}
    assert resolve_config(directory=tmp_path, environ=env, folder=folder).project == "fromenv"
    assert resolve_config("", None, "fromarg", directory=tmp_path, folder=folder).project == (
        "fromarg"
    )
    assert resolve_config(directory=tmp_path, environ={}, folder=tmp_path).project == "fromfile"
    (tmp_path / "work" / ".headwater" / "project.yml").write_text("id: [unclosed\n")
    with pytest.raises(InvalidInput, match="not valid YAML"):
        resolve_config(directory=tmp_path, environ={}, folder=folder)


def test_the_stat_cache_rehashes_only_what_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_text("b")
    state = SyncState()
    Workspace(tmp_path).scan(state)
    state.commit = "c"
    state.save(tmp_path)
    (tmp_path / "b.txt").write_text("bb")
    again = SyncState.load(tmp_path)
    read: list[str] = []
    original = workspace.hash_path

    def counting(path: str | Path) -> str:
        read.append(os.path.basename(path))
        return original(path)

    monkeypatch.setattr(workspace, "hash_path", counting)
    changed, _ = Workspace(tmp_path).scan(again)
    assert read == ["b.txt"]
    assert changed.as_dict()["b.txt"].hash == hashlib.sha256(b"bb").hexdigest()
    (tmp_path / ".headwater" / "state.json").write_text("{not json")
    assert SyncState.load(tmp_path) == SyncState()  # damaged: only costs re-hashing


def test_the_object_cache_refuses_corrupt_blobs_and_writes_inside_only(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path / "cache")
    good = b"payload"
    digest = hashlib.sha256(good).hexdigest()
    with pytest.raises(InvalidInput, match="does not match its hash"):
        cache.add(digest, b"tampered")
    with pytest.raises(InvalidInput, match="does not match its hash"):
        cache.add_stream(digest, iter([b"tam", b"pered"]))
    assert not cache.has(digest)
    assert list((tmp_path / "cache" / ".tmp").iterdir()) == []
    cache.add_stream(digest, iter([b"pay", b"load"]))
    assert cache.path(digest).read_bytes() == good

    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "escape").symlink_to(outside)
    with pytest.raises(InvalidInput, match="outside"):
        cache.materialise(Entry("escape/x", digest, len(good)), root, link=False)
    assert list(outside.iterdir()) == []
    placed = cache.materialise(Entry("ok/x", digest, len(good), 0o755), root, link=True)
    assert placed.st_mode & 0o777 == 0o755  # executables are copies, never links
    assert (root / "ok" / "x").read_bytes() == good


def test_a_blob_left_half_written_is_not_vouched_for_and_is_replaced(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path / "cache")
    if not cache.stamps:
        pytest.skip("this filesystem keeps no extended attributes")
    data = b"0123456789" * 100
    digest = hashlib.sha256(data).hexdigest()
    cache.path(digest).parent.mkdir(parents=True)
    cache.path(digest).write_bytes(data[:300])  # what a crash mid-write leaves: no stamp
    assert not cache.has(digest)
    cache.add(digest, data)
    assert cache.has(digest)
    assert cache.path(digest).read_bytes() == data
    other = b"another blob"
    cache.add(hashlib.sha256(other).hexdigest(), other)  # straight under its name
    assert cache.has(hashlib.sha256(other).hexdigest())
    assert not [p for p in cache.root.rglob("*") if p.name.startswith(".tmp-")]


def test_the_data_cache_evicts_what_was_not_used(tmp_path: Path) -> None:
    cache = DataCache(tmp_path, evict_days=2)
    blob = b"rows"
    digest = hashlib.sha256(blob).hexdigest()
    cache.objects.add(digest, blob)
    for key in ("old", "new"):
        folder = cache.checkout_dir(key)
        folder.mkdir(parents=True)
        os.link(cache.objects.path(digest), folder / "rows.csv")
        (cache.commits / f"{key}.used").touch()
    now = time.time()
    week_ago = now - 7 * 86400
    os.utime(cache.commits / "old.used", (week_ago, week_ago))
    assert cache.evict(now=now) == ["old"]
    assert cache.checkout_dir("new").is_dir()
    assert cache.objects.has(digest)  # "new" still links to it
    assert cache.evict(now=now + 7 * 86400) == ["new"]
    assert not cache.objects.has(digest)  # nothing links to it and it is old
    assert cache.evict_now_and_then(now=now) == []
    assert cache.evict_now_and_then(now=now) == []  # at most once a day: not walked again


class EditDuringDownload(NoProgress):
    """Edits a file the moment the sync starts downloading the server's side of a merge."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def start(self, action: str, files: int, size: int) -> None:
        if action == "Downloading":
            self.path.write_text("edited during the sync\n")


def test_a_file_edited_during_a_sync_is_never_overwritten(client: Client, tmp_path: Path) -> None:
    a = tmp_path / "a"
    a.mkdir()
    (a / "notes.txt").write_text("v0\n")
    project = link_folder(client, a, title=unique("race"))
    sync_here(client, start=a)
    b = tmp_path / "b"
    clone_project(client, project.id, b)
    (a / "notes.txt").write_text("v1 from a\n")
    sync_here(client, start=a)
    (b / "other.txt").write_text("b's own change\n")
    _, report = sync_here(client, start=b, progress=EditDuringDownload(b / "notes.txt"))
    assert report.merged
    assert report.kept_local == ["notes.txt"]
    assert (b / "notes.txt").read_text() == "edited during the sync\n"


def _requests(client: Client, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every request ``client`` sends from now on, as ``METHOD path``."""
    sent: list[str] = []
    http = client.http
    request, stream = http.request, http.stream

    def counted_request(method: str, path: str, **kwargs: Any) -> Any:
        sent.append(f"{method} {path}")
        return request(method, path, **kwargs)

    def counted_stream(method: str, path: str, **kwargs: Any) -> Any:
        sent.append(f"{method} {path}")
        return stream(method, path, **kwargs)

    monkeypatch.setattr(http, "request", counted_request)
    monkeypatch.setattr(http, "stream", counted_stream)
    return sent


def test_a_sync_with_nothing_changed_is_one_request_and_builds_no_tree(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "f"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a\n")
    (folder / "sub" / "b.txt").write_text("b\n")
    project = link_folder(client, folder, title=unique("quiet"))
    sync_here(client, start=folder)
    sent = _requests(client, monkeypatch)

    def no_tree(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a sync with nothing to do built a tree")

    with monkeypatch.context() as patched:
        patched.setattr(Tree, "of", no_tree)
        _, report = sync_here(client, start=folder)
    assert report.unchanged
    assert sent == [f"GET /projects/{project.id}/files/commits"]

    # Another folder synced meanwhile: the one request says so, and the sync brings it in.
    other = tmp_path / "other"
    clone_project(client, project.id, other)
    (other / "c.txt").write_text("c\n")
    sync_here(client, start=other)
    sent.clear()
    _, report = sync_here(client, start=folder)
    assert report.merged
    assert report.applied == 1
    assert (folder / "c.txt").read_text() == "c\n"


def test_the_shortcut_for_an_unchanged_folder_never_hides_a_change(
    client: Client, tmp_path: Path
) -> None:
    """What a folder's stat cache cannot see: a mode change, a rule no longer ignoring a
    file the server holds, and a local edit a merge kept (the folder differs from the
    commit it agreed on, though no file changed since)."""
    a = tmp_path / "a"
    a.mkdir()
    (a / "run.sh").write_text("echo hi\n")
    (a / "notes.txt").write_text("v0\n")
    (a / "big.log").write_text("server keeps me\n")
    project = link_folder(client, a, title=unique("shortcut"))
    sync_here(client, start=a)
    repo = client.files.repo(project=project.id)

    (a / "run.sh").chmod(0o755)  # the same size, mtime and inode
    _, report = sync_here(client, start=a)
    assert not report.unchanged
    assert {e.path: e.mode for e in repo.tree().entries}["run.sh"] == 0o755

    (a / ".hwignore").write_text("*.log\n.hwignore\n")  # the rules are not synced either
    (a / "big.log").unlink()  # ignored, so the server's copy is carried over
    sync_here(client, start=a)
    assert "big.log" in {e.path for e in repo.tree().entries}
    (a / ".hwignore").write_text(".hwignore\n")  # not ignored, and absent here: removed
    _, report = sync_here(client, start=a)  # though no synced file changed
    assert not report.unchanged
    assert "big.log" not in {e.path for e in repo.tree().entries}

    b = tmp_path / "b"
    clone_project(client, project.id, b)
    (a / "notes.txt").write_text("v1 from a\n")
    sync_here(client, start=a)
    (b / "other.txt").write_text("b's own change\n")
    _, report = sync_here(client, start=b, progress=EditDuringDownload(b / "notes.txt"))
    assert report.kept_local == ["notes.txt"]
    _, report = sync_here(client, start=b)  # nothing touched since: b's edit is still to send
    assert not report.unchanged
    assert repo.content("notes.txt") == b"edited during the sync\n"
    _, report = sync_here(client, start=b)
    assert report.unchanged


def test_a_cloned_file_edited_in_place_never_reaches_the_next_clone(
    client: Client, tmp_path: Path
) -> None:
    a = tmp_path / "a"
    a.mkdir()
    (a / "data.bin").write_bytes(b"original bytes\n" * 100)
    (a / "same1.txt").write_text("twin\n")
    (a / "same2.txt").write_text("twin\n")
    project = link_folder(client, a, title=unique("lend"))
    sync_here(client, start=a)
    first = tmp_path / "first"
    clone_project(client, project.id, first)
    cached = client.cache().objects.path(hashlib.sha256(b"original bytes\n" * 100).hexdigest())
    if client.cache().objects.stamps:  # borrowed: the clone's file is the cached blob
        assert (first / "data.bin").stat().st_ino == cached.stat().st_ino
    assert (first / "data.bin").stat().st_mode & 0o777 == 0o644
    # two paths of one tree never share an inode: an edit of one must not change the other
    assert (first / "same1.txt").stat().st_ino != (first / "same2.txt").stat().st_ino

    with open(first / "data.bin", "r+b") as fh:  # in place: the same inode, as `>>` would
        fh.write(b"EDITED")
    second = tmp_path / "second"
    clone_project(client, project.id, second)
    assert (second / "data.bin").read_bytes() == b"original bytes\n" * 100
    assert (first / "data.bin").read_bytes().startswith(b"EDITED")  # the edit stays its own
    third = tmp_path / "third"
    clone_project(client, project.id, third)  # the second clone copied, it did not borrow
    with open(second / "data.bin", "r+b") as fh:
        fh.write(b"AGAIN")
    assert (third / "data.bin").read_bytes() == b"original bytes\n" * 100
    _, report = sync_here(client, start=third)
    assert report.unchanged  # nothing leaked into the third folder


def test_the_object_cache_lends_a_blob_to_one_edited_folder_only(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path / "cache")
    data = b"rows\n"
    digest = hashlib.sha256(data).hexdigest()
    cache.add(digest, data)
    entry = Entry("rows.csv", digest, len(data))
    view = tmp_path / "view"
    placed = cache.materialise(entry, view, link=True)
    assert placed.st_nlink == 2  # a read-only view
    assert placed.st_mode & 0o777 == 0o444
    edited = tmp_path / "edited"
    placed = cache.materialise(entry, edited, link=False, lend=True)
    assert placed.st_nlink == 1  # shared: a private copy
    assert placed.st_mode & 0o777 == 0o644
    (view / "rows.csv").unlink()
    if not cache.stamps:
        pytest.skip("this filesystem keeps no extended attributes: nothing is lent")
    placed = cache.materialise(entry, edited, link=False, lend=True)
    assert placed.st_nlink == 2  # lent: the blob itself
    assert placed.st_mode & 0o777 == 0o644
    placed = cache.materialise(entry, view, link=True)
    assert placed.st_nlink == 1  # lent blobs are never linked again, not even as views
    assert cache.has(digest)
    with open(edited / "rows.csv", "ab") as fh:
        fh.write(b"more\n")
    assert not cache.has(digest)  # its stamp no longer matches: fetched again next time
    cache.add(digest, data)
    assert cache.has(digest)
    assert cache.path(digest).read_bytes() == data
    assert (edited / "rows.csv").read_bytes() == b"rows\nmore\n"


def test_progress_bars_count_files_and_bytes_and_stay_quiet_off_a_terminal() -> None:
    with transfer_progress() as quiet:  # pytest's stdout is not a terminal
        assert isinstance(quiet, NoProgress)
    sink = io.StringIO()
    console = Console(file=sink, force_terminal=True, width=100)
    with RichProgress(console=console) as rich:
        bars = Bars(rich)
        bars.start("Uploading", 3, 3000)
        bars.advance(2, 2000)
        files, size = rich.tasks
        assert (files.completed, files.total, size.completed, size.total) == (2, 3, 2000, 3000)
        bars.start("Downloading", 0, 0)
        assert rich.tasks == []  # nothing to move: no bars
