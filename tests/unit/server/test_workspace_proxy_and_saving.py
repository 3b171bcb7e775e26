"""The workspace proxy's pure parts (which paths it takes, whose cookie passes, what it
forwards) and what a save reads from a workspace's folder."""

from __future__ import annotations

from pathlib import Path

from headwater.domain.trees import Entry, Tree
from headwater.server.workspaces.proxy import (
    _caller_token,
    _cookies_without_session,
    _cross_origin,
    _headers,
    workspace_of,
)
from headwater.server.workspaces.saving import SaveRequest, bring_in, folder_tree
from headwater.storage.backends.local import LocalBackend
from headwater.storage.objects import ObjectStore


def scope(kind: str = "http", method: str = "GET", **headers: str) -> dict[str, object]:
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return {"type": kind, "method": method, "headers": raw}


def test_the_proxy_takes_only_paths_under_workspaces() -> None:
    assert workspace_of("/workspaces/abc123/lab") == "abc123"
    assert workspace_of("/workspaces/abc123") == "abc123"
    assert workspace_of("/workspaces/") is None
    assert workspace_of("/api/v1/workspaces/x") is None


def test_the_caller_is_the_bearer_token_else_the_session_cookie() -> None:
    assert _caller_token(_headers(scope(authorization="Bearer t1", cookie="hw_session=s"))) == "t1"
    assert _caller_token(_headers(scope(cookie="_xsrf=a; hw_session=s2"))) == "s2"
    assert _caller_token(_headers(scope(authorization="token jupyters"))) is None


def test_headwaters_session_never_reaches_the_workspace() -> None:
    kept = _cookies_without_session(_headers(scope(cookie="_xsrf=a; hw_session=s; b=c")))
    assert kept == b"_xsrf=a; b=c"
    assert _cookies_without_session(_headers(scope(cookie="hw_session=s"))) is None


def test_a_cookie_from_another_origin_may_read_but_not_act() -> None:
    other = {"host": "h:1", "origin": "http://h:2", "cookie": "hw_session=s"}
    same = {**other, "origin": "http://h:1"}
    assert _cross_origin(scope("websocket", **other), _headers(scope(**other)))
    assert _cross_origin(scope(method="POST", **other), _headers(scope(**other)))
    assert not _cross_origin(scope(method="GET", **other), _headers(scope(**other)))
    assert not _cross_origin(scope("websocket", **same), _headers(scope(**same)))
    bearer = {**other, "authorization": "Bearer t"}
    assert not _cross_origin(scope("websocket", **bearer), _headers(scope(**bearer)))


def test_a_save_reads_the_projects_files_and_carries_over_what_it_does_not_own(
    tmp_path: Path,
) -> None:
    objects = ObjectStore(LocalBackend(tmp_path / "objects"))
    folder = tmp_path / "task"
    for path, text in {
        "nb.ipynb": "{}",
        "src/a.py": "x = 1",
        "data/ds/big.csv": "1,2",
        "output/model.bin": "m",
        ".ipynb_checkpoints/nb-checkpoint.ipynb": "{}",
        "src/__pycache__/a.pyc": "c",
        "replica.ready": "unix:/x",
        "scratch.tmp": "t",
        ".hwignore": "*.tmp\n",
    }.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    (folder / "run.sh").write_text("#!/bin/sh\n")
    (folder / "run.sh").chmod(0o755)
    (folder / "link").symlink_to("/etc/passwd")
    kept = Entry("output/committed.txt", objects.put(b"old"), 3)
    request = SaveRequest(
        folder=folder,
        repo_id="r",
        project_id="p",
        base=None,
        output_dir="output",
        author="a",
        message="m",
    )
    tree = folder_tree(objects, request, Tree.of([kept]))
    modes = {e.path: e.mode for e in tree.entries}
    assert set(modes) == {"nb.ipynb", "src/a.py", "run.sh", ".hwignore", "output/committed.txt"}
    assert modes["run.sh"] == 0o755
    assert objects.read(tree.as_dict()["src/a.py"].hash) == b"x = 1"


def test_what_a_merge_took_from_the_server_comes_into_the_folder(tmp_path: Path) -> None:
    objects = ObjectStore(LocalBackend(tmp_path / "objects"))
    folder = tmp_path / "task"
    folder.mkdir()
    (folder / "mine.txt").write_text("mine")
    (folder / "gone.txt").write_text("deleted on the server")

    def entry(path: str, data: bytes) -> Entry:
        return Entry(path, objects.put(data), len(data))

    ours = Tree.of([entry("mine.txt", b"mine"), entry("gone.txt", b"deleted on the server")])
    merged = Tree.of([entry("mine.txt", b"mine"), entry("sub/theirs.txt", b"theirs")])
    bring_in(objects, folder, ours, merged)
    assert (folder / "sub/theirs.txt").read_text() == "theirs"
    assert not (folder / "gone.txt").exists()
    assert (folder / "mine.txt").read_text() == "mine"
