"""The UI's generated client still matches the server: every operation it knows exists with the
same method and path. A new route is not an error here (the UI does not call it yet); a renamed,
moved or removed one is, since the UI would call it and fail. Regenerate with
``scripts/gen-ui-client`` and commit the result."""

from __future__ import annotations

import re
from pathlib import Path

from headwater.server.openapi_dump import openapi_document, operations_ts

UI_API = Path(__file__).resolve().parents[2] / "ui" / "src" / "api"
ENTRY = re.compile(r'^  (\w+): \["([A-Z]+)", "([^"]+)"\],$', re.MULTILINE)


def table(text: str) -> dict[str, tuple[str, str]]:
    return {name: (method, path) for name, method, path in ENTRY.findall(text)}


def test_every_operation_the_ui_knows_still_exists() -> None:
    known = table((UI_API / "operations.ts").read_text())
    assert known, "ui/src/api/operations.ts holds no operations"
    server = table(operations_ts(openapi_document()))
    drifted = {name: where for name, where in known.items() if server.get(name) != where}
    assert not drifted, (
        f"operations the UI's client knows but the server no longer has as such: {drifted}; "
        "run scripts/gen-ui-client, fix what no longer type-checks (cd ui && npx tsc --noEmit) "
        "and commit"
    )


def test_the_types_cover_every_operation_in_the_table() -> None:
    schema = (UI_API / "schema.ts").read_text()
    known = table((UI_API / "operations.ts").read_text())
    missing = [name for name in known if f"    {name}: {{" not in schema]
    assert not missing, f"ui/src/api/schema.ts lacks {missing}: run scripts/gen-ui-client"
