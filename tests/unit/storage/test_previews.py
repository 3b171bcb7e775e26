"""File previews: the right kind for each file, and only a bounded part of a large one."""

from __future__ import annotations

import io
import json
import struct
import zlib
from typing import Any

import pytest

from headwater.storage.previews import content_type, preview, table_page


def png() -> bytes:
    """A real 1x1 PNG, built here so the test needs no fixture file."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_csv_with_commas_gives_the_header_and_rows() -> None:
    data = b'id,name,score\n1,"Smith, Jane",0.91\n2,Lee,0.87\n'
    result = preview("data/scores.csv", data)
    assert (result.kind, result.content_type, result.size) == ("csv", "text/csv", len(data))
    assert result.columns == ["id", "name", "score"]
    assert result.rows == [["1", "Smith, Jane", "0.91"], ["2", "Lee", "0.87"]]
    assert (result.truncated, result.text) == (False, None)


def test_tabs_are_sniffed_in_a_csv_and_assumed_in_a_tsv() -> None:
    data = b"id\tname\tscore\n1\tJane\t0.91\n2\tLee\t0.87\n"
    for path in ("data/scores.csv", "data/scores.tsv"):
        result = preview(path, data)
        assert result.kind == "csv"
        assert result.columns == ["id", "name", "score"]
        assert result.rows[1] == ["2", "Lee", "0.87"]
    assert preview("data/scores.tsv", data).content_type == "text/tab-separated-values"


def test_a_semicolon_export_with_a_byte_order_mark() -> None:
    result = preview("export.csv", "\ufeffa;b\n1;2\n".encode())
    assert (result.columns, result.rows) == (["a", "b"], [["1", "2"]])


def test_csv_rows_stop_at_max_rows() -> None:
    data = b"n,square\n" + b"".join(f"{i},{i * i}\n".encode() for i in range(500))
    result = preview("squares.csv", data, max_rows=10)
    assert result.columns == ["n", "square"]
    assert result.rows == [[str(i), str(i * i)] for i in range(10)]
    assert result.truncated
    assert not preview("squares.csv", data, max_rows=500).truncated


def test_a_table_page_starts_at_its_offset_and_says_whether_more_follow() -> None:
    data = b"n\n" + b"".join(f"{i}\n".encode() for i in range(25))
    stream = io.BytesIO(data)
    assert table_page(stream, tab=False, offset=20, max_rows=3) == (
        ["n"],
        [["20"], ["21"], ["22"]],
        True,
    )
    assert not stream.closed  # the caller's to close
    assert table_page(io.BytesIO(data), tab=False, offset=22, max_rows=3) == (
        ["n"],
        [["22"], ["23"], ["24"]],
        False,
    )
    assert table_page(io.BytesIO(b"a\x00b"), tab=False) is None  # binary: not a table


def test_an_empty_csv_has_no_columns() -> None:
    result = preview("empty.csv", b"")
    assert (result.kind, result.columns, result.rows) == ("csv", [], [])


def test_images_carry_no_body() -> None:
    result = preview("plots/loss.png", png())
    assert (result.kind, result.content_type, result.text) == ("image", "image/png", None)
    for path, ctype in [
        ("a.jpg", "image/jpeg"),
        ("a.gif", "image/gif"),
        ("a.svg", "image/svg+xml"),
        ("a.webp", "image/webp"),
    ]:
        assert (preview(path, b"...").kind, content_type(path)) == ("image", ctype)


def test_an_image_without_an_extension_is_known_by_its_magic_bytes() -> None:
    result = preview("outputs/plot", png())
    assert (result.kind, result.content_type) == ("image", "image/png")


@pytest.mark.parametrize(
    ("path", "ctype"),
    [
        ("train.py", "text/x-python"),
        ("analysis.R", "text/x-r"),
        ("run.sh", "text/x-sh"),
        ("notes.txt", "text/plain"),
        ("config.yaml", "application/yaml"),
        ("params.json", "application/json"),
        ("README.md", "text/markdown"),
        ("Makefile", "text/plain"),
    ],
)
def test_scripts_and_text_are_shown_as_text(path: str, ctype: str) -> None:
    data = "print('héllo')\n".encode()
    result = preview(path, data)
    assert (result.kind, result.content_type, result.text) == ("text", ctype, "print('héllo')\n")
    assert not result.truncated


def test_text_is_cut_at_max_text_characters() -> None:
    data = ("é" * 50).encode()
    result = preview("notes.txt", data, max_text=10)
    assert (result.text, result.truncated, result.size) == ("é" * 10, True, 100)
    # a prefix that ends inside a two-byte character is still text
    result = preview("notes", b"ab" + data, max_text=10)
    assert (result.kind, result.text, result.truncated) == ("text", "abéééééééé", True)


def test_a_script_in_latin_1_is_text_but_unknown_bytes_are_binary() -> None:
    latin = "# café\n".encode("latin-1")
    assert preview("etl.py", latin).text == "# caf\ufffd\n"
    assert preview("blob", latin).kind == "binary"


def test_binary_blobs_are_binary() -> None:
    data = bytes(range(256)) * 8
    for path in ("model.pt", "weights", "notes.txt"):
        result = preview(path, data)
        assert (result.kind, result.text, result.size) == ("binary", None, 2048)
    assert preview("model.pt", data).content_type == "application/octet-stream"


def notebook(*cells: dict[str, Any]) -> bytes:
    doc = {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(doc).encode()


def test_notebook_cells_with_outputs_summarised() -> None:
    data = notebook(
        {"cell_type": "markdown", "metadata": {}, "source": ["# Loss\n", "Below."]},
        {
            "cell_type": "code",
            "execution_count": 2,
            "metadata": {},
            "source": "print('hi')\nplot(loss)",
            "outputs": [
                {"output_type": "stream", "name": "stdout", "text": ["hi\n"]},
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {
                        "text/plain": ["<Figure>"],
                        "image/png": "iVBORw0KGgo=",
                        "text/html": "<script>alert(1)</script>",
                    },
                },
                {
                    "output_type": "execute_result",
                    "execution_count": 2,
                    "metadata": {},
                    "data": {"text/plain": "42"},
                },
                {"output_type": "error", "ename": "KeyError", "evalue": "'x'", "traceback": []},
            ],
        },
    )
    result = preview("notebooks/train.ipynb", data)
    assert (result.kind, result.content_type) == ("notebook", "application/x-ipynb+json")
    assert result.cells == [
        {"cell_type": "markdown", "source": "# Loss\nBelow."},
        {
            "cell_type": "code",
            "source": "print('hi')\nplot(loss)",
            "execution_count": 2,
            "outputs": [
                {"output_type": "stream", "name": "stdout", "text": "hi\n"},
                {
                    "output_type": "display_data",
                    "data": {"text/plain": "<Figure>", "image/png": "iVBORw0KGgo="},
                },
                {
                    "output_type": "execute_result",
                    "data": {"text/plain": "42"},
                    "execution_count": 2,
                },
                {"output_type": "error", "ename": "KeyError", "evalue": "'x'"},
            ],
        },
    ]
    assert not result.truncated


def test_notebook_outputs_keep_tables_images_and_tracebacks_but_no_html() -> None:
    """Issue 16: a DataFrame's HTML arrives as its table's text, never as HTML to put in a page;
    JPEG and SVG pictures and the traceback (its colours removed) are kept."""
    html = (
        "<table><thead><tr><th>a</th></tr></thead><tr><td>1</td></tr></table><script>x()</script>"
    )
    data = notebook(
        {
            "cell_type": "code",
            "execution_count": 1,
            "metadata": {},
            "source": "df",
            "outputs": [
                {
                    "output_type": "execute_result",
                    "execution_count": 1,
                    "metadata": {},
                    "data": {"text/plain": "   a\n0  1", "text/html": html},
                },
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {"image/jpeg": "/9j/4AAQ", "image/svg+xml": ["<svg>", "</svg>"]},
                },
                {
                    "output_type": "error",
                    "ename": "ValueError",
                    "evalue": "bad",
                    "traceback": ["\x1b[0;31mValueError\x1b[0m: bad"],
                },
            ],
        }
    )
    outputs = preview("df.ipynb", data).cells[0]["outputs"]
    assert outputs == [
        {
            "output_type": "execute_result",
            "data": {"text/plain": "   a\n0  1"},
            "tables": [{"head": [["a"]], "body": [["1"]], "truncated": False}],
            "execution_count": 1,
        },
        {
            "output_type": "display_data",
            "data": {"image/jpeg": "/9j/4AAQ", "image/svg+xml": "<svg></svg>"},
        },
        {
            "output_type": "error",
            "ename": "ValueError",
            "evalue": "bad",
            "traceback": "ValueError: bad",
        },
    ]


def test_long_notebook_outputs_are_cut() -> None:
    data = notebook(
        {
            "cell_type": "code",
            "execution_count": 1,
            "metadata": {},
            "source": "",
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "x" * 50}],
        }
    )
    result = preview("log.ipynb", data, max_text=10)
    assert result.truncated
    assert result.cells[0]["outputs"] == [
        {"output_type": "stream", "name": "stdout", "text": "x" * 10}
    ]


def test_a_broken_notebook_is_shown_as_text() -> None:
    result = preview("broken.ipynb", b'{"cells": [')
    assert (result.kind, result.text) == ("text", '{"cells": [')
