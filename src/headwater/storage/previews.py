"""What the file viewer shows for one blob: parsed CSV rows, notebook cells, text, or an image.

Pure functions over bytes and readable streams. The classification here (text, notebook) is also
what ``diffs`` uses, so a file that previews as text diffs as text. Only a prefix of a large blob
is decoded; a CSV's rows are read from a stream (``table_page``), so any page of a table of any
size can be shown without holding the file.
"""

from __future__ import annotations

import csv
import io
import json
import mimetypes
import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any, BinaryIO

from headwater.domain.diffs import PreviewOut
from headwater.storage.html_tables import html_tables

# Built-in tables only (not the machine's /etc/mime.types), so every server answers the same.
_MIME = mimetypes.MimeTypes()
for _ext, _type in {
    ".ipynb": "application/x-ipynb+json",
    ".md": "text/markdown",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".toml": "application/toml",
    ".r": "text/x-r",
    ".sh": "text/x-sh",
    ".webp": "image/webp",
}.items():
    _MIME.add_type(_type, _ext)

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".bmp", ".ico"})
# Shown as text even when they are not valid UTF-8 (bad bytes replaced): users expect to read them.
TEXT_EXTENSIONS = frozenset(
    {
        ".py", ".r", ".sh", ".bash", ".txt", ".yaml", ".yml", ".json", ".md", ".toml", ".cfg",
        ".ini", ".sql", ".js", ".ts", ".html", ".css", ".xml", ".log", ".scala", ".java", ".c",
        ".h", ".cpp", ".go", ".rs", ".jl", ".m", ".ipynb",
    }
)  # fmt: skip
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
CSV_SNIFF = 64 << 10  # bytes of a CSV its delimiter and encoding are judged by
NOTEBOOK_MAX = 16 << 20  # notebooks embed images; past this size they are shown as text
# Kept from rich outputs. HTML and JavaScript never reach the page: an HTML output's tables are
# passed on as text (see html_tables), and an SVG is shown only as an <img>, where it runs nothing.
OUTPUT_MIMES = ("text/plain", "text/markdown", "image/png", "image/jpeg", "image/svg+xml")
HTML_MAX = 2 << 20  # characters of an HTML output read for its tables
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # the colours of an IPython traceback


def extension(path: str) -> str:
    return PurePosixPath(path).suffix.lower()


def content_type(path: str, data: bytes | None = None) -> str:
    """The type to serve a file with: by name, then by magic bytes, then text or octet-stream."""
    guessed, _ = _MIME.guess_type(PurePosixPath(path).name.lower(), strict=False)
    if guessed:
        return guessed
    if data is not None:
        if magic := _image_magic(data):
            return magic
        if decode_text(data[:8192], partial=len(data) > 8192) is not None:
            return "text/plain"
    return "application/octet-stream"


def decode_text(data: bytes, *, partial: bool = False, lenient: bool = False) -> str | None:
    """UTF-8 text, or None for binary (a NUL byte, or bytes that are not UTF-8).

    ``partial`` says ``data`` is a prefix of a longer blob, so a character cut at the end is not
    a reason to call it binary. ``lenient`` replaces bad bytes instead, for files known as text.
    """
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if partial and exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return data[: exc.start].decode("utf-8")
        return data.decode("utf-8", errors="replace") if lenient else None


def notebook_cells(data: bytes) -> list[dict[str, Any]] | None:
    """The cells of an nbformat 4 notebook, or None when ``data`` is not one."""
    if len(data) > NOTEBOOK_MAX:
        return None
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("cells"), list):
        return None
    return [c for c in doc["cells"] if isinstance(c, dict)]


def joined(value: object) -> str:
    """nbformat stores multi-line strings either as one string or as a list of lines."""
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else ""


def preview(path: str, data: bytes, *, max_rows: int = 100, max_text: int = 200_000) -> PreviewOut:
    """The viewer's payload for ``data`` stored at ``path``; images carry no body (served raw)."""
    ext = extension(path)
    ctype = content_type(path, data)

    def out(kind: str, **fields: Any) -> PreviewOut:
        return PreviewOut(path=path, kind=kind, size=len(data), content_type=ctype, **fields)

    if ext in IMAGE_EXTENSIONS or ctype.startswith("image/"):
        return out("image")
    if ext == ".ipynb" and (cells := notebook_cells(data)) is not None:
        shown, truncated = _notebook(cells, max_text)
        return out("notebook", cells=shown, truncated=truncated)
    if ext in (".csv", ".tsv"):
        table = table_page(io.BytesIO(data), tab=ext == ".tsv", max_rows=max_rows)
        if table is not None:
            columns, rows, truncated = table
            return out("csv", columns=columns, rows=rows, truncated=truncated)
    head = data[: max_text * 4]  # a character is at most 4 bytes in UTF-8
    text = decode_text(head, partial=len(data) > len(head), lenient=ext in TEXT_EXTENSIONS)
    if text is None:
        return out("binary")
    return out(
        "text", text=text[:max_text], truncated=len(text) > max_text or len(data) > len(head)
    )


def _image_magic(data: bytes) -> str | None:
    for magic, ctype in _MAGIC:
        if data.startswith(magic):
            return ctype
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def table_page(
    fh: BinaryIO, *, tab: bool, offset: int = 0, max_rows: int = 100
) -> tuple[list[str], list[list[str]], bool] | None:
    """The header and rows ``offset`` to ``offset + max_rows`` of a CSV or TSV, and whether more
    follow. Read as a stream, so the viewer pages through a file of any size without holding it;
    the delimiter is sniffed from the head, which must hold no NUL (else None: not a table)."""
    head = fh.read(CSV_SNIFF)
    text = decode_text(head, partial=True, lenient=True)  # a Latin-1 export is still a table
    if text is None:
        return None
    fh.seek(0)
    delimiter = "\t" if tab else _sniff(text.removeprefix("\ufeff"))
    # utf-8-sig: spreadsheet exports start with a byte-order mark
    stream = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace", newline="")
    columns: list[str] = []
    rows: list[list[str]] = []
    try:
        reader = csv.reader(stream, delimiter=delimiter)
        columns = next(reader, [])
        for index, row in enumerate(reader):
            if index < offset:
                continue
            if len(rows) == max_rows:
                return columns, rows, True
            rows.append(row)
    except csv.Error:  # e.g. a NUL or a field over the size limit: show what parsed
        return columns, rows, True
    finally:
        stream.detach()  # the caller owns ``fh``
    return columns, rows, False


def _sniff(text: str) -> str:
    sample = text[:65536]
    if len(text) > len(sample):
        sample = sample[: sample.rfind("\n") + 1] or sample
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:  # one column, or too irregular to tell
        return ","


def _notebook(cells: list[dict[str, Any]], max_text: int) -> tuple[list[dict[str, object]], bool]:
    """Cells as plain dicts the UI renders statically: sources joined, outputs reduced."""
    shown: list[dict[str, object]] = []
    truncated = False
    for cell in cells:
        out: dict[str, object] = {
            "cell_type": str(cell.get("cell_type", "code")),
            "source": joined(cell.get("source", "")),
        }
        if out["cell_type"] == "code":
            count = cell.get("execution_count")
            out["execution_count"] = count if isinstance(count, int) else None
            outputs = []
            for raw in cell.get("outputs") or []:
                if isinstance(raw, dict):
                    summary, cut = _output(raw, max_text)
                    outputs.append(summary)
                    truncated |= cut
            out["outputs"] = outputs
        shown.append(out)
    return shown, truncated


def _output(raw: Mapping[str, Any], max_text: int) -> tuple[dict[str, object], bool]:
    kind = str(raw.get("output_type", ""))
    summary: dict[str, object] = {"output_type": kind}
    cut = False
    if kind == "stream":
        text = joined(raw.get("text", ""))
        cut = len(text) > max_text
        summary.update(name=str(raw.get("name", "stdout")), text=text[:max_text])
    elif kind in ("execute_result", "display_data"):
        bundle = raw.get("data")
        bundle = bundle if isinstance(bundle, dict) else {}
        data: dict[str, str] = {}
        for mime in OUTPUT_MIMES:
            if mime in bundle:
                value = joined(bundle[mime])
                if mime == "image/svg+xml" and len(value) > max_text:
                    cut = True  # half a picture is no picture
                    continue
                if mime.startswith("text/"):
                    cut |= len(value) > max_text
                    value = value[:max_text]
                data[mime] = value
        summary["data"] = data
        html = joined(bundle.get("text/html", ""))
        if html and len(html) <= HTML_MAX and (tables := html_tables(html)):
            summary["tables"] = tables
        if kind == "execute_result":
            count = raw.get("execution_count")
            summary["execution_count"] = count if isinstance(count, int) else None
    elif kind == "error":
        summary.update(ename=str(raw.get("ename", "")), evalue=str(raw.get("evalue", "")))
        lines = raw.get("traceback")
        if isinstance(lines, list) and lines:
            text = _ANSI.sub("", "\n".join(str(line) for line in lines))
            cut |= len(text) > max_text
            summary["traceback"] = text[:max_text]
    return summary, cut
