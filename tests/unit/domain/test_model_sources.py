"""Which files of an experiment's outputs become a model version, and under which names."""

from __future__ import annotations

import pytest

from headwater.domain.errors import InvalidInput, NotFound
from headwater.domain.model_sources import model_entries
from headwater.domain.trees import EXEC_MODE, Entry, Tree

H = "a" * 64
OUTPUTS = Tree.of(
    [
        Entry("train.py", H, 10),
        Entry("output/model.json", H, 3),
        Entry("output/weights/a.bin", H, 5, EXEC_MODE),
        Entry("output/weights/b.bin", H, 7),
        Entry("outputs-old/x", H, 1),
    ]
)


def names(entries: list[Entry]) -> list[str]:
    return sorted(e.path for e in entries)


def test_the_whole_output_folder_is_named_relative_to_it() -> None:
    picked = model_entries(OUTPUTS, "output")
    assert names(picked) == ["model.json", "weights/a.bin", "weights/b.bin"]
    assert {e.hash for e in picked} == {H}  # the same blobs: nothing to upload
    assert [e.mode for e in picked if e.path == "weights/a.bin"] == [EXEC_MODE]


def test_a_file_or_a_folder_inside_it() -> None:
    assert names(model_entries(OUTPUTS, "output/", "output/model.json")) == ["model.json"]
    assert names(model_entries(OUTPUTS, "output", "output/weights")) == [
        "weights/a.bin",
        "weights/b.bin",
    ]


@pytest.mark.parametrize("path", ["train.py", "outputs-old/x", "output/../train.py"])
def test_a_path_outside_the_output_folder_is_refused(path: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        model_entries(OUTPUTS, "output", path)
    assert caught.value.where == "path"


def test_a_path_that_holds_nothing_says_so() -> None:
    with pytest.raises(NotFound, match=r"nothing at 'output/missing\.pkl'"):
        model_entries(OUTPUTS, "output", "output/missing.pkl")
    with pytest.raises(NotFound):
        model_entries(Tree.of([Entry("train.py", H, 1)]), "output")
