"""File diffs: text hunks that reproduce the new version, notebooks aligned cell by cell."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.trees import EXEC_MODE, Change, ChangeKind, Entry, Tree
from headwater.schemas.versions import FileDiff, Hunk
from headwater.storage.diffs import TEXT_MAX, diff_cells, diff_file, diff_trees
from headwater.storage.objects import hash_bytes


class Blobs:
    """An object store as the diff sees it: a hash-to-bytes function that counts its calls."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.reads = 0

    def entry(self, path: str, data: bytes, mode: int = 0o644) -> Entry:
        digest = hash_bytes(data)
        self.data[digest] = data
        return Entry(path, digest, len(data), mode)

    def read(self, digest: str) -> bytes:
        self.reads += 1
        return self.data[digest]


def change(blobs: Blobs, path: str, old: bytes | None, new: bytes | None) -> Change:
    before = blobs.entry(path, old) if old is not None else None
    after = blobs.entry(path, new) if new is not None else None
    kind = ChangeKind.ADDED if old is None else ChangeKind.REMOVED if new is None else "modified"
    return Change(path, ChangeKind(kind), before, after)


def text_diff(old: str | None, new: str | None, path: str = "src/train.py") -> FileDiff:
    blobs = Blobs()
    before = None if old is None else old.encode()
    after = None if new is None else new.encode()
    return diff_file(change(blobs, path, before, after), blobs.read)


def numbered(n: int) -> list[str]:
    return [f"line {i}" for i in range(1, n + 1)]


def text(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def apply(old: list[str], hunks: list[Hunk]) -> list[str]:
    """Rebuild the new lines from the old ones and the side-by-side rows alone."""
    out: list[str] = []
    pos = 0
    for hunk in hunks:
        out += old[pos : hunk.old_start - 1]
        pos = hunk.old_start - 1
        assert hunk.new_start == len(out) + 1
        for left, right, _ in hunk.rows:
            if left is not None:
                assert old[pos] == left
                pos += 1
            if right is not None:
                out.append(right)
    return out + old[pos:]


def test_an_edit_in_the_middle_gives_one_hunk_with_three_lines_of_context() -> None:
    old = numbered(50)
    new = [*old[:24], "line 25, edited", *old[25:]]
    result = text_diff(text(old), text(new))

    assert (result.format, result.kind, result.cells) == ("text", ChangeKind.MODIFIED, [])
    [hunk] = result.hunks
    assert (hunk.old_start, hunk.new_start) == (22, 22)
    assert hunk.rows == [
        ("line 22", "line 22", "equal"),
        ("line 23", "line 23", "equal"),
        ("line 24", "line 24", "equal"),
        ("line 25", "line 25, edited", "changed"),
        ("line 26", "line 26", "equal"),
        ("line 27", "line 27", "equal"),
        ("line 28", "line 28", "equal"),
    ]
    assert result.unified == (
        "--- a/src/train.py\n+++ b/src/train.py\n@@ -22,7 +22,7 @@\n"
        " line 22\n line 23\n line 24\n-line 25\n+line 25, edited\n line 26\n line 27\n line 28\n"
    )


def test_insertions_and_deletions_are_rows_with_one_side_only() -> None:
    old = numbered(20)
    new = [*old[:3], "inserted", *old[3:15], *old[17:]]
    result = text_diff(text(old), text(new))
    tags = [
        (left, right, tag) for h in result.hunks for left, right, tag in h.rows if tag != "equal"
    ]
    assert tags == [
        (None, "inserted", "added"),
        ("line 16", None, "removed"),
        ("line 17", None, "removed"),
    ]
    assert len(result.hunks) == 2  # 11 unchanged lines between the edits: two hunks
    assert apply(old, result.hunks) == new


def test_a_replaced_stretch_of_unequal_length_pairs_then_adds() -> None:
    old = ["a", "b", "c", "d"]
    new = ["a", "B", "C", "C2", "d"]
    [hunk] = text_diff(text(old), text(new)).hunks
    assert hunk.rows[1:4] == [("b", "B", "changed"), ("c", "C", "changed"), (None, "C2", "added")]


def test_an_added_file_is_all_added_lines_and_a_removed_one_all_removed() -> None:
    added = text_diff(None, "x = 1\ny = 2\n")
    assert (added.kind, added.old_size, added.new_size) == (ChangeKind.ADDED, None, 12)
    assert added.hunks[0].rows == [(None, "x = 1", "added"), (None, "y = 2", "added")]
    assert added.unified is not None
    assert added.unified.startswith("--- /dev/null\n+++ b/src/train.py\n@@ -0,0 +1,2 @@\n")

    removed = text_diff("x = 1\ny = 2\n", None)
    assert (removed.kind, removed.old_size, removed.new_size) == (ChangeKind.REMOVED, 12, None)
    assert removed.hunks[0].rows == [("x = 1", None, "removed"), ("y = 2", None, "removed")]
    assert removed.unified is not None
    assert removed.unified.startswith("--- a/src/train.py\n+++ /dev/null\n@@ -1,2 +0,0 @@\n")


def test_an_empty_file_added_is_text_with_nothing_to_show() -> None:
    result = text_diff(None, "")
    assert (result.format, result.unified, result.hunks) == ("text", "", [])


def test_a_missing_final_newline_is_marked_as_git_does() -> None:
    result = text_diff("a\nb", "a\nb\n")
    assert result.unified == (
        "--- a/src/train.py\n+++ b/src/train.py\n@@ -1,2 +1,2 @@\n"
        " a\n-b\n\\ No newline at end of file\n+b\n"
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize(
    ("old", "new"),
    [
        (text(numbered(50)), text([*numbered(10), "new", *numbered(50)[12:]])),
        ("a\nb", "a\nc\nd"),
        ("só ünïcode\n", "só ünïcode\nand more\n"),
    ],
)
def test_git_applies_the_unified_diff(tmp_path: Path, old: str, new: str) -> None:
    (tmp_path / "src").mkdir()
    target = tmp_path / "src" / "train.py"
    target.write_text(old, encoding="utf-8")
    patch = tmp_path / "change.patch"
    unified = text_diff(old, new).unified
    assert unified is not None
    patch.write_text(unified, encoding="utf-8")
    subprocess.run(["git", "apply", "--unsafe-paths", str(patch)], cwd=tmp_path, check=True)
    assert target.read_text(encoding="utf-8") == new


def patch(old: str, unified: str) -> str:
    """Apply a unified diff the way ``patch`` does, checking each hunk's header counts."""
    old_lines = old.splitlines(keepends=True)
    lines = unified.splitlines(keepends=True)[2:]  # past the --- and +++ headers
    out: list[str] = []
    pos = k = 0
    while k < len(lines):
        header = re.fullmatch(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@\n", lines[k])
        assert header, lines[k]
        start, count, _, new_count = (int(g) if g else 1 for g in header.groups())
        start = start - 1 if count else start  # an empty range names the line before it
        out += old_lines[pos:start]
        pos, k = start, k + 1
        seen_old = seen_new = 0
        while k < len(lines) and not lines[k].startswith("@@"):
            line = lines[k]
            if lines[k + 1 : k + 2] == ["\\ No newline at end of file\n"]:
                line, k = line[:-1], k + 1
            if line[0] in " -":
                assert old_lines[pos] == line[1:]
                pos, seen_old = pos + 1, seen_old + 1
            if line[0] in " +":
                out.append(line[1:])
                seen_new += 1
            k += 1
        assert (seen_old, seen_new) == (count, new_count)
    return "".join(out + old_lines[pos:])


def bare_lines(text: str) -> list[str]:
    parts = text.split("\n")
    return parts[:-1] if parts[-1] == "" else parts


lines_ = st.lists(st.sampled_from(["a", "b", "c", "", "d e", "x", "y"]), max_size=40)


@given(lines_, lines_, st.booleans(), st.booleans())
def test_hunks_and_the_unified_diff_rebuild_the_new_version(
    old: list[str], new: list[str], old_newline: bool, new_newline: bool
) -> None:
    old_text = "\n".join(old) + ("\n" if old and old_newline else "")
    new_text = "\n".join(new) + ("\n" if new and new_newline else "")
    result = text_diff(old_text, new_text)
    assert result.unified is not None
    assert patch(old_text, result.unified) == new_text
    # rows hold lines without their newline: they rebuild the lines, the unified text the bytes
    assert apply(bare_lines(old_text), result.hunks) == bare_lines(new_text)
    assert bool(result.hunks) == (old_text != new_text)
    for hunk in result.hunks:  # at most three lines of context at each end of a hunk
        tags = [tag for _, _, tag in hunk.rows]
        assert tags[:4] != ["equal"] * 4
        assert tags[-4:] != ["equal"] * 4
    for before, after in itertools.pairwise(result.hunks):  # hunks closer than that are merged
        old_end = before.old_start + sum(left is not None for left, _, _ in before.rows)
        assert after.old_start - old_end > 0


def test_edits_spread_through_a_long_file_stay_fast_and_exact() -> None:
    old = [f"row {i}, value {i * 7919 % 10007}" for i in range(20_000)]
    new = [f"{line} edited" if i % 50 == 25 else line for i, line in enumerate(old)]
    result = text_diff(text(old), text(new))
    assert len(result.hunks) == 400
    assert all(len(h.rows) == 7 for h in result.hunks)
    assert apply(old, result.hunks) == new


def test_binary_files_are_reported_by_size() -> None:
    blob = bytes(range(256)) * 4
    blobs = Blobs()
    result = diff_file(change(blobs, "model.bin", blob, blob + b"\x00"), blobs.read)
    assert (result.format, result.old_size, result.new_size) == ("binary", 1024, 1025)
    assert (result.unified, result.hunks, result.cells) == (None, [], [])


def test_text_turned_binary_is_binary() -> None:
    blobs = Blobs()
    result = diff_file(change(blobs, "notes.txt", b"hello\n", b"\xff\xfe\x00h"), blobs.read)
    assert result.format == "binary"


def test_files_over_the_cap_are_not_read() -> None:
    blobs = Blobs()
    big = Entry("data.csv", "0" * 64, TEXT_MAX + 1)
    small = blobs.entry("data.csv", b"a,b\n")
    result = diff_file(Change("data.csv", ChangeKind.MODIFIED, small, big), blobs.read)
    assert (result.format, result.new_size, blobs.reads) == ("binary", TEXT_MAX + 1, 0)


def test_a_mode_change_alone_is_a_text_change_with_no_lines() -> None:
    blobs = Blobs()
    old = blobs.entry("run.sh", b"echo hi\n")
    new = blobs.entry("run.sh", b"echo hi\n", EXEC_MODE)
    result = diff_file(Change("run.sh", ChangeKind.MODIFIED, old, new), blobs.read)
    assert (result.format, result.unified, result.hunks) == ("text", "", [])


# Notebooks


def cell(cell_type: str, source: str, **extra: Any) -> dict[str, Any]:
    lines = source.splitlines(keepends=True)  # nbformat's usual list-of-lines form
    out: dict[str, Any] = {"cell_type": cell_type, "metadata": {}, "source": lines}
    if cell_type == "code":
        out |= {"execution_count": None, "outputs": []} | extra
    return out


def notebook(*cells: dict[str, Any]) -> bytes:
    doc = {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(doc, indent=1).encode()


INTRO = cell("markdown", "# Training\n\nFit a small model.")
IMPORTS = cell("code", "import numpy as np\nimport pandas as pd")
LOAD = cell("code", "df = pd.read_csv('data/train.csv')\ndf.head()")
FIT = cell("code", "model = fit(df, epochs=10)\nprint(model.score)")


def notebook_diff(old: bytes | None, new: bytes | None) -> FileDiff:
    blobs = Blobs()
    return diff_file(change(blobs, "notebooks/train.ipynb", old, new), blobs.read)


def test_a_notebook_with_one_cell_inserted_and_one_edited_is_aligned_cell_by_cell() -> None:
    plot = cell("code", "plt.plot(df.loss)")
    fit = cell("code", "model = fit(df, epochs=20)\nprint(model.score)")
    result = notebook_diff(
        notebook(INTRO, IMPORTS, LOAD, FIT), notebook(INTRO, IMPORTS, LOAD, plot, fit)
    )

    assert (result.format, result.unified, result.hunks) == ("notebook", None, [])
    assert [(c.index, c.cell_type, c.status) for c in result.cells] == [
        (0, "markdown", "unchanged"),
        (1, "code", "unchanged"),
        (2, "code", "unchanged"),
        (3, "code", "added"),
        (4, "code", "modified"),
    ]
    assert (
        result.cells[0].old_source
        == result.cells[0].new_source
        == "# Training\n\nFit a small model."
    )
    assert (result.cells[3].old_source, result.cells[3].new_source) == (None, "plt.plot(df.loss)")
    assert result.cells[4].old_source == "model = fit(df, epochs=10)\nprint(model.score)"
    assert result.cells[4].new_source == "model = fit(df, epochs=20)\nprint(model.score)"


def test_a_removed_cell_keeps_its_old_index() -> None:
    result = notebook_diff(notebook(INTRO, IMPORTS, LOAD, FIT), notebook(INTRO, LOAD, FIT))
    assert [(c.index, c.status) for c in result.cells] == [
        (0, "unchanged"),
        (1, "removed"),
        (1, "unchanged"),
        (2, "unchanged"),
    ]
    assert result.cells[1].new_source is None


def test_unrelated_cells_in_a_changed_stretch_are_removed_and_added_not_paired() -> None:
    old = [cell("code", "x = load()\nx.describe()")]
    new = [cell("markdown", "## Results"), cell("code", "x = load()\nx.describe(include='all')")]
    result = diff_cells(old, new)
    assert [(c.index, c.cell_type, c.status) for c in result] == [
        (0, "markdown", "added"),
        (1, "code", "modified"),
    ]
    rewritten = diff_cells([cell("code", "print('hello')")], [cell("code", "import os")])
    assert [c.status for c in rewritten] == ["removed", "added"]


def test_a_cell_whose_type_changed_is_modified_with_its_new_type() -> None:
    [result] = diff_cells(
        [cell("code", "Notes on the data")], [cell("markdown", "Notes on the data")]
    )
    assert (result.cell_type, result.status) == ("markdown", "modified")


def test_new_outputs_alone_do_not_change_a_cell() -> None:
    ran = cell(
        "code",
        "print(1)",
        execution_count=3,
        outputs=[{"output_type": "stream", "name": "stdout", "text": ["1\n"]}],
    )
    result = notebook_diff(notebook(cell("code", "print(1)")), notebook(ran))
    assert [c.status for c in result.cells] == ["unchanged"]


def test_added_and_removed_notebooks_list_every_cell() -> None:
    added = notebook_diff(None, notebook(INTRO, IMPORTS))
    assert [(c.index, c.status, c.old_source) for c in added.cells] == [
        (0, "added", None),
        (1, "added", None),
    ]
    removed = notebook_diff(notebook(INTRO, IMPORTS), None)
    assert [(c.index, c.status, c.new_source) for c in removed.cells] == [
        (0, "removed", None),
        (1, "removed", None),
    ]


def test_an_ipynb_that_is_not_a_notebook_is_diffed_as_text() -> None:
    result = notebook_diff(b'{"cells": [\n', notebook(INTRO))
    assert result.format == "text"
    assert result.hunks


def test_long_changed_stretches_are_paired_by_position() -> None:
    old = [cell("code", f"a{i}") for i in range(120)]
    new = [cell("code", f"b{i}") for i in range(101)]
    result = diff_cells(old, new)
    assert [c.status for c in result].count("modified") == 101
    assert [c.status for c in result][-19:] == ["removed"] * 19


# Trees


def test_diff_trees_restricts_to_a_file_or_a_folder() -> None:
    blobs = Blobs()
    old = Tree.of(
        [
            blobs.entry("src/a.py", b"a = 1\n"),
            blobs.entry("src/lib/b.py", b"b = 1\n"),
            blobs.entry("srcx.py", b"x = 1\n"),
            blobs.entry("README.md", b"# Old\n"),
        ]
    )
    new = Tree.of(
        [
            blobs.entry("src/a.py", b"a = 2\n"),
            blobs.entry("src/lib/c.py", b"c = 1\n"),
            blobs.entry("srcx.py", b"x = 2\n"),
            blobs.entry("README.md", b"# Old\n"),
        ]
    )
    every = diff_trees(old, new, blobs.read)
    assert [(d.path, d.kind) for d in every] == [
        ("src/a.py", "modified"),
        ("src/lib/b.py", "removed"),
        ("src/lib/c.py", "added"),
        ("srcx.py", "modified"),
    ]
    assert [d.path for d in diff_trees(old, new, blobs.read, "src")] == [
        "src/a.py",
        "src/lib/b.py",
        "src/lib/c.py",
    ]
    assert [d.path for d in diff_trees(old, new, blobs.read, "src/lib/")] == [
        "src/lib/b.py",
        "src/lib/c.py",
    ]
    assert [d.path for d in diff_trees(old, new, blobs.read, "srcx.py")] == ["srcx.py"]
    assert diff_trees(old, new, blobs.read, "README.md") == []


def test_outputs_alone_changed_are_flagged_and_printed_not_a_bare_header() -> None:
    """A re-run changes a cell's outputs only: the diff used to print the file's headers and no
    body. The cell stays unchanged (sources align as before) and says its outputs changed, as
    nbdime does; a bumped execution count alone is no change."""
    from headwater.cli.commands.files import _file_view

    printed = [{"output_type": "stream", "name": "stdout", "text": ["1\n"]}]
    old = notebook(INTRO, cell("code", "print(1)", execution_count=1, outputs=printed))
    again = [{"output_type": "stream", "name": "stdout", "text": ["2\n"]}]
    new = notebook(INTRO, cell("code", "print(1)", execution_count=2, outputs=again))
    result = notebook_diff(old, new)
    assert [(c.status, c.outputs_changed) for c in result.cells] == [
        ("unchanged", False),
        ("unchanged", True),
    ]
    shown = _file_view(result).plain
    assert "@@ outputs of cell 1 (code) changed @@" in shown
    assert shown.count("@@") == 2  # that one cell, no other

    recounted = notebook(INTRO, cell("code", "print(1)", execution_count=7, outputs=printed))
    assert not any(c.outputs_changed for c in notebook_diff(old, recounted).cells)
    result_like = {"output_type": "execute_result", "data": {"text/plain": ["1"]}, "metadata": {}}
    ran = cell("code", "1", execution_count=1, outputs=[result_like | {"execution_count": 1}])
    rerun = cell("code", "1", execution_count=5, outputs=[result_like | {"execution_count": 5}])
    assert not diff_cells([ran], [rerun])[0].outputs_changed
