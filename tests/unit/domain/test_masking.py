"""Secret masking: whole values, each line of a multi-line value, and streams cut anywhere."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.masking import MASK, StreamMask, mask, masked_values


def test_values_are_masked_line_by_line_longest_first_and_short_ones_are_not() -> None:
    secrets = masked_values(["abcd", "abcdefgh", "yes", "-----BEGIN-----\r\n  body-line \n"])
    assert secrets == ["-----BEGIN-----", "body-line", "abcdefgh", "abcd"]
    assert mask("abcdefgh abcd yes body-line", secrets) == f"{MASK} {MASK} yes {MASK}"


def test_a_stream_holds_back_only_what_could_begin_a_secret() -> None:
    stream = StreamMask(masked_values(["hunter22"]))
    assert stream.feed("password: hun") == "password: "
    assert stream.feed("ter") == ""
    assert stream.feed("22 and hu") == f"{MASK} and "
    assert stream.feed("go") == "hugo"
    assert stream.feed("hunt") == ""
    assert stream.flush() == "hunt"


def test_no_secrets_passes_text_through() -> None:
    assert StreamMask([]).feed("anything") == "anything"


@given(
    secret=st.text(alphabet="ab", min_size=4, max_size=12),
    text=st.text(alphabet="abc", max_size=80),
    cuts=st.lists(st.integers(min_value=0, max_value=80), max_size=8),
)
def test_cutting_a_stream_anywhere_masks_as_the_whole_text_would(
    secret: str, text: str, cuts: list[int]
) -> None:
    """However output is split into reads, the stored text is the whole text masked."""
    secrets = masked_values([secret])
    stream = StreamMask(secrets)
    bounds = [0, *sorted(min(c, len(text)) for c in cuts), len(text)]
    out = "".join(stream.feed(text[a:b]) for a, b in itertools.pairwise(bounds))
    out += stream.flush()
    assert out == mask(text, secrets)
