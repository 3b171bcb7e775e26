"""Projects (seed 000 General, seed 001): create, list, show, update, delete; Personal; public."""

from __future__ import annotations

import pytest

from tests.support.api import Server, assert_error


def test_create_show_list_update_delete(server: Server) -> None:
    alice = server.create_user("alice")
    created = alice.post("/projects", json={"name": "churn-model", "description": "predicts churn"})
    assert created.status_code == 201, created.text
    project = created.json()
    assert project["name"] == "churn-model"
    assert project["description"] == "predicts churn"
    assert project["public"] is False
    assert project["personal"] is False
    assert project["owner"] == "alice"
    assert project["role"] == "owner"
    assert project["access"] == {
        "files": "all",
        "jobs": "all",
        "datasets": "all",
        "models": "all",
        "manage": True,
    }
    pid = project["id"]

    shown = alice.get(f"/projects/{pid}")
    assert shown.status_code == 200
    assert shown.json() == project

    listing = alice.get("/projects").json()
    assert listing["total"] == 2
    assert [p["name"] for p in listing["items"]] == ["Personal", "churn-model"]

    updated = alice.patch(f"/projects/{pid}", json={"description": "v2", "public": True})
    assert updated.status_code == 200, updated.text
    assert updated.json()["description"] == "v2"
    assert updated.json()["public"] is True
    assert alice.get(f"/projects/{pid}").json()["description"] == "v2"

    assert alice.delete(f"/projects/{pid}").status_code == 204
    assert_error(alice.get(f"/projects/{pid}"), 404, where="project")
    assert alice.get("/projects").json()["total"] == 1
    assert_error(alice.delete(f"/projects/{pid}"), 404)


def test_name_cannot_change(server: Server) -> None:
    alice = server.create_user("alice")
    project = alice.create_project("fixed-name")
    response = alice.patch(f"/projects/{project['id']}", json={"name": "new-name"})
    body = assert_error(response, 400, where="name")
    assert "cannot change" in body["detail"]
    assert alice.get(f"/projects/{project['id']}").json()["name"] == "fixed-name"
    # Sending the current name (as a form that posts every field would) is fine.
    same = alice.patch(f"/projects/{project['id']}", json={"name": "fixed-name"})
    assert same.status_code == 200, same.text


def test_name_change_refused_even_with_other_valid_changes(server: Server) -> None:
    alice = server.create_user("alice")
    project = alice.create_project("stay", description="before")
    response = alice.patch(
        f"/projects/{project['id']}", json={"name": "go", "description": "after"}
    )
    assert_error(response, 400, where="name")
    assert alice.get(f"/projects/{project['id']}").json()["description"] == "before"


def test_duplicate_name_for_the_same_owner_is_a_clean_409(server: Server) -> None:
    alice, bob = server.create_user("alice"), server.create_user("bob")
    alice.create_project("shared-name")
    assert_error(alice.post("/projects", json={"name": "shared-name"}), 409, where="name")
    # Names are unique per owner, not per server.
    bob.create_project("shared-name")
    # A deleted project's name is free again.
    again = alice.get("/projects").json()["items"]
    pid = next(p["id"] for p in again if p["name"] == "shared-name")
    assert alice.delete(f"/projects/{pid}").status_code == 204
    alice.create_project("shared-name")


BAD_CREATES: list[dict[str, str]] = [
    {"name": ""},
    {"name": " padded "},
    {"name": "a/b"},
    {"name": "x" * 101},
    {"name": "Personal"},
    {"name": "ok", "visibility": "public"},
    {"description": "no name"},
]


def test_invalid_creates_are_clean_4xx_and_create_nothing(
    server: Server, subtests: pytest.Subtests
) -> None:
    alice = server.create_user("alice")
    for body in BAD_CREATES:
        with subtests.test(body=body):
            response = alice.post("/projects", json=body)
            assert 400 <= response.status_code < 500, response.text
            assert_error(response, response.status_code)
            assert alice.get("/projects").json()["total"] == 1


def test_personal_project_exists_and_cannot_be_deleted_shared_or_made_public(
    server: Server,
) -> None:
    alice, bob = server.create_user("alice"), server.create_user("bob")
    pid = alice.personal_project_id
    personal = alice.get(f"/projects/{pid}").json()
    assert personal["personal"] is True
    assert personal["name"] == "Personal"

    assert_error(alice.delete(f"/projects/{pid}"), 409)
    assert_error(server.admin.delete(f"/projects/{pid}"), 409)
    assert_error(alice.post(f"/projects/{pid}/members", json={"email": bob.email}), 409)
    assert_error(alice.patch(f"/projects/{pid}", json={"public": True}), 409, where="public")
    assert_error(alice.patch(f"/projects/{pid}", json={"name": "Mine"}), 400, where="name")

    after = alice.get(f"/projects/{pid}").json()
    assert after == personal
    assert alice.get(f"/projects/{pid}/members").json() == []
    assert_error(bob.get(f"/projects/{pid}"), 404)
    # Its description may change.
    assert alice.patch(f"/projects/{pid}", json={"description": "mine"}).status_code == 200


def test_every_user_has_exactly_one_personal_project(server: Server) -> None:
    users = [server.create_user() for _ in range(3)]
    for user in users:
        items = user.get("/projects").json()["items"]
        personal = [p for p in items if p["personal"]]
        assert len(personal) == 1
        assert personal[0]["id"] == user.personal_project_id


def test_private_project_is_hidden_from_other_users(server: Server) -> None:
    alice, bob = server.create_user("alice"), server.create_user("bob")
    project = alice.create_project("secret-work")
    body = assert_error(bob.get(f"/projects/{project['id']}"), 404)
    # The answer is the same as for a project that does not exist.
    missing = assert_error(bob.get("/projects/000000000000"), 404)
    assert body["detail"].replace(project["id"], "X") == missing["detail"].replace(
        "000000000000", "X"
    )
    assert "secret-work" not in [p["name"] for p in bob.get("/projects").json()["items"]]


def test_public_project_is_readable_by_any_user(server: Server) -> None:
    alice, bob = server.create_user("alice"), server.create_user("bob")
    project = alice.create_project("open-data", public=True)
    pid = project["id"]
    shown = bob.get(f"/projects/{pid}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["role"] == "public"
    assert shown.json()["access"] == {
        "files": "read",
        "jobs": "read",
        "datasets": "read",
        "models": "read",
        "manage": False,
    }
    assert "open-data" in [p["name"] for p in bob.get("/projects").json()["items"]]
    assert bob.get(f"/projects/{pid}/activity").status_code == 200
    assert bob.get(f"/projects/{pid}/members").status_code == 200
    # Reading is all: no changes, no secrets.
    assert_error(bob.patch(f"/projects/{pid}", json={"description": "x"}), 403)
    assert_error(bob.delete(f"/projects/{pid}"), 403)
    assert_error(bob.get(f"/projects/{pid}/secrets"), 403)
    assert_error(bob.post(f"/projects/{pid}/members", json={"email": bob.email}), 403)

    # Made private again: hidden on the very next request.
    assert alice.patch(f"/projects/{pid}", json={"public": False}).status_code == 200
    assert_error(bob.get(f"/projects/{pid}"), 404)


def test_admin_sees_and_manages_every_project(server: Server) -> None:
    alice = server.create_user("alice")
    project = alice.create_project("alices")
    listing = server.admin.get("/projects").json()
    names = {(p["owner"], p["name"]) for p in listing["items"]}
    assert ("alice", "alices") in names
    assert ("alice", "Personal") in names
    shown = server.admin.get(f"/projects/{project['id']}").json()
    assert shown["role"] == "admin"
    response = server.admin.patch(f"/projects/{project['id']}", json={"description": "by admin"})
    assert response.status_code == 200
    assert server.admin.delete(f"/projects/{project['id']}").status_code == 204


def test_list_pages_and_search(server: Server) -> None:
    alice = server.create_user("alice")
    for i in range(5):
        alice.create_project(f"model-{i}")
    alice.create_project("data_1")
    alice.create_project("dataX1")
    page = alice.get("/projects", params={"offset": 1, "limit": 2}).json()
    assert page["total"] == 8
    assert (page["offset"], page["limit"]) == (1, 2)
    # Personal first, then by name ('dataX1' and 'data_1' sort by the database's collation).
    assert {p["name"] for p in page["items"]} == {"dataX1", "data_1"}
    everything = alice.get("/projects").json()["items"]
    assert everything[0]["name"] == "Personal"
    assert [p["name"] for p in everything[3:]] == [f"model-{i}" for i in range(5)]
    found = alice.get("/projects", params={"search": "model-"}).json()
    assert found["total"] == 5
    # LIKE wildcards in the search are literal: '_' matches only '_'.
    assert [
        p["name"] for p in alice.get("/projects", params={"search": "a_1"}).json()["items"]
    ] == ["data_1"]
    assert alice.get("/projects", params={"search": "%"}).json()["total"] == 0
    assert_error(alice.get("/projects", params={"limit": 0}), 422)


def test_activity_feed_records_project_changes(server: Server) -> None:
    alice = server.create_user("alice")
    project = alice.create_project("feed")
    pid = project["id"]
    alice.patch(f"/projects/{pid}", json={"description": "new"})
    alice.patch(f"/projects/{pid}", json={"description": "new"})  # no change: no entry
    alice.patch(f"/projects/{pid}", json={"public": True})
    feed = alice.activity(pid)
    assert [a["kind"] for a in feed] == ["project_updated", "project_updated", "project_created"]
    assert all(a["actor"] == "alice" for a in feed)
    assert feed[0]["data"] == {"changes": ["privacy: public"]}
    ids = [a["id"] for a in feed]
    assert ids == sorted(ids, reverse=True)
    older = alice.get(f"/projects/{pid}/activity", params={"before": ids[0], "limit": 1}).json()
    assert [a["id"] for a in older] == [ids[1]]


def test_deleting_a_project_removes_what_it_holds(server: Server) -> None:
    alice, bob = server.create_user("alice"), server.create_user("bob")
    project = alice.create_project("doomed")
    pid = project["id"]
    alice.add_member(pid, bob)
    assert alice.put(f"/projects/{pid}/secrets/K", json={"value": "v"}).status_code == 200
    assert alice.delete(f"/projects/{pid}").status_code == 204
    assert_error(bob.get(f"/projects/{pid}"), 404)
    assert [p["name"] for p in bob.get("/projects").json()["items"]] == ["Personal"]
    recreated = alice.create_project("doomed")
    assert recreated["id"] != pid
    assert alice.get(f"/projects/{recreated['id']}/secrets").json() == []
    assert alice.get(f"/projects/{recreated['id']}/members").json() == []
