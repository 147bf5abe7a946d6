"""Signed outbound webhooks through HTTP, the outbox and a real receiver on 127.0.0.1: a whole swap's
events in order, each signature checked by a Standard Webhooks verifier written here (not the
package the service signs with); retries on the spec's schedule, Retry-After, 410 and three days of
failures disabling an endpoint; secret rotation; replays; the address guard."""

import base64
import hashlib
import hmac
import logging
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.models import Notification, OutboxJob, WebhookEndpoint
from tests.support import factories as f
from tests.support.asgi_client import AppClient
from tests.support.factories import post_swap, swap_body
from tests.support.journey import walk_whole_swap
from tests.support.loop import run_due
from tests.support.webhook_receiver import Receiver

ALL_OF_A_SWAP = ["swap.received", "swap.allocated", "swap.shipped", "swap.delivered", "followup.answered",
                 "return.received", "swap.closed"]


def verify(secret: str, received) -> bool:
    """Standard Webhooks, from the spec: base64 HMAC-SHA256 of `id.timestamp.body` under the secret's
    base64-decoded bytes, as `v1,<sig>`; the header may carry several, space-separated."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{received.headers['webhook-id']}.{received.headers['webhook-timestamp']}.".encode() + received.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [s.split(",", 1)[1] for s in received.headers["webhook-signature"].split(" ") if s.startswith("v1,")]
    return any(hmac.compare_digest(expected, o) for o in offered)


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def world(client, keys, frozen_clock, app):
    admin = keys["admin"]
    lon = f.depot(client, admin, "LON")
    model = f.model(client, admin, sku="LAT-5440")
    prof = f.profile(client, admin, version="v2")
    fresh = f.fit_to_ship(prof, box_contents=["charger"])

    def spare(**over):
        return f.unit(client, keys["warehouse"], model["id"], lon["id"], **{**fresh, **over})

    return {"lon": lon, "model": model, "spare": spare}


def register(client, keys, url, **over):
    r = client.post("/api/v1/webhook-endpoints", json={"url": url, "description": "ticket bridge", **over},
                    headers=keys["admin"])
    assert r.status_code == 201, r.text
    return r.json()


def deliveries(client, keys, **params):
    r = client.get("/api/v1/webhook-deliveries", params={"limit": 200, **params}, headers=keys["admin"])
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_a_whole_swap_reaches_the_receiver_signed_and_in_order(client, keys, world, app, receiver, frozen_clock):
    endpoint = register(client, keys, receiver.url)
    assert endpoint["secret"].startswith("whsec_") and len(base64.b64decode(endpoint["secret"][6:])) == 24
    assert "secret" not in client.get(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=keys["admin"]).json()
    with app.state.session_factory() as s:  # kept encrypted: the database alone cannot sign
        assert endpoint["secret"] not in s.scalar(select(WebhookEndpoint.secret_encrypted))
    new = world["spare"]()
    swap = walk_whole_swap(client, keys, app, frozen_clock, body=swap_body(world["model"]["id"], return_mode="return_box"),
                           spare_tag=new["asset_tag"], depot_id=world["lon"]["id"])

    assert receiver.types() == ALL_OF_A_SWAP
    for got in receiver.received:
        assert verify(endpoint["secret"], got), got.headers
        body = got.json
        assert body["id"] == got.headers["webhook-id"] and body["id"].startswith("msg_")
        assert body["api_version"] == "2026-12-01" and body["timestamp"].endswith("Z")
        assert got.headers["webhook-timestamp"] == str(int(frozen_clock.at.timestamp()))
        assert got.headers["content-type"] == "application/json"
    swaps_seen = [r.json["data"] for r in receiver.received if r.json["type"].startswith(("swap.", "followup."))]
    assert {d["id"] for d in swaps_seen} == {swap["id"]}
    assert [d["status"] for d in swaps_seen] == ["allocated", "allocated", "shipped", "delivered", "delivered", "closed"]
    assert swaps_seen[0]["tracking_url"] is None  # the worker's link is theirs alone
    returned = next(r.json["data"] for r in receiver.received if r.json["type"] == "return.received")
    assert returned["swap_id"] == swap["id"] and returned["received_code"] == "OLD-123"
    assert len({r.headers["webhook-id"] for r in receiver.received}) == len(ALL_OF_A_SWAP)
    listed = deliveries(client, keys, endpoint_id=endpoint["id"])
    assert [d["event_type"] for d in listed] == ALL_OF_A_SWAP
    assert {d["status"] for d in listed} == {"succeeded"} and all(d["response_status"] == 204 for d in listed)
    assert all(d["latency_ms"] is not None and d["attempts"] == 1 for d in listed)


def test_an_endpoint_gets_only_the_types_it_asked_for(client, keys, world, app, receiver):
    register(client, keys, receiver.url, event_types=["swap.backordered"])
    world["spare"]()
    post_swap(client, keys, swap_body(world["model"]["id"], ticket="IT-1"))
    post_swap(client, keys, swap_body(world["model"]["id"], ticket="IT-2"))  # no stock left
    run_due(app)
    assert receiver.types() == ["swap.backordered"]
    assert receiver.received[0].json["data"]["waitlist_position"] == 1


def test_a_receiver_url_with_a_token_in_it_never_reaches_the_log(client, keys, world, app, receiver, caplog):
    """Receivers often take their credential in the URL: sending to it logs nothing of it (the HTTP
    client's own line per request, with the whole URL, is off)."""
    caplog.set_level(logging.DEBUG)
    register(client, keys, f"{receiver.url}/hook?token=tok-s3cr3t-9f2", event_types=["swap.received"])
    world["spare"]()
    post_swap(client, keys, swap_body(world["model"]["id"]))
    run_due(app)
    assert receiver.types() == ["swap.received"]
    assert caplog.records and "tok-s3cr3t-9f2" not in caplog.text


def test_a_failing_receiver_is_retried_on_the_schedule_until_it_answers(client, keys, world, app, receiver,
                                                                       frozen_clock):
    endpoint = register(client, keys, receiver.url, event_types=["swap.received"])
    receiver.answer(500, times=4)
    receiver.answer(503, retry_after="900")  # asks for 15 min, but the schedule's next step is later
    world["spare"]()
    post_swap(client, keys, swap_body(world["model"]["id"]))
    started = frozen_clock.at
    schedule = [timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2)]
    run_due(app)  # attempt 1: immediately
    for n, wait in enumerate(schedule, start=2):
        (d,) = deliveries(client, keys, endpoint_id=endpoint["id"])
        assert d["status"] == "pending" and d["attempts"] == n - 1 and d["response_status"] in (500, 503)
        due = datetime.fromisoformat(d["next_attempt_at"]) - datetime.fromisoformat(d["last_attempt_at"])
        assert wait * 0.9 <= due <= wait * 1.1, (n, due)
        frozen_clock.set(datetime.fromisoformat(d["last_attempt_at"]) + wait * 0.85)
        run_due(app)
        assert len(receiver.received) == n - 1  # not before its time
        frozen_clock.set(datetime.fromisoformat(d["next_attempt_at"]))
        run_due(app)
        assert len(receiver.received) == n
    # The 5th answer was a 503 with Retry-After: 900 s; the schedule's next step (5 h) is later and wins.
    (d,) = deliveries(client, keys, endpoint_id=endpoint["id"])
    due = datetime.fromisoformat(d["next_attempt_at"]) - datetime.fromisoformat(d["last_attempt_at"])
    assert timedelta(hours=4.5) <= due <= timedelta(hours=5.5)
    frozen_clock.set(datetime.fromisoformat(d["next_attempt_at"]))
    run_due(app)
    (d,) = deliveries(client, keys, endpoint_id=endpoint["id"])
    assert d["status"] == "succeeded" and d["attempts"] == 6 and d["response_status"] == 204
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1  # the same message each time
    # Every wait ran its full (jittered) length: 5 s + 5 min + 30 min + 2 h + 5 h, each at least 90%.
    assert frozen_clock.at - started >= (sum(schedule, timedelta()) + timedelta(hours=5)) * 0.9


def test_retry_after_longer_than_the_schedule_is_honoured(client, keys, world, app, receiver, frozen_clock):
    endpoint = register(client, keys, receiver.url, event_types=["swap.received"])
    receiver.answer(429, retry_after="120")
    world["spare"]()
    post_swap(client, keys, swap_body(world["model"]["id"]))
    run_due(app)
    (d,) = deliveries(client, keys, endpoint_id=endpoint["id"])
    due = datetime.fromisoformat(d["next_attempt_at"]) - datetime.fromisoformat(d["last_attempt_at"])
    assert due == timedelta(seconds=120)  # not the schedule's 5 s
    frozen_clock.advance(seconds=60)
    run_due(app)
    assert len(receiver.received) == 1
    frozen_clock.advance(seconds=60)
    run_due(app)
    assert len(receiver.received) == 2 and deliveries(client, keys)[0]["status"] == "succeeded"


def test_410_disables_the_endpoint_and_support_is_told(client, keys, world, app, receiver):
    endpoint = register(client, keys, receiver.url)
    receiver.answer(410)
    world["spare"]()
    post_swap(client, keys, swap_body(world["model"]["id"]))  # received and allocated: two deliveries
    run_due(app)
    assert len(receiver.received) == 1  # the second was never sent
    got = client.get(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=keys["admin"]).json()
    assert got["enabled"] is False and "410" in got["disabled_reason"]
    assert [d["status"] for d in deliveries(client, keys)] == ["failed", "failed"]
    with app.state.session_factory() as s:
        alert = s.scalars(select(Notification).where(Notification.kind == "service_alert")).one()
        assert alert.status == "sent" and receiver.url in alert.body_text and alert.audience == "support"
    post_swap(client, keys, swap_body(world["model"]["id"], ticket="IT-2"))
    run_due(app)
    assert len(receiver.received) == 1 and len(deliveries(client, keys)) == 2  # disabled: nothing new
    r = client.post(f"/api/v1/webhook-deliveries/{deliveries(client, keys)[1]['id']}/replay", headers=keys["admin"])
    assert r.status_code == 409  # enable it first
    client.patch(f"/api/v1/webhook-endpoints/{endpoint['id']}", json={"enabled": True}, headers=keys["admin"])
    r = client.post(f"/api/v1/webhook-deliveries/{deliveries(client, keys)[1]['id']}/replay", headers=keys["admin"])
    assert r.status_code == 200 and r.json()["status"] == "pending"
    run_due(app)
    assert receiver.types() == ["swap.received", "swap.allocated"]
    assert receiver.received[1].headers["webhook-id"] == deliveries(client, keys)[1]["message_id"]


def test_an_endpoint_failing_for_three_days_is_disabled(client, keys, world, app, receiver, frozen_clock):
    endpoint = register(client, keys, receiver.url, event_types=["swap.received"])
    receiver.answer(500, times=100)
    world["spare"]()
    start = frozen_clock.at
    for n in range(10):  # a new swap every 10 hours; each delivery waits behind the first one's retries
        post_swap(client, keys, swap_body(world["model"]["id"], ticket=f"IT-{n}"))
        run_due(app)
        frozen_clock.advance(hours=10)
        run_due(app)
        got = client.get(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=keys["admin"]).json()
        if frozen_clock.at - start < timedelta(days=3):
            assert got["enabled"], n
    assert got["enabled"] is False and "3 days" in got["disabled_reason"]
    assert {d["status"] for d in deliveries(client, keys)} == {"failed"}


def test_a_rotated_secret_signs_beside_the_old_one_for_the_grace_period(client, keys, world, app, receiver,
                                                                       frozen_clock):
    endpoint = register(client, keys, receiver.url, event_types=["swap.received"])
    old = endpoint["secret"]
    r = client.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", json={"grace_hours": 24},
                    headers=keys["admin"])
    assert r.status_code == 200
    new = r.json()["secret"]
    assert new != old and r.json()["previous_secret_until"]
    world["spare"](), world["spare"]()
    post_swap(client, keys, swap_body(world["model"]["id"], ticket="IT-1"))
    run_due(app)
    first = receiver.received[0]
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    assert verify(new, first) and verify(old, first)
    frozen_clock.advance(hours=25)
    post_swap(client, keys, swap_body(world["model"]["id"], ticket="IT-2"))
    run_due(app)
    second = receiver.received[1]
    assert verify(new, second) and not verify(old, second)
    assert not verify(new, type(second)(second.path, second.headers, second.body + b" ", second.at))


def test_deliveries_of_a_time_range_can_be_replayed(client, keys, world, app, receiver, frozen_clock):
    endpoint = register(client, keys, receiver.url, event_types=["swap.received"])
    receiver.answer(400)  # refused; then the endpoint is disabled, which fails what is pending
    world["spare"](), world["spare"]()
    post_swap(client, keys, swap_body(world["model"]["id"], ticket="IT-1"))
    frozen_clock.advance(hours=1)
    post_swap(client, keys, swap_body(world["model"]["id"], ticket="IT-2"))
    run_due(app)
    client.patch(f"/api/v1/webhook-endpoints/{endpoint['id']}", json={"enabled": False}, headers=keys["admin"])
    run_due(app)
    frozen_clock.advance(seconds=10)
    run_due(app)
    assert {d["status"] for d in deliveries(client, keys)} == {"failed"}
    client.patch(f"/api/v1/webhook-endpoints/{endpoint['id']}", json={"enabled": True}, headers=keys["admin"])
    since = (frozen_clock.at - timedelta(minutes=30)).isoformat()
    r = client.post("/api/v1/webhook-deliveries/replay", json={"since": since, "until": frozen_clock.at.isoformat()},
                    headers=keys["admin"])
    assert r.status_code == 200 and r.json()["replayed"] == 1  # only the second falls in the range
    run_due(app)
    statuses = [d["status"] for d in deliveries(client, keys)]
    assert statuses == ["failed", "succeeded"]
    bad = client.post("/api/v1/webhook-deliveries/replay", json={"since": since, "until": since},
                      headers=keys["admin"])
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("url,why", [
    ("http://example.com/hooks", "must use https"),
    ("https://10.1.2.3/hooks", "non-public address"),
    ("https://localhost/hooks", "non-public address"),
    ("https://[::1]/hooks", "non-public address"),
    ("https://169.254.169.254/latest/meta-data", "non-public address"),
    ("https://user:pw@example.com/hooks", "credentials"),
    ("ftp://example.com/hooks", "422"),
    ("http://[::1/hooks", "not a valid URL"),
])
def test_endpoints_must_be_public_https_unless_allowed(client, keys, make_app, url, why):
    
    strict = make_app(webhook_allowed_hosts="")
    with AppClient(strict) as c:
        r = c.post("/api/v1/webhook-endpoints", json={"url": url}, headers=keys["admin"])
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
        assert why == "422" or why in r.text
        assert c.get("/api/v1/webhook-endpoints", headers=keys["admin"]).json() == []
        allowed = c.post("/api/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/hooks"}, headers=keys["admin"])
        assert allowed.status_code == 422  # 127.0.0.1 is not allowed here either


def test_only_admins_manage_endpoints_and_unknown_ones_are_404(client, keys):
    assert client.post("/api/v1/webhook-endpoints", json={"url": "https://example.com/h"},
                       headers=keys["support"]).status_code == 403
    assert client.get("/api/v1/webhook-endpoints/999", headers=keys["admin"]).status_code == 404
    bad = client.post("/api/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/h", "event_types": ["swap.nope"]},
                      headers=keys["admin"])
    assert bad.status_code == 422 and "event_types" in bad.text


@pytest.mark.live_db
def test_a_hanging_receiver_holds_up_neither_other_endpoints_nor_booking(make_app, keys):
    """Real worker threads: the hanging receiver's lane waits out its timeout while the courier is
    booked and the other endpoint hears everything."""
    import threading
    import time

    from app.jobs.runner import OutboxRunner

    app = make_app(webhook_timeout_seconds=4)
    with Receiver() as slow, Receiver() as fine, AppClient(app) as c:
        slow.hang(8)
        slow_endpoint = register(c, keys, slow.url)
        register(c, keys, fine.url)
        lon = f.depot(c, keys["admin"], "LON")
        model = f.model(c, keys["admin"])
        f.unit(c, keys["warehouse"], model["id"], lon["id"])
        service = app.state.service
        runner = OutboxRunner(service.session_factory, service.carrier, service.kinds)
        worker = threading.Thread(target=runner.run_forever, kwargs={"idle_seconds": 0.05}, daemon=True)
        started = time.monotonic()
        swap = post_swap(c, keys, swap_body(model["id"])).json()
        worker.start()
        try:
            while time.monotonic() - started < 10:
                status = c.get(f"/api/v1/swap-requests/{swap['id']}", headers=keys["support"]).json()["status"]
                if status == "label_booked" and fine.types() == ["swap.received", "swap.allocated"]:
                    break
                time.sleep(0.05)
            assert status == "label_booked" and fine.types() == ["swap.received", "swap.allocated"]
            with app.state.session_factory() as s:  # while the hanging receiver's first attempt is still out
                lane = s.scalars(select(OutboxJob.status).where(OutboxJob.lane == f"webhook:{slow_endpoint['id']}")
                                 .order_by(OutboxJob.id)).all()
            assert lane == ["in_flight", "pending"]  # its lane: one at a time
            assert deliveries(c, keys, endpoint_id=slow_endpoint["id"])[0]["attempts"] == 0
            while time.monotonic() - started < 15:  # its first attempt times out; the next waits behind its retry
                slow_deliveries = deliveries(c, keys, endpoint_id=slow_endpoint["id"])
                if slow_deliveries[0]["attempts"]:
                    break
                time.sleep(0.1)
            assert [r.json["type"] for r in slow.received] == ["swap.received"]
            first = slow_deliveries[0]
            assert first["status"] == "pending" and first["error"] == "no answer within 4 s"
            assert first["response_status"] is None and first["latency_ms"] >= 4000
            assert slow_deliveries[1]["attempts"] == 0 and slow_deliveries[1]["status"] == "pending"
        finally:
            runner.stopping.set()
            worker.join(timeout=10)


def test_stock_dipping_below_par_is_told_once_a_dip(client, keys, world, app, receiver, frozen_clock):
    def watch():  # the par-level watch runs every 5 minutes
        frozen_clock.advance(minutes=5)
        run_due(app)

    register(client, keys, receiver.url, event_types=["stock.below_par"])
    assert client.put(f"/api/v1/depots/{world['lon']['id']}/par-levels/{world['model']['id']}",
                      json={"min_ready": 2}, headers=keys["admin"]).status_code == 200
    world["spare"](), world["spare"]()
    watch()
    assert receiver.types() == []  # at par
    post_swap(client, keys, swap_body(world["model"]["id"], ticket="IT-1"))  # 1 ready of 2
    watch()
    watch()
    assert receiver.types() == ["stock.below_par"]
    data = receiver.received[0].json["data"]
    assert (data["depot_code"], data["model_sku"], data["ready"], data["par_level"], data["below_par"]) == \
        ("LON", "LAT-5440", 1, 2, True)
    world["spare"]()  # back at par
    watch()
    post_swap(client, keys, swap_body(world["model"]["id"], ticket="IT-2"))  # and under it again
    watch()
    assert receiver.types() == ["stock.below_par", "stock.below_par"]


def test_a_cancelled_swap_is_told(client, keys, world, app, receiver):
    register(client, keys, receiver.url, event_types=["swap.cancelled"])
    world["spare"]()
    swap = post_swap(client, keys, swap_body(world["model"]["id"])).json()
    assert client.post(f"/api/v1/swap-requests/{swap['id']}/cancel", json={"reason": "fixed by itself"},
                       headers=keys["support"]).status_code == 200
    run_due(app)
    assert receiver.types() == ["swap.cancelled"] and receiver.received[0].json["data"]["status"] == "cancelled"
