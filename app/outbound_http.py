"""HTTP clients for calls to other systems (webhook receivers, ticketing tools).

Making an `httpx.Client` builds a TLS context and loads the CA bundle into it: about 50 ms of CPU here,
more than the call it makes. Every client shares one context, built on first use with httpx's own
defaults (certifi's bundle, or SSL_CERT_FILE / SSL_CERT_DIR)."""

from functools import cache
from ssl import SSLContext

import httpx


@cache
def tls() -> SSLContext:
    return httpx.create_ssl_context()


def client(**options) -> httpx.Client:
    """A client for one call or a batch of them; close it (use it as a context manager)."""
    return httpx.Client(verify=tls(), **options)
