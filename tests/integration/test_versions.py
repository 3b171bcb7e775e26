"""Versioned trees over the API, on SQLite and PostgreSQL: uploads verified, commits merged or
refused, nothing half-written, reads scoped to the repository (issue: versioned files)."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import pytest

from headwater.schemas.frames import encode
from tests.support.api import Api, Server, assert_error


def blob(data: bytes) -> tuple[str, bytes]:
    return hashlib.sha256(data).hexdigest(), data


def entry(path: str, data: bytes, mode: int = 0o644) -> dict[str, Any]:
    return {"path": path, "hash": blob(data)[0], "size": len(data), "mode": mode}


def upload(api: Api, base: str, *payloads: bytes) -> None:
    body = b"".join(encode([blob(p) for p in payloads]))
    response = api.post(f"{base}/objects/batch", content=body)
    assert response.status_code == 201, response.text


def commit(api: Api, base: str, files: dict[str, bytes], parent: str | None, msg: str = "") -> Any:
    upload(api, base, *files.values())
    body = {"base": parent, "message": msg, "entries": [entry(p, d) for p, d in files.items()]}
    return api.post(f"{base}/commits", json=body)


@pytest.fixture
def owner(server: Server) -> Api:
    return server.create_user("owner")


@pytest.fixture
def files_base(owner: Api) -> str:
    return f"/projects/{owner.create_project('versioned')['id']}/files"


def test_commit_versions_tree_content(owner: Api, files_base: str) -> None:
    first = commit(owner, files_base, {"a.txt": b"one\n", "src/m.py": b"x = 1\n"}, None, "first")
    assert first.status_code == 201, first.text
    assert (first.json()["files"], first.json()["merged"]) == (2, False)
    second = commit(
        owner, files_base, {"a.txt": b"two\n", "src/m.py": b"x = 1\n"}, first.json()["id"]
    )
    assert second.json()["parents"] == [first.json()["id"]]
    same = commit(
        owner, files_base, {"a.txt": b"two\n", "src/m.py": b"x = 1\n"}, second.json()["id"]
    )
    assert same.json()["unchanged"] is True
    assert same.json()["id"] == second.json()["id"]

    versions = owner.get(f"{files_base}/commits").json()
    assert [v["message"] for v in versions] == ["", "first"]
    assert owner.get(f"{files_base}/content/a.txt").content == b"two\n"
    old = owner.get(f"{files_base}/content/a.txt", params={"commit": first.json()["id"][:8]})
    assert old.content == b"one\n"
    assert old.headers["x-content-type-options"] == "nosniff"
    tree = owner.get(f"{files_base}/tree", params={"prefix": "src"}).json()
    assert [e["path"] for e in tree["entries"]] == ["src/m.py"]
    diff = owner.get(f"{files_base}/diff", params={"a": first.json()["id"]}).json()
    assert [(f["path"], f["kind"]) for f in diff["files"]] == [("a.txt", "modified")]
    assert "-one" in diff["files"][0]["unified"]
    assert "+two" in diff["files"][0]["unified"]
    kinds = [a["kind"] for a in owner.activity(files_base.split("/")[2])]
    assert kinds.count("version_committed") == 2


def test_the_csv_preview_pages_through_a_table_bigger_than_a_text_preview(
    owner: Api, files_base: str
) -> None:
    # ~4.9 MB: past the 4 MiB a text preview reads, so the last page shows the table is streamed
    rows = 200_000
    table = b"n,name\n" + b"".join(f"{i},row number {i:06}\n".encode() for i in range(rows))
    assert len(table) > 4 << 20
    made = commit(owner, files_base, {"big.csv": table}, None)
    assert made.status_code == 201, made.text
    path = f"{files_base}/preview/big.csv"

    def page(offset: int, limit: int) -> Any:
        answer = owner.get(path, params={"offset": offset, "rows": limit})
        assert answer.status_code == 200, answer.text
        return answer.json()

    first = page(0, 3)
    assert (first["kind"], first["columns"], first["size"]) == ("csv", ["n", "name"], len(table))
    assert first["rows"] == [
        ["0", "row number 000000"],
        ["1", "row number 000001"],
        ["2", "row number 000002"],
    ]
    assert (first["offset"], first["truncated"]) == (0, True)
    last = page(rows - 2, 1000)
    assert last["rows"] == [[str(i), f"row number {i:06}"] for i in (rows - 2, rows - 1)]
    assert (last["offset"], last["truncated"]) == (rows - 2, False)
    assert page(rows + 5, 10)["rows"] == []
    assert_error(owner.get(path, params={"offset": -1}), 422, where="query.offset")


def test_a_change_on_a_stale_base_merges_and_a_clash_is_refused(
    owner: Api, files_base: str
) -> None:
    base = commit(owner, files_base, {"a": b"1", "b": b"1"}, None).json()["id"]
    theirs = commit(owner, files_base, {"a": b"2", "b": b"1"}, base).json()["id"]
    mine = commit(owner, files_base, {"a": b"1", "b": b"1", "c": b"new"}, base)
    assert mine.status_code == 201, mine.text
    assert mine.json()["merged"] is True
    assert mine.json()["parents"] == [theirs]
    tree = {e["path"]: e["hash"] for e in owner.get(f"{files_base}/tree").json()["entries"]}
    assert tree == {"a": blob(b"2")[0], "b": blob(b"1")[0], "c": blob(b"new")[0]}

    head = mine.json()["id"]
    clash = commit(owner, files_base, {"a": b"3", "b": b"1"}, base)
    assert_error(clash, 409, where="sync", detail="a")
    assert owner.get(f"{files_base}/commits").json()[0]["id"] == head  # nothing moved


def test_concurrent_syncs_from_one_base_all_land(
    server: Server, owner: Api, files_base: str
) -> None:
    base = commit(owner, files_base, {"shared": b"0"}, None).json()["id"]
    results: list[int] = []

    def sync(i: int) -> None:
        client = server.client(owner.token)
        results.append(
            commit(client, files_base, {"shared": b"0", f"f{i}": b"%d" % i}, base).status_code
        )

    threads = [threading.Thread(target=sync, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [201] * 6
    paths = {e["path"] for e in owner.get(f"{files_base}/tree").json()["entries"]}
    assert paths == {"shared"} | {f"f{i}" for i in range(6)}


def test_a_commit_naming_a_blob_never_uploaded_is_refused(owner: Api, files_base: str) -> None:
    body = {"base": None, "entries": [entry("a", b"never uploaded")], "message": ""}
    assert_error(owner.post(f"{files_base}/commits", json=body), 400, where="entries")
    assert owner.get(f"{files_base}/commits").json() == []


def test_content_that_does_not_match_its_hash_is_refused(owner: Api, files_base: str) -> None:
    claimed = blob(b"the real bytes")[0]
    assert_error(owner.put(f"{files_base}/objects/{claimed}", content=b"other bytes"), 400)
    lie = b"".join(encode([(claimed, b"other bytes")]))
    assert_error(owner.post(f"{files_base}/objects/batch", content=lie), 400)
    missing = owner.post(f"{files_base}/objects/missing", json={"hashes": [claimed]}).json()
    assert missing == {"missing": [claimed]}


@pytest.mark.parametrize(
    ("path", "reason"),
    [("../escape", "escapes"), ("/etc/passwd", "absolute"), ("a/../../b", "escapes")],
)
def test_paths_escaping_the_tree_are_refused(
    owner: Api, files_base: str, path: str, reason: str
) -> None:
    upload(owner, files_base, b"x")
    body = {"base": None, "entries": [entry(path, b"x")], "message": ""}
    assert_error(owner.post(f"{files_base}/commits", json=body), 400, detail=reason)
    assert owner.get(f"{files_base}/commits").json() == []


def test_blobs_are_served_only_where_they_belong(
    server: Server, owner: Api, files_base: str
) -> None:
    commit(owner, files_base, {"secret.txt": b"owner's data"}, None)
    other = server.create_user("other")
    other_base = f"/projects/{other.create_project('mine')['id']}/files"
    digest = blob(b"owner's data")[0]
    # Knowing a hash is not enough: the other user's project does not reference it.
    assert_error(other.get(f"{other_base}/objects/{digest}"), 404)
    assert_error(other.post(f"{other_base}/objects/download", json={"hashes": [digest]}), 404)
    assert_error(other.get(f"{files_base}/content/secret.txt"), 404)  # private project
    assert owner.get(f"{files_base}/objects/{digest}").content == b"owner's data"


def test_datasets_versions_and_queries(owner: Api) -> None:
    pid = owner.create_project("data")["id"]
    assert owner.post(f"/projects/{pid}/datasets", json={"name": "images"}).status_code == 201
    assert_error(
        owner.post(f"/projects/{pid}/datasets", json={"name": "images"}), 409, where="name"
    )
    base = f"/projects/{pid}/datasets/images"
    files = {"train/a.png": b"a", "train/b.png": b"b", "test/c.png": b"c", "labels.csv": b"l"}
    first = commit(owner, base, files, None, "v1").json()["id"]
    query = {"name": "train", "filter": "train/*\n!*/b.png", "query": "training split"}
    assert owner.post(f"{base}/queries", json=query).status_code == 201
    resolved = owner.get(f"{base}/queries/train").json()
    assert [e["path"] for e in resolved["entries"]] == ["train/a.png"]
    assert resolved["commit"]["id"] == first
    commit(owner, base, {**files, "train/d.png": b"d"}, first, "v2")
    latest = owner.get(f"{base}/queries/train").json()
    assert [e["path"] for e in latest["entries"]] == ["train/a.png", "train/d.png"]
    pinned = owner.get(f"{base}/queries/train", params={"commit": first}).json()
    assert [e["path"] for e in pinned["entries"]] == ["train/a.png"]
    listed = owner.get(f"/projects/{pid}/datasets").json()
    assert listed[0]["head"]["message"] == "v2"


def test_read_members_cannot_write_datasets(server: Server, owner: Api) -> None:
    pid = owner.create_project("shared-data")["id"]
    reader = server.create_user("reader")
    owner.add_member(pid, reader, datasets="read", files="all")
    assert owner.post(f"/projects/{pid}/datasets", json={"name": "d"}).status_code == 201
    assert_error(reader.post(f"/projects/{pid}/datasets", json={"name": "e"}), 403)
    base = f"/projects/{pid}/datasets/d"
    assert_error(reader.post(f"{base}/objects/missing", json={"hashes": []}), 403)
    assert reader.get(f"{base}/commits").status_code == 200
    # files: all lets the same member commit project files
    assert commit(reader, f"/projects/{pid}/files", {"x": b"1"}, None).status_code == 201


def test_fsck_and_gc(server: Server, owner: Api, files_base: str) -> None:
    commit(owner, files_base, {"kept": b"kept"}, None)
    upload(owner, files_base, b"orphan")
    report = server.admin.post("/admin/fsck").json()
    assert report["ok"] is True
    young = server.admin.post("/admin/gc", json={"grace_hours": 1}).json()
    assert (young["removed"], young["kept_young"]) == (0, 1)
    crashed = server.home / "objects" / ".tmp" / "tmp-crashed-upload"  # a write a crash cut
    crashed.write_bytes(b"half an upload")
    gone = server.admin.post("/admin/gc", json={"grace_hours": 0}).json()
    assert gone["removed"] == 1
    assert gone["leftovers"] == 1
    assert gone["bytes_freed"] == len(b"orphan") + len(b"half an upload")
    assert not crashed.exists()
    assert owner.get(f"{files_base}/content/kept").content == b"kept"
    assert_error(owner.post("/admin/gc", json={}), 403)
    kept = blob(b"kept")[0]
    (server.home / "objects" / kept[:2] / kept[2:]).chmod(0o644)
    (server.home / "objects" / kept[:2] / kept[2:]).write_bytes(b"rotten")
    broken = server.admin.post("/admin/fsck").json()
    assert broken["ok"] is False
    assert broken["corrupt"] == [kept]


def test_branches_list_experiment_branches_newest_first_within_the_limit(
    owner: Api, files_base: str
) -> None:
    """The Files page's version menu offers experiment branches from this listing (issue 16)."""
    first = commit(owner, files_base, {"a.txt": b"one\n"}, None, "first").json()["id"]
    for number in (1, 2, 3):
        body = {
            "base": first,
            "branch": f"experiments/{number}",
            "message": f"outputs of {number}",
            "entries": [entry("a.txt", b"one\n"), entry(f"output/{number}.txt", b"%d\n" % number)],
        }
        upload(owner, files_base, b"%d\n" % number)
        assert owner.post(f"{files_base}/commits", json=body).status_code == 201
    found = owner.get(f"{files_base}/branches", params={"prefix": "experiments/"}).json()
    assert [b["name"] for b in found] == ["experiments/3", "experiments/2", "experiments/1"]
    assert found[0]["head"]["message"] == "outputs of 3"
    assert found[0]["head"]["parents"] == [first]
    everything = owner.get(f"{files_base}/branches").json()
    assert {b["name"] for b in everything} == {"master", *(b["name"] for b in found)}
    limited = owner.get(f"{files_base}/branches", params={"limit": 2}).json()
    assert [b["name"] for b in limited] == ["experiments/3", "experiments/2"]
    too_many = owner.get(f"{files_base}/branches", params={"limit": 1001})
    assert too_many.status_code == 422
    # a prefix is text, not a pattern: "%" matches no branch
    assert owner.get(f"{files_base}/branches", params={"prefix": "%"}).json() == []
