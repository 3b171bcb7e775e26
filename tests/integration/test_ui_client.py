"""The UI's generated client matches the server's operations (regenerate with
``scripts/gen-ui-client``)."""

from __future__ import annotations

from pathlib import Path

from headwater.server.openapi_dump import openapi_document, operations_ts

UI_API = Path(__file__).resolve().parents[2] / "ui" / "src" / "api"


def test_the_ui_operations_table_is_current() -> None:
    committed = (UI_API / "operations.ts").read_text()
    assert committed == operations_ts(openapi_document()), (
        "ui/src/api/operations.ts is stale: run scripts/gen-ui-client and commit the result"
    )


def test_every_operation_has_a_unique_id_and_a_typed_entry() -> None:
    document = openapi_document()
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    schema = (UI_API / "schema.ts").read_text()
    missing = [i for i in ids if f"    {i}: {{" not in schema]
    assert not missing, f"ui/src/api/schema.ts lacks {missing}: run scripts/gen-ui-client"
