"""Accounts (issue 11): a password change needs the current password and ends the user's other
sessions; logins are rate-limited per username and per address; users list and revoke their
own tokens; a member who manages grants at most what they hold and never touches their own row.
"""

from __future__ import annotations

from headwater.domain.credentials import token_hash
from headwater.domain.throttle import LoginThrottle
from tests.support.api import Api, Server, assert_error

PASSWORD = "first-password-1"
NEW = "second-password-2"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def login(server: Server, username: str, password: str = PASSWORD) -> Api:
    response = server.client().post(
        "/auth/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return server.client(response.json()["token"])


def test_a_password_change_needs_the_current_password(server: Server) -> None:
    user = server.create_user(password=PASSWORD)
    assert_error(user.put("/auth/password", json={"password": NEW}), 400, where="current_password")
    wrong = {"password": NEW, "current_password": "not-it-at-all"}
    assert_error(user.put("/auth/password", json=wrong), 403, where="current_password")
    login(server, user.username)  # still the old one
    right = {"password": NEW, "current_password": PASSWORD}
    assert user.put("/auth/password", json=right).status_code == 204
    login(server, user.username, NEW)


def test_a_user_made_with_a_token_only_sets_a_first_password_with_it(server: Server) -> None:
    user = server.create_user()  # no password: the token is the only credential
    assert user.put("/auth/password", json={"password": PASSWORD}).status_code == 204
    login(server, user.username)
    # From now on the current one is needed.
    assert_error(user.put("/auth/password", json={"password": NEW}), 400, where="current_password")


def test_a_password_change_ends_the_other_sessions_and_keeps_api_tokens(server: Server) -> None:
    user = server.create_user(password=PASSWORD)
    here, elsewhere, stolen = (login(server, user.username) for _ in range(3))
    change = {"password": NEW, "current_password": PASSWORD}
    assert here.put("/auth/password", json=change).status_code == 204
    assert here.get("/auth/me").status_code == 200  # the session that changed it
    for gone in (elsewhere, stolen):
        assert_error(gone.get("/auth/me"), 401)
    assert user.get("/auth/me").status_code == 200  # API tokens stay; `hw token list` shows them
    # Changed with an API token, every session ends.
    other = login(server, user.username, NEW)
    assert user.put(
        "/auth/password", json={"password": PASSWORD, "current_password": NEW}
    ).is_success
    assert_error(other.get("/auth/me"), 401)
    assert_error(here.get("/auth/me"), 401)


def test_logins_are_limited_per_user_then_free_again(server: Server) -> None:
    clock = Clock()
    server.app.state.platform.logins = LoginThrottle(clock=clock)
    user, bystander = (server.create_user(password=PASSWORD) for _ in range(2))
    anonymous = server.client()
    for i in range(5):  # by name or by email: one account, one count
        name = user.username if i % 2 else user.email.upper()
        guess = {"username": name, "password": "a-wrong-guess"}
        assert_error(anonymous.post("/auth/login", json=guess), 401)
        clock.now += 1
    right = {"username": user.username, "password": PASSWORD}
    limited = anonymous.post("/auth/login", json=right)  # even the right password waits
    body = assert_error(limited, 429, where="username")
    assert limited.headers["retry-after"] == "55"
    assert "try again in 55 s" in body["detail"]
    login(server, bystander.username)  # someone else from the same address is fine
    # A wrong current password in a password change counts too.
    session = login(server, bystander.username)
    for _ in range(5):
        wrong = {"password": NEW, "current_password": "a-wrong-guess"}
        assert_error(session.put("/auth/password", json=wrong), 403)
    right_change = {"password": NEW, "current_password": PASSWORD}
    assert_error(session.put("/auth/password", json=right_change), 429)
    clock.now += 55
    login(server, user.username)  # not locked out for good


def test_logins_are_limited_per_address(server: Server) -> None:
    clock = Clock()
    server.app.state.platform.logins = LoginThrottle(clock=clock)
    server.create_user("sprayed", password=PASSWORD)
    anonymous = server.client()
    for i in range(20):  # a spray: one guess each at many names
        body = {"username": f"name{i}", "password": "a-wrong-guess"}
        assert_error(anonymous.post("/auth/login", json=body), 401)
    right = {"username": "sprayed", "password": PASSWORD}
    limited = anonymous.post("/auth/login", json=right)
    assert_error(limited, 429, where="address")
    assert int(limited.headers["retry-after"]) == 60
    clock.now += 60
    login(server, "sprayed")


def test_users_list_and_revoke_their_own_tokens_never_seeing_secrets(server: Server) -> None:
    user = server.create_user(password=PASSWORD)
    session = login(server, user.username)
    minted = user.post("/auth/tokens").json()["token"]
    listed = user.get("/auth/tokens")
    assert listed.status_code == 200, listed.text
    tokens = listed.json()
    assert sorted(t["kind"] for t in tokens) == ["api", "api", "session"]
    assert [t["current"] for t in tokens].count(True) == 1
    for secret in (user.token, session.token, minted):
        assert secret is not None
        assert secret not in listed.text
        assert token_hash(secret) not in listed.text
    [session_id] = [t["id"] for t in tokens if t["kind"] == "session"]
    assert user.delete(f"/auth/tokens/{session_id}").status_code == 204
    assert_error(session.get("/auth/me"), 401)
    assert len(user.get("/auth/tokens").json()) == 2

    # Another user's token is not theirs to see or revoke.
    other = server.create_user()
    [other_id] = [t["id"] for t in other.get("/auth/tokens").json()]
    assert other_id not in [t["id"] for t in user.get("/auth/tokens").json()]
    assert_error(user.delete(f"/auth/tokens/{other_id}"), 404, where="token")
    assert other.get("/auth/me").status_code == 200
    # Revoking the token in use is a logout.
    [current] = [t["id"] for t in user.get("/auth/tokens").json() if t["current"]]
    assert user.delete(f"/auth/tokens/{current}").status_code == 204
    assert_error(user.get("/auth/me"), 401)


def manager_team(server: Server, **held: object) -> tuple[Api, Api, Api, str]:
    """An owner's project with a member who manages (``held``) and a plain reader."""
    owner, manager, reader = (server.create_user() for _ in range(3))
    pid = str(owner.create_project()["id"])
    owner.add_member(pid, manager, manage=True, **held)
    owner.add_member(pid, reader)
    return owner, manager, reader, pid


def test_a_manager_cannot_raise_their_own_access(server: Server) -> None:
    _, manager, _, pid = manager_team(server)
    me = f"/projects/{pid}/members/{manager.username}"
    every = {"files": "all", "jobs": "all", "datasets": "all", "models": "all"}
    body = assert_error(manager.patch(me, json=every), 403, where="member")
    assert "their own access" in body["detail"]
    assert "leave" in body["hint"]
    assert_error(manager.delete(me), 403, where="member")
    assert manager.get(f"/projects/{pid}").json()["access"]["jobs"] == "read"
    assert manager.post(f"/projects/{pid}/leave").status_code == 204  # leaving is fine


def test_a_manager_grants_at_most_what_they_hold(server: Server) -> None:
    _, manager, reader, pid = manager_team(server, jobs="all")
    newcomer = server.create_user()
    members = f"/projects/{pid}/members"
    body = assert_error(
        manager.post(members, json={"email": newcomer.email, "models": "all"}), 403, where="access"
    )
    assert body["detail"] == "you may not grant more than you hold: models: all"
    assert_error(manager.patch(f"{members}/{reader.username}", json={"files": "all"}), 403)
    # What they hold, they may give: jobs 'all' and manage.
    added = manager.post(members, json={"email": newcomer.email, "jobs": "all", "manage": True})
    assert added.status_code == 201, added.text
    assert manager.patch(f"{members}/{reader.username}", json={"jobs": "all"}).status_code == 200


def test_a_manager_cannot_touch_a_member_who_holds_more(server: Server) -> None:
    owner, manager, _, pid = manager_team(server)
    senior = server.create_user()
    owner.add_member(pid, senior, manage=True, datasets="all")
    path = f"/projects/{pid}/members/{senior.username}"
    body = assert_error(manager.patch(path, json={"datasets": "read"}), 403, where="member")
    assert "datasets: all" in body["detail"]
    assert_error(manager.delete(path), 403, where="member")
    # The owner may do anything.
    assert owner.patch(path, json={"datasets": "read"}).status_code == 200
    assert manager.delete(path).status_code == 204
