"""Tokens, password login with a session cookie, users (admin only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from headwater.db.tables import TokenRow
from tests.support.api import Server, assert_error

PASSWORD = "a-long-password-1"


def test_no_token_is_a_clean_401(server: Server) -> None:
    anonymous = server.client()
    body = assert_error(anonymous.get("/auth/me"), 401, where="Authorization")
    assert body["error"] == "unauthenticated"
    assert body["hint"]


def test_unknown_token_is_a_clean_401(server: Server, subtests: pytest.Subtests) -> None:
    for header in ["Bearer hw_not-a-real-token", "Bearer x", "Basic YWRtaW46YWRtaW4=", "Bearer "]:
        with subtests.test(header=header):
            response = server.client().get("/projects", headers={"Authorization": header})
            body = assert_error(response, 401)
            assert body["error"] == "unauthenticated"


def test_unknown_token_on_a_project_route_is_401_not_404(server: Server) -> None:
    project = server.admin.create_project()
    stranger = server.client("hw_unknown")
    assert_error(stranger.get(f"/projects/{project['id']}"), 401)
    assert_error(stranger.delete(f"/projects/{project['id']}"), 401)
    assert server.admin.get(f"/projects/{project['id']}").status_code == 200


def test_password_login_sets_a_session_cookie_that_authenticates(server: Server) -> None:
    server.create_user("carol", password=PASSWORD)
    browser = server.client()
    login = browser.post("/auth/login", json={"username": "carol", "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert login.json()["user"]["username"] == "carol"
    cookie = login.headers["set-cookie"]
    assert cookie.startswith("hw_session=")
    assert "httponly" in cookie.lower()
    assert "samesite=strict" in cookie.lower()
    # No Authorization header: the cookie alone authenticates.
    me = browser.get("/auth/me")
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "carol"
    # The returned session token works as a bearer token as well.
    assert server.client(login.json()["token"]).get("/auth/me").status_code == 200


def test_login_by_email(server: Server) -> None:
    server.create_user("dora", password=PASSWORD)
    login = server.client().post(
        "/auth/login", json={"username": "DORA@example.org", "password": PASSWORD}
    )
    assert login.status_code == 200, login.text


def test_wrong_credentials_are_a_clean_401(server: Server, subtests: pytest.Subtests) -> None:
    server.create_user("erin", password=PASSWORD)
    browser = server.client()
    for username, password in [
        ("erin", "wrong-password"),
        ("nobody", PASSWORD),
        ("erin", PASSWORD.upper()),
    ]:
        with subtests.test(username=username, password=password):
            response = browser.post(
                "/auth/login", json={"username": username, "password": password}
            )
            body = assert_error(response, 401)
            # The same answer whether the user exists or not.
            assert body["detail"] == "wrong username or password"
            assert "set-cookie" not in response.headers


def test_user_without_password_cannot_log_in(server: Server) -> None:
    server.create_user("frank")
    response = server.client().post("/auth/login", json={"username": "frank", "password": "x"})
    assert_error(response, 401)


def test_logout_revokes_the_session(server: Server) -> None:
    server.create_user("gina", password=PASSWORD)
    browser = server.client()
    token = browser.post("/auth/login", json={"username": "gina", "password": PASSWORD}).json()[
        "token"
    ]
    assert browser.post("/auth/logout").status_code == 204
    assert_error(browser.get("/auth/me"), 401)
    assert_error(server.client(token).get("/auth/me"), 401)


def test_expired_session_is_a_clean_401(server: Server) -> None:
    server.create_user("old", password=PASSWORD)
    login = server.client().post("/auth/login", json={"username": "old", "password": PASSWORD})
    assert login.status_code == 200, login.text
    session = server.client(login.json()["token"])
    assert session.get("/auth/me").status_code == 200
    # Age the session past its end, as a week would.
    with server.app.state.platform.db.write() as db:
        db.execute(
            update(TokenRow)
            .where(TokenRow.kind == "session")
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    body = assert_error(session.get("/auth/me"), 401)
    assert "expired" in body["detail"]
    # API tokens do not expire.
    assert server.admin.get("/auth/me").status_code == 200


def test_change_password(server: Server) -> None:
    user = server.create_user("hank", password=PASSWORD)
    # The current password is needed (tests/security/test_accounts.py tries without it).
    change = {"password": "another-password", "current_password": PASSWORD}
    assert user.put("/auth/password", json=change).status_code == 204
    anonymous = server.client()
    old = anonymous.post("/auth/login", json={"username": "hank", "password": PASSWORD})
    assert_error(old, 401)
    new = anonymous.post("/auth/login", json={"username": "hank", "password": "another-password"})
    assert new.status_code == 200
    # The API token issued at creation still works.
    assert user.get("/auth/me").status_code == 200


def test_only_admins_create_and_list_users(server: Server) -> None:
    ivan = server.create_user("ivan")
    response = ivan.post("/users", json={"username": "jack", "email": "jack@example.org"})
    assert_error(response, 403)
    assert_error(ivan.get("/users"), 403)
    names = [u["username"] for u in server.admin.get("/users").json()]
    assert "jack" not in names


def test_created_user_gets_a_token_and_a_personal_project(server: Server) -> None:
    kate = server.create_user("kate")
    me = kate.get("/auth/me").json()
    assert me["username"] == "kate"
    assert me["is_admin"] is False
    personal = kate.get(f"/projects/{me['personal_project_id']}")
    assert personal.status_code == 200
    assert personal.json()["personal"] is True
    assert personal.json()["name"] == "Personal"
    assert personal.json()["owner"] == "kate"


def test_admin_can_create_admins(server: Server) -> None:
    boss = server.create_user("boss", admin=True)
    assert boss.get("/users").status_code == 200
    other = server.admin.create_project("admins-only")
    assert boss.get(f"/projects/{other['id']}").json()["role"] == "admin"


def test_duplicate_users_are_a_clean_409(server: Server, subtests: pytest.Subtests) -> None:
    for body, where in [
        ({"username": "admin", "email": "x@example.org"}, "username"),
        ({"username": "someone", "email": "admin@localhost"}, "email"),
        ({"username": "someone", "email": "ADMIN@LOCALHOST"}, "email"),
    ]:
        with subtests.test(body=body):
            assert_error(server.admin.post("/users", json=body), 409, where=where)


def test_invalid_user_requests_are_clean_4xx(server: Server, subtests: pytest.Subtests) -> None:
    for body in [
        {"username": "", "email": "a@example.org"},
        {"username": "has space", "email": "a@example.org"},
        {"username": "ok", "email": "not-an-email"},
        {"username": "ok", "email": "a@example.org", "password": "short"},
        {"username": "ok", "email": "a@example.org", "role": "admin"},
    ]:
        with subtests.test(body=body):
            response = server.admin.post("/users", json=body)
            assert 400 <= response.status_code < 500
            assert_error(response, response.status_code)
            assert [u["username"] for u in server.admin.get("/users").json()] == ["admin"]
