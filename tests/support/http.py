"""The tests' own HTTP calls to servers they start (`httpx.get` and friends, and clients): all on the
service's one shared TLS context, since building one per call costs ~50 ms of CPU (a readiness poll
made of them slowed the very server it waited for)."""

import httpx

from app.outbound_http import client, tls

__all__ = ["client", "get", "post", "request"]


def request(method: str, url: str, **options) -> httpx.Response:
    return httpx.request(method, url, verify=tls(), **options)


def get(url: str, **options) -> httpx.Response:
    return request("GET", url, **options)


def post(url: str, **options) -> httpx.Response:
    return request("POST", url, **options)
