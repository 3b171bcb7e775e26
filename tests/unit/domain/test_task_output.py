"""Lines a task prints (seed 002 tags, cnvrg line charts) and the splitter that cuts them."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.domain.task_output import (
    MAX_KEY,
    MAX_LINE,
    MAX_VALUE,
    ChartPoint,
    LineSplitter,
    TagLine,
    parse_line,
)

KEYS = st.from_regex(r"[A-Za-z0-9_.-]{1,100}", fullmatch=True)
# what a tag value may hold: no surrogates, no control characters
TEXT = st.characters(codec="utf-8", min_codepoint=0x20, exclude_characters="\x7f")


# -- tags ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("hw_tag_accuracy: 0.93", TagLine("accuracy", "0.93")),
        ("cnvrg_tag_route: 1,2,3", TagLine("route", "1,2,3")),  # the seed's own example
        ("  hw_tag_model: resnet 50  \r", TagLine("model", "resnet 50")),
        ("hw_tag_acc:0.9", TagLine("acc", "0.9")),
        ("hw_tag_acc : 0.9", TagLine("acc", "0.9")),
        ("hw_tag_Model.Name-v2: a: b", TagLine("Model.Name-v2", "a: b")),
        ("hw_tag_note:\tsee\tabove", TagLine("note", "see\tabove")),
        ("hw_tag_empty:", TagLine("empty", "")),  # the task said so: an empty tag is a tag
        ("hw_tag_unicode: précision ✓", TagLine("unicode", "précision ✓")),
        # seed 002: keys hold spaces and other printable characters, up to the first ": "
        ("hw_tag_model accuracy: 0.9", TagLine("model accuracy", "0.9")),
        ("cnvrg_tag_model accuracy: 0.9", TagLine("model accuracy", "0.9")),
        ("hw_tag_val/loss (best): 0.1", TagLine("val/loss (best)", "0.1")),
        ("hw_tag_time: 12:30:00", TagLine("time", "12:30:00")),
        ("hw_tag_" + "k" * MAX_KEY + ": 1", TagLine("k" * MAX_KEY, "1")),
    ],
)
def test_tag_lines(line: str, expected: TagLine) -> None:
    assert parse_line(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "",
        "accuracy: 0.9",
        "print hw_tag_acc: 0.9",  # only at the start of a line
        "HW_TAG_acc: 0.9",
        "hw_tag_acc 0.9",  # no colon
        "hw_tag_: 0.9",  # no key
        "hw_tag_ my key: 1",  # a key starting with a space
        "hw_tag_\ufffd\ufffd: bad key",  # what undecodable bytes become
        "hw_tag_a: b\x00c",  # NUL cannot be stored
        "hw_tag_a: b\x1bc",
        "hw_tag_a: b\rc",
        "hw_tag_" + "k" * (MAX_KEY + 1) + ": 1",
        "hw_tag_k: " + "v" * (MAX_VALUE + 1),
        "hw_something_else: 1",
        "cnvrg_tagx: 1",
    ],
)
def test_lines_that_are_not_tags(line: str) -> None:
    assert parse_line(line) is None


def test_the_longest_key_and_value_are_still_tags() -> None:
    key, value = "k" * MAX_KEY, "v" * MAX_VALUE
    assert parse_line(f"hw_tag_{key}: {value}") == TagLine(key, value)


@given(st.sampled_from(["hw_tag_", "cnvrg_tag_"]), KEYS, st.text(TEXT, max_size=50))
def test_a_printed_tag_reads_back(prefix: str, key: str, value: str) -> None:
    assert parse_line(f"{prefix}{key}: {value}\n") == TagLine(key, value.strip())


# -- charts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("hw_linechart_loss value: 0.5", ChartPoint("loss", 0.5)),
        ("cnvrg_linechart_loss value: -2", ChartPoint("loss", -2.0)),
        ("hw_linechart_loss   value:0.25  ", ChartPoint("loss", 0.25)),
        ("hw_linechart_lr value: 1e-5", ChartPoint("lr", 1e-5)),
        ("hw_linechart_lr value: '0.5'", ChartPoint("lr", 0.5)),
        ('hw_linechart_acc group: "train" value: 0.9', ChartPoint("acc", 0.9, "train")),
        ("cnvrg_linechart_acc group: 'val' value: 0.8", ChartPoint("acc", 0.8, "val")),
        ("cnvrg_linechart_acc group: val set value: 0.8", ChartPoint("acc", 0.8, "val set")),
        ('hw_linechart_acc group: "a value: b" value: 1', ChartPoint("acc", 1.0, "a value: b")),
        ('hw_linechart_acc group: "" value: 1', ChartPoint("acc", 1.0)),
        # cnvrg's x value and axis titles are read and left out
        ("cnvrg_linechart_c key: epoch 1 value: 2", ChartPoint("c", 2.0)),
        ("cnvrg_linechart_c group: '1' key: 'epoch 1' value: 5", ChartPoint("c", 5.0, "1")),
        ("cnvrg_linechart_c x: 'TX' y: 'TY' group: '2' value: 4", ChartPoint("c", 4.0, "2")),
    ],
)
def test_chart_lines(line: str, expected: ChartPoint) -> None:
    assert parse_line(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "hw_linechart_loss",
        "hw_linechart_loss 0.5",
        "hw_linechart_loss value:",
        "hw_linechart_loss value: not-a-number",
        "hw_linechart_loss value: nan",
        "hw_linechart_loss value: inf",
        "hw_linechart_loss value: -Infinity",
        "hw_linechart_loss value: 0.5 0.6",
        "hw_linechart_loss xvalue: 1",
        "hw_linechart_lossvalue: 1",
        "hw_linechart_ value: 1",
        "hw_linechart_lo ss value: 1",
        "hw_linechart_loss colour: red value: 1",
        "hw_linechart_loss group: 'open value: 1",
        "hw_linechart_loss value: 1 group: a",
        'hw_linechart_acc group: "' + "x" * (MAX_KEY + 1) + '" value: 1',
        'hw_linechart_acc group: "a\x00b" value: 1',
        "hw_linechart_" + "c" * (MAX_KEY + 1) + " value: 1",
        "cnvrg_linechart_f1_a# value: 1",
    ],
)
def test_lines_that_are_not_chart_points(line: str) -> None:
    assert parse_line(line) is None


@given(
    st.sampled_from(["hw_linechart_", "cnvrg_linechart_"]),
    KEYS,
    st.none() | st.text(TEXT.filter(lambda c: c != '"'), min_size=1, max_size=20),
    st.floats(allow_nan=False, allow_infinity=False),
)
def test_a_printed_point_reads_back(
    prefix: str, chart: str, series: str | None, value: float
) -> None:
    group = f' group: "{series}"' if series is not None else ""
    found = parse_line(f"{prefix}{chart}{group} value: {value!r}")
    assert found == ChartPoint(chart, value, series or None)


# -- never raises, always fast -------------------------------------------------------------------


@given(st.text())
def test_any_text_gives_an_answer_not_an_error(line: str) -> None:
    assert parse_line(line) is None or isinstance(parse_line(line), TagLine | ChartPoint)


@given(st.sampled_from(["hw_tag_", "hw_linechart_", "cnvrg_linechart_x "]), st.text())
def test_any_text_after_a_prefix_gives_an_answer_not_an_error(prefix: str, rest: str) -> None:
    parse_line(prefix + rest)


@pytest.mark.parametrize(
    "line",
    [
        "hw_linechart_c " + "key: a " * 3000,  # many options and no value
        "hw_linechart_c group: " + " " * 20_000 + "x",
        "hw_linechart_c " + "group: 'a' " * 1500 + "value: 1",
        "hw_tag_k: " + "v" * (2 * MAX_LINE),
        "hw_" + "\ufffd" * MAX_LINE,
        " " * MAX_LINE + "hw_tag_k",
    ],
)
def test_hostile_lines_take_no_time(line: str) -> None:
    start = time.perf_counter()
    for _ in range(10):
        parse_line(line)
    assert time.perf_counter() - start < 1.0


def test_ordinary_output_costs_next_to_nothing() -> None:
    lines = [f"epoch {i} loss={i / 7:.4f} " + "x" * 60 for i in range(100_000)]  # ~8 MB
    start = time.perf_counter()
    assert not any(parse_line(line) for line in lines)
    assert time.perf_counter() - start < 1.0  # ~30 ms on a laptop; generous for CI


# -- splitting raw output into lines --------------------------------------------------------------


def test_lines_come_out_whole_across_chunks() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"hw_tag_a") == []
    assert splitter.feed(b": 1\nsecond") == ["hw_tag_a: 1"]
    assert splitter.feed(b"") == []
    assert splitter.feed(b" line\n\nthird\r\n") == ["second line", "", "third\r"]
    assert splitter.feed(b"no newline at the end") == []
    assert splitter.flush() == ["no newline at the end"]
    assert splitter.flush() == []


def test_a_character_split_between_chunks_stays_whole() -> None:
    splitter = LineSplitter()
    data = "précision ✓\n".encode()
    assert splitter.feed(data[:2]) + splitter.feed(data[2:13]) + splitter.feed(data[13:]) == [
        "précision ✓"
    ]


def test_undecodable_bytes_become_replacement_characters() -> None:
    splitter = LineSplitter()
    lines = splitter.feed(b"ok \xff\xfe end\n" + bytes(range(11, 256)) + b"\n")
    assert lines[0] == "ok \ufffd\ufffd end"
    assert lines[1] == bytes(range(11, 256)).decode("utf-8", errors="replace")


def test_a_long_line_comes_out_in_pieces_of_at_most_max_line_bytes() -> None:
    splitter = LineSplitter(max_line=8)
    assert splitter.feed(b"abcdefghij") == ["abcdefgh"]  # memory bounded before the newline
    assert splitter.feed(b"klmnopqrstu\nxy") == ["ijklmnop", "qrstu"]
    assert splitter.feed(b"0123456789abcdefghi\n") == ["xy012345", "6789abcd", "efghi"]
    assert splitter.flush() == []


def test_a_cut_never_splits_a_character() -> None:
    splitter = LineSplitter(max_line=8)
    text = "aé✓€" * 5  # 1 + 2 + 3 + 3 bytes each
    pieces = splitter.feed(text.encode() + b"\n")
    assert "".join(pieces) == text
    assert all(len(p.encode()) <= 8 for p in pieces)
    assert "\ufffd" not in "".join(pieces)


def test_the_default_limit_is_a_mebibyte() -> None:
    splitter = LineSplitter()
    pieces = splitter.feed(b"x" * (MAX_LINE * 2 + 5))
    assert [len(p) for p in pieces] == [MAX_LINE, MAX_LINE]
    assert splitter.flush() == ["xxxxx"]
    with pytest.raises(ValueError, match="max_line"):
        LineSplitter(max_line=3)


def _chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=8))
def test_any_chunking_gives_the_same_lines(data: bytes, cuts: list[int]) -> None:
    splitter = LineSplitter()
    lines = [line for chunk in _chunked(data, cuts) for line in splitter.feed(chunk)]
    lines += splitter.flush()
    expected = [p.decode("utf-8", errors="replace") for p in data.split(b"\n")]
    if expected[-1] == "":
        expected.pop()  # a final newline ends the last line, it does not start another
    assert lines == expected


@given(
    st.text(st.characters(codec="utf-8"), max_size=200),
    st.lists(st.integers(0, 800), max_size=8),
    st.integers(4, 16),
)
def test_pieces_rebuild_the_text_and_hold_the_bound(
    text: str, cuts: list[int], max_line: int
) -> None:
    splitter = LineSplitter(max_line=max_line)
    data = text.encode()
    pieces = [p for chunk in _chunked(data, cuts) for p in splitter.feed(chunk)]
    assert len(splitter._tail) <= max_line
    pieces += splitter.flush()
    assert "".join(pieces) == text.replace("\n", "")
    assert all(len(p.encode()) <= max_line for p in pieces)
