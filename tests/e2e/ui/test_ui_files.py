"""The files pages end to end: two pushed versions, the folder browser, a CSV, and their diff."""

from __future__ import annotations

import hashlib
import struct
import zlib
from typing import TYPE_CHECKING, Any

from playwright.sync_api import expect

from tests.e2e.ui.conftest import User, log_in, shot

if TYPE_CHECKING:
    from playwright.sync_api import Page


def push(
    user: User,
    pid: str,
    files: dict[str, bytes],
    message: str,
    base: str | None = None,
    repo: str = "files",
) -> str:
    """Upload each file's bytes and commit them as the next version of ``repo``."""
    entries = []
    for path, data in files.items():
        digest = hashlib.sha256(data).hexdigest()
        user.call("PUT", f"/projects/{pid}/{repo}/objects/{digest}", content=data)
        entries.append({"path": path, "hash": digest, "size": len(data)})
    result: dict[str, Any] = user.call(
        "POST",
        f"/projects/{pid}/{repo}/commits",
        json={"entries": entries, "message": message, "base": base},
    )
    return str(result["id"])


def test_browse_a_version_open_a_csv_and_diff_two_versions(page: Page, make_user: Any) -> None:
    owner: User = make_user("files")
    project = owner.project("files")
    pid = project["id"]
    first = push(
        owner,
        pid,
        {
            "data/train.csv": b"id,label\n1,cat\n2,dog\n",
            "train.py": b"import sys\nprint('hello')\n",
        },
        "first version",
    )
    push(
        owner,
        pid,
        {
            "data/train.csv": b"id,label\n1,cat\n2,dog\n3,bird\n",
            "train.py": b"import sys\nprint('hello, world')\n",
            "notes.txt": b"new notes\n",
        },
        "second version",
        base=first,
    )
    log_in(page, owner)
    page.goto(f"/projects/{pid}")
    page.get_by_role("navigation", name="Project").get_by_role("link", name="Files").click()
    files = page.get_by_role("table", name="Files")
    expect(files.get_by_role("button", name="notes.txt")).to_be_visible()
    # the older version has no notes.txt
    page.get_by_label("Version").select_option(first)
    expect(files.get_by_role("button", name="notes.txt")).to_have_count(0)
    files.get_by_role("button", name="data/").click()
    files.get_by_role("button", name="train.csv").click()
    csv = page.get_by_role("table", name="CSV")
    expect(csv.get_by_role("cell", name="dog")).to_be_visible()
    expect(csv.get_by_role("cell", name="bird")).to_have_count(0)
    shot(page, "files")
    page.goto(f"/projects/{pid}/files?v={first}&file=train.py")
    source = page.get_by_test_id("source")
    expect(source.locator(".tok-keyword", has_text="import")).to_be_visible()  # highlighted
    expect(source.locator(".tok-string")).to_have_text(["'hello'"])
    shot(page, "files-script")
    page.get_by_role("link", name="Compare versions").click()
    changed = page.get_by_role("list", name="Changed files")
    expect(changed.get_by_role("link", name="train.py")).to_be_visible()
    expect(changed.get_by_role("link", name="notes.txt")).to_be_visible()
    expect(page.locator("td.add pre", has_text="print('hello, world')")).to_be_visible()
    expect(page.locator("td.del pre", has_text="print('hello')")).to_be_visible()
    shot(page, "files-diff", full_page=True)


def test_datasets_and_live_jobs(page: Page, make_user: Any) -> None:
    owner: User = make_user("data")
    pid = owner.project("data")["id"]
    owner.call("POST", f"/projects/{pid}/datasets", json={"name": "images", "description": "Pets"})
    push(owner, pid, {"cats/a.csv": b"x,y\n1,2\n"}, "first", repo="datasets/images")
    owner.call(
        "POST",
        f"/projects/{pid}/datasets/images/queries",
        json={"name": "cats", "query": "only cats", "filter": "cats/*"},
    )
    owner.call(
        "POST", f"/projects/{pid}/experiments", json={"command": "true", "title": "live:ingest"}
    )
    owner.call("POST", f"/projects/{pid}/experiments", json={"command": "true", "title": "batch"})
    log_in(page, owner)
    page.goto(f"/projects/{pid}/datasets")
    page.get_by_role("table", name="Datasets").get_by_role("button", name="images").click()
    page.get_by_role("table", name="Dataset files").get_by_role("button", name="cats/a.csv").click()
    expect(page.get_by_role("table", name="CSV").get_by_role("cell", name="2")).to_be_visible()
    queries = page.get_by_role("table", name="Saved queries")
    expect(queries.get_by_role("cell", name="cats/*")).to_be_visible()
    shot(page, "datasets", full_page=True)
    page.get_by_role("navigation", name="Project").get_by_role("link", name="Live jobs").click()
    live = page.get_by_role("table", name="Live jobs")
    expect(live.get_by_role("cell", name="ingest", exact=True)).to_be_visible()
    expect(live.get_by_role("cell", name="batch")).to_have_count(0)
    shot(page, "live-jobs")


def png(width: int, height: int) -> bytes:
    """A real PNG of one grey colour, for the image viewer."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + (chunk(b"IEND", b""))
    )


def log_in_with_token(page: Page, user: User) -> None:
    page.goto("/")
    page.get_by_role("radio", name="API token").check()
    page.get_by_role("textbox", name="API token").fill(user.token)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Projects").wait_for()


def test_models_page_pages_a_big_csv_and_shows_an_image_to_a_token_login(
    page: Page, make_user: Any
) -> None:
    owner: User = make_user("models")
    pid = owner.project("models")["id"]
    owner.call("POST", f"/projects/{pid}/models", json={"name": "churn", "description": "GBM"})
    scores = b"row,score\n" + b"".join(f"{i},{i / 1000}\n".encode() for i in range(1, 121))
    files = {"scores.csv": scores, "plots/roc.png": png(40, 30)}
    push(owner, pid, files, "trained", repo="models/churn")
    log_in_with_token(page, owner)  # no session cookie: the image must come with the token
    page.goto(f"/projects/{pid}")
    page.get_by_role("navigation", name="Project").get_by_role("link", name="Models").click()
    page.get_by_role("table", name="Models").get_by_role("button", name="churn").click()
    model_files = page.get_by_role("table", name="Model files")
    model_files.get_by_role("button", name="scores.csv").click()
    csv = page.get_by_role("table", name="CSV")
    expect(csv.get_by_role("cell", name="50", exact=True)).to_be_visible()
    viewer = page.get_by_label("Viewer")
    expect(viewer.get_by_role("status")).to_have_text("Rows 1\u201350")
    viewer.get_by_role("button", name="Next").click()
    viewer.get_by_role("button", name="Next").click()
    expect(viewer.get_by_role("status")).to_have_text("Rows 101\u2013120 (the end)")
    expect(csv.get_by_role("cell", name="120", exact=True)).to_be_visible()
    expect(csv.get_by_role("cell", name="50", exact=True)).to_have_count(0)
    expect(viewer.get_by_role("button", name="Next")).to_be_disabled()
    shot(page, "models-csv")
    model_files.get_by_role("button", name="plots/roc.png").click()
    image = page.get_by_role("img", name="plots/roc.png")
    expect(image).to_be_visible()
    page.wait_for_function(
        "() => { const i = document.querySelector('img[alt=\"plots/roc.png\"]');"
        " return i && i.complete && i.naturalWidth === 40; }"
    )
    shot(page, "models-image")
