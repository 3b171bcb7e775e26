"""Secrets (seed 000 Project Secrets), third-party keys, and webhooks: the owner's, never shown."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.support.api import Api, Server, assert_error


@pytest.fixture
def owner_and_project(server: Server) -> tuple[Api, str]:
    owner = server.create_user("owner")
    return owner, owner.create_project("with-secrets")["id"]


def test_secret_set_list_delete_and_never_returned(owner_and_project: tuple[Api, str]) -> None:
    owner, pid = owner_and_project
    value = "s3cr3t-value-that-must-not-come-back"
    response = owner.put(f"/projects/{pid}/secrets/AWS_KEY", json={"value": value})
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"key", "created_at", "updated_at", "owner_only"}
    assert value not in response.text

    listed = owner.get(f"/projects/{pid}/secrets")
    assert listed.status_code == 200
    assert [set(s) for s in listed.json()] == [{"key", "created_at", "updated_at", "owner_only"}]
    assert listed.json()[0]["key"] == "AWS_KEY"
    first = listed.json()[0]

    # Setting it again replaces the value and keeps the creation date.
    again = owner.put(f"/projects/{pid}/secrets/AWS_KEY", json={"value": "other"}).json()
    assert again["created_at"] == first["created_at"]
    assert again["updated_at"] >= first["updated_at"]
    assert len(owner.get(f"/projects/{pid}/secrets").json()) == 1

    for path in ("", "/settings", "/env", "/activity", "/secrets", "/members"):
        assert value not in owner.get(f"/projects/{pid}{path}").text, path

    kinds = [a["kind"] for a in owner.activity(pid)]
    assert kinds[:2] == ["secret_set", "secret_set"]

    assert owner.delete(f"/projects/{pid}/secrets/AWS_KEY").status_code == 204
    assert owner.get(f"/projects/{pid}/secrets").json() == []
    assert_error(owner.delete(f"/projects/{pid}/secrets/AWS_KEY"), 404, where="key")
    assert owner.activity(pid)[0]["kind"] == "secret_deleted"


KEY_RULES = [
    ("MY KEY", "contains a space"),
    ("MY-KEY", "contains '-'"),
    ("KEY.NAME", "contains '.'"),
    ("KÉY", "contains 'É'"),
    ("1KEY", "starts with a digit"),
]


def test_each_secret_key_rule_is_refused_with_its_own_message(
    owner_and_project: tuple[Api, str], subtests: pytest.Subtests
) -> None:
    owner, pid = owner_and_project
    owner.put(f"/projects/{pid}/secrets/EXISTING", json={"value": "x"})
    before = owner.get(f"/projects/{pid}/secrets").json()
    feed = owner.activity(pid)
    details = set()
    for key, message in KEY_RULES:
        with subtests.test(key=key):
            response = owner.put(f"/projects/{pid}/secrets/{quote(key)}", json={"value": "v"})
            body = assert_error(response, 400, where="key")
            assert message in body["detail"]
            details.add(body["detail"])
            assert owner.get(f"/projects/{pid}/secrets").json() == before
            assert owner.activity(pid) == feed
    assert len(details) == len(KEY_RULES)


def test_secret_value_limit_is_253(owner_and_project: tuple[Api, str]) -> None:
    owner, pid = owner_and_project
    ok = owner.put(f"/projects/{pid}/secrets/MAX", json={"value": "v" * 253})
    assert ok.status_code == 200, ok.text
    too_long = owner.put(f"/projects/{pid}/secrets/LONG", json={"value": "v" * 254})
    body = assert_error(too_long, 400, where="value")
    assert "253" in body["detail"]
    # Far over: refused by the request schema, still a clean 4xx.
    huge = owner.put(f"/projects/{pid}/secrets/HUGE", json={"value": "v" * 5000})
    assert 400 <= huge.status_code < 500
    assert_error(huge, huge.status_code)
    assert [s["key"] for s in owner.get(f"/projects/{pid}/secrets").json()] == ["MAX"]


def test_secret_keys_are_unique_per_project_not_per_server(server: Server) -> None:
    owner = server.create_user("owner")
    first, second = owner.create_project("a")["id"], owner.create_project("b")["id"]
    assert owner.put(f"/projects/{first}/secrets/TOKEN", json={"value": "1"}).is_success
    assert owner.put(f"/projects/{second}/secrets/TOKEN", json={"value": "2"}).is_success
    assert owner.delete(f"/projects/{first}/secrets/TOKEN").status_code == 204
    assert [s["key"] for s in owner.get(f"/projects/{second}/secrets").json()] == ["TOKEN"]


def test_secrets_and_keys_are_the_owners(server: Server) -> None:
    owner, bob = server.create_user("owner"), server.create_user("bob")
    pid = owner.create_project("p")["id"]
    owner.add_member(pid, bob, files="all", jobs="all", datasets="all", models="all", manage=True)
    owner.put(f"/projects/{pid}/secrets/K", json={"value": "v"})
    owner.put(f"/projects/{pid}/keys/aws", json={"key_id": "AKIA1", "secret": "s"})
    for method, path, body in [
        ("GET", "/secrets", None),
        ("PUT", "/secrets/K2", {"value": "v"}),
        ("DELETE", "/secrets/K", None),
        ("GET", "/keys", None),
        ("PUT", "/keys/gcp", {"key_id": "x", "secret": "y"}),
        ("DELETE", "/keys/aws", None),
        ("GET", "/webhooks", None),
        ("POST", "/webhooks", {"url": "https://example.org/hook"}),
    ]:
        response = bob.request(method, f"/projects/{pid}{path}", json=body)
        assert_error(response, 403)
    assert [s["key"] for s in owner.get(f"/projects/{pid}/secrets").json()] == ["K"]
    assert [k["type"] for k in owner.get(f"/projects/{pid}/keys").json()] == ["aws"]
    # Admins may, as the issue says.
    assert server.admin.get(f"/projects/{pid}/secrets").status_code == 200


def test_third_party_keys_show_the_id_never_the_secret(owner_and_project: tuple[Api, str]) -> None:
    owner, pid = owner_and_project
    secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
    response = owner.put(
        f"/projects/{pid}/keys/aws", json={"key_id": "AKIAEXAMPLE", "secret": secret}
    )
    assert response.status_code == 200, response.text
    assert secret not in response.text
    listed = owner.get(f"/projects/{pid}/keys")
    assert listed.json() == [
        {"type": "aws", "key_id": "AKIAEXAMPLE", "updated_at": listed.json()[0]["updated_at"]}
    ]
    assert secret not in listed.text
    assert owner.activity(pid)[0]["kind"] == "key_set"

    assert_error(
        owner.put(f"/projects/{pid}/keys/dropbox", json={"key_id": "a", "secret": "b"}),
        400,
        where="type",
    )
    assert owner.delete(f"/projects/{pid}/keys/aws").status_code == 204
    assert owner.get(f"/projects/{pid}/keys").json() == []
    assert_error(owner.delete(f"/projects/{pid}/keys/aws"), 404)


def test_keys_from_personal_are_copied_at_creation(server: Server) -> None:
    owner = server.create_user("owner")
    personal = owner.personal_project_id
    owner.put(f"/projects/{personal}/keys/aws", json={"key_id": "AKIA1", "secret": "s1"})
    owner.put(f"/projects/{personal}/keys/huggingface", json={"key_id": "hf", "secret": "s2"})

    copied = owner.create_project("with-keys", keys_from_personal=True)
    plain = owner.create_project("without-keys")
    assert [
        (k["type"], k["key_id"]) for k in owner.get(f"/projects/{copied['id']}/keys").json()
    ] == [
        ("aws", "AKIA1"),
        ("huggingface", "hf"),
    ]
    assert owner.get(f"/projects/{plain['id']}/keys").json() == []

    # A copy, not a link: changing Personal later leaves the project's keys alone.
    owner.delete(f"/projects/{personal}/keys/aws")
    assert len(owner.get(f"/projects/{copied['id']}/keys").json()) == 2


def test_keys_from_personal_copies_only_the_callers_keys(server: Server) -> None:
    alice, bob = server.create_user("alice"), server.create_user("bob")
    alice.put(
        f"/projects/{alice.personal_project_id}/keys/aws", json={"key_id": "A", "secret": "s"}
    )
    project = bob.create_project("bobs", keys_from_personal=True)
    assert bob.get(f"/projects/{project['id']}/keys").json() == []


def test_webhook_signing_secret_is_shown_once(owner_and_project: tuple[Api, str]) -> None:
    owner, pid = owner_and_project
    created = owner.post(
        f"/projects/{pid}/webhooks",
        json={"url": "https://example.org/hook", "events": ["flow.failed", "experiment.failed"]},
    )
    assert created.status_code == 201, created.text
    hook = created.json()
    secret = hook["signing_secret"]
    assert secret.startswith("whsec_")
    assert len(secret) > 20
    assert hook["events"] == ["experiment.failed", "flow.failed"]
    assert hook["enabled"] is True

    listed = owner.get(f"/projects/{pid}/webhooks")
    assert listed.status_code == 200
    assert [h["id"] for h in listed.json()] == [hook["id"]]
    assert "signing_secret" not in listed.json()[0]
    for path in ("/webhooks", "/activity", "/settings", ""):
        assert secret not in owner.get(f"/projects/{pid}{path}").text, path

    second = owner.post(f"/projects/{pid}/webhooks", json={"url": "https://example.org/other"})
    assert second.json()["signing_secret"] != secret
    assert second.json()["events"] == ["experiment.failed", "experiment.succeeded"]

    assert owner.delete(f"/projects/{pid}/webhooks/{hook['id']}").status_code == 204
    assert [h["id"] for h in owner.get(f"/projects/{pid}/webhooks").json()] == [second.json()["id"]]
    assert_error(owner.delete(f"/projects/{pid}/webhooks/{hook['id']}"), 404)
    assert owner.activity(pid)[0]["kind"] == "webhooks_changed"


BAD_WEBHOOKS: list[tuple[dict[str, object], int, str | None]] = [
    ({"url": "https://example.org/h", "events": ["experiment.exploded"]}, 400, "events"),
    ({"url": "ftp://example.org/h"}, 422, "url"),
    ({"url": "https://exa mple.org/h"}, 422, "url"),
    ({"url": "https://example.org/h", "secret": "mine"}, 422, None),
]


def test_bad_webhooks_are_refused_and_store_nothing(
    owner_and_project: tuple[Api, str], subtests: pytest.Subtests
) -> None:
    owner, pid = owner_and_project
    for body, status, where in BAD_WEBHOOKS:
        with subtests.test(body=body):
            response = owner.post(f"/projects/{pid}/webhooks", json=body)
            error = assert_error(response, status, where=where)
            if status == 400:
                assert "experiment.exploded" in error["detail"]
                assert "experiment.succeeded" in error["hint"]
            assert owner.get(f"/projects/{pid}/webhooks").json() == []


def test_webhook_of_another_project_cannot_be_deleted_through_this_one(server: Server) -> None:
    owner = server.create_user("owner")
    first, second = owner.create_project("a")["id"], owner.create_project("b")["id"]
    hook = owner.post(f"/projects/{first}/webhooks", json={"url": "https://example.org/h"}).json()
    assert_error(owner.delete(f"/projects/{second}/webhooks/{hook['id']}"), 404)
    assert len(owner.get(f"/projects/{first}/webhooks").json()) == 1


def test_activity_never_carries_secret_values(owner_and_project: tuple[Api, str]) -> None:
    owner, pid = owner_and_project
    owner.put(f"/projects/{pid}/secrets/DB_PASSWORD", json={"value": "hunter2-unique-value"})
    owner.put(f"/projects/{pid}/keys/git", json={"key_id": "me", "secret": "ghp_unique_token"})
    feed = json.dumps(owner.activity(pid))
    assert "hunter2-unique-value" not in feed
    assert "ghp_unique_token" not in feed
