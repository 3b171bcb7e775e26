"""The scan's stat cache: what it lets a sync skip (hashing, the tree) and when it says
``unchanged``, the promise a no-change sync rests on."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from headwater.client import workspace
from headwater.client.workspace import SyncState, Workspace
from headwater.domain.trees import Entry, Tree


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "sub" / "b.txt").write_text("b\n")
    return tmp_path


def _no_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path: str | Path) -> str:
        raise AssertionError(f"{path} was read although the stat cache knew it")

    monkeypatch.setattr(workspace, "hash_path", refuse)


def test_a_folder_as_the_cache_knew_it_is_unchanged_and_its_cache_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _folder(tmp_path)
    state = SyncState()
    first = Workspace(root).survey(state)
    assert not first.unchanged  # nothing was known yet
    cache = state.files
    _no_hashing(monkeypatch)
    again = Workspace(root).survey(state)
    assert again.unchanged
    assert state.files is cache  # nothing to replace, nothing to save
    assert again.tree == first.tree
    assert again.paths == {"a.txt": str(root / "a.txt"), "sub/b.txt": str(root / "sub/b.txt")}


def test_a_new_file_or_a_mode_change_is_a_change_and_a_mode_change_reads_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _folder(tmp_path)
    state = SyncState()
    Workspace(root).survey(state)
    (root / "a.txt").chmod(0o755)
    with monkeypatch.context() as patched:
        _no_hashing(patched)
        moded = Workspace(root).survey(state)
    assert not moded.unchanged
    assert moded.tree.as_dict()["a.txt"].mode == 0o755
    (root / "c.txt").write_text("c\n")
    assert not Workspace(root).survey(state).unchanged
    (root / "c.txt").unlink()
    assert not Workspace(root).survey(state).unchanged  # one file fewer


def test_the_state_says_when_its_files_are_the_tree_it_agreed_on(tmp_path: Path) -> None:
    root = _folder(tmp_path)
    state = SyncState()
    tree, _ = Workspace(root).scan(state)
    kept = Entry("ignored.log", hashlib.sha256(b"log").hexdigest(), 3)
    whole = Tree.of([*tree.entries, kept])
    state.agree("c1", whole)
    assert state.local == whole.digest
    assert list(state.kept) == ["ignored.log"]
    state.save(root)
    assert SyncState.load(root).local == whole.digest

    # A merge that kept a local edit: the folder's a.txt is not the tree's.
    theirs = Entry("a.txt", hashlib.sha256(b"theirs\n").hexdigest(), 7)
    merged = Tree.of([theirs, *(e for e in whole.entries if e.path != "a.txt")])
    state.agree("c2", merged)
    assert state.tree == merged.digest
    assert state.local is None
    os.chmod(root / "a.txt", 0o755)  # and a mode the tree does not hold: not it either
    state.files["a.txt"][4] = 0o755
    state.agree("c3", whole)
    assert state.local is None


def test_a_folder_without_ignore_rules_scans_without_pathspec(tmp_path: Path) -> None:
    """A `.hwignore`-free folder matches `.headwater/` by name: pathspec (tens of milliseconds
    to import) is loaded only for a folder that has rules."""
    root = _folder(tmp_path)
    (root / ".headwater").mkdir()
    (root / ".headwater" / "state.json").write_text("{}")
    probe = (
        "import sys; sys.modules['pathspec'] = None\n"
        "from pathlib import Path\n"
        "from headwater.client.workspace import SyncState, Workspace\n"
        f"tree, _ = Workspace(Path({str(root)!r})).scan(SyncState())\n"
        "print(sorted(e.path for e in tree.entries))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['a.txt', 'sub/b.txt']"
    (root / ".hwignore").write_text("sub/\n")
    assert [e.path for e in Workspace(root).scan(SyncState())[0].entries] == [".hwignore", "a.txt"]
