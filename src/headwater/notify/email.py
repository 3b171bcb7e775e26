"""Email over SMTP: plain, STARTTLS or implicit TLS, with or without a login."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage

from headwater.notify.base import DEFAULT_BACKOFF, Backoff, Delivery, Event, Permanent, Transient
from headwater.notify.text import details, headline


@dataclass(frozen=True)
class SmtpSettings:
    """The server's mail relay. ``ssl`` is implicit TLS (port 465); ``starttls`` upgrades a
    plain connection (port 587). Certificates are verified either way."""

    host: str
    port: int = 25
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "headwater@localhost"
    timeout: float = 10.0


def message(event: Event, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """Subject ``[Headwater] experiment 12 (...) in my-proj failed``; a plain-text body."""
    mail = EmailMessage()
    mail["Subject"] = f"[Headwater] {headline(event)}"
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail.set_content("\n".join([headline(event) + ".", "", *details(event)]) + "\n")
    return mail


def classify(exc: Exception) -> Exception:
    """SMTP's own rule: a 4xx reply may pass, a 5xx will not. A lost connection may pass; a
    certificate that fails verification, or a server without STARTTLS or AUTH, will not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):  # every recipient refused
        codes = [code for code, _ in exc.recipients.values()]
        status = "recipients refused: " + ", ".join(str(c) for c in sorted(set(codes)))
        return Transient(status) if any(400 <= c < 500 for c in codes) else Permanent(status)
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        if isinstance(error, bytes):
            error = error.decode(errors="replace")
        status = f"SMTP {exc.smtp_code}: {error}".strip()
        return Permanent(status) if 500 <= exc.smtp_code < 600 else Transient(status)
    if isinstance(exc, smtplib.SMTPNotSupportedError | ssl.SSLCertVerificationError):
        return Permanent(f"{type(exc).__name__}: {exc}")
    return Transient(f"unreachable: {type(exc).__name__}: {exc}")


class EmailNotifier:
    """Sends one message to all ``recipients``; without recipients it takes no event."""

    channel = "email"

    def __init__(
        self,
        settings: SmtpSettings,
        recipients: Sequence[str],
        *,
        backoff: Backoff = DEFAULT_BACKOFF,
    ) -> None:
        self.settings = settings
        self.recipients = list(recipients)
        self.backoff = backoff

    @property
    def target(self) -> str:
        s = self.settings
        return f"{', '.join(self.recipients)} via smtp://{s.host}:{s.port}"

    def _send_once(self, mail: EmailMessage) -> str:
        s = self.settings
        try:
            smtp = (
                smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
                )
                if s.ssl
                else smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            )
            with smtp:
                if s.starttls and not s.ssl:
                    smtp.starttls(context=ssl.create_default_context())
                if s.username:
                    smtp.login(s.username, s.password or "")
                refused = smtp.send_message(mail, to_addrs=self.recipients)
        except OSError as exc:  # every smtplib error is an OSError
            raise classify(exc) from exc
        if refused:  # some took it: a retry would send the others a second copy
            return "250 accepted; refused: " + ", ".join(sorted(refused))
        return "250 accepted"

    def send(self, event: Event) -> Delivery | None:
        if not self.recipients:
            return None
        mail = message(event, self.settings.sender, self.recipients)
        outcome = self.backoff.run(lambda: self._send_once(mail))
        return Delivery.of(self.channel, self.target, event, outcome)
