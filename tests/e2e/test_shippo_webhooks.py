"""Shippo webhooks read in full, with payloads shaped like Shippo's documented examples
(track_updated: data is a Track with tracking_status, tracking_history, eta, location, substatus;
transaction_*: data is a Transaction with status, rate and metadata)."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app.jobs import work
from app.models import Shipment, TrackingEventRecord
from tests.support import factories as f
from tests.support.arrange import out_with_a_worker
from tests.support.factories import WEBHOOK_SECRET, post_swap, swap_body

URL = f"/webhooks/shippo/{WEBHOOK_SECRET}"


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def status_entry(status: str, at: datetime | None, *, sub: str | None = None, text: str = "",
                 action_required: bool = False, city: str = "Leeds") -> dict:
    return {
        "object_id": f"ts_{status}_{sub}_{_iso(at)}", "object_created": _iso(at), "object_updated": _iso(at),
        "status": status, "status_details": text or f"{status.lower()} update", "status_date": _iso(at),
        "substatus": {"code": sub, "text": text or sub, "action_required": action_required} if sub else None,
        "location": {"city": city, "state": "", "zip": "LS1", "country": "GB"},
    }


def track_payload(number: str, history: list[dict], *, carrier: str = "simulated", test: bool = True,
                  eta: datetime | None = None, transaction: str | None = None) -> dict:
    return {"event": "track_updated", "test": test, "data": {
        "messages": [], "carrier": carrier, "tracking_number": number,
        "address_from": {"city": "London", "state": "", "zip": "SE1", "country": "GB"},
        "address_to": {"city": "Leeds", "state": "", "zip": "LS1", "country": "GB"},
        "eta": _iso(eta), "original_eta": _iso(eta),
        "servicelevel": {"token": "sim_next_day", "name": "Next Day"}, "metadata": None,
        "transaction": transaction, "tracking_status": history[-1] if history else None,
        "tracking_history": history,
    }}


def transaction_payload(object_id: str, status: str, *, rate: str, metadata: str, tracking_number: str = "",
                        test: bool = True, event: str = "transaction_updated") -> dict:
    return {"event": event, "test": test, "data": {
        "object_state": "VALID", "status": status, "object_created": "2026-11-24T09:00:00Z",
        "object_updated": "2026-11-24T09:00:00Z", "object_id": object_id, "object_owner": "it@example.com",
        "test": test, "rate": rate, "tracking_number": tracking_number, "tracking_status": "UNKNOWN",
        "eta": None, "tracking_url_provider": f"https://carrier.example/t/{tracking_number}" if tracking_number else "",
        "label_url": f"https://labels.example/{object_id}.pdf" if status == "SUCCESS" else "",
        "commercial_invoice_url": None, "messages": [], "metadata": metadata, "parcel": "p_1",
        "created_by": None,
    }}


@pytest.fixture
def booked(client, keys, frozen_clock, app):
    admin = keys["admin"]
    depot = f.depot(client, admin, "LON")
    model = f.model(client, admin, sku="LAT-5440", name="Latitude 5440")
    unit = f.unit(client, keys["warehouse"], model["id"], depot["id"])
    broken = f.unit(client, keys["warehouse"], model["id"], depot["id"])
    out_with_a_worker(app.state.session_factory, broken["id"])  # the broken laptop is one of ours
    created = post_swap(client, keys, swap_body(model["id"], return_mode="swap_at_door",
                                                broken_unit=broken["asset_tag"])).json()
    work.run_outbox(app.state.session_factory, app.state.carrier)
    swap = client.get(f"/api/v1/swap-requests/{created['id']}", headers=keys["support"]).json()
    assert swap["status"] == "label_booked"
    ships = {s["direction"]: s for s in swap["shipments"]}
    return {"swap": swap, "created": created, "unit": unit, "broken": broken,
            "out": ships["outbound"]["tracking_number"], "ret": ships["return"]["tracking_number"]}


def get_swap(client, keys, swap_id):
    return client.get(f"/api/v1/swap-requests/{swap_id}", headers=keys["support"]).json()


def unit_state(client, keys, unit_id):
    return client.get(f"/api/v1/units/{unit_id}", headers=keys["support"]).json()["state"]


def _shipment(session_factory, number) -> Shipment:
    with session_factory() as s:
        return s.scalars(select(Shipment).where(Shipment.tracking_number == number)).one()


def test_a_test_event_never_moves_a_live_shipment(booked, client, keys, session_factory, frozen_clock):
    with session_factory() as s, s.begin():  # bought with a live key
        s.execute(update(Shipment).where(Shipment.swap_id == booked["swap"]["id"]).values(live=True))
    at = frozen_clock.at + timedelta(hours=2)
    r = client.post(URL, json=track_payload(booked["out"], [status_entry("TRANSIT", at, sub="package_accepted")],
                                            test=True))
    assert r.status_code == 200 and r.json()["result"] == "test_event"
    assert get_swap(client, keys, booked["swap"]["id"])["status"] == "label_booked"
    assert unit_state(client, keys, booked["unit"]["id"]) == "reserved"
    live = client.post(URL, json=track_payload(booked["out"], [status_entry("TRANSIT", at, sub="package_accepted")],
                                               test=False))
    assert live.json()["result"] == "applied"
    assert get_swap(client, keys, booked["swap"]["id"])["status"] == "shipped"


def test_a_null_status_date_is_stored_once_however_often_it_arrives(booked, client, session_factory, frozen_clock):
    payload = track_payload(booked["out"], [status_entry("UNKNOWN", None, sub="other")])
    results = []
    for _ in range(3):  # Shippo sends it again minutes later
        results.append(client.post(URL, json=payload).json()["result"])
        frozen_clock.advance(minutes=7)
    assert results[1:] == ["duplicate", "duplicate"]
    with session_factory() as s:
        rows = s.scalars(select(TrackingEventRecord).join(Shipment, Shipment.id == TrackingEventRecord.shipment_id)
                         .where(Shipment.tracking_number == booked["out"])).all()
    assert len([r for r in rows if r.status == "UNKNOWN"]) == 1


def test_the_event_carrier_must_match_the_shipment(booked, client, keys, frozen_clock):
    at = frozen_clock.at + timedelta(hours=2)
    r = client.post(URL, json=track_payload(booked["out"], [status_entry("TRANSIT", at)], carrier="fedex"))
    assert r.status_code == 200 and r.json()["result"] == "unknown"
    assert get_swap(client, keys, booked["swap"]["id"])["status"] == "label_booked"


@pytest.mark.parametrize("sub,words", [
    ("delivery_attempted", "tried to deliver"),
    ("address_issue", "address"),
    ("package_held", "holding"),
])
def test_courier_trouble_reaches_the_timeline_the_worker_and_support(booked, client, keys, frozen_clock, sub, words):
    t0 = frozen_clock.at
    history = [status_entry("TRANSIT", t0 + timedelta(hours=2), sub="package_accepted"),
               status_entry("TRANSIT", t0 + timedelta(hours=20), sub=sub, text="Courier note",
                            action_required=sub != "package_held")]
    assert client.post(URL, json=track_payload(booked["out"], history)).json()["result"] == "applied"
    swap = get_swap(client, keys, booked["swap"]["id"])
    trouble = [e for e in swap["timeline"] if e["kind"] == "courier_attention"]
    assert len(trouble) == 1 and trouble[0]["data"]["escalated"] is True
    assert trouble[0]["data"]["substatus"] == sub
    page = client.get(booked["created"]["tracking_url"].replace("http://127.0.0.1:8000", "")).text
    assert words in page
    # The same news again (a replay, or the poll seeing it) is not told twice.
    client.post(URL, json=track_payload(booked["out"], history))
    again = get_swap(client, keys, booked["swap"]["id"])
    assert len([e for e in again["timeline"] if e["kind"] == "courier_attention"]) == 1


def test_eta_location_and_history_are_read(booked, client, keys, session_factory, frozen_clock):
    t0 = frozen_clock.at
    eta = t0 + timedelta(hours=30)
    history = [status_entry("PRE_TRANSIT", t0 + timedelta(hours=1), sub="information_received", city="London"),
               status_entry("TRANSIT", t0 + timedelta(hours=3), sub="package_departed", city="Birmingham"),
               status_entry("TRANSIT", t0 + timedelta(hours=20), sub="out_for_delivery", city="Leeds")]
    assert client.post(URL, json=track_payload(booked["out"], history, eta=eta)).json()["result"] == "applied"
    row = _shipment(session_factory, booked["out"])
    assert row.eta == eta
    with session_factory() as s:
        records = s.scalars(select(TrackingEventRecord).where(TrackingEventRecord.shipment_id == row.id)
                            .order_by(TrackingEventRecord.status_date)).all()
    assert [(r.status, r.substatus, r.location) for r in records] == [
        ("PRE_TRANSIT", "information_received", "London, GB"), ("TRANSIT", "package_departed", "Birmingham, GB"),
        ("TRANSIT", "out_for_delivery", "Leeds, GB")]
    swap = get_swap(client, keys, booked["swap"]["id"])
    assert swap["status"] == "shipped"
    assert [e["kind"] for e in swap["timeline"]].count("out_for_delivery") == 1


def test_a_delivery_after_a_failure_is_applied(booked, client, keys, frozen_clock):
    t0 = frozen_clock.at
    client.post(URL, json=track_payload(booked["out"], [status_entry("TRANSIT", t0 + timedelta(hours=2))]))
    client.post(URL, json=track_payload(booked["out"], [
        status_entry("FAILURE", t0 + timedelta(hours=10), sub="package_lost", action_required=True)]))
    assert get_swap(client, keys, booked["swap"]["id"])["status"] == "exception"
    found = client.post(URL, json=track_payload(booked["out"], [
        status_entry("DELIVERED", t0 + timedelta(hours=30), sub="delivered")]))
    assert found.json()["result"] == "applied"
    assert get_swap(client, keys, booked["swap"]["id"])["status"] == "delivered"
    assert unit_state(client, keys, booked["unit"]["id"]) == "deployed"
    # An older FAILURE arriving late does not undo the delivery.
    late = client.post(URL, json=track_payload(booked["out"], [
        status_entry("FAILURE", t0 + timedelta(hours=12), sub="package_lost")]))
    assert late.json()["result"] == "recorded"
    assert get_swap(client, keys, booked["swap"]["id"])["status"] == "delivered"


def test_a_return_delivered_without_transit_still_moves_the_broken_unit(booked, client, keys, frozen_clock):
    t0 = frozen_clock.at
    client.post(URL, json=track_payload(booked["out"], [status_entry("DELIVERED", t0 + timedelta(hours=20))]))
    assert unit_state(client, keys, booked["broken"]["id"]) == "awaiting_return"
    client.post(URL, json=track_payload(booked["ret"], [status_entry("DELIVERED", t0 + timedelta(hours=40))]))
    assert get_swap(client, keys, booked["swap"]["id"])["status"] == "returned"
    assert unit_state(client, keys, booked["broken"]["id"]) == "returning"


@pytest.mark.parametrize("shippo_status,ours", [("REFUNDED", "SUCCESS"), ("REFUNDPENDING", "PENDING"),
                                                ("REFUNDREJECTED", "ERROR")])
def test_refund_outcomes_reach_the_shipment(booked, client, keys, session_factory, shippo_status, ours):
    client.post(f"/api/v1/swap-requests/{booked['swap']['id']}/cancel", json={"reason": "dup"},
                headers=keys["support"])
    row = _shipment(session_factory, booked["out"])
    r = client.post(URL, json=transaction_payload(row.label_id, shippo_status, rate=row.rate_id,
                                                  metadata=row.reference, tracking_number=row.tracking_number))
    assert r.json()["result"] == "applied"
    assert _shipment(session_factory, booked["out"]).refund_status == ours
    if ours == "ERROR":
        refused = [e for e in get_swap(client, keys, booked["swap"]["id"])["timeline"] if e["kind"] == "refund_refused"]
        assert refused and refused[-1]["data"]["escalated"] is True


def test_a_purchase_whose_answer_was_lost_is_adopted_from_its_transaction_event(booked, client, session_factory):
    row = _shipment(session_factory, booked["ret"])
    with session_factory() as s, s.begin():  # the label was bought, but our worker never heard back
        s.execute(update(Shipment).where(Shipment.id == row.id).values(
            label_id=None, label_status="pending", tracking_number=None, label_url=None, tracking_url=None))
    r = client.post(URL, json=transaction_payload("tx_lost_answer", "SUCCESS", rate=row.rate_id,
                                                  metadata=row.reference, tracking_number="RET0000042",
                                                  event="transaction_created"))
    assert r.json()["result"] == "applied"
    adopted = _shipment(session_factory, "RET0000042")
    assert (adopted.id, adopted.label_id, adopted.label_status) == (row.id, "tx_lost_answer", "SUCCESS")


@pytest.mark.parametrize("body", [b'{"event": "track_updated", "test": false}', b"not json at all",
                                  b'{"event": "batch_purchased", "data": "b_1"}', b'["a list"]'])
def test_a_body_we_cannot_use_is_recorded_and_answered_200(client, session_factory, body):
    r = client.post(URL, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["result"] in ("unusable", "ignored")
    with session_factory() as s:
        from app.models import WebhookReceipt
        receipts = s.scalars(select(WebhookReceipt)).all()
    assert len(receipts) == 1 and receipts[0].body == body.decode()


def test_every_webhook_is_kept_as_received(booked, client, session_factory, frozen_clock):
    payload = track_payload(booked["out"], [status_entry("TRANSIT", frozen_clock.at + timedelta(hours=2))])
    client.post(URL, json=payload)
    client.post(URL, json=payload)
    with session_factory() as s:
        from app.models import WebhookReceipt
        outcomes = s.scalars(select(WebhookReceipt.outcome).order_by(WebhookReceipt.id)).all()
        assert s.scalar(select(func.count()).select_from(WebhookReceipt)) == 2
    assert outcomes == ["applied", "duplicate"]


def test_a_second_label_is_recorded_shown_by_reconcile_and_refunded(booked, client, keys, app, session_factory):
    row = _shipment(session_factory, booked["out"])
    r = client.post(URL, json=transaction_payload("sim_tx_boughtagain00000", "SUCCESS", rate=row.rate_id,
                                                  metadata=row.reference, tracking_number="TWICE0001",
                                                  event="transaction_created"))
    assert r.json()["result"] == "applied"
    assert _shipment(session_factory, booked["out"]).label_id == row.label_id  # the first one is kept
    swap = get_swap(client, keys, booked["swap"]["id"])
    (note,) = [e for e in swap["timeline"] if e["kind"] == "extra_label"]
    assert note["data"]["escalated"] is True and "TWICE0001" in note["message"]
    report = client.get("/api/v1/reconciliation/invariants", headers=keys["admin"]).json()
    assert report["ok"] is False
    assert [b["kind"] for b in report["breaches"]] == ["label_bought_twice"]
    assert "TWICE0001" in report["breaches"][0]["detail"]
    work.run_outbox(app.state.session_factory, app.state.carrier)  # the refund job
    assert client.get("/api/v1/reconciliation/invariants", headers=keys["admin"]).json() == {"ok": True,
                                                                                              "breaches": []}


def test_webhook_receipts_are_kept_for_thirty_days(client, app, session_factory, frozen_clock):
    from app.models import WebhookReceipt

    client.post(URL, content=b"old news", headers={"Content-Type": "application/json"})
    frozen_clock.advance(days=29)
    client.post(URL, content=b"recent news", headers={"Content-Type": "application/json"})
    frozen_clock.advance(days=2)
    assert work.purge_expired(session_factory) >= 1
    with session_factory() as s:
        assert s.scalars(select(WebhookReceipt.body)).all() == ["recent news"]


@pytest.mark.live_db
def test_a_sender_gone_before_its_body_arrived_is_no_server_error(live_server, session_factory, caplog):
    """A carrier connection cut mid-body (a timeout on its side) is the sender's doing: nothing is
    recorded, and the server logs no failure of its own."""
    import socket
    from urllib.parse import urlsplit

    from app.models import WebhookReceipt

    address = urlsplit(live_server)
    with caplog.at_level("ERROR"), socket.create_connection((address.hostname, address.port)) as sock:
        sock.sendall(f"POST /webhooks/shippo/{WEBHOOK_SECRET} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Content-Length: 500\r\n\r\n{{\"event\": \"track_updated\"".encode())
        time.sleep(0.2)  # the handler is waiting for the rest of the body
    time.sleep(0.5)
    assert [r.getMessage() for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")] == []
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(WebhookReceipt)) == 0
