"""The signature header that `hw webhook add` and the docs tell a receiver to check is the one
deliveries carry (issue 12: they named ``X-Headwater-Signature``, deliveries send ``-256``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from headwater.cli.commands.webhooks import _created_view
from headwater.notify.webhooks import SIGNATURE_HEADER, sign
from headwater.schemas.settings import WebhookCreated

ROOT = Path(__file__).resolve().parents[3]
# The header's name, not followed by more of a header name: the sent one must be spelt in full.
ANY_SIGNATURE_NAME = re.compile(r"X-Headwater-Signature[A-Za-z0-9-]*")


def test_the_cli_names_the_header_deliveries_carry_and_its_value_shape() -> None:
    hook = WebhookCreated(
        id="w1",
        url="https://hooks.example.com/h",
        events=["experiment.failed"],
        enabled=True,
        created_at=datetime.now(UTC),
        signing_secret="s3cret",
    )
    text = _created_view(hook)
    assert set(ANY_SIGNATURE_NAME.findall(text)) == {SIGNATURE_HEADER}
    assert f"{SIGNATURE_HEADER}: sha256=" in text
    assert sign("s3cret", b"{}").startswith("sha256=")


def test_docs_and_sources_name_only_the_sent_header() -> None:
    wrong: list[str] = []
    for folder in ("docs", "src", "ui/src"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in {".md", ".py", ".ts", ".tsx"} or not path.is_file():
                continue
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                for name in ANY_SIGNATURE_NAME.findall(line):
                    if name != SIGNATURE_HEADER:
                        wrong.append(f"{path.relative_to(ROOT)}:{number}: {name}")
    assert wrong == []
