"""The SDK against a real ``hw server``: typed errors, the active project, the config file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from headwater.client import (
    Client,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ServerUnreachable,
    Unauthenticated,
    load_config,
    resolve_config,
    save_config,
)
from headwater.client.config import ClientConfig
from tests.e2e.conftest import LiveServer, free_port, unique


@pytest.fixture
def admin_client(live_server: LiveServer, tmp_path: Path) -> Client:
    return Client(url=live_server.url, token=live_server.admin_token, config_dir=tmp_path)


def test_errors_come_back_typed(
    live_server: LiveServer, admin_client: Client, tmp_path: Path
) -> None:
    name = unique("typed")
    admin_client.projects.create(name)
    with pytest.raises(Conflict, match="already have a project"):
        admin_client.projects.create(name)
    with pytest.raises(InvalidInput) as invalid:
        admin_client.env.set({"LR": " 0.1"})
    assert invalid.value.where == "env.LR"
    with pytest.raises(InvalidInput, match="at least 1 character"):
        admin_client.projects.create("")  # refused before it travels
    with pytest.raises(Unauthenticated):
        Client(url=live_server.url, token="hw_unknown", config_dir=tmp_path).auth.me()
    with pytest.raises(ServerUnreachable, match="hw server"):
        Client(url=f"http://127.0.0.1:{free_port()}", config_dir=tmp_path).health()
    with (
        pytest.raises(NotFound, match="no project"),
        admin_client.http.stream("GET", "/projects/nope"),
    ):
        pass


def test_project_argument_overrides_and_unknown_lists(
    live_server: LiveServer, admin_client: Client, tmp_path: Path
) -> None:
    project = admin_client.projects.create(unique("sdk"))
    scoped = Client(
        url=live_server.url, token=live_server.admin_token, project=project.id, config_dir=tmp_path
    )
    scoped.env.set({"A": "1"})
    assert scoped.active_project().id == project.id
    assert admin_client.env.list(project=project.id) == {"A": "1"}
    assert admin_client.env.list() == {}  # the Personal project

    user = admin_client.users.create(unique("sdkuser"), f"{unique('u')}@example.com")
    member = Client(url=live_server.url, token=user.token, project=project.id, config_dir=tmp_path)
    with pytest.raises(NotFound, match="that you can access"):
        member.env.list()
    admin_client.members.add(user.user.email, project=project.id)
    assert member.env.list() == {"A": "1"}
    with pytest.raises(PermissionDenied, match="owner"):
        member.secrets.list()

    # An unknown project's error lists the ones the caller can use. This user has two (the
    # admin's list grows with every test sharing the server, and the hint shows only a few).
    bogus = Client(url=live_server.url, token=user.token, project="bogus", config_dir=tmp_path)
    with pytest.raises(NotFound) as unknown:
        bogus.env.list()
    assert unknown.value.where == "project"
    assert f"{project.name} ({project.id})" in str(unknown.value.hint)


def test_config_resolution_and_private_file(tmp_path: Path) -> None:
    path = save_config(ClientConfig(url="http://h:1", token="t", project="p"), tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_config(tmp_path).token == "t"
    env = {"HEADWATER_PROJECT": "from-env", "HEADWATER_URL": "http://env:2/"}
    resolved = resolve_config(directory=tmp_path, environ=env)
    assert (resolved.url, resolved.token, resolved.project) == ("http://env:2", "t", "from-env")
    assert resolved.project_source == "HEADWATER_PROJECT"
    explicit = resolve_config(project="arg", directory=tmp_path, environ=env)
    assert explicit.project == "arg"
    assert resolve_config(directory=tmp_path, environ={}).project_source == str(path)
    with pytest.raises(InvalidInput, match="http"):
        resolve_config(url="ftp://x", directory=tmp_path, environ={})
