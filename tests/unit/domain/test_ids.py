"""Ids and the numbers people see: a reference is one or the other, never confused."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.ids import MAX_NUMBER, as_number, new_id


def test_numbers_people_type_are_numbers() -> None:
    assert as_number("12") == 12
    assert as_number(str(MAX_NUMBER)) == MAX_NUMBER


def test_an_all_digit_id_is_not_a_number() -> None:
    assert as_number("123456789012") is None  # a hex id that happens to be all digits
    assert as_number(str(MAX_NUMBER + 1)) is None
    assert as_number("9" * 10) is None


def test_text_that_is_not_digits_is_not_a_number() -> None:
    assert as_number("") is None
    assert as_number("3a") is None
    assert as_number("-1") is None
    assert as_number("\uff11\uff12") is None  # full-width digits: int() would read them


@given(st.integers(min_value=0, max_value=MAX_NUMBER))
def test_every_storable_number_reads_back(number: int) -> None:
    assert as_number(str(number)) == number


def test_ids_are_twelve_hex_digits() -> None:
    made = {new_id() for _ in range(1000)}
    assert len(made) == 1000
    assert all(len(i) == 12 and int(i, 16) >= 0 for i in made)
