import sys
import types
from typing import Any

import pytest

from headwater.serving.jsonsafe import NotJson, dumps


def test_plain_values_are_compact_json() -> None:
    assert dumps({"a": (1, 2.5), "b": None, "c": "é"}) == '{"a":[1,2.5],"b":null,"c":"é"}'.encode()


def test_numpy_values_go_through_tolist_and_item(monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in numpy: the conversion looks numpy up in sys.modules, never imports it.
    class Array:
        def tolist(self) -> Any:
            return [[1, 2], [3, 4]]

    class Scalar:
        def item(self) -> Any:
            return 0.5

    fake = types.ModuleType("numpy")
    fake.ndarray = Array  # type: ignore[attr-defined]
    fake.generic = Scalar  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "numpy", fake)
    assert dumps({"m": Array(), "p": Scalar()}) == b'{"m":[[1,2],[3,4]],"p":0.5}'


def test_numpy_is_not_imported_to_convert(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "numpy", raising=False)
    with pytest.raises(NotJson):
        dumps(object())
    assert "numpy" not in sys.modules


@pytest.mark.parametrize(
    ("value", "words"),
    [({1, 2}, "set is not JSON"), (b"x", "bytes are not JSON"), (float("nan"), "Out of range")],
)
def test_what_is_not_json_says_why(value: Any, words: str) -> None:
    with pytest.raises(NotJson, match=words):
        dumps({"prediction": value})
