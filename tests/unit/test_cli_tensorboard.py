"""``hw tensorboard start --experiments 3,4,7``: the numbers, and a word refused with where."""

from __future__ import annotations

import pytest

from headwater.cli.commands.tensorboards import experiment_numbers
from headwater.domain.errors import InvalidInput


def test_numbers_separated_by_commas_with_or_without_a_hash() -> None:
    assert experiment_numbers("3,4, #7,") == [3, 4, 7]


def test_a_word_is_refused_with_where_and_how() -> None:
    with pytest.raises(InvalidInput) as refused:
        experiment_numbers("3,four")
    assert refused.value.where == "--experiments"
    assert "3,4,7" in (refused.value.hint or "")
