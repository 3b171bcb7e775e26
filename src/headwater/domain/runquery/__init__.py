"""The experiments table's query language: a filter (``lr > 0.1 and accuracy >= 0.9``) and a
sort column (``metrics.loss.min``), shared by the API, the CLI and the UI. ``syntax`` reads the
text into a tree, ``columns`` resolves its names against the project's experiments; the database
side (``db/repos/runquery.py``) turns the resolved tree into SQL."""

from headwater.domain.runquery.columns import Catalog, column_of, filter_of, resolve, sort_of
from headwater.domain.runquery.nodes import (
    Agg,
    All,
    Any_,
    Builtin,
    Column,
    Compare,
    Condition,
    Name,
    Node,
    Not,
    Op,
    Source,
    Value,
)
from headwater.domain.runquery.syntax import (
    MAX_COMPARISONS,
    MAX_DEPTH,
    MAX_LENGTH,
    parse_filter,
    parse_name,
    render,
)

__all__ = [
    "MAX_COMPARISONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "Agg",
    "All",
    "Any_",
    "Builtin",
    "Catalog",
    "Column",
    "Compare",
    "Condition",
    "Name",
    "Node",
    "Not",
    "Op",
    "Source",
    "Value",
    "column_of",
    "filter_of",
    "parse_filter",
    "parse_name",
    "render",
    "resolve",
    "sort_of",
]
