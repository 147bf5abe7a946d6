"""The notifier port and its adapters. Apprise carries a message to a channel's URL (email through
`mailto://`/`mailtos://`, SMS and chat services); with no URL for a channel, the message stays in the
local outbox (the notifications table, viewable through the API) and a line goes to the log."""

import logging
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

log = logging.getLogger("app.notify")
LOCAL = "local outbox"


class DeliveryFailed(Exception):
    """The channel did not take the message; it is tried again later."""

    retryable = True


@dataclass(frozen=True)
class Outgoing:
    channel: str  # email | sms | support
    recipient: str | None  # an address or number; None for support's own channel
    subject: str
    text: str
    html: str


class Notifier(Protocol):
    def deliver(self, message: Outgoing) -> str:
        """Hands the message over; returns what carried it. Raises DeliveryFailed."""
        ...


class LocalOutbox:
    """The embedded default: nothing leaves the machine; the log says what would have."""

    def deliver(self, message: Outgoing) -> str:
        log.info("notification (local outbox) %s to %s: %s", message.channel, _masked(message.recipient),
                 message.subject)
        return LOCAL


class AppriseNotifier:
    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = {channel: url for channel, url in urls.items() if url}

    def deliver(self, message: Outgoing) -> str:
        url = self.urls.get(message.channel)
        if url is None:
            return LocalOutbox().deliver(message)
        import apprise

        target = apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False))
        if not target.add(_with_recipient(url, message.recipient)):
            raise DeliveryFailed(f"the {message.channel} URL in settings is not one Apprise knows")
        html = message.channel == "email"
        ok = target.notify(title=message.subject, body=message.html if html else message.text,
                           body_format=apprise.NotifyFormat.HTML if html else apprise.NotifyFormat.TEXT)
        if not ok:
            raise DeliveryFailed(f"{message.channel}: the service refused the message or did not answer")
        return "apprise"


def _with_recipient(url: str, recipient: str | None) -> str:
    if recipient is None:
        return url
    if "{to}" in url:
        return url.replace("{to}", quote(recipient, safe="@+"))
    return f"{url}{'&' if '?' in url else '?'}to={quote(recipient, safe='@+')}"


def _masked(recipient: str | None) -> str:
    if not recipient:
        return "support"
    name, _, domain = recipient.partition("@")
    return f"{name[:1]}***@{domain}" if domain else f"***{recipient[-3:]}"


def make_notifier(*, email_url: str, sms_url: str, support_url: str) -> Notifier:
    if email_url or sms_url or support_url:
        return AppriseNotifier({"email": email_url, "sms": sms_url, "support": support_url})
    return LocalOutbox()
