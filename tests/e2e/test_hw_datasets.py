"""``hw dataset``, ``hw model`` and ``hw admin`` end to end against a real ``hw server``."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from headwater.client import Client
from tests.e2e.conftest import Hw, LiveServer, unique
from tests.e2e.test_hw_cli import one_paragraph_error
from tests.e2e.test_hw_files import download_requests, write


def tree_of(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def project(admin: Hw) -> str:
    created: dict[str, Any] = admin.json("project", "create", unique("data"))
    return str(created["id"])


def test_dataset_push_versions_pull_queries_and_the_cache(
    admin: Hw, live_server: LiveServer, tmp_path: Path
) -> None:
    pid = project(admin)
    hw = Hw(admin.config_dir, admin.home, env={"HEADWATER_PROJECT": pid})
    source = tmp_path / "mnist"
    files: dict[str, str | bytes] = {
        "labels.csv": "file,label\n1.png,1\n",
        "images/1.png": os.urandom(100),
        "images/2.png": os.urandom(100),
        "images/tmp/draft.png": b"draft",
        "big.bin": os.urandom(2 << 20),
    }
    write(source, files)
    made = hw.json("dataset", "create", "mnist", "--description", "digits")
    assert made["head"] is None
    first = hw.json("dataset", "push", "mnist", str(source), "-m", "v1")
    assert first["commit"]["files"] == 5
    assert first["uploaded"]["files"] == 5
    same = hw.json("dataset", "push", "mnist", str(source))
    assert same["commit"]["unchanged"]
    (source / "images" / "tmp" / "draft.png").unlink()
    second = hw.json("dataset", "push", "mnist", str(source), "-m", "v2")
    assert second["uploaded"]["files"] == 0  # every blob was there already
    found = hw.json("dataset", "versions", "mnist")
    assert [v["message"] for v in found] == ["v2", "v1"]
    listed = hw.json("dataset", "list")
    assert [(d["name"], d["head"]["id"]) for d in listed] == [("mnist", second["commit"]["id"])]

    out = tmp_path / "out"
    before = download_requests(live_server, "datasets")
    pulled = hw.json("dataset", "pull", "mnist", str(out), "--commit", first["commit"]["id"][:8])
    assert not pulled["cached"]
    assert tree_of(out) == {k: v.encode() if isinstance(v, str) else v for k, v in files.items()}
    fetched = download_requests(live_server, "datasets")
    assert fetched > before

    again = tmp_path / "again"
    shown = hw("dataset", "pull", "mnist", str(again), "--commit", first["commit"]["id"])
    assert "from the local cache" in shown.stdout
    assert download_requests(live_server, "datasets") == fetched  # nothing came over the wire
    assert tree_of(again) == tree_of(out)
    linked = (again / "labels.csv").stat()
    assert linked.st_nlink > 1 or linked.st_mode & 0o222  # a hardlink, or a private copy

    saved = hw.json(
        "dataset", "query", "create", "mnist", "pngs", "--filter", "images/*.png",
        "--filter", "!*/tmp/*", "--commit", first["commit"]["id"], "--description", "no drafts",
    )  # fmt: skip
    assert saved["filter"] == "images/*.png\n!*/tmp/*"
    assert [q["name"] for q in hw.json("dataset", "query", "list", "mnist")] == ["pngs"]
    picked = tmp_path / "picked"
    hw("dataset", "pull", "mnist", str(picked), "--query", "pngs")
    assert sorted(tree_of(picked)) == ["images/1.png", "images/2.png"]
    assert download_requests(live_server, "datasets") == fetched  # those blobs were cached too

    hw("dataset", "query", "delete", "mnist", "pngs")
    hw("dataset", "delete", "mnist", "--yes")
    assert hw.json("dataset", "list") == []
    gone = hw("dataset", "versions", "mnist", code=1)
    one_paragraph_error(gone, "mnist")


def test_model_create_push_list_and_pull(admin: Hw, tmp_path: Path) -> None:
    pid = project(admin)
    weights = tmp_path / "weights"
    write(weights, {"model.pt": os.urandom(1000), "predict.py": "def predict(x):\n    return x\n"})
    os.chmod(weights / "predict.py", 0o755)
    admin("model", "create", "churn", "--project", pid)
    pushed = admin.json("model", "push", "churn", str(weights), "--project", pid)
    listed = admin.json("model", "list", "--project", pid)
    assert listed[0]["head"]["id"] == pushed["commit"]["id"]
    assert len(admin.json("model", "versions", "churn", "--project", pid)) == 1
    admin("model", "pull", "churn", "--project", pid, cwd=tmp_path)
    assert tree_of(tmp_path / "churn") == tree_of(weights)
    assert os.access(tmp_path / "churn" / "predict.py", os.X_OK)


def test_admin_fsck_finds_a_corrupt_blob_and_gc_collects_an_orphan(
    admin: Hw, live_server: LiveServer, tmp_path: Path, new_user: Any
) -> None:
    pid = project(admin)
    content = os.urandom(64)
    digest = hashlib.sha256(content).hexdigest()
    write(tmp_path / "d", {"blob.bin": content})
    admin("dataset", "create", "ds", "--project", pid)
    admin("dataset", "push", "ds", str(tmp_path / "d"), "--project", pid)
    assert admin.json("admin", "fsck")["ok"]

    stored = live_server.home / "objects" / digest[:2] / digest[2:]
    os.chmod(stored, 0o644)
    stored.write_bytes(b"rotten" + content[6:])
    try:
        report = admin("admin", "fsck", code=1)
        assert f"corrupt: {digest}" in report.stdout
    finally:
        stored.write_bytes(content)
    assert admin.json("admin", "fsck")["ok"]

    orphan = os.urandom(32)
    orphan_digest = hashlib.sha256(orphan).hexdigest()
    with Client(url=live_server.url, token=live_server.admin_token, project=pid) as client:
        client.http.request("PUT", f"/projects/{pid}/files/objects/{orphan_digest}", content=orphan)
    orphan_path = live_server.home / "objects" / orphan_digest[:2] / orphan_digest[2:]
    assert orphan_path.exists()
    dry = admin.json("admin", "gc", "--grace-hours", "0", "--dry-run")
    assert dry["removed"] >= 1
    assert orphan_path.exists()
    assert "Removed" in admin("admin", "gc", "--grace-hours", "0").stdout
    assert not orphan_path.exists()
    assert stored.exists()  # referenced: kept

    stranger = new_user("nosy")
    one_paragraph_error(stranger("admin", "fsck", code=1), "admin")
