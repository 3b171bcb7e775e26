from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.errors import InvalidInput
from headwater.domain.paths import check_path, parents


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("a.txt", "a.txt"), ("./src//x.py", "src/x.py"), ("data/./d.csv", "data/d.csv")],
)
def test_normalises(raw: str, clean: str) -> None:
    assert check_path(raw) == clean


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("/etc/passwd", "absolute"),
        ("C:/x", "absolute"),
        ("../x", "escapes"),
        ("a/../../x", "escapes"),
        ("a\\b", "backslash"),
        ("a\x00b", "NUL"),
        ("./", "names no file"),
    ],
)
def test_refuses_with_a_reason(raw: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_path(raw)


@given(st.lists(st.sampled_from(["a", "b", "..", ".", "", "c.txt"]), min_size=1, max_size=6))
def test_an_accepted_path_never_escapes(parts: list[str]) -> None:
    raw = "/".join(parts)
    try:
        clean = check_path(raw)
    except InvalidInput:
        return
    assert ".." not in clean.split("/")
    assert not clean.startswith("/")


def test_parents() -> None:
    assert parents("a/b/c") == ["a", "a/b"]
    assert parents("a") == []
