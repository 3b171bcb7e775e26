"""Storage: blobs reached only by who may read them, sizes that match, names every disk takes,
and a looping link named, not an internal error (issue 11, Storage and Names).

Blobs are stored once per digest for the whole server. Before, knowing a digest was enough:
``objects/missing`` told a stranger whether any project held it, and a commit naming it made
its bytes theirs. The API tests run in process on SQLite; the client's folder walk runs
against the real server of ``site``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater.client import Client
from headwater.client.folders import sync_here
from headwater.client.linked import write_project_file
from headwater.db.repos.versions import VersionRepo
from headwater.domain.errors import InvalidInput
from headwater.domain.paths import NameRefused, shown
from headwater.domain.trees import Entry, Tree
from headwater.schemas.frames import encode
from tests.security.conftest import Site
from tests.support.api import Api, Server, assert_error


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry(path: str, data: bytes, size: int | None = None) -> dict[str, Any]:
    return {"path": path, "hash": digest(data), "size": len(data) if size is None else size}


def upload(api: Api, base: str, *payloads: bytes) -> None:
    body = b"".join(encode([(digest(p), p) for p in payloads]))
    response = api.post(f"{base}/objects/batch", content=body)
    assert response.status_code == 201, response.text


def commit(api: Api, base: str, entries: list[dict[str, Any]], parent: str | None = None) -> Any:
    return api.post(f"{base}/commits", json={"base": parent, "message": "", "entries": entries})


def missing(api: Api, base: str, *hashes: str) -> list[str]:
    response = api.post(f"{base}/objects/missing", json={"hashes": list(hashes)})
    assert response.status_code == 200, response.text
    found: list[str] = response.json()["missing"]
    return found


def head(api: Api, base: str) -> str | None:
    listed = api.get(f"{base}/commits").json()
    return listed[0]["id"] if listed else None


SECRET = b"the owner's model weights, never shown to anyone else\n"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "home", None)
    yield srv
    srv.close()


@pytest.fixture
def owner(server: Server) -> Api:
    return server.create_user()


@pytest.fixture
def stranger(server: Server) -> Api:
    return server.create_user()


@pytest.fixture
def owned(owner: Api) -> str:
    """A project of the owner's whose files hold SECRET; its files base path."""
    base = f"/projects/{owner.create_project()['id']}/files"
    upload(owner, base, SECRET)
    made = commit(owner, base, [entry("weights.bin", SECRET)])
    assert made.status_code == 201, made.text
    return base


def own_files(api: Api) -> str:
    return f"/projects/{api.personal_project_id}/files"


def test_a_strangers_probe_of_missing_objects_learns_nothing(owned: str, stranger: Api) -> None:
    """A blob another project holds answers exactly as one nobody holds: missing."""
    nobody = digest(b"no project holds this\n")
    assert missing(stranger, own_files(stranger), digest(SECRET), nobody) == sorted(
        [digest(SECRET), nobody]
    )


def test_a_commit_naming_another_projects_digest_is_refused(
    owned: str, owner: Api, stranger: Api
) -> None:
    """Knowing the digest is not having the bytes: nothing is committed, nothing served."""
    base = own_files(stranger)
    refused = commit(stranger, base, [entry("stolen.bin", SECRET)])
    assert_error(refused, 400, where="entries", detail="not uploaded")
    assert head(stranger, base) is None
    assert stranger.get(f"{base}/content/stolen.bin").status_code == 404
    assert stranger.get(f"{base}/objects/{digest(SECRET)}").status_code == 404
    # The owner's own project still commits it without sending it again.
    again = commit(owner, owned, [entry("copy.bin", SECRET)], head(owner, owned))
    assert again.status_code == 201, again.text


def test_the_same_bytes_uploaded_by_the_stranger_commit(owned: str, stranger: Api) -> None:
    """The rule is possession: a stranger who has the bytes uploads them (hash checked) and
    commits them, stored once with the owner's."""
    base = own_files(stranger)
    upload(stranger, base, SECRET)
    assert missing(stranger, base, digest(SECRET)) == []
    made = commit(stranger, base, [entry("mine.bin", SECRET)])
    assert made.status_code == 201, made.text
    assert stranger.get(f"{base}/content/mine.bin").content == SECRET


def test_a_removed_member_keeps_no_digest_they_saw(
    server: Server, owner: Api, owned: str, stranger: Api
) -> None:
    """While a member, they read the tree's digests; removed, naming one in their own project
    is refused as for anyone else."""
    pid = owned.split("/")[2]
    owner.add_member(pid, stranger, files="all")
    seen = [e["hash"] for e in stranger.get(f"{owned}/tree").json()["entries"]]
    assert seen == [digest(SECRET)]
    removed = owner.delete(f"/projects/{pid}/members/{stranger.email}")
    assert removed.status_code == 204, removed.text
    base = own_files(stranger)
    assert missing(stranger, base, *seen) == seen
    refused = commit(stranger, base, [entry("kept.bin", SECRET)])
    assert_error(refused, 400, where="entries")
    assert head(stranger, base) is None


def test_blobs_of_the_projects_other_repositories_need_no_upload(owner: Api, owned: str) -> None:
    """Reachability spans the project's files, datasets and models the caller may read: a
    dataset push of a file already in the project's files sends nothing again."""
    pid = owned.split("/")[2]
    made = owner.post(f"/projects/{pid}/datasets", json={"name": "weights"})
    assert made.status_code == 201, made.text
    base = f"/projects/{pid}/datasets/weights"
    assert missing(owner, base, digest(SECRET)) == []
    pushed = commit(owner, base, [entry("w.bin", SECRET)])
    assert pushed.status_code == 201, pushed.text


def test_a_size_that_does_not_match_the_stored_blob_is_refused(owner: Api, owned: str) -> None:
    """Also for a blob the repository holds already (before, only new blobs were measured)."""
    before = head(owner, owned)
    wrong = [entry("weights.bin", SECRET), entry("twice.bin", SECRET, size=len(SECRET) + 1000)]
    refused = commit(owner, owned, wrong, before)
    body = assert_error(refused, 422, where="twice.bin", detail="does not match")
    assert "size" in body["detail"]
    assert head(owner, owned) == before


BAD_NAMES = [
    pytest.param("x" * 300 + ".txt", "bytes long", id="300-char name"),
    pytest.param("/".join(["d"] * 2000) + "/f.txt", "levels deep", id="2000 folders deep"),
    pytest.param("a\nb.txt", "U+000A", id="newline"),
    pytest.param("a\rb.txt", "U+000D", id="CR"),
    pytest.param("a\tb.txt", "U+0009", id="tab"),
    pytest.param("a\x7fb.txt", "U+007F", id="DEL"),
    pytest.param("a\x85b.txt", "U+0085", id="C1"),
    pytest.param("invoice\u202etxt.exe", "U+202E", id="right-to-left override"),
    pytest.param("a\u2067b.txt", "U+2067", id="bidi isolate"),
    pytest.param(".headwater/project.yml", ".headwater/", id="under .headwater"),
    pytest.param(".headwater", ".headwater/", id=".headwater as a file"),
    pytest.param(".HeadWater/state.json", ".headwater/", id=".headwater in another case"),
]


@pytest.mark.parametrize(("path", "rule"), BAD_NAMES)
def test_a_name_that_breaks_checkouts_is_refused_at_commit(
    owner: Api, owned: str, path: str, rule: str
) -> None:
    """422 with the path (escaped) as ``where`` and the rule in ``detail``; the hint says what
    is allowed; the repository is as it was."""
    data = b"payload\n"
    before = head(owner, owned)
    upload(owner, owned, data)
    refused = commit(owner, owned, [entry("weights.bin", SECRET), entry(path, data)], before)
    body = assert_error(refused, 422, where=shown(path), detail=rule)
    assert body["hint"]
    assert head(owner, owned) == before
    paths = [e["path"] for e in owner.get(f"{owned}/tree").json()["entries"]]
    assert paths == ["weights.bin"]


def test_names_just_inside_the_limits_are_kept(owner: Api, owned: str) -> None:
    data = b"fine\n"
    upload(owner, owned, data)
    paths = ["é" * 127 + "x", "/".join(["d"] * 127) + "/f", "sub/.headwater/x", ".headwaterish"]
    made = commit(owner, owned, [entry(p, data) for p in paths], head(owner, owned))
    assert made.status_code == 201, made.text


def test_a_path_committed_before_the_rules_rides_along_but_no_new_one_joins(
    server: Server, owner: Api, owned: str
) -> None:
    """A project may hold a bad path from before: later commits carry it (a sync does), so
    the project is not stuck; a new bad path is still refused."""
    platform = server.app.state.platform
    before = head(owner, owned)  # asked first: the API's writes queue behind the one below
    old = Tree.of(
        [
            Entry("weights.bin", digest(SECRET), len(SECRET)),
            Entry("a\nb", digest(SECRET), len(SECRET)),
        ]
    )
    with platform.db.write() as session:
        repo = VersionRepo(session).files_repo(owned.split("/")[2])
        legacy = VersionRepo(session).add_commit(
            repo.id, "master", tree=platform.versioning.store_tree(old), parents=(),
            author="then", message="before the rules", files=2, size=2 * len(SECRET),
            expected_head=before, hashes=[digest(SECRET)],
        )  # fmt: skip
    data = b"new\n"
    upload(owner, owned, data)
    kept = [entry("weights.bin", SECRET), {**entry("x", SECRET), "path": "a\nb"}]
    made = commit(owner, owned, [*kept, entry("new.txt", data)], legacy.id)
    assert made.status_code == 201, made.text
    refused = commit(owner, owned, [*kept, entry("c\td", data)], made.json()["id"])
    assert_error(refused, 422, where="c\\u0009d")


# -- the client's side: the same rule before uploading, and a looping link ------------------


@pytest.fixture
def linked(site: Site, tmp_path: Path) -> tuple[Client, Path]:
    client = site.user()
    folder = tmp_path / "folder"
    folder.mkdir()
    project = client.scope.project()
    write_project_file(folder, project.id, project.name)
    (folder / "train.py").write_text("print('hi')\n")
    return client, folder


@pytest.mark.slow
def test_a_symlink_loop_in_a_synced_folder_is_named(linked: tuple[Client, Path]) -> None:
    """Before: ``OSError: [Errno 40] Too many levels of symbolic links``, an internal error."""
    client, folder = linked
    os.symlink("b", folder / "a")
    os.symlink("a", folder / "b")
    with pytest.raises(InvalidInput) as refused:
        sync_here(client, start=folder)
    assert refused.value.where in ("a", "b")
    assert "loop" in refused.value.detail
    assert ".hwignore" in (refused.value.hint or "")
    assert client.files.repo().head() is None  # nothing was committed
    (folder / ".hwignore").write_text("a\nb\n")
    _, report = sync_here(client, start=folder)
    assert report.commit is not None
    assert report.commit.files == 2  # train.py and .hwignore


@pytest.mark.slow
def test_the_client_refuses_a_bad_name_before_uploading(linked: tuple[Client, Path]) -> None:
    client, folder = linked
    deep = folder.joinpath(*["d"] * 200)
    deep.mkdir(parents=True)
    (deep / "f.txt").write_text("deep\n")
    (folder / "line\nbreak.txt").write_text("x\n")
    with pytest.raises(NameRefused) as refused:
        sync_here(client, start=folder)
    assert refused.value.detail  # the rule: control character, or levels deep
    assert client.files.repo().head() is None
    repo = client.files.repo()
    assert repo.transfer.missing([digest(b"deep\n"), digest(b"x\n")]) == {
        digest(b"deep\n"),
        digest(b"x\n"),
    }  # nothing was uploaded either
