"""``hw new``, ``link``, ``sync``, ``clone`` and ``files`` end to end, each `hw` call a process of
its own in the project folder, against a real ``hw server``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Hw, LiveServer, unique
from tests.e2e.test_hw_cli import one_paragraph_error


def download_requests(server: LiveServer, kind: str) -> float:
    """Blob downloads the server has answered for ``kind`` (files, datasets, models), framed
    or one by one, from its Prometheus counters: the proof that a command fetched nothing."""
    body = httpx.get(f"{server.url}/metrics", timeout=5).text
    prefix = f"/projects/{{project_id}}/{kind}"  # with or without the /api/v1 mount
    total = 0.0
    for line in body.splitlines():
        labels, _, value = line.rpartition(" ")
        framed = 'method="POST"' in labels and '/objects/download"' in labels
        single = 'method="GET"' in labels and '/objects/{digest}"' in labels
        if labels.startswith("headwater_http_requests_total{") and prefix in labels:
            total += float(value) if framed or single else 0
    return total


def linked_folder(admin: Hw, tmp_path: Path, files: dict[str, str | bytes]) -> tuple[Path, str]:
    """A folder with ``files``, linked to a new project and synced once; returns it and the id."""
    folder = tmp_path / unique("work")
    write(folder, files)
    done = admin.json("link", "--sync", cwd=folder)
    return folder, str(done["project"]["id"])


def write(folder: Path, files: dict[str, str | bytes]) -> None:
    for path, content in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)


def versions(admin: Hw, folder: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = admin.json("files", "versions", cwd=folder)
    return found


def test_new_from_the_default_template_then_sync(admin: Hw, tmp_path: Path) -> None:
    name = unique("fresh")
    made = admin.json("new", name, "--description", "churn", cwd=tmp_path)
    folder = tmp_path / name
    assert made["folder"] == str(folder)
    for part in ("data", "notebooks", "src", "models", "results"):
        assert (folder / part).is_dir(), part
    for part in ("README.md", "requirements.txt", ".hwignore", ".gitignore"):
        assert (folder / part).is_file(), part
    linked = (folder / ".headwater" / "project.yml").read_text()
    assert f'id: "{made["project"]["id"]}"' in linked
    assert made["sync"]["commit"]["files"] >= 4

    # Inside the folder every command uses its project, with no --project.
    assert [v["id"] for v in versions(admin, folder)] == [made["sync"]["commit"]["id"]]
    again = admin("sync", cwd=folder / "src")
    assert "nothing to sync" in again.stdout
    elsewhere = admin.json("project", "show", cwd=folder)
    assert elsewhere["project"]["id"] == made["project"]["id"]
    other = admin.json("project", "create", unique("other"))
    overridden = admin.json("project", "show", cwd=folder, HEADWATER_PROJECT=other["id"])
    assert overridden["project"]["id"] == other["id"]

    taken = admin("new", name, cwd=tmp_path, code=1)
    one_paragraph_error(taken, "exists already")


def test_new_from_a_custom_template_path_or_git_url(admin: Hw, tmp_path: Path) -> None:
    template = tmp_path / "tpl"
    write(
        template,
        {
            "cookiecutter.json": json.dumps({"project_dir": "x", "greeting": "hi"}),
            "{{cookiecutter.project_dir}}/hello.txt": "{{ cookiecutter.greeting }}\n",
        },
    )
    name = unique("custom")
    made = admin.json("new", name, "--template", str(template), cwd=tmp_path)
    folder = tmp_path / name
    assert (folder / "hello.txt").read_text() == "hi\n"
    assert made["project"]["id"] in (folder / ".headwater" / "project.yml").read_text()
    assert made["sync"]["commit"]["files"] == 1

    bad = unique("bad")
    refused = admin("new", bad, "--template", str(tmp_path / "nowhere"), cwd=tmp_path, code=1)
    one_paragraph_error(refused, "--template", "could not be rendered")
    assert admin.json("project", "list", "--search", bad)["total"] == 0  # rolled back
    assert not (tmp_path / bad).exists()

    if shutil.which("git") is None:
        pytest.skip("git is not installed: the Git URL case needs it")
    repo = tmp_path / "tpl.git"
    shutil.copytree(template, repo)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "template"]):
        subprocess.run([*git, *step], check=True)
    from_git = unique("git")
    admin("new", from_git, "--template", f"file://{repo}", cwd=tmp_path)
    assert (tmp_path / from_git / "hello.txt").read_text() == "hi\n"


def test_a_template_that_fails_midway_leaves_no_folder_so_the_retry_works(
    admin: Hw, tmp_path: Path
) -> None:
    """Cookiecutter makes ./NAME, then fails on a file: `hw new` removes the folder it made along
    with the project (it used to leave an empty ./NAME, and the retry said "exists already")."""
    broken = tmp_path / "broken"
    write(
        broken,
        {
            "cookiecutter.json": json.dumps({"project_dir": "x"}),
            "{{cookiecutter.project_dir}}/bad.txt": "{% if %}\n",
        },
    )
    good = tmp_path / "good"
    write(
        good,
        {
            "cookiecutter.json": json.dumps({"project_dir": "x"}),
            "{{cookiecutter.project_dir}}/ok.txt": "ok\n",
        },
    )
    name = unique("retry")
    refused = admin("new", name, "--template", str(broken), cwd=tmp_path, code=1)
    one_paragraph_error(refused, "--template", "could not be rendered")
    assert not (tmp_path / name).exists()
    assert admin.json("project", "list", "--search", name)["total"] == 0

    admin("new", name, "--template", str(good), cwd=tmp_path)
    assert (tmp_path / name / "ok.txt").read_text() == "ok\n"


def test_a_failed_template_keeps_a_folder_it_did_not_make(admin: Hw, tmp_path: Path) -> None:
    """The clean-up removes only what this `hw new` made: a folder already there is refused
    before anything is rendered and stays as it was."""
    mine = tmp_path / unique("mine")
    write(mine, {"notes.txt": "keep me\n"})
    refused = admin("new", mine.name, "--template", str(tmp_path / "nowhere"), cwd=tmp_path, code=1)
    one_paragraph_error(refused, "exists already")
    assert (mine / "notes.txt").read_text() == "keep me\n"


def test_link_then_sync_edits_and_versions(admin: Hw, tmp_path: Path) -> None:
    folder = tmp_path / unique("plain")
    write(folder, {"train.py": "print('v1')\n", "conf/params.yml": "lr: 0.1\n"})
    linked = admin.json("link", cwd=folder)
    assert linked["project"]["name"] == folder.name
    assert linked["sync"] is None
    first = admin("sync", "-m", "first", cwd=folder)
    assert "Synced version" in first.stdout
    assert "uploaded 2 file(s)" in first.stdout

    (folder / "train.py").write_text("print('v2')\n")
    (folder / "conf" / "params.yml").unlink()
    admin("sync", "-m", "second", cwd=folder)
    found = versions(admin, folder)
    assert [v["message"] for v in found] == ["second", "first"]
    assert [v["files"] for v in found] == [1, 2]
    assert not (folder / "conf").exists() or not any((folder / "conf").iterdir())

    twice = admin("link", cwd=folder, code=1)
    one_paragraph_error(twice, "already linked")
    outside = admin("sync", cwd=tmp_path, code=1)
    one_paragraph_error(outside, "not inside a linked project folder", "hw clone")

    titled = tmp_path / unique("titled")
    titled.mkdir()
    name = unique("Churn Model")
    assert admin.json("link", "--title", name, cwd=titled)["project"]["name"] == name


def test_two_clones_merge_and_a_conflict_changes_nothing(admin: Hw, tmp_path: Path) -> None:
    a, project = linked_folder(
        admin, tmp_path, {"a.txt": "a0\n", "b.txt": "b0\n", "shared.txt": "s0\n"}
    )
    b = tmp_path / "b"
    admin("clone", project, str(b))

    (a / "a.txt").write_text("a1\n")
    (b / "b.txt").write_text("b1\n")
    admin("sync", "-m", "from a", cwd=a)
    merged = admin("sync", "-m", "from b", cwd=b)
    assert "merged with 1 change(s) from the server" in merged.stdout
    assert (b / "a.txt").read_text() == "a1\n"  # a's change came into b
    assert (b / "b.txt").read_text() == "b1\n"  # b's own change stayed
    pulled = admin("sync", cwd=a)
    assert "Updated from the server" in pulled.stdout
    assert (a / "b.txt").read_text() == "b1\n"

    (a / "shared.txt").write_text("from a\n")
    (b / "shared.txt").write_text("from b\n")
    admin("sync", cwd=a)
    state = (b / ".headwater" / "state.json").read_bytes()
    before = {p.name: p.read_bytes() for p in b.iterdir() if p.is_file()}
    refused = admin("sync", cwd=b, code=1)
    one_paragraph_error(refused, "shared.txt", "changed both here and on the server")
    assert (b / ".headwater" / "state.json").read_bytes() == state
    assert {p.name: p.read_bytes() for p in b.iterdir() if p.is_file()} == before
    shown = admin("files", "show", "shared.txt", cwd=b)
    assert shown.stdout == "from a\n"  # the server kept a's version; b's is only local


def test_clone_round_trips_bytes_and_modes_and_caches(
    admin: Hw, live_server: LiveServer, tmp_path: Path
) -> None:
    blob = os.urandom(3 << 20)  # large enough to stream one by one
    files: dict[str, str | bytes] = {
        "bin/run.sh": "#!/bin/sh\necho hi\n",
        "data/weights.bin": blob,
        "deep/er/still/é.txt": "unicode\n",
        "empty": b"",
    }
    source, project = linked_folder(admin, tmp_path, files)
    os.chmod(source / "bin" / "run.sh", 0o755)
    admin("sync", "-m", "exec bit", cwd=source)
    # data/ is in no .hwignore here, so everything travels.
    first = tmp_path / "first"
    before = download_requests(live_server, "files")
    cloned = admin.json("clone", project, str(first))
    assert cloned["commit"]["files"] == 4
    for path, content in files.items():
        expected = content.encode() if isinstance(content, str) else content
        assert (first / path).read_bytes() == expected, path
    assert os.access(first / "bin" / "run.sh", os.X_OK)
    assert not os.access(first / "deep" / "er" / "still" / "é.txt", os.X_OK)
    assert "nothing to sync" in admin("sync", cwd=first).stdout

    fetched = download_requests(live_server, "files")
    assert fetched >= before + 2  # small ones framed, the large one alone
    second = tmp_path / "second"
    admin("clone", project, str(second))
    assert download_requests(live_server, "files") == fetched  # all from the local cache
    assert (second / "data" / "weights.bin").read_bytes() == blob

    oldest = versions(admin, first)[-1]["id"]
    old = tmp_path / "old"
    admin("clone", project, str(old), "--commit", oldest[:8])
    assert not os.access(old / "bin" / "run.sh", os.X_OK)
    busy = admin("clone", project, str(first), code=1)
    one_paragraph_error(busy, "not an empty folder")


def test_hwignore_is_honoured_and_ignored_files_are_kept(admin: Hw, tmp_path: Path) -> None:
    folder, project = linked_folder(
        admin,
        tmp_path,
        {
            ".hwignore": "*.log\nscratch/\n",
            "keep.txt": "k\n",
            "run.log": "noise\n",
            "scratch/tmp.bin": b"\x00" * 10,
        },
    )
    clone = tmp_path / "clone"
    admin("clone", project, str(clone))
    assert sorted(p.name for p in clone.iterdir()) == [".headwater", ".hwignore", "keep.txt"]
    missing = admin("files", "show", "run.log", cwd=folder, code=1)
    one_paragraph_error(missing, "run.log")

    # Ignoring a file that was synced before is not deleting it: syncs carry it over.
    (folder / ".hwignore").write_text("*.log\nscratch/\nkeep.txt\n")
    admin("sync", cwd=folder)
    assert admin("files", "show", "keep.txt", cwd=folder).stdout == "k\n"
    again = tmp_path / "again"
    admin("clone", project, str(again))
    assert (again / "keep.txt").read_text() == "k\n"
    (again / "keep.txt").write_text("local only\n")
    assert "nothing to sync" in admin("sync", cwd=again).stdout
    assert admin("files", "show", "keep.txt", cwd=folder).stdout == "k\n"


def test_a_link_out_of_the_folder_is_refused_cleanly(admin: Hw, tmp_path: Path) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("not yours\n")
    folder = tmp_path / unique("links")
    write(folder, {"ok.txt": "fine\n", "inner/real.txt": "real\n"})
    (folder / "inside").symlink_to(folder / "inner" / "real.txt")
    (folder / "escape").symlink_to(secret)
    admin("link", cwd=folder)
    refused = admin("sync", cwd=folder, code=1)
    one_paragraph_error(refused, "escape", "outside the project folder", ".hwignore")
    assert versions(admin, folder) == []

    (folder / ".hwignore").write_text("escape\n")
    admin("sync", cwd=folder)
    assert admin("files", "show", "inside", cwd=folder).stdout == "real\n"


def test_files_diff_and_show(admin: Hw, tmp_path: Path) -> None:
    folder, _ = linked_folder(
        admin, tmp_path, {"train.py": "lr = 0.1\nepochs = 5\n", "logo.png": b"\x89PNG\x00\x01"}
    )
    (folder / "train.py").write_text("lr = 0.01\nepochs = 5\n")
    (folder / "logo.png").write_bytes(b"\x89PNG\x00\x02\x03")
    admin("sync", cwd=folder)
    new, old = (v["id"] for v in versions(admin, folder))

    shown = admin("files", "diff", old[:8], new[:8], cwd=folder)
    assert "--- a/train.py\n+++ b/train.py\n" in shown.stdout
    assert "-lr = 0.1\n+lr = 0.01\n" in shown.stdout
    assert "Binary file logo.png modified (6 bytes → 7 bytes)" in shown.stdout
    only = admin.json("files", "diff", old, new, "train.py", cwd=folder)
    assert only["a"] == old
    assert [f["path"] for f in only["files"]] == ["train.py"]
    assert only["files"][0]["hunks"][0]["rows"][0][2] == "changed"

    assert admin("files", "show", "train.py", "--commit", old[:6], cwd=folder).stdout == (
        "lr = 0.1\nepochs = 5\n"
    )
    assert admin("files", "show", "train.py", cwd=folder).stdout == "lr = 0.01\nepochs = 5\n"
    gone = admin("files", "show", "nope.py", cwd=folder, code=1)
    one_paragraph_error(gone, "nope.py")
