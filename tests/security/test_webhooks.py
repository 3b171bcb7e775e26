"""Webhook and Slack URLs may not lead the server into its own network (issue 11, SSRF).

Before, a project owner could point a webhook at loopback (the server's own admin routes),
a cloud's metadata address or any private host, and the server posted there. Now such URLs
are refused when saved (422 on ``url``, the hint naming the admin setting), unless the admin
allows them, and every delivery checks the addresses again after resolving, then connects to
the address it checked.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from headwater.db.database import Database
from headwater.db.tables import DeliveryRow
from headwater.domain.addresses import OPEN, STRICT
from headwater.notify.base import Backoff, Permanent
from headwater.notify.posting import pin, post
from headwater.notify.webhooks import WebhookNotifier
from tests.support.api import Api, Server, assert_error
from tests.support.liveserver import running_server
from tests.support.peers import Listener
from tests.support.waiting import wait_until

REFUSED = [
    pytest.param("http://127.0.0.1:8765/api/v1/users", id="loopback"),
    pytest.param("http://127.8.9.10/hook", id="loopback 127/8"),
    pytest.param("http://127.1/hook", id="loopback, short form"),
    pytest.param("http://[::1]/hook", id="loopback v6"),
    pytest.param("http://169.254.169.254/latest/meta-data/", id="link-local (metadata)"),
    pytest.param("http://[fe80::1]/hook", id="link-local v6"),
    pytest.param("http://10.1.2.3/hook", id="private 10/8"),
    pytest.param("http://172.16.5.4/hook", id="private 172.16/12"),
    pytest.param("https://192.168.1.1/hook", id="private 192.168/16"),
    pytest.param("http://[fd12:3456::1]/hook", id="unique local fc00::/7"),
    pytest.param("http://0.0.0.0:8765/hook", id="unspecified"),
    pytest.param("http://[::]/hook", id="unspecified v6"),
    pytest.param("http://224.0.0.1/hook", id="multicast"),
    pytest.param("http://[ff02::1]/hook", id="multicast v6"),
    pytest.param("http://[::ffff:127.0.0.1]/hook", id="v4-mapped loopback"),
    pytest.param("http://localhost:8765/api/v1/users", id="a name that resolves to loopback"),
]


def _server(tmp_path: Path, **settings: object) -> Iterator[Server]:
    srv = Server(tmp_path / "home", None, **settings)
    yield srv
    srv.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    yield from _server(tmp_path)


@pytest.fixture
def owner(server: Server) -> Api:
    return server.create_user()


def hooks(api: Api, pid: str) -> list[str]:
    return [h["url"] for h in api.get(f"/projects/{pid}/webhooks").json()]


@pytest.mark.parametrize("url", REFUSED)
def test_a_webhook_into_the_servers_network_is_refused(owner: Api, url: str) -> None:
    pid = owner.create_project()["id"]
    refused = owner.post(f"/projects/{pid}/webhooks", json={"url": url})
    body = assert_error(refused, 422, where="url", detail="does not send requests there")
    assert "HEADWATER_WEBHOOK_ALLOW_PRIVATE" in body["hint"]
    assert hooks(owner, pid) == []


@pytest.mark.parametrize("url", ["http://[abc/x", "http://@/x", "http://:80/"])
def test_a_url_that_cannot_be_parsed_or_names_no_host_is_refused_cleanly(
    owner: Api, url: str
) -> None:
    pid = owner.create_project()["id"]
    assert_error(owner.post(f"/projects/{pid}/webhooks", json={"url": url}), 422, where="url")


def test_public_addresses_and_names_that_do_not_resolve_yet_are_kept(owner: Api) -> None:
    pid = owner.create_project()["id"]
    for url in ("http://93.184.215.14/hook", "https://hooks.example.org/x"):
        made = owner.post(f"/projects/{pid}/webhooks", json={"url": url})
        assert made.status_code == 201, made.text


def test_a_slack_url_into_the_servers_network_is_refused(owner: Api) -> None:
    pid = owner.create_project()["id"]
    refused = owner.patch(
        f"/projects/{pid}/settings", json={"slack": {"webhook_url": "http://localhost:8765/x"}}
    )
    assert_error(refused, 422, where="slack.webhook_url")
    assert owner.get(f"/projects/{pid}/settings").json()["slack"]["webhook_url"] == ""


def test_the_admin_setting_allows_private_addresses(tmp_path: Path) -> None:
    for srv in _server(tmp_path, webhook_allow_private=True):
        owner = srv.create_user()
        pid = owner.create_project()["id"]
        made = owner.post(f"/projects/{pid}/webhooks", json={"url": "http://127.0.0.1:9/h"})
        assert made.status_code == 201, made.text


def test_an_allowed_network_opens_only_itself(tmp_path: Path) -> None:
    for srv in _server(tmp_path, webhook_allow_networks="10.20.0.0/16, 192.168.7.7"):
        owner = srv.create_user()
        pid = owner.create_project()["id"]
        for url, status in [
            ("http://10.20.3.4/h", 201),
            ("http://192.168.7.7/h", 201),
            ("http://10.21.3.4/h", 422),
            ("http://127.0.0.1/h", 422),
        ]:
            answer = owner.post(f"/projects/{pid}/webhooks", json={"url": url})
            assert answer.status_code == status, (url, answer.text)


# -- at delivery -----------------------------------------------------------------------------

ONCE = Backoff(attempts=1)


@pytest.fixture
def listener() -> Iterator[Listener]:
    peer = Listener()
    yield from peer.serve()


def test_a_delivery_to_a_refused_address_sends_nothing(listener: Listener) -> None:
    from tests.contracts.test_notifiers import EVENT

    for url in (listener.url, listener.url.replace("127.0.0.1", "localhost")):
        delivery = WebhookNotifier(url, "s", backoff=ONCE, policy=STRICT).send(EVENT)
        assert delivery is not None
        assert not delivery.ok
        assert delivery.status.startswith("refused: ")
        assert "loopback" in delivery.status
    assert listener.received == []


def test_one_refused_answer_among_several_refuses_the_name() -> None:
    """An attacker's name may answer a public address first and loopback second."""
    answers = [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("127.0.0.1")]
    with pytest.raises(Permanent, match="loopback"):
        pin("http://rebind.test/h", STRICT, lambda host, port: answers)


def test_the_request_goes_to_the_address_that_was_checked(listener: Listener) -> None:
    """DNS rebinding: the name is resolved once per attempt, the address checked, and the
    connection made to that address, so a second, different answer is never asked for. The
    name here exists only in the test's resolver: the request can only have reached the
    listener through the checked address. The Host header (and TLS's server name) keep the
    name."""
    port = listener.url.split(":")[2].split("/")[0]
    seen: list[str] = []

    def resolver(host: str, _: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        seen.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    url = f"http://hook.test:{port}/h"
    outcome = post(url, b"{}", {}, backoff=ONCE, timeout=5, policy=OPEN, resolver=resolver)
    assert outcome.ok, outcome
    assert seen == ["hook.test"]
    assert listener.received[0][0]["Host"] == f"hook.test:{port}"
    assert pin(url, OPEN, resolver).url == f"http://127.0.0.1:{port}/h"
    tls = pin("https://hook.test/h", OPEN, resolver)
    assert tls.extensions == {"sni_hostname": "hook.test"}
    assert tls.headers == {"Host": "hook.test"}


@pytest.mark.slow
def test_a_webhook_saved_while_allowed_is_refused_at_delivery_once_disallowed(
    tmp_path: Path, listener: Listener
) -> None:
    """The real server: the hook is made while the admin allows private addresses; with the
    setting off again, the experiment's ending is not delivered, and the delivery log says
    why."""
    from headwater.client import Client

    home, log = tmp_path / "home", tmp_path / "server.log"
    with (
        running_server(home, log, HEADWATER_WEBHOOK_ALLOW_PRIVATE="true") as srv,
        Client(srv.url, srv.admin_token, config_dir=tmp_path / "cfg") as admin,
    ):
        project = admin.projects.create("hooked")
        admin.webhooks.create(listener.url, project=project.id)
    with running_server(home, log) as srv:
        with Client(srv.url, srv.admin_token, project.id, config_dir=tmp_path / "cfg") as admin:
            [made] = admin.experiments.create("exit 1")
            admin.experiments.wait([made])
        db = Database(f"sqlite:///{home / 'headwater.db'}")
        try:

            def logged() -> list[DeliveryRow]:
                with db.read() as session:
                    return list(
                        session.scalars(select(DeliveryRow).where(DeliveryRow.channel == "webhook"))
                    )

            [row] = wait_until(logged, message="no webhook delivery was logged")
            assert not row.ok
            assert row.status.startswith("refused: ")
            assert "loopback" in row.status
        finally:
            db.dispose()
    assert listener.received == []
