"""Input a database cannot hold (NUL, lone surrogates, over-long text, huge numbers): a clean 4xx.

SQLite stores almost anything; PostgreSQL refuses NUL characters in text and values longer than
their column. Whatever the database, the answer must be a clean 4xx JSON error that leaves the
state as it was, or a success that stores exactly what was sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.api import ERROR_KEYS, Api, Server, unique


@dataclass(frozen=True)
class Hostile:
    name: str
    method: str
    path: str  # {pid} is the owner's project
    json: Any = None
    raw: bytes | None = None  # a JSON body json.dumps cannot write (a lone surrogate)
    params: dict[str, str] | None = None


CASES = [
    Hostile(
        "project description with NUL", "POST", "/projects", {"name": "n1", "description": "a\x00b"}
    ),
    Hostile("search with NUL", "GET", "/projects", params={"search": "a\x00"}),
    # Numbers past what the database's integers hold (found by the OpenAPI fuzz test).
    Hostile("page offset past 64 bits", "GET", "/projects", params={"offset": str(2**63)}),
    Hostile("activity before past 32 bits", "GET", "/projects/{pid}/activity?before=2147483648"),
    Hostile("activity before past 64 bits", "GET", f"/projects/{{pid}}/activity?before={2**63}"),
    Hostile("project id with NUL", "GET", "/projects/ab%00cd"),
    Hostile("project id with NUL, owner route", "DELETE", "/projects/ab%00cd"),
    Hostile("member email with NUL", "POST", "/projects/{pid}/members", {"email": "a\x00@b.c"}),
    Hostile("member name with NUL", "DELETE", "/projects/{pid}/members/a%00b"),
    Hostile("member update name with NUL", "PATCH", "/projects/{pid}/members/a%00b", {}),
    Hostile(
        "webhook url with NUL",
        "POST",
        "/projects/{pid}/webhooks",
        {"url": "https://a\x00b.example"},
    ),
    Hostile("webhook id with NUL", "DELETE", "/projects/{pid}/webhooks/a%00b"),
    Hostile(
        "third-party key id with NUL",
        "PUT",
        "/projects/{pid}/keys/aws",
        {"key_id": "AK\x00IA", "secret": "s"},
    ),
    Hostile("user email with NUL", "POST", "/users", {"username": "nul", "email": "a\x00@b.c"}),
    Hostile("login name with NUL", "POST", "/auth/login", {"username": "a\x00", "password": "pw"}),
    Hostile(
        "secret key of 300 characters",
        "PUT",
        "/projects/{pid}/secrets/" + "K" * 300,
        {"value": "v"},
    ),
    Hostile(
        "email longer than 254 once lower-cased",
        "POST",
        "/users",
        {"username": "dotted", "email": "\u0130" * 200 + "@b.co"},
    ),
    Hostile(
        "settings with a lone surrogate",
        "PATCH",
        "/projects/{pid}/settings",
        raw=b'{"image": "\\ud800"}',
    ),
    Hostile(
        "env with a lone surrogate",
        "PATCH",
        "/projects/{pid}/env",
        raw=b'{"env": {"A": "\\ud800"}}',
    ),
    Hostile(
        "description with a lone surrogate",
        "POST",
        "/projects",
        raw=b'{"name": "n2", "description": "\\udfff"}',
    ),
]


def snapshot(admin: Api, pid: str) -> dict[str, tuple[int, str]]:
    """Everything these requests could change."""
    return {
        path: (response.status_code, response.text)
        for path in (
            "/projects?limit=1000",
            "/users",
            f"/projects/{pid}",
            f"/projects/{pid}/members",
            f"/projects/{pid}/settings",
            f"/projects/{pid}/webhooks",
            f"/projects/{pid}/keys",
            f"/projects/{pid}/secrets",
        )
        for response in [admin.get(path)]
    }


def send(api: Api, case: Hostile, pid: str) -> httpx.Response:
    path = case.path.format(pid=pid)
    if case.raw is not None:
        return api.request(
            case.method, path, content=case.raw, headers={"content-type": "application/json"}
        )
    return api.request(case.method, path, json=case.json, params=case.params)


def test_hostile_text_is_refused_cleanly_or_stored_exactly(
    server: Server, subtests: pytest.Subtests
) -> None:
    owner = server.create_user("owner")
    # 500s must come back as answers here, not as exceptions, to be reported per case.
    admin = server.client(server.admin_token(), raise_server_exceptions=False)
    owner_raw = server.client(owner.token, raise_server_exceptions=False)
    for case in CASES:
        with subtests.test(case.name):
            # A project per case, so that one case's damage cannot fail the next.
            pid = owner.create_project(unique("target-"))["id"]
            before = snapshot(admin, pid)
            caller = admin if case.path in ("/users",) else owner_raw
            response = send(caller, case, pid)
            assert response.status_code < 500, f"{case.name}: {response.status_code}"
            if response.status_code >= 400:
                assert response.json().keys() == ERROR_KEYS, response.text
                assert snapshot(admin, pid) == before
            else:
                _stored_exactly(case, response, owner, pid)


def _stored_exactly(case: Hostile, response: httpx.Response, owner: Api, pid: str) -> None:
    """An accepted value reads back as sent."""
    checks: dict[str, Callable[[dict[str, Any]], None]] = {
        "project description with NUL": lambda body: _equal(
            owner.get(f"/projects/{body['id']}").json()["description"], "a\x00b"
        ),
        "webhook url with NUL": lambda body: _equal(body["url"], "https://a\x00b.example"),
        "third-party key id with NUL": lambda body: _equal(body["key_id"], "AK\x00IA"),
        "user email with NUL": lambda body: _equal(body["user"]["email"], "a\x00@b.c"),
        "secret key of 300 characters": lambda body: _equal(
            [s["key"] for s in owner.get(f"/projects/{pid}/secrets").json()], ["K" * 300]
        ),
        # Stored lower-cased, as every email is; but never over the 254 the API promises.
        "email longer than 254 once lower-cased": lambda body: _at_most(body["user"]["email"], 254),
    }
    check = checks.get(case.name)
    if check is not None:
        check(response.json())
    elif case.method != "GET":
        raise AssertionError(f"{case.name}: accepted ({response.status_code}) {response.text}")


def _equal(actual: object, expected: object) -> None:
    assert actual == expected


def _at_most(text: str, limit: int) -> None:
    assert len(text) <= limit, f"{len(text)} characters stored, over the limit of {limit}"
