"""``hw endpoint``'s own input rules: ``--data`` (JSON, @file, stdin) with errors that name the
position, and the default title from ``--file``."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from headwater.cli.endpointinputs import default_title, read_data
from headwater.domain.errors import InvalidInput


def test_data_is_json_text_a_file_or_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert read_data('{"x": [1, 2]}') == {"x": [1, 2]}
    assert read_data('"text"') == "text"
    saved = tmp_path / "in.json"
    saved.write_text("[5.1, 3.5]\n")
    assert read_data(f"@{saved}") == [5.1, 3.5]
    monkeypatch.setattr("sys.stdin", io.StringIO("null"))
    assert read_data("-") is None


def test_bad_json_names_line_column_and_character(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as bad:
        read_data("[1, 2,, 3]")
    assert bad.value.where == "--data"
    assert "line 1 column 7 (character 7)" in bad.value.detail
    saved = tmp_path / "in.json"
    saved.write_text('{\n  "a": 1\n  "b": 2\n}')
    with pytest.raises(InvalidInput) as in_file:
        read_data(f"@{saved}")
    assert in_file.value.where == str(saved)
    assert "line 3 column 3" in in_file.value.detail


def test_an_unreadable_data_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read"):
        read_data(f"@{tmp_path / 'missing.json'}")


def test_the_default_title_is_the_files_name() -> None:
    assert default_title("predict.py") == "predict"
    assert default_title("src/serve_model.v2.py") == "serve-model-v2"
    with pytest.raises(InvalidInput) as bad:
        default_title("__.py")
    assert bad.value.where == "--title"
