"""A notebook's HTML outputs reach the viewer only as the text of their tables (issue 16)."""

from __future__ import annotations

from headwater.storage.html_tables import MAX_COLUMNS, MAX_ROWS, MAX_TABLES, html_tables

DATAFRAME = """<div><style scoped>.dataframe tbody tr th { vertical-align: top; }</style>
<table border="1" class="dataframe">
  <thead><tr style="text-align: right;"><th></th><th>lr</th><th>accuracy</th></tr></thead>
  <tbody>
    <tr><th>0</th><td>0.1</td><td>0.91</td></tr>
    <tr><th>1</th><td>0.01</td><td>0.87 &amp; up</td></tr>
  </tbody>
</table></div>"""


def test_a_dataframe_becomes_its_header_and_rows_as_text() -> None:
    assert html_tables(DATAFRAME) == [
        {
            "head": [["", "lr", "accuracy"]],
            "body": [["0", "0.1", "0.91"], ["1", "0.01", "0.87 & up"]],
            "truncated": False,
        }
    ]


def test_scripts_attributes_and_markup_are_dropped() -> None:
    html = (
        "<table><tr><td><b>bold</b><script>alert(1)</script>"
        '<img src=x onerror="alert(2)">x</td></tr></table><script>alert(3)</script>'
    )
    assert html_tables(html) == [{"head": [], "body": [["boldx"]], "truncated": False}]


def test_html_without_a_table_gives_nothing() -> None:
    assert html_tables("<p>hello <script>alert(1)</script></p>") == []


def test_nested_tables_are_read_as_the_outer_cell_text() -> None:
    html = "<table><tr><td>a<table><tr><td>inner</td></tr></table></td><td>b</td></tr></table>"
    assert html_tables(html) == [{"head": [], "body": [["ainner", "b"]], "truncated": False}]


def test_tables_rows_and_columns_are_capped() -> None:
    wide = "<table><tr>" + "<td>x</td>" * (MAX_COLUMNS + 5) + "</tr></table>"
    (table,) = html_tables(wide)
    assert (len(table["body"][0]), table["truncated"]) == (MAX_COLUMNS, True)
    long = "<table>" + "<tr><td>1</td></tr>" * (MAX_ROWS + 5) + "</table>"
    (table,) = html_tables(long)
    assert (len(table["body"]), table["truncated"]) == (MAX_ROWS, True)
    many = "<table><tr><td>1</td></tr></table>" * (MAX_TABLES + 3)
    assert len(html_tables(many)) == MAX_TABLES
