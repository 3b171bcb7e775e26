from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.errors import InvalidInput
from headwater.domain.paths import (
    MAX_DEPTH,
    MAX_NAME_BYTES,
    MAX_PATH_BYTES,
    NameRefused,
    check_name,
    check_path,
    parents,
    shown,
)


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


# -- the name rules a commit's paths must pass ---------------------------------------------


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("n" * 256, "256 bytes long"),
        ("é" * 128, "256 bytes long"),
        ("/".join(["d"] * (MAX_DEPTH + 1)), f"{MAX_DEPTH + 1} levels deep"),
        ("/".join(["n" * 200] * 16), "bytes long"),
        ("a\nb", "U+000A"),
        ("a\rb", "U+000D"),
        ("a\tb", "U+0009"),
        ("a\x7fb", "U+007F"),
        ("a\x9bb", "U+009B"),
        ("x\u202ey", "U+202E"),
        ("x\u2066y", "U+2066"),
        ("x\ud800y", "U+D800"),
        (".headwater/live.yaml", ".headwater/"),
        (".headwater", ".headwater/"),
        (".HEADWATER/x", ".headwater/"),
    ],
)
def test_check_name_refuses_with_the_rule(path: str, rule: str) -> None:
    with pytest.raises(NameRefused, match=re.escape(rule)) as refused:
        check_name(path)
    assert refused.value.where == shown(path)
    assert refused.value.hint
    assert refused.value.status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        "n" * 255,
        "é" * 127 + "x",
        "/".join(["d"] * MAX_DEPTH),
        "data/.headwater/x",
        ".headwaters/x",
        "日本語/ファイル.txt",
        "emoji 🎉.png",
    ],
)
def test_check_name_keeps_what_every_disk_takes(path: str) -> None:
    check_name(path)


@given(st.lists(st.text(min_size=1, max_size=300), min_size=1, max_size=10))
def test_an_accepted_name_fits_the_limits_and_prints_plainly(names: list[str]) -> None:
    path = "/".join(names)
    refused = _refusal(path)
    if refused is not None:
        assert refused.where is not None
        assert not _PLAIN.search(refused.where), "where= must print safely"
        return
    assert len(path.encode()) <= MAX_PATH_BYTES
    assert all(len(n.encode()) <= MAX_NAME_BYTES for n in path.split("/"))
    assert path.count("/") < MAX_DEPTH
    assert not _PLAIN.search(path)
    assert path.split("/")[0].casefold() != ".headwater"


_PLAIN = re.compile("[\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069\\ud800-\\udfff]")


def _refusal(path: str) -> NameRefused | None:
    try:
        check_name(path)
    except NameRefused as refused:
        return refused
    return None


def _by_the_rules(path: str) -> str | None:
    """check_path's rules written out step by step (its fast way must agree): None if refused."""
    if not path or "\x00" in path or len(path) > 4096 or "\\" in path:
        return None
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        return None
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts or not parts:
        return None
    return "/".join(parts)


@given(st.text(alphabet="ab./\\:\x00", max_size=12) | st.sampled_from(["a" * 4096, "a" * 4097]))
def test_check_path_agrees_with_its_rules(path: str) -> None:
    expected = _by_the_rules(path)
    if expected is None:
        with pytest.raises(InvalidInput):
            check_path(path)
    else:
        assert check_path(path) == expected
