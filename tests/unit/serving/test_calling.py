import base64
from pathlib import Path
from typing import Any

import pytest

from headwater.domain.errors import InvalidInput
from headwater.serving.calling import arguments, decode_files, spreads_lists


def one(x: Any) -> Any:
    return x


def two(a: Any, b: Any) -> Any:
    return a, b


def one_with_option(x: Any, verbose: bool = False) -> Any:
    return x


def many(*xs: Any) -> Any:
    return xs


class Model:
    def __call__(self, a: Any, b: Any) -> Any:
        return a, b


@pytest.mark.parametrize(
    ("function", "spread"),
    [
        (one, False),
        (two, True),
        (one_with_option, False),
        (many, True),
        (Model(), True),
        (len, False),
    ],
)
def test_a_list_is_spread_only_over_a_function_that_takes_several_arguments(
    function: Any, spread: bool
) -> None:
    assert spreads_lists(function) is spread


def test_arguments_spread_only_a_list() -> None:
    assert arguments([1, 2], spread=True) == (1, 2)
    assert arguments([1, 2], spread=False) == ([1, 2],)
    assert arguments({"a": 1}, spread=True) == ({"a": 1},)


def test_files_are_decoded_to_paths_in_the_folder(tmp_path: Path) -> None:
    encoded = base64.b64encode(b"\x00image bytes").decode()
    path = decode_files(encoded, tmp_path)
    assert isinstance(path, str)
    assert Path(path).parent == tmp_path
    assert Path(path).read_bytes() == b"\x00image bytes"
    paths = decode_files([encoded, "data:image/png;base64," + encoded], tmp_path)
    assert [Path(p).read_bytes() for p in paths] == [b"\x00image bytes"] * 2


def test_bad_base64_names_the_item(tmp_path: Path) -> None:
    good = base64.b64encode(b"ok").decode()
    with pytest.raises(InvalidInput) as caught:
        decode_files([good, "not base64!"], tmp_path)
    assert caught.value.where == "input_params[1]"
    assert "base64" in caught.value.detail


def test_a_file_input_must_be_text(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_files({"file": 1}, tmp_path)
    assert caught.value.where == "input_params"
