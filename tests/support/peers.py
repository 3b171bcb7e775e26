"""Real peers on loopback for notification tests: an HTTP listener and an SMTP inbox."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Listener:
    """An HTTP server answering POSTs with ``statuses`` in turn (then 200); ``received``
    holds what it took (2xx)."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    refused: int = 0
    url: str = ""

    def serve(self) -> Iterator[Listener]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = owner.statuses.pop(0) if owner.statuses else 200
                if status < 300:
                    owner.received.append((dict(self.headers), body))
                else:
                    owner.refused += 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{server.server_port}/hook?token=sekret"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()


class Inbox:
    """An aiosmtpd handler that keeps what it accepts; ``reply`` answers instead, in turn."""

    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, Message]] = []
        self.reply: list[str] = []

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.reply:
            return self.reply.pop(0)
        assert isinstance(envelope.content, bytes)
        self.messages.append((envelope, message_from_bytes(envelope.content)))
        return "250 OK"
