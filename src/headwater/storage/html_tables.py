"""The tables in a notebook's HTML output (a pandas DataFrame, say), as plain rows of text.

The file viewer never puts a notebook's HTML into the page: HTML from a notebook is content
anyone with write access chose, and a ``<script>`` or an ``onerror=`` in it would run as the
viewer. What readers want from HTML outputs is nearly always a table, so the tables are read
here with the standard library's tokenizer and handed on as text; everything else in the HTML
(scripts, styles, attributes, markup) is dropped.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import TypedDict

MAX_TABLES = 5
MAX_ROWS = 200  # per table; a DataFrame's HTML is usually cut by pandas well before this
MAX_COLUMNS = 50
MAX_CELL = 500  # characters
_SKIPPED = frozenset({"script", "style", "template", "noscript"})


class HtmlTable(TypedDict):
    head: list[list[str]]  # the rows inside <thead>
    body: list[list[str]]
    truncated: bool


def html_tables(html: str) -> list[HtmlTable]:
    """The first ``MAX_TABLES`` tables of ``html``, each cut to the row, column and text caps."""
    parser = _TableParser()
    parser.feed(html)
    parser.close()
    return parser.tables


class _TableParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[HtmlTable] = []
        self._depth = 0  # nested tables: only the outermost one's cells are read
        self._in_head = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._skipping = 0
        self._reading = False  # inside an outermost table that is kept

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag == "table":
            self._depth += 1
            if self._depth == 1:
                self._reading = len(self.tables) < MAX_TABLES
                if self._reading:
                    self.tables.append({"head": [], "body": [], "truncated": False})
        elif self._depth != 1 or not self._reading:
            return
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self._end_row()
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._end_cell()
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag == "table":
            if self._depth == 1 and self._reading:
                self._end_row()
                self._reading = False
            self._depth = max(0, self._depth - 1)
        elif self._depth != 1 or not self._reading:
            return
        elif tag == "thead":
            self._end_row()
            self._in_head = False
        elif tag == "tr":
            self._end_row()
        elif tag in ("td", "th"):
            self._end_cell()

    def handle_data(self, data: str) -> None:
        if self._cell is not None and not self._skipping:
            self._cell.append(data)

    def _end_cell(self) -> None:
        if self._cell is None or self._row is None:
            return
        text = " ".join("".join(self._cell).split())
        self._cell = None
        if len(self._row) < MAX_COLUMNS:
            self._row.append(text[:MAX_CELL])
        else:
            self._cut()

    def _end_row(self) -> None:
        self._end_cell()
        row, self._row = self._row, None
        if row is None or not self._reading:
            return
        table = self.tables[-1]
        rows = table["head"] if self._in_head else table["body"]
        if len(table["head"]) + len(table["body"]) < MAX_ROWS:
            rows.append(row)
        else:
            self._cut()

    def _cut(self) -> None:
        if self.tables:
            self.tables[-1]["truncated"] = True
