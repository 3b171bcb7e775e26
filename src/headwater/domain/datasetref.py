"""How a job names the dataset it mounts: ``NAME`` (its latest version when the task starts),
``NAME@COMMIT`` (that version) or ``NAME:QUERY`` (a saved query's files at its version), as a
flow's data task does with ``data_commit`` and ``data_query``. Dataset and query names hold
neither ``@`` nor ``:``, so the forms cannot be confused."""

from __future__ import annotations

from dataclasses import dataclass

from headwater.domain.errors import InvalidInput

FORMS = "NAME, NAME@COMMIT or NAME:QUERY"


@dataclass(frozen=True)
class DatasetRef:
    name: str
    commit: str | None = None
    query: str | None = None


def parse_dataset_ref(text: str, *, where: str) -> DatasetRef:
    """``text`` as a reference, or an error saying how to write one."""
    name, at, commit = text.partition("@")
    if at:
        if not name or not commit or ":" in name:
            raise _bad(text, where)
        return DatasetRef(name, commit=commit)
    name, colon, query = text.partition(":")
    if colon:
        if not name or not query or ":" in query:
            raise _bad(text, where)
        return DatasetRef(name, query=query)
    if not name:
        raise _bad(text, where)
    return DatasetRef(name)


def _bad(text: str, where: str) -> InvalidInput:
    return InvalidInput(
        f"{text!r} does not name a dataset",
        where=where,
        hint=f"Write {FORMS}, e.g. iris, iris@3f2a9c1b or iris:train.",
    )
