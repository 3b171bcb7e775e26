"""One contract for every notifier: what it delivers arrives, failures that may pass are
retried with backoff, permanent ones are not, and the delivery says so without secrets. Email
goes to a real SMTP server (aiosmtpd), Slack and webhooks to a real HTTP listener, all on
loopback; waits are recorded instead of slept."""

from __future__ import annotations

import datetime as dt
import json
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tests.support.liveserver import free_port

from headwater.domain.addresses import OPEN  # these peers listen on loopback: the admin setting on
from headwater.notify.base import Backoff, Event, Notifier
from headwater.notify.email import EmailNotifier, SmtpSettings
from headwater.notify.fake import FakeNotifier
from headwater.notify.slack import SlackNotifier
from headwater.notify.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    WebhookNotifier,
    verify_signature,
)

EVENT = Event(
    kind="experiment.failed",
    project_id="p1",
    project_name="vision",
    subject_id="e1",
    title="experiment 12 (python train.py)",
    state="failed",
    reason="exit code 2",
    url="http://127.0.0.1:8765/projects/p1/experiments/12",
    occurred_at=dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC),
    extra={"number": 12, "params": {"lr": "0.1"}},
)
SECRET = "whsec_test"
PASSWORD = "hunter2-smtp"


@dataclass
class Waits:
    """A ``sleep`` that records instead of sleeping."""

    slept: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)

    def backoff(self, attempts: int = 4) -> Backoff:
        return Backoff(attempts=attempts, base_delay=0.5, max_delay=8.0, sleep=self)


Answer = int | tuple[int, dict[str, str]]


@dataclass
class Listener:
    """An HTTP server on loopback giving the answers in ``statuses`` in turn (then 200)."""

    statuses: list[Answer] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)  # taken (2xx)
    seen: list[tuple[dict[str, str], bytes]] = field(default_factory=list)  # every request
    refused: int = 0
    url: str = ""

    def serve(self) -> Iterator[Listener]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                answer = owner.statuses.pop(0) if owner.statuses else 200
                status, headers = answer if isinstance(answer, tuple) else (answer, {})
                owner.seen.append((dict(self.headers), body))
                if status < 300:
                    owner.received.append((dict(self.headers), body))
                else:
                    owner.refused += 1
                self.send_response(status)
                for name, value in {"Content-Length": "0", **headers}.items():
                    self.send_header(name, value)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # a token in the query stands for any secret in a URL: it must never reach a Delivery
        self.url = f"http://127.0.0.1:{server.server_port}/hook?token=sekret"
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()


class Inbox:
    """An aiosmtpd handler keeping what it accepts; ``reply`` scripts refusals, in turn."""

    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []
        self.reply: list[str] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.reply:
            return self.reply.pop(0)
        assert isinstance(envelope.content, bytes)
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.messages.append((envelope, mail))
        return "250 OK"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        # handled=False: let aiosmtpd answer a refusal with its 535 reply
        return AuthResult(success=data.password == PASSWORD.encode(), handled=False)


def smtp_server(inbox: Inbox, **options: Any) -> Iterator[int]:
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def listener() -> Iterator[Listener]:
    yield from Listener().serve()


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box = Inbox()
    for port in smtp_server(box, authenticator=box.authenticate, auth_require_tls=False):
        yield box, port


@dataclass
class Case:
    make: Callable[[Backoff], Notifier]
    delivered: Callable[[], list[str]]  # the texts that arrived, to look into
    fail_next: Callable[[int, bool], None]  # (times, permanent)
    unreachable: Callable[[Backoff], Notifier] | None  # the same, with no peer listening


@pytest.fixture(params=["fake", "email", "slack", "webhook"])
def case(request: pytest.FixtureRequest) -> Case:
    kind = request.param
    if kind == "fake":
        fakes: list[FakeNotifier] = []

        def make_fake(backoff: Backoff) -> Notifier:
            fakes.append(FakeNotifier(backoff=backoff))
            return fakes[-1]

        def recorded() -> list[str]:
            return [f"{e.title} {e.state} {e.reason} {e.url}" for f in fakes for e in f.events]

        def fake_fail(n: int, permanent: bool) -> None:
            for fake in fakes:
                fake.fail_next(n, permanent=permanent)

        return Case(make_fake, recorded, fake_fail, None)

    if kind == "email":
        box, port = request.getfixturevalue("inbox")

        def smtp(port: int) -> SmtpSettings:
            return SmtpSettings(
                host="127.0.0.1",
                port=port,
                username="ada",
                password=PASSWORD,
                sender="hw@example.org",
                timeout=5,
            )

        def mails() -> list[str]:
            return [f"{m['Subject']}\n{m.get_content()}" for _, m in box.messages]

        def smtp_fail(n: int, permanent: bool) -> None:
            box.reply += [("554 5.7.1 rejected" if permanent else "451 4.3.0 try later")] * n

        return Case(
            lambda b: EmailNotifier(smtp(port), ["ada@example.org"], backoff=b),
            mails,
            smtp_fail,
            lambda b: EmailNotifier(smtp(free_port()), ["ada@example.org"], backoff=b),
        )

    http: Listener = request.getfixturevalue("listener")

    def bodies() -> list[str]:
        return [body.decode() for _, body in http.received]

    def http_fail(n: int, permanent: bool) -> None:
        http.statuses += [400 if permanent else 500] * n

    dead = f"http://127.0.0.1:{free_port()}/hook?token=sekret"
    if kind == "slack":
        return Case(
            lambda b: SlackNotifier(http.url, "#ml", backoff=b, policy=OPEN),
            bodies,
            http_fail,
            lambda b: SlackNotifier(dead, "#ml", backoff=b, policy=OPEN),
        )
    return Case(
        lambda b: WebhookNotifier(http.url, SECRET, None, backoff=b, policy=OPEN),
        bodies,
        http_fail,
        lambda b: WebhookNotifier(dead, SECRET, None, backoff=b, policy=OPEN),
    )


def test_a_delivery_says_what_ran_how_it_ended_why_and_where(case: Case) -> None:
    waits = Waits()
    notifier = case.make(waits.backoff())
    delivery = notifier.send(EVENT)
    assert delivery is not None
    assert (delivery.ok, delivery.attempts, delivery.event) == (True, 1, "experiment.failed")
    assert delivery.channel == notifier.channel
    assert delivery.at.tzinfo is not None
    for secret in ("sekret", SECRET, PASSWORD):
        assert secret not in delivery.target
        assert secret not in repr(notifier)
    [text] = case.delivered()
    for fact in ("experiment 12", "python train.py", "failed", "exit code 2", str(EVENT.url)):
        assert fact in text
    assert waits.slept == []


def test_failures_that_may_pass_are_retried_with_growing_waits(case: Case) -> None:
    waits = Waits()
    notifier = case.make(waits.backoff())
    case.fail_next(2, False)
    delivery = notifier.send(EVENT)
    assert delivery is not None
    assert (delivery.ok, delivery.attempts) == (True, 3)
    assert len(case.delivered()) == 1
    # exponential with equal jitter: half the step for sure, the other half at random
    first, second = waits.slept
    assert 0.25 <= first <= 0.5
    assert 0.5 <= second <= 1.0


def test_failures_that_persist_end_in_a_failed_delivery(case: Case) -> None:
    waits = Waits()
    notifier = case.make(waits.backoff(attempts=3))
    case.fail_next(10, False)
    delivery = notifier.send(EVENT)
    assert delivery is not None
    assert (delivery.ok, delivery.attempts) == (False, 3)
    assert delivery.status
    assert case.delivered() == []
    assert len(waits.slept) == 2  # none after the last try


def test_permanent_failures_are_not_retried(case: Case) -> None:
    waits = Waits()
    notifier = case.make(waits.backoff())
    case.fail_next(1, True)
    delivery = notifier.send(EVENT)
    assert delivery is not None
    assert (delivery.ok, delivery.attempts) == (False, 1)
    assert case.delivered() == []
    assert waits.slept == []


def test_a_peer_that_is_not_there_is_retried_then_reported(case: Case) -> None:
    if case.unreachable is None:
        pytest.skip("the fake has no peer")
    waits = Waits()
    notifier = case.unreachable(waits.backoff(attempts=2))
    delivery = notifier.send(EVENT)
    assert delivery is not None
    assert (delivery.ok, delivery.attempts) == (False, 2)
    assert "unreachable" in delivery.status
    assert "sekret" not in delivery.target


# webhooks


def test_a_webhook_body_is_signed_and_carries_the_event(listener: Listener) -> None:
    delivery = WebhookNotifier(listener.url, SECRET, None, policy=OPEN).send(EVENT)
    assert delivery is not None
    assert delivery.target == listener.url.split("?")[0]
    [(headers, body)] = listener.received
    assert verify_signature(SECRET, body, headers[SIGNATURE_HEADER])
    assert not verify_signature("whsec_other", body, headers[SIGNATURE_HEADER])
    assert not verify_signature(SECRET, body + b" ", headers[SIGNATURE_HEADER])
    assert not verify_signature(SECRET, body, None)
    assert headers[EVENT_HEADER] == "experiment.failed"
    assert headers["Content-Type"] == "application/json"
    document = json.loads(body)
    assert document == {
        "event": "experiment.failed",
        "delivery_id": headers[DELIVERY_HEADER],
        "occurred_at": "2026-11-23T12:00:00+00:00",
        "project": {"id": "p1", "name": "vision"},
        "experiment": {
            "id": "e1",
            "title": "experiment 12 (python train.py)",
            "state": "failed",
            "reason": "exit code 2",
            "url": EVENT.url,
            "number": 12,
            "params": {"lr": "0.1"},
        },
    }


def test_a_webhook_without_a_secret_is_sent_unsigned(listener: Listener) -> None:
    WebhookNotifier(listener.url, None, policy=OPEN).send(EVENT)
    [(headers, _)] = listener.received
    assert SIGNATURE_HEADER not in headers


def test_a_retried_webhook_keeps_its_delivery_id(listener: Listener) -> None:
    listener.statuses += [503]
    delivery = WebhookNotifier(listener.url, SECRET, backoff=Waits().backoff(), policy=OPEN).send(
        EVENT
    )
    assert delivery is not None
    assert delivery.attempts == 2
    ids = {headers[DELIVERY_HEADER] for headers, _ in listener.seen}
    assert len(ids) == 1


@pytest.mark.parametrize(
    ("events", "heard"),
    [(None, True), (["experiment.failed"], True), (["experiment.succeeded"], False), ([], False)],
)
def test_a_webhook_hears_only_its_events(
    listener: Listener, events: list[str] | None, heard: bool
) -> None:
    delivery = WebhookNotifier(listener.url, SECRET, events, policy=OPEN).send(EVENT)
    assert (delivery is not None) == heard
    assert len(listener.received) == int(heard)


def test_a_redirect_is_not_followed_nor_retried(listener: Listener) -> None:
    listener.statuses += [(301, {"Location": "http://127.0.0.1:9/elsewhere"})]
    delivery = WebhookNotifier(listener.url, SECRET, backoff=Waits().backoff(), policy=OPEN).send(
        EVENT
    )
    assert delivery is not None
    assert (delivery.ok, delivery.attempts, delivery.status) == (False, 1, "HTTP 301")


# Slack


def test_slack_gets_text_and_channel_and_the_log_gets_no_webhook_path(
    listener: Listener,
) -> None:
    delivery = SlackNotifier(listener.url, "#ml", policy=OPEN).send(EVENT)
    assert delivery is not None
    assert "/hook" not in delivery.target
    [(_, body)] = listener.received
    message = json.loads(body)
    assert message["channel"] == "#ml"
    assert message["text"] == (
        f"experiment 12 (python train.py) in vision failed: exit code 2 <{EVENT.url}|details>"
    )
    SlackNotifier(listener.url, policy=OPEN).send(EVENT)
    assert "channel" not in json.loads(listener.received[1][1])


def test_slack_escapes_its_markup_in_what_ran(listener: Listener) -> None:
    event = Event(**{**EVENT.__dict__, "title": "python a.py < in.txt && echo ok", "url": None})
    SlackNotifier(listener.url, policy=OPEN).send(event)
    text = json.loads(listener.received[0][1])["text"]
    assert "python a.py &lt; in.txt &amp;&amp; echo ok" in text


@pytest.mark.parametrize(("asked", "waited"), [("3", 3.0), ("100", 8.0)])
def test_slack_honours_retry_after_up_to_the_longest_wait(
    listener: Listener, asked: str, waited: float
) -> None:
    listener.statuses += [(429, {"Retry-After": asked})]
    waits = Waits()
    delivery = SlackNotifier(listener.url, backoff=waits.backoff(), policy=OPEN).send(EVENT)
    assert delivery is not None
    assert (delivery.ok, delivery.attempts) == (True, 2)
    assert waits.slept == [waited]


# email


def test_an_email_goes_to_every_recipient_with_a_readable_subject_and_body(
    inbox: tuple[Inbox, int],
) -> None:
    box, port = inbox
    settings = SmtpSettings(host="127.0.0.1", port=port, sender="hw@example.org")
    recipients = ["ada@example.org", "bob@example.org"]
    delivery = EmailNotifier(settings, recipients).send(EVENT)
    assert delivery is not None
    assert delivery.status == "250 accepted"
    assert box.logins == []  # no username: no login
    [(envelope, mail)] = box.messages
    assert envelope.mail_from == "hw@example.org"
    assert envelope.rcpt_tos == recipients
    assert mail["From"] == "hw@example.org"
    assert mail["To"] == "ada@example.org, bob@example.org"
    assert mail["Subject"] == "[Headwater] experiment 12 (python train.py) in vision failed"
    assert mail.get_content_type() == "text/plain"
    body = mail.get_content()
    for line in (
        "What ran:  experiment 12 (python train.py)",
        "State:     failed",
        "Reason:    exit code 2",
        f"Details:   {EVENT.url}",
    ):
        assert line in body


def test_an_email_logs_in_when_configured_and_a_refused_login_is_final(
    inbox: tuple[Inbox, int],
) -> None:
    box, port = inbox
    good = SmtpSettings(host="127.0.0.1", port=port, username="ada", password=PASSWORD)
    assert PASSWORD not in repr(good)
    delivery = EmailNotifier(good, ["ada@example.org"]).send(EVENT)
    assert delivery is not None
    assert delivery.ok
    assert box.logins == [(b"ada", PASSWORD.encode())]
    bad = SmtpSettings(host="127.0.0.1", port=port, username="ada", password="wrong")
    waits = Waits()
    delivery = EmailNotifier(bad, ["ada@example.org"], backoff=waits.backoff()).send(EVENT)
    assert delivery is not None
    assert (delivery.ok, delivery.attempts) == (False, 1)
    assert delivery.status.startswith("SMTP 535")
    assert "wrong" not in delivery.target + delivery.status


def test_an_email_without_recipients_is_not_sent() -> None:
    settings = SmtpSettings(host="127.0.0.1", port=free_port())
    assert EmailNotifier(settings, []).send(EVENT) is None


def _self_signed(tmp: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    return context


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_email_tls_verifies_the_certificate(tmp_path: Path, mode: str) -> None:
    box = Inbox()
    context = _self_signed(tmp_path)
    options: dict[str, Any] = (
        {"tls_context": context, "require_starttls": True}
        if mode == "starttls"
        else {"ssl_context": context}
    )
    for port in smtp_server(box, **options):
        settings = SmtpSettings(
            host="127.0.0.1", port=port, starttls=mode == "starttls", ssl=mode == "ssl"
        )
        waits = Waits()
        delivery = EmailNotifier(settings, ["ada@example.org"], backoff=waits.backoff()).send(EVENT)
        assert delivery is not None
        assert (delivery.ok, delivery.attempts) == (False, 1)  # an untrusted cert is final
        assert "SSLCertVerificationError" in delivery.status
        assert box.messages == []
