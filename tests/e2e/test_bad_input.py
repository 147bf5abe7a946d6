"""Bad input is refused with a clear 4xx problem and changes nothing: forged or out-of-range cursors,
bodies sent without a key or over the size limit, a wrong webhook secret with a broken body, and
Idempotency-Keys that are not visible ASCII."""

import base64
import socket
import time

import pytest
from sqlalchemy import func, select

from app.models import IdempotencyRecord, SwapRequest
from tests.support import factories as f
from tests.support.factories import swap_body


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.fixture
def stock(client, keys):
    depot = f.depot(client, keys["admin"])
    model = f.model(client, keys["admin"])
    for _ in range(3):
        f.unit(client, keys["warehouse"], model["id"], depot["id"])
    return depot, model


@pytest.mark.parametrize("route", ["/api/v1/units", "/api/v1/swap-requests"])
@pytest.mark.parametrize("cursor", [
    _b64("id:2147483648"),                 # past the 32-bit id columns (was a 500 on PostgreSQL)
    _b64("id:" + "9" * 23),                # past SQLite's 64-bit integers (was a 500 on SQLite)
    _b64("id:-5"),
    _b64("id:1"),                          # well formed, but not one this service signed
    "garbage!",
])
def test_cursors_not_issued_by_the_service_are_400(client, keys, stock, route, cursor):
    r = client.get(route, params={"cursor": cursor}, headers=keys["support"])
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == "cursor"


def test_a_cursor_is_good_only_for_the_list_that_issued_it(client, keys, stock):
    first = client.get("/api/v1/units", params={"limit": 1}, headers=keys["support"]).json()
    assert first["next_cursor"]
    nxt = client.get("/api/v1/units", params={"limit": 1, "cursor": first["next_cursor"]},
                     headers=keys["support"])
    assert nxt.status_code == 200 and nxt.json()["items"][0]["id"] > first["items"][0]["id"]
    other = client.get("/api/v1/swap-requests", params={"cursor": first["next_cursor"]}, headers=keys["support"])
    assert other.status_code == 400
    tampered = first["next_cursor"][:-2] + ("AA" if first["next_cursor"][-2:] != "AA" else "BB")
    assert client.get("/api/v1/units", params={"cursor": tampered}, headers=keys["support"]).status_code == 400


def _raw_request(base_url: str, head: str, body_prefix: bytes, wait: float = 3.0) -> bytes:
    """Send the head and the start of a body, then read whatever the server answers, without
    sending the rest of the body. A server that reads the whole body first never answers."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(head.encode() + body_prefix)
        deadline, answer = time.monotonic() + wait, b""
        while time.monotonic() < deadline and b"\r\n\r\n" not in answer:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            answer += chunk
        return answer


def test_a_big_body_without_a_key_is_refused_before_it_is_read(live_server):
    size = 100 * 1024 * 1024
    head = ("POST /api/v1/units HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            f"Content-Length: {size}\r\n\r\n")
    answer = _raw_request(live_server, head, b'{"serial": "' + b"x" * 65536)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"application/problem+json" in answer


def test_a_body_over_the_limit_is_413_even_with_a_key(live_server, keys):
    size = 2 * 1024 * 1024
    auth = keys["warehouse"]["Authorization"]
    head = ("POST /api/v1/units HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            f"Authorization: {auth}\r\nContent-Length: {size}\r\n\r\n")
    answer = _raw_request(live_server, head, b'{"serial": "' + b"x" * 65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_a_chunked_body_over_the_limit_is_413_problem(client, keys):
    def chunks():
        for _ in range(20):
            yield b" " * (100 * 1024)  # 2 MB of whitespace: valid JSON padding, but too much
    r = client.post("/api/v1/depots", content=chunks(),
                    headers={**keys["admin"], "Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


def test_a_csv_import_keeps_its_own_bigger_limit(client, keys, stock):
    big = "serial,asset_tag,model_sku,depot_code,state\n" + "#" * (2 * 1024 * 1024) + "\n"
    r = client.post("/api/v1/units/import", content=big,
                    headers={**keys["warehouse"], "Content-Type": "text/csv"})
    assert r.status_code != 413 and r.status_code < 500, r.text
    huge = "serial,asset_tag,model_sku,depot_code,state\n" + "#" * (6 * 1024 * 1024) + "\n"
    r = client.post("/api/v1/units/import", content=huge,
                    headers={**keys["warehouse"], "Content-Type": "text/csv"})
    assert r.status_code == 413


def test_a_wrong_webhook_secret_is_404_whatever_the_body(client):
    for body in (b"{not json", b'{"event": 5}', b""):
        r = client.post("/webhooks/shippo/not-the-secret", content=body,
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 404, (body, r.status_code, r.text)


@pytest.mark.parametrize("bad_key", [
    b"abc\x01def",            # a control character
    "cl\u00e9".encode(),      # non-ASCII (UTF-8 bytes arrive as latin-1 text)
    b"two words",             # what an unfolded continuation line turns into
    b"k" * 256,               # too long
])
def test_idempotency_keys_must_be_visible_ascii_up_to_255(client, keys, stock, session_factory, bad_key):
    _, model = stock
    r = client.post("/api/v1/swap-requests", json=swap_body(model["id"]),
                    headers={**keys["support"], "Idempotency-Key": bad_key})
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "Idempotency-Key" and "visible ASCII" in r.json()["detail"]
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(SwapRequest)) == 0
        assert s.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


def test_a_visible_ascii_key_of_255_characters_works(client, keys, stock):
    _, model = stock
    key = "K" * 200 + "-_.~:/=+!#$%&*?@[]{}|^`'" + "9" * 31
    assert len(key) == 255
    first = client.post("/api/v1/swap-requests", json=swap_body(model["id"]),
                        headers={**keys["support"], "Idempotency-Key": key})
    again = client.post("/api/v1/swap-requests", json=swap_body(model["id"]),
                        headers={**keys["support"], "Idempotency-Key": key})
    assert first.status_code == 201 and again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
