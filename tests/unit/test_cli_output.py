"""``hw`` output off a terminal (a pipe, a file, CI): tables keep each row on one line."""

from __future__ import annotations

import pytest

from headwater.cli.output import emit, table

ROW = ("7", "success", "lr=0.001 batch=64 epochs=30 optimizer=adamw", "accuracy=0.900", "large")


@pytest.fixture
def piped(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)


def test_a_table_off_a_terminal_is_as_wide_as_its_content(
    piped: None, capsys: pytest.CaptureFixture[str]
) -> None:
    wide = (*ROW[:2], ROW[2] * 3, *ROW[3:])
    emit([wide], False, lambda rows: table(["#", "STATE", "PARAMS", "TAGS", "COMPUTE"], rows))
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 3, lines  # header, rule, one row: nothing folded at 80 columns
    assert " ".join(lines[2].split()) == " ".join(wide)


def test_columns_still_sets_the_width(
    piped: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    emit([ROW], False, lambda rows: table(["#", "STATE", "PARAMS", "TAGS", "COMPUTE"], rows))
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert max(len(line) for line in lines) <= 60
    assert len(lines) > 3  # folded, as asked
