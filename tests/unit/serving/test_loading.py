"""Loading the endpoint's function: every failure says what, where and how to fix it."""

import sys
from pathlib import Path

import pytest

from headwater.serving.loading import LoadFailed, load_function


@pytest.fixture(autouse=True)
def _own_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return name


def test_the_function_loads_with_its_neighbours_importable(tmp_path: Path) -> None:
    write(tmp_path, "src/hw_util_neighbour.py", "SCALE = 3\n")
    name = write(
        tmp_path,
        "src/hw_load_ok.py",
        "import hw_util_neighbour\nLOADS = []\nLOADS.append(1)\n"
        "def predict(x):\n    return x * hw_util_neighbour.SCALE\n",
    )
    function = load_function(name, "predict", cwd=tmp_path)
    assert function(2) == 6
    assert sys.modules[function.__module__].LOADS == [1]


def test_a_missing_file_says_it_is_relative_to_the_project(tmp_path: Path) -> None:
    with pytest.raises(LoadFailed) as caught:
        load_function("nope.py", "predict", cwd=tmp_path)
    assert caught.value.where == "nope.py"
    assert "relative to the project's root" in (caught.value.hint or "")


def test_a_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    name = write(tmp_path, "hw_load_syntax.py", "import os\n\ndef predict(x:\n    return x\n")
    with pytest.raises(LoadFailed) as caught:
        load_function(name, "predict", cwd=tmp_path)
    assert caught.value.where == "hw_load_syntax.py:3"
    assert "syntax error" in caught.value.detail


def test_a_missing_function_lists_the_ones_there(tmp_path: Path) -> None:
    name = write(tmp_path, "hw_load_names.py", "def predict_one(x):\n    return x\nVALUE = 1\n")
    with pytest.raises(LoadFailed) as caught:
        load_function(name, "predict", cwd=tmp_path)
    assert "no function 'predict'" in caught.value.detail
    assert (caught.value.hint or "").endswith(": predict_one")


def test_a_name_that_is_not_callable_says_what_it_is(tmp_path: Path) -> None:
    name = write(tmp_path, "hw_load_value.py", "predict = 3\n")
    with pytest.raises(LoadFailed, match="'predict' is a int, not a function"):
        load_function(name, "predict", cwd=tmp_path)


def test_an_exception_at_import_names_the_line_that_raised(tmp_path: Path) -> None:
    name = write(
        tmp_path,
        "hw_load_raises.py",
        "import json\n\nMODEL = json.loads(open('model.json').read())\n",
    )
    with pytest.raises(LoadFailed) as caught:
        load_function(name, "predict", cwd=tmp_path)
    assert caught.value.where == "hw_load_raises.py:3"
    assert "FileNotFoundError" in caught.value.detail
