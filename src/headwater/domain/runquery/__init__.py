"""The experiments table's query language: a filter (``lr > 0.1 and accuracy >= 0.9``) and a
sort column (``metrics.loss.min``), shared by the API, the CLI and the UI. ``syntax`` reads the
text into a tree, ``columns`` resolves its names against the project's experiments; the database
side (``db/repos/runquery.py``) turns the resolved tree into SQL."""

from headwater.domain.runquery.columns import Catalog, column_of, filter_of, resolve, sort_of
from headwater.domain.runquery.nodes import (
    Agg,
    AllOf,
    AnyOf,
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
    number_in,
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
    "AllOf",
    "AnyOf",
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
    "number_in",
    "parse_filter",
    "parse_name",
    "render",
    "resolve",
    "sort_of",
]
