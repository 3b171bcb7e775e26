"""No secret reaches the disk or the database in clear: not the values, not simple encodings.

Secrets, third-party keys and webhook signing secrets are encrypted; tokens and passwords are
hashed. None of them may appear in any file of the server's home (the SQLite database and its
WAL included), in any row of any table, or (on PostgreSQL) in the cluster's files.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, select

from headwater.db.database import normalise_url
from tests.support.api import Server
from tests.support.postgres import PostgresCluster


def encodings(value: str) -> dict[str, bytes]:
    """The value as a careless store might hold it."""
    raw = value.encode()
    return {
        "plain": raw,
        "utf-16-le": value.encode("utf-16-le"),
        "hex": raw.hex().encode(),
        "base64": base64.b64encode(raw).rstrip(b"="),
        "base64url": base64.urlsafe_b64encode(raw).rstrip(b"="),
    }


def scan_files(root: Path, needles: dict[str, bytes]) -> list[str]:
    hits = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            try:
                data = path.read_bytes()
            except OSError:
                continue
            hits += [f"{path} holds the {label} value" for label, n in needles.items() if n in data]
    return hits


def dump_tables(url: str) -> list[tuple[str, Any]]:
    """Every row of every table in the database, reflected (so new tables are dumped too)."""
    engine = create_engine(normalise_url(url))
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        rows: list[tuple[str, Any]] = []
        with engine.connect() as conn:
            for table in metadata.sorted_tables:
                rows += [(table.name, row) for row in conn.execute(select(table))]
        return rows
    finally:
        engine.dispose()


def test_no_secret_in_any_file_or_row(server: Server, request: pytest.FixtureRequest) -> None:
    password = "pw-" + secrets.token_urlsafe(24)
    owner = server.create_user("owner", password=password)
    session = server.client().post("/auth/login", json={"username": "owner", "password": password})
    assert session.status_code == 200
    personal = owner.personal_project_id
    pid = owner.create_project("vault")["id"]
    secret_value = "sv-" + secrets.token_urlsafe(24)
    key_secret = "ks-" + secrets.token_urlsafe(24)

    assert owner.put(f"/projects/{pid}/secrets/API_TOKEN", json={"value": secret_value}).is_success
    # Set twice: the old value must not linger either.
    assert owner.put(
        f"/projects/{pid}/secrets/API_TOKEN", json={"value": secret_value + "-2"}
    ).is_success
    assert owner.put(
        f"/projects/{personal}/keys/aws", json={"key_id": "AKIAID", "secret": key_secret}
    ).is_success
    copied = owner.create_project("copied-keys", keys_from_personal=True)
    assert owner.get(f"/projects/{copied['id']}/keys").json()[0]["type"] == "aws"
    hook = owner.post(f"/projects/{pid}/webhooks", json={"url": "https://example.org/hook"})
    assert hook.status_code == 201
    signing_secret = hook.json()["signing_secret"]

    # Scan while the server is up (SQLite WAL and all), then again once it is stopped.
    # Tokens and passwords are stored hashed: neither may appear either. (The admin's token is
    # in admin.token by design, so the user's own tokens stand in for it.)
    values = {
        "secret": secret_value,
        "third-party key": key_secret,
        "signing": signing_secret,
        "api token": str(owner.token),
        "session token": session.json()["token"],
        "password": password,
    }
    needles = {
        f"{what} ({enc})": n for what, v in values.items() for enc, n in encodings(v).items()
    }
    assert not scan_files(server.home, needles)
    url = server.database_url or f"sqlite:///{server.home / 'headwater.db'}"
    rows = dump_tables(url)
    assert {name for name, _ in rows} >= {"secrets", "third_party_keys", "webhooks", "activity"}
    dumped = repr(rows)
    assert len([name for name, _ in rows if name == "secrets"]) == 1
    assert len([name for name, _ in rows if name == "third_party_keys"]) == 2
    leaks = [label for label, needle in needles.items() if needle.decode("latin-1") in dumped]
    assert not leaks, leaks

    server.close()
    assert not scan_files(server.home, needles)
    if server.database_url is not None:
        cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
        # The cluster's own files, write-ahead log included (readable when we run as root or
        # as the cluster's owner).
        if os.access(cluster.datadir, os.R_OK | os.X_OK):
            assert not scan_files(cluster.datadir, needles)


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The scanner itself: a value stored in clear, or base64'd, is found."""
    (tmp_path / "a.db").write_bytes(b"xx" + b"hunter2-value" + b"yy")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_bytes(base64.b64encode(b"hunter2-value"))
    (tmp_path / "c").write_bytes(b"nothing to see")
    hits = scan_files(tmp_path, encodings("hunter2-value"))
    assert f"{tmp_path / 'a.db'} holds the plain value" in hits
    assert f"{tmp_path / 'sub' / 'b'} holds the base64 value" in hits
    assert not [h for h in hits if h.startswith(str(tmp_path / "c"))]
