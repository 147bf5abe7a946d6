"""A swap's whole journey on the simulated carrier, through HTTP and the database: booking via the
outbox, tracking webhooks (replayed, out of order), the poll fallback, and the worker's page."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.jobs import work
from app.models import OutboxJob, Shipment
from tests.support import factories as f
from tests.support.factories import WEBHOOK_SECRET, hook, post_swap, swap_body
from tests.support.service import SWAP_JOB_KINDS


@pytest.fixture
def booked(client, keys, frozen_clock, app):
    admin = keys["admin"]
    depot = f.depot(client, admin, "LON")
    model = f.model(client, admin, sku="LAT-5440", name="Latitude 5440")
    unit = f.unit(client, keys["warehouse"], model["id"], depot["id"])
    created = post_swap(client, keys, swap_body(model["id"], return_mode="swap_at_door")).json()
    assert work.run_outbox(app.state.session_factory, app.state.carrier, only=SWAP_JOB_KINDS) == 1
    swap = client.get(f"/api/v1/swap-requests/{created['id']}", headers=keys["support"]).json()
    return {"swap": swap, "created": created, "unit": unit}


def get_swap(client, keys, swap_id):
    return client.get(f"/api/v1/swap-requests/{swap_id}", headers=keys["support"]).json()


def test_booking_buys_outbound_and_return_labels_and_a_pickup(booked, client):
    swap = booked["swap"]
    assert swap["status"] == "label_booked" and swap["return_plan"] == "swap_at_door"
    ships = {s["direction"]: s for s in swap["shipments"]}
    out, ret = ships["outbound"], ships["return"]
    assert out["label_status"] == ret["label_status"] == "SUCCESS"
    assert out["service_name"] == "Next Day"  # the cheapest rate that arrives by the promised day
    assert ret["pickup_confirmation"] and ret["pickup_date"] == swap["promised_date"]
    assert out["tracking_number"].startswith("SIM") and out["tracking_number"] != ret["tracking_number"]
    label = client.get(out["label_url"].replace("http://127.0.0.1:8000", ""))
    assert label.status_code == 200 and label.headers["content-type"].startswith("image/svg+xml")
    assert out["tracking_number"] in label.text
    assert swap["timeline"][-1]["kind"] == "label_booked"


def test_tracking_webhooks_walk_the_swap_and_the_unit(booked, client, keys, frozen_clock):
    swap, unit = booked["swap"], booked["unit"]
    out = next(s for s in swap["shipments"] if s["direction"] == "outbound")["tracking_number"]
    ret = next(s for s in swap["shipments"] if s["direction"] == "return")["tracking_number"]
    t0 = frozen_clock.at
    assert hook(client, out, "TRANSIT", t0 + timedelta(hours=2)).json() == {"result": "applied"}
    assert get_swap(client, keys, swap["id"])["status"] == "shipped"
    assert client.get(f"/api/v1/units/{unit['id']}", headers=keys["support"]).json()["state"] == "in_transit"
    assert hook(client, out, "DELIVERED", t0 + timedelta(hours=20)).json() == {"result": "applied"}
    # A replay changes nothing; a late TRANSIT after DELIVERED never moves the status back.
    assert hook(client, out, "DELIVERED", t0 + timedelta(hours=20)).json() == {"result": "duplicate"}
    assert hook(client, out, "TRANSIT", t0 + timedelta(hours=5)).json() == {"result": "recorded"}
    after = get_swap(client, keys, swap["id"])
    assert after["status"] == "delivered"
    assert [e["kind"] for e in after["timeline"]].count("delivered") == 1
    assert client.get(f"/api/v1/units/{unit['id']}", headers=keys["support"]).json()["state"] == "deployed"
    # Delivered: the hold is released (a unit out with a worker is not held stock).
    assert client.get("/api/v1/reconciliation/invariants", headers=keys["support"]).json() == {"ok": True,
                                                                                               "breaches": []}
    hook(client, ret, "TRANSIT", t0 + timedelta(hours=21))
    assert get_swap(client, keys, swap["id"])["status"] == "return_in_transit"
    hook(client, ret, "DELIVERED", t0 + timedelta(hours=40))
    assert get_swap(client, keys, swap["id"])["status"] == "returned"
    history = client.get(f"/api/v1/units/{unit['id']}/history", headers=keys["support"]).json()
    assert [h["to_state"] for h in history] == ["ready", "reserved", "packed", "in_transit", "deployed"]


def test_delivered_before_transit_still_fills_in_the_steps(booked, client, keys, frozen_clock):
    swap = booked["swap"]
    out = next(s for s in swap["shipments"] if s["direction"] == "outbound")["tracking_number"]
    hook(client, out, "DELIVERED", frozen_clock.at + timedelta(hours=20))
    kinds = [e["kind"] for e in get_swap(client, keys, swap["id"])["timeline"]]
    assert kinds[-2:] == ["shipped", "delivered"]


def test_failure_raises_an_exception_on_the_swap(booked, client, keys, frozen_clock):
    out = next(s for s in booked["swap"]["shipments"] if s["direction"] == "outbound")["tracking_number"]
    hook(client, out, "FAILURE", frozen_clock.at + timedelta(hours=3), details="package lost")
    after = get_swap(client, keys, booked["swap"]["id"])
    assert after["status"] == "exception" and "package lost" in after["timeline"][-1]["message"]


def test_webhook_secret_and_payload_checks(booked, client, session_factory):
    out = next(s for s in booked["swap"]["shipments"] if s["direction"] == "outbound")["tracking_number"]
    at = booked["swap"]["created_at"]
    wrong = client.post("/webhooks/shippo/not-the-secret", json={"event": "track_updated", "data": {}})
    assert wrong.status_code == 404
    rotated = hook(client, out, "TRANSIT", __import__("datetime").datetime.fromisoformat(at) + timedelta(hours=1),
                   secret="old-secret-being-rotated-out-0000")
    assert rotated.status_code == 200 and rotated.json()["result"] == "applied"
    # Shippo does not retry a 4xx: a body we cannot use is kept and answered 200.
    bad = client.post(f"/webhooks/shippo/{WEBHOOK_SECRET}", json={"event": "track_updated",
                                                                   "data": {"tracking_number": ""}})
    assert bad.status_code == 200 and bad.json() == {"result": "unusable"}
    unknown = hook(client, "NOPE123", "TRANSIT", __import__("datetime").datetime.fromisoformat(at))
    assert unknown.json() == {"result": "unknown"}


def test_poll_fallback_moves_quiet_shipments(booked, client, keys, app, frozen_clock):
    frozen_clock.advance(hours=12, minutes=30)  # the simulated carrier delivers 12 h after purchase
    polled = work.poll_tracking(app.state.session_factory, app.state.carrier, quiet_for=timedelta(hours=1))
    assert polled == 2
    assert get_swap(client, keys, booked["swap"]["id"])["status"] == "delivered"
    # Just polled: a second sweep right away finds nothing to ask about.
    assert work.poll_tracking(app.state.session_factory, app.state.carrier, quiet_for=timedelta(hours=1)) == 0


def test_tracking_page_shows_what_the_worker_needs_and_nothing_more(booked, client):
    url = booked["created"]["tracking_url"].replace("http://127.0.0.1:8000", "")
    page = client.get(url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["referrer-policy"] == "no-referrer" and "noindex" in page.headers["x-robots-tag"]
    html = page.text
    assert "Ana" in html and "Leeds" in html and "Latitude 5440" in html
    assert "courier takes it" in html  # what to do with the old laptop
    for private in ("Lima", "ana@example.com", "7700", "Hotel Row", "LS1 4AP", "OLD-123",
                    booked["unit"]["serial"], booked["unit"]["asset_tag"], "test-support"):  # nor the API key's name
        assert private not in html
    data = client.get(url, headers={"Accept": "application/json"}).json()
    assert data["first_name"] == "Ana" and data["city"] == "Leeds" and data["status"] == "label_booked"
    assert data["arrives_by"] == booked["swap"]["promised_date"] and data["tracking_url"]
    assert client.get(url + ".json").json() == data
    for bad in ("/t/" + "x" * 32, "/t/short"):
        missing = client.get(bad)
        assert missing.status_code == 404 and "x" * 32 not in missing.text


def test_the_link_expires_two_weeks_after_the_swap_ends(booked, client, keys, frozen_clock):
    url = booked["created"]["tracking_url"].replace("http://127.0.0.1:8000", "")
    frozen_clock.advance(days=30)
    assert client.get(url).status_code == 200  # a live swap's link keeps working
    client.post(f"/api/v1/swap-requests/{booked['swap']['id']}/cancel", json={"reason": "dup"},
                headers=keys["support"])
    frozen_clock.advance(days=14)
    assert client.get(url).status_code == 200
    frozen_clock.advance(minutes=1)
    gone = client.get(url)
    assert gone.status_code == 404 and gone.text == "Not found"


def test_reissued_tracking_link_replaces_the_old_one(booked, client, keys):
    old = booked["created"]["tracking_url"].replace("http://127.0.0.1:8000", "")
    r = client.post(f"/api/v1/swap-requests/{booked['swap']['id']}/tracking-link", headers=keys["support"])
    new = r.json()["tracking_url"].replace("http://127.0.0.1:8000", "")
    assert client.get(old).status_code == 404 and client.get(new).status_code == 200


def test_cancelled_before_booking_buys_nothing(client, keys, app, frozen_clock, session_factory):
    depot = f.depot(client, keys["admin"], "LON")
    model = f.model(client, keys["admin"])
    f.unit(client, keys["warehouse"], model["id"], depot["id"])
    swap = post_swap(client, keys, swap_body(model["id"])).json()
    client.post(f"/api/v1/swap-requests/{swap['id']}/cancel", json={"reason": "fixed"}, headers=keys["support"])
    assert work.run_outbox(session_factory, app.state.carrier, only=SWAP_JOB_KINDS) == 1
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Shipment)) == 0
        booking = select(OutboxJob.status).where(OutboxJob.kind.in_(SWAP_JOB_KINDS))
        assert s.scalars(booking).all() == ["done"]  # no void_labels job either


def test_cancelling_a_booked_swap_voids_its_unused_labels(booked, client, keys, app):
    swap, unit = booked["swap"], booked["unit"]
    r = client.post(f"/api/v1/swap-requests/{swap['id']}/cancel", json={"reason": "fixed remotely"},
                    headers=keys["support"])
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert client.get(f"/api/v1/units/{unit['id']}", headers=keys["support"]).json()["state"] == "ready"

    assert work.run_outbox(app.state.session_factory, app.state.carrier, only=SWAP_JOB_KINDS) == 1  # the void_labels job
    swap = get_swap(client, keys, swap["id"])
    assert {s["direction"]: s["refund_status"] for s in swap["shipments"]} == {"outbound": "SUCCESS",
                                                                                "return": "SUCCESS"}
    voided = [e for e in swap["timeline"] if e["kind"] == "label_voided"]
    assert len(voided) == 2 and swap["status"] == "cancelled"
    # Done once: running the worker again asks for nothing more.
    assert work.run_outbox(app.state.session_factory, app.state.carrier, only=SWAP_JOB_KINDS) == 0
    assert client.get("/api/v1/reconciliation/invariants", headers=keys["admin"]).json()["breaches"] == []
    # The worker's page says it was cancelled, not why (the reason is for support) nor by whom.
    page = client.get(booked["created"]["tracking_url"].replace("http://127.0.0.1:8000", "")).text
    assert "This request was cancelled" in page and "fixed remotely" not in page and "test-support" not in page


def test_a_label_already_with_the_courier_is_not_voided(booked, client, keys, app, frozen_clock):
    swap = booked["swap"]
    out = next(s for s in swap["shipments"] if s["direction"] == "outbound")["tracking_number"]
    with app.state.session_factory() as session:  # the courier scanned it, but the swap is still cancellable
        session.query(Shipment).filter_by(tracking_number=out).update({"tracking_status": "TRANSIT"})
        session.commit()
    client.post(f"/api/v1/swap-requests/{swap['id']}/cancel", json={"reason": "dup"}, headers=keys["support"])
    work.run_outbox(app.state.session_factory, app.state.carrier)
    swap = get_swap(client, keys, swap["id"])
    assert {s["direction"]: s["refund_status"] for s in swap["shipments"]} == {"outbound": "in_use",
                                                                                "return": "SUCCESS"}
    in_use = [e for e in swap["timeline"] if e["kind"] == "label_in_use"]
    assert len(in_use) == 1 and in_use[0]["data"]["escalated"] is True
