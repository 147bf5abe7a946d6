"""Where the service may send webhooks: an https URL whose host resolves only to public addresses
(no loopback, private, link-local, multicast or reserved ones: the service's own network stays out of
reach), unless its host is one the settings allow (tests allow 127.0.0.1). Checked when an endpoint
is registered and again before each delivery (a name can change what it resolves to); redirects are
never followed."""

import ipaddress
import socket
from urllib.parse import urlsplit

from app.errors import Unprocessable


class Refused(Unprocessable):
    pass


def resolve(host: str, port: int) -> list[str]:
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)})
    except (socket.gaierror, UnicodeError):
        return []


def check(url: str, allowed_hosts: frozenset[str]) -> None:
    """Raises `Refused` (a 422) saying why `url` may not receive webhooks."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:  # e.g. an unclosed [IPv6 literal
        raise Refused("The endpoint URL is not a valid URL.", field="url") from None
    if not host or parts.scheme not in ("https", "http"):
        raise Refused("The endpoint URL must be an absolute https:// URL.", field="url")
    if parts.username or parts.password:
        raise Refused("The endpoint URL may not carry credentials; the signature authenticates us.", field="url")
    if host in allowed_hosts:
        return
    if parts.scheme != "https":
        raise Refused("The endpoint URL must use https.", field="url")
    try:
        port = parts.port or 443
    except ValueError:
        raise Refused("The endpoint URL has an invalid port.", field="url") from None
    addresses = resolve(host, port)
    if not addresses:
        raise Refused(f"The endpoint's host {host} does not resolve.", field="url")
    private = [a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_global]
    if private:
        raise Refused(f"The endpoint's host {host} resolves to a non-public address ({', '.join(private)}); "
                      "webhooks go only to public addresses.", field="url")
