"""A real SMTP server on 127.0.0.1 (aiosmtpd), keeping every message it is given."""

import email
import socket
import threading
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class SMTPServer:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []
        self._lock = threading.Lock()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"

    def url(self, sender: str = "spares@example.com") -> str:
        """An Apprise mailto:// URL that sends through this server (no TLS, no login)."""
        return f"mailto://127.0.0.1:{self.port}?from={sender}&smtp=127.0.0.1&secure=no"

    def __enter__(self) -> "SMTPServer":  # noqa: PYI034
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for _, rcpt, m in self.messages if address in rcpt]


def parts(message: EmailMessage) -> dict[str, str]:
    """content type → content, for each text part."""
    return {p.get_content_type(): p.get_content() for p in message.walk() if not p.is_multipart()}
