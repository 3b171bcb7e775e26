"""Email over SMTP (STARTTLS or SSL, with or without a login)."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from headwater.notify.base import Delivery, Event, Transient, delivery, retrying
from headwater.notify.slack import sentence


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password: str | None = None
    sender: str = "headwater@localhost"
    timeout: float = 10.0


def message(event: Event, sender: str, recipients: Sequence[str]) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = f"[Headwater] {event.title} in {event.project_name}: {event.state}"
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    lines = [
        sentence(event),
        "",
        f"What ran:  {event.title}",
        f"Project:   {event.project_name} ({event.project_id})",
        f"Ended:     {event.state}" + (f" - {event.reason}" if event.reason else ""),
        f"When:      {event.occurred_at.isoformat()}",
    ]
    if event.url:
        lines.append(f"Details:   {event.url}")
    mail.set_content("\n".join(lines) + "\n")
    return mail


class EmailNotifier:
    channel = "email"

    def __init__(
        self,
        settings: SmtpSettings,
        recipients: Sequence[str],
        *,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.settings = settings
        self.recipients = list(recipients)
        self.sleep = sleep

    def _send_once(self, mail: EmailMessage) -> str:
        s = self.settings
        smtp_class = smtplib.SMTP_SSL if s.ssl else smtplib.SMTP
        try:
            with smtp_class(s.host, s.port, timeout=s.timeout) as smtp:
                if s.starttls and not s.ssl:
                    smtp.starttls()
                if s.username:
                    smtp.login(s.username, s.password or "")
                refused = smtp.send_message(mail)
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise Transient(f"SMTP {exc.smtp_code}") from exc
            raise RuntimeError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            raise Transient(f"unreachable: {exc}") from exc
        if refused:
            return f"sent; refused: {', '.join(refused)}"
        return "250 sent"

    def send(self, event: Event) -> Delivery | None:
        if not self.recipients:
            return None
        mail = message(event, self.settings.sender, self.recipients)
        attempt = lambda: self._send_once(mail)  # noqa: E731
        result = retrying(attempt, sleep=self.sleep) if self.sleep else retrying(attempt)
        target = f"smtp://{self.settings.host}:{self.settings.port} to {len(self.recipients)}"
        return delivery(self.channel, target, event, result)
