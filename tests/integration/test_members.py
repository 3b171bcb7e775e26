"""Members and their access per resource type (seeds 001 and 003), with the activity feed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import Api, Server, assert_error

READ_ALL = {"files": "read", "jobs": "read", "datasets": "read", "models": "read"}


@pytest.fixture
def team(server: Server) -> tuple[Api, Api, Api, dict[str, Any]]:
    owner, bob, carol = (server.create_user(n) for n in ("owner", "bob", "carol"))
    return owner, bob, carol, owner.create_project("team-project")


def test_add_member_with_access_per_resource(
    server: Server, team: tuple[Api, Api, Api, dict[str, Any]]
) -> None:
    owner, bob, _, project = team
    pid = project["id"]
    member = owner.add_member(pid, bob, jobs="all", models="all")
    assert member["username"] == "bob"
    assert member["access"] == {**READ_ALL, "jobs": "all", "models": "all", "manage": False}

    listed = owner.get(f"/projects/{pid}/members").json()
    assert [(m["username"], m["access"]) for m in listed] == [("bob", member["access"])]

    seen = bob.get(f"/projects/{pid}").json()
    assert seen["role"] == "member"
    assert seen["access"] == member["access"]
    assert pid in [p["id"] for p in bob.get("/projects").json()["items"]]


def test_add_member_by_username_or_any_case_email(
    team: tuple[Api, Api, Api, dict[str, Any]],
) -> None:
    owner, _, _, project = team
    pid = project["id"]
    assert owner.post(f"/projects/{pid}/members", json={"email": "BOB@Example.org"}).is_success
    assert owner.post(f"/projects/{pid}/members", json={"email": "carol"}).is_success
    assert sorted(m["username"] for m in owner.get(f"/projects/{pid}/members").json()) == [
        "bob",
        "carol",
    ]


BAD_ADDS: list[tuple[str, dict[str, Any], int, str | None]] = [
    ("unknown user", {"email": "nobody@example.org"}, 404, "email"),
    ("owner", {"email": "owner@example.org"}, 409, "email"),
    ("bad level", {"email": "bob@example.org", "jobs": "write"}, 422, None),
    ("unknown field", {"email": "bob@example.org", "admin": True}, 422, None),
]


def test_bad_member_adds_are_clean_and_change_nothing(
    team: tuple[Api, Api, Api, dict[str, Any]], subtests: pytest.Subtests
) -> None:
    owner, _, _, project = team
    pid = project["id"]
    before = owner.activity(pid)
    for case, body, status, where in BAD_ADDS:
        with subtests.test(case):
            response = owner.post(f"/projects/{pid}/members", json=body)
            assert_error(response, status, where=where)
            assert owner.get(f"/projects/{pid}/members").json() == []
            assert owner.activity(pid) == before


def test_adding_a_member_twice_is_a_clean_409(
    team: tuple[Api, Api, Api, dict[str, Any]],
) -> None:
    owner, bob, _, project = team
    owner.add_member(project["id"], bob)
    response = owner.post(f"/projects/{project['id']}/members", json={"email": bob.email})
    assert_error(response, 409, where="email")


def test_update_remove_leave_with_activity(team: tuple[Api, Api, Api, dict[str, Any]]) -> None:
    owner, bob, carol, project = team
    pid = project["id"]
    owner.add_member(pid, bob)
    owner.add_member(pid, carol, files="all")

    changed = owner.patch(f"/projects/{pid}/members/bob", json={"datasets": "all"})
    assert changed.status_code == 200, changed.text
    # Only the named resource changes; the rest is kept.
    assert changed.json()["access"] == {**READ_ALL, "datasets": "all", "manage": False}
    bob_seen = bob.get(f"/projects/{pid}").json()["access"]
    assert bob_seen["datasets"] == "all"

    assert owner.delete(f"/projects/{pid}/members/{bob.email}").status_code == 204
    assert_error(bob.get(f"/projects/{pid}"), 404)
    assert_error(owner.delete(f"/projects/{pid}/members/bob"), 404, where="member")

    assert carol.post(f"/projects/{pid}/leave").status_code == 204
    assert_error(carol.get(f"/projects/{pid}"), 404)
    assert owner.get(f"/projects/{pid}/members").json() == []

    feed = owner.activity(pid)
    kinds = [a["kind"] for a in feed]
    assert kinds == [
        "member_left",
        "member_removed",
        "member_changed",
        "member_added",
        "member_added",
        "project_created",
    ]
    by_kind = {a["kind"]: a for a in feed}
    assert by_kind["member_left"]["actor"] == "carol"
    assert by_kind["member_left"]["data"] == {"user": "carol"}
    assert by_kind["member_removed"]["actor"] == "owner"
    assert by_kind["member_removed"]["data"] == {"user": "bob"}
    assert by_kind["member_changed"]["data"]["access"]["datasets"] == "all"
    assert {a["data"]["user"] for a in feed if a["kind"] == "member_added"} == {"bob", "carol"}


def test_owner_cannot_leave(team: tuple[Api, Api, Api, dict[str, Any]]) -> None:
    owner, _, _, project = team
    assert_error(owner.post(f"/projects/{project['id']}/leave"), 409)
    assert owner.get(f"/projects/{project['id']}").status_code == 200


def test_changes_take_effect_on_the_next_request(
    team: tuple[Api, Api, Api, dict[str, Any]],
) -> None:
    owner, bob, carol, project = team
    pid = project["id"]
    members = f"/projects/{pid}/members"
    owner.add_member(pid, bob)
    # Read member: cannot manage members.
    assert_error(bob.post(members, json={"email": carol.email}), 403)

    assert owner.patch(f"{members}/bob", json={"manage": True}).is_success
    assert bob.get(f"/projects/{pid}").json()["access"]["manage"] is True
    assert bob.post(members, json={"email": carol.email}).status_code == 201
    # bob grants what he holds (manage, read), never more (tests/security/test_accounts.py)
    assert bob.patch(f"{members}/carol", json={"manage": True}).status_code == 200
    assert_error(bob.patch(f"{members}/carol", json={"jobs": "all"}), 403, where="access")
    assert bob.delete(f"{members}/carol").status_code == 204
    # Managing members does not make bob the owner.
    assert_error(bob.patch(f"/projects/{pid}", json={"description": "x"}), 403)
    assert_error(bob.delete(f"/projects/{pid}"), 403)

    assert owner.patch(f"{members}/bob", json={"manage": False}).is_success
    assert_error(bob.post(members, json={"email": carol.email}), 403)

    assert owner.delete(f"{members}/bob").status_code == 204
    assert_error(bob.get(f"/projects/{pid}"), 404)
    assert_error(bob.get(members), 404)


def test_manage_member_cannot_touch_the_owner(
    team: tuple[Api, Api, Api, dict[str, Any]],
) -> None:
    owner, bob, _, project = team
    pid = project["id"]
    owner.add_member(pid, bob, manage=True)
    assert_error(bob.delete(f"/projects/{pid}/members/owner"), 404, where="member")
    assert_error(bob.patch(f"/projects/{pid}/members/owner", json={"jobs": "read"}), 404)
    assert owner.get(f"/projects/{pid}").json()["role"] == "owner"


def test_updating_a_non_member_is_a_clean_404(
    team: tuple[Api, Api, Api, dict[str, Any]],
) -> None:
    owner, _, carol, project = team
    response = owner.patch(f"/projects/{project['id']}/members/{carol.email}", json={})
    assert_error(response, 404, where="member")
    response = owner.patch(f"/projects/{project['id']}/members/ghost", json={})
    assert_error(response, 404)
