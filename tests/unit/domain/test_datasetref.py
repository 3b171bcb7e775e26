"""``--dataset NAME``, ``NAME@COMMIT``, ``NAME:QUERY``: what a job mounts."""

from __future__ import annotations

import pytest

from headwater.domain.datasetref import DatasetRef, parse_dataset_ref
from headwater.domain.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("iris", DatasetRef("iris")),
        ("iris@3f2a9c1b", DatasetRef("iris", commit="3f2a9c1b")),
        ("iris@main", DatasetRef("iris", commit="main")),
        ("iris:train", DatasetRef("iris", query="train")),
        ("my.data-v2:train_2024", DatasetRef("my.data-v2", query="train_2024")),
    ],
)
def test_the_three_forms(text: str, ref: DatasetRef) -> None:
    assert parse_dataset_ref(text, where="datasets") == ref


@pytest.mark.parametrize("text", ["", "@abcd", "iris@", ":train", "iris:", "a:b:c", "a:b@c"])
def test_a_malformed_reference_says_how_to_write_one(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_dataset_ref(text, where="options.datasets[0]")
    assert caught.value.where == "options.datasets[0]"
    assert "NAME@COMMIT or NAME:QUERY" in (caught.value.hint or "")
