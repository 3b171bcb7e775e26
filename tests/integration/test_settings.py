"""Project settings and environment variables (seed 000 Environment, seed 001 Project Settings)."""

from __future__ import annotations

import pytest

from tests.support.api import Api, Server, assert_error


@pytest.fixture
def owner_and_project(server: Server) -> tuple[Api, str]:
    owner = server.create_user("owner")
    return owner, owner.create_project("configured")["id"]


def test_defaults_and_a_valid_patch(owner_and_project: tuple[Api, str]) -> None:
    owner, pid = owner_and_project
    defaults = owner.get(f"/projects/{pid}/settings").json()
    assert defaults["idle_minutes"] == 60
    assert defaults["output_dir"] == "output"
    changes = {
        "image": "python:3.11-slim",
        "compute": ["cpu-small", "gpu-a100"],
        "command": "python train.py",
        "working_dir": "/work",
        "tensorboard": True,
        "restart_when_idle": True,
        "idle_minutes": 30,
        "autosync": True,
        "sync_minutes": 5,
        "on_spot_termination": True,
        "email_on_success": True,
        "email_on_error": True,
        "use_only_owned_compute": True,
        "slack": {"channel": "#ml", "webhook_url": "https://hooks.slack.example/T/B/x"},
        "git": {"repo": "git@github.com:org/repo.git", "branch": "dev/v2", "private": True},
    }
    response = owner.patch(f"/projects/{pid}/settings", json=changes)
    assert response.status_code == 200, response.text
    stored = owner.get(f"/projects/{pid}/settings").json()
    assert stored == response.json()
    for key, value in changes.items():
        assert stored[key] == value, key

    feed = owner.activity(pid)
    assert feed[0]["kind"] == "settings_changed"
    assert set(feed[0]["data"]["fields"]) == set(changes)


def test_patch_changes_only_the_named_fields(owner_and_project: tuple[Api, str]) -> None:
    owner, pid = owner_and_project
    owner.patch(f"/projects/{pid}/settings", json={"image": "a", "idle_minutes": 15})
    owner.patch(f"/projects/{pid}/settings", json={"command": "make"})
    stored = owner.get(f"/projects/{pid}/settings").json()
    assert (stored["image"], stored["idle_minutes"], stored["command"]) == ("a", 15, "make")


def test_an_unchanged_patch_records_no_activity(owner_and_project: tuple[Api, str]) -> None:
    owner, pid = owner_and_project
    before = owner.activity(pid)
    assert owner.patch(f"/projects/{pid}/settings", json={"idle_minutes": 60}).is_success
    assert owner.activity(pid) == before


BAD_SETTINGS = [
    {"idle_minutes": 0},
    {"idle_minutes": -1},
    {"idle_minutes": 10081},
    {"idle_minutes": "an hour"},
    {"sync_minutes": 0},
    {"output_dir": ""},
    {"compute": [" cpu"]},
    {"compute": "cpu"},
    {"no_such_setting": True},
    {"slack": {"channel": "#x", "secret": "y"}},
    {"slack": "nope"},
    {"slack": {"webhook_url": "not a url"}},
    {"git": {"repo": "ftp://example.com/r.git"}},
    {"git": {"repo": "git@github.com:o/r.git", "branch": "two words"}},
    {"git": {"branch": "a..b"}},
    {"git": {"private": "yes"}},
    {"env": {" A": "1"}},
    {"env": {"A": "1 "}},
    {"env": {"1A": "1"}},
    {"env": ["A=1"]},
    # One bad field spoils the whole request: nothing of it is applied.
    {"image": "applied?", "idle_minutes": 0},
]


def test_bad_settings_are_4xx_and_leave_the_stored_state_unchanged(
    owner_and_project: tuple[Api, str], subtests: pytest.Subtests
) -> None:
    owner, pid = owner_and_project
    owner.patch(f"/projects/{pid}/settings", json={"image": "before", "env": {"KEEP": "1"}})
    before = owner.get(f"/projects/{pid}/settings").json()
    feed = owner.activity(pid)
    for changes in BAD_SETTINGS:
        with subtests.test(changes=changes):
            response = owner.patch(f"/projects/{pid}/settings", json=changes)
            assert 400 <= response.status_code < 500, response.text
            body = assert_error(response, response.status_code)
            assert body["where"], body
            assert owner.get(f"/projects/{pid}/settings").json() == before
            assert owner.activity(pid) == feed


def test_settings_body_must_be_an_object(
    owner_and_project: tuple[Api, str], subtests: pytest.Subtests
) -> None:
    owner, pid = owner_and_project
    for body in ([1, 2], "text", 3, None):
        with subtests.test(body=body):
            response = owner.patch(f"/projects/{pid}/settings", json=body)
            assert 400 <= response.status_code < 500
            assert_error(response, response.status_code)


def test_env_set_list_unset(owner_and_project: tuple[Api, str]) -> None:
    owner, pid = owner_and_project
    response = owner.patch(f"/projects/{pid}/env", json={"env": {"A": "1", "B": "two words"}})
    assert response.status_code == 200, response.text
    assert response.json() == {"A": "1", "B": "two words"}
    # Setting more keeps the others.
    assert owner.patch(f"/projects/{pid}/env", json={"env": {"C": "3", "A": "one"}}).json() == {
        "A": "one",
        "B": "two words",
        "C": "3",
    }
    assert owner.get(f"/projects/{pid}/env").json() == {"A": "one", "B": "two words", "C": "3"}
    assert owner.get(f"/projects/{pid}/settings").json()["env"]["B"] == "two words"

    assert owner.delete(f"/projects/{pid}/env/B").status_code == 204
    assert owner.get(f"/projects/{pid}/env").json() == {"A": "one", "C": "3"}
    assert_error(owner.delete(f"/projects/{pid}/env/B"), 404, where="key")
    assert owner.activity(pid)[0]["kind"] == "settings_changed"


ENV_REFUSED = [
    ({" A": "1"}, "has spaces before or after it"),
    ({"A ": "1"}, "has spaces before or after it"),
    ({"A": " 1"}, "has spaces before or after it"),
    ({"A": "1\t"}, "has spaces before or after it"),
    ({"1A": "1"}, "is not a valid name"),
    ({"": "1"}, "needs a name"),
]


def test_env_entries_with_surrounding_spaces_are_refused(
    owner_and_project: tuple[Api, str], subtests: pytest.Subtests
) -> None:
    owner, pid = owner_and_project
    owner.patch(f"/projects/{pid}/env", json={"env": {"KEEP": "1"}})
    for env, message in ENV_REFUSED:
        with subtests.test(env=env):
            response = owner.patch(f"/projects/{pid}/env", json={"env": {"OK": "fine", **env}})
            body = assert_error(response, 400)
            assert message in body["detail"]
            assert body["where"].startswith("env")
            assert owner.get(f"/projects/{pid}/env").json() == {"KEEP": "1"}


def test_members_read_settings_but_only_the_owner_changes_them(server: Server) -> None:
    owner, bob = server.create_user("owner"), server.create_user("bob")
    pid = owner.create_project("p")["id"]
    owner.add_member(pid, bob, jobs="all", files="all", datasets="all", models="all", manage=True)
    assert bob.get(f"/projects/{pid}/settings").status_code == 200
    assert bob.get(f"/projects/{pid}/env").status_code == 200
    assert_error(bob.patch(f"/projects/{pid}/settings", json={"idle_minutes": 5}), 403)
    assert_error(bob.patch(f"/projects/{pid}/env", json={"env": {"A": "1"}}), 403)
    owner.patch(f"/projects/{pid}/env", json={"env": {"A": "1"}})
    assert_error(bob.delete(f"/projects/{pid}/env/A"), 403)
    assert owner.get(f"/projects/{pid}/env").json() == {"A": "1"}
    assert owner.get(f"/projects/{pid}/settings").json()["idle_minutes"] == 60
