"""Trees: canonical encoding, diff, and the three-way merge that must never drop a change."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.errors import InvalidInput
from headwater.domain.trees import EXEC_MODE, ChangeKind, Entry, MergeConflict, Tree, diff, merge

names = st.sampled_from(["a", "b", "c", "src/x.py", "src/y.py", "data/d.csv", "README.md"])
hashes = st.sampled_from(["h1", "h2", "h3", "h4"])
contents = st.one_of(st.none(), hashes)


def tree(**files: str) -> Tree:
    return Tree.of(Entry(p.replace("__", "/"), h, 1) for p, h in files.items())


@st.composite
def trees(draw: st.DrawFn) -> Tree:
    files = draw(st.dictionaries(names, hashes, max_size=7))
    return Tree.of(Entry(p, h, len(h)) for p, h in files.items())


def test_encoding_round_trips_and_is_order_independent() -> None:
    t1 = Tree.of([Entry("b", "h2", 2), Entry("a/x", "h1", 1, EXEC_MODE)])
    t2 = Tree.of([Entry("a/x", "h1", 1, EXEC_MODE), Entry("b", "h2", 2)])
    assert t1.digest == t2.digest
    assert Tree.decode(t1.encode()) == t1
    assert Tree.decode(b"") == Tree()


def test_a_file_cannot_also_be_a_folder() -> None:
    with pytest.raises(InvalidInput, match="is a file and also the folder"):
        Tree.of([Entry("a", "h1", 1), Entry("a/b", "h2", 1)])


def test_duplicate_and_escaping_paths_are_refused() -> None:
    with pytest.raises(InvalidInput, match="twice"):
        Tree.of([Entry("a", "h1", 1), Entry("./a", "h2", 1)])
    with pytest.raises(InvalidInput, match=r"\.\."):
        Tree.of([Entry("../etc/passwd", "h1", 1)])


def test_diff_names_each_kind() -> None:
    old = tree(a="h1", b="h1", c="h1")
    new = tree(a="h1", b="h2", d="h1")
    assert [(c.path, c.kind) for c in diff(old, new)] == [
        ("b", ChangeKind.MODIFIED),
        ("c", ChangeKind.REMOVED),
        ("d", ChangeKind.ADDED),
    ]


def test_merge_takes_both_sides_when_they_touch_different_paths() -> None:
    base = tree(a="h1", b="h1")
    ours = tree(a="h2", b="h1")
    theirs = tree(a="h1", b="h1", c="h3")
    assert merge(base, ours, theirs) == tree(a="h2", b="h1", c="h3")


def test_merge_refuses_with_the_conflicting_paths() -> None:
    base = tree(a="h1", b="h1")
    with pytest.raises(MergeConflict) as info:
        merge(base, tree(a="h2", b="h1"), tree(a="h3"))
    # b was unchanged on our side, so their removal of it merges; only a conflicts.
    assert info.value.paths == ["a"]


def test_merge_refuses_a_file_where_the_other_side_made_a_folder() -> None:
    base = tree()
    with pytest.raises(MergeConflict):
        merge(base, tree(a="h1"), tree(a__b="h2"))


@given(trees(), trees(), trees())
def test_merge_never_drops_a_change(base: Tree, ours: Tree, theirs: Tree) -> None:
    b, o, t = base.as_dict(), ours.as_dict(), theirs.as_dict()
    try:
        merged = merge(base, ours, theirs)
    except MergeConflict as conflict:
        refused = conflict.paths
    else:
        refused = []
    if refused:
        # A refusal is justified: both sides changed a path differently, or one side's file is
        # the other side's folder.
        both = [
            p
            for p in b.keys() | o.keys() | t.keys()
            if _c(o, p) != _c(b, p) != _c(t, p) != _c(o, p)
        ]
        assert both or any("/" in p for p in o.keys() | t.keys())
        return
    m = merged.as_dict()
    for side in (o, t):
        for path in b.keys() | side.keys():
            if _c(side, path) != _c(b, path):
                assert _c(m, path) == _c(side, path), path
    for path in m:
        assert path in o or path in t


@given(trees(), trees())
def test_merge_with_an_unchanged_side_is_the_other_side(base: Tree, other: Tree) -> None:
    assert merge(base, base, other) == other
    assert merge(base, other, base) == other


def _c(entries: dict[str, Entry], path: str) -> tuple[str, int] | None:
    entry = entries.get(path)
    return entry.content if entry else None
