"""Booking through the real Shippo SDK against the stand-in Shippo server: the whole outbox path with
the production adapter, including the same-visit pickup and its fallback to a return box."""

import pytest

from app.jobs import work
from app.shipping.shippo_carrier import ShippoCarrier
from tests.support import factories as f
from tests.support.asgi_client import AppClient
from tests.support.factories import US_WORKER, swap_body
from tests.support.service import SWAP_JOB_KINDS
from tests.support.shippo_standin import ShippoStandin


@pytest.fixture
def standin():
    with ShippoStandin() as api:
        yield api


@pytest.fixture
def shippo_app(make_app, standin):
    return make_app(shippo_api_key="shippo_test_abc", shippo_base_url=standin.url)


@pytest.fixture
def shippo_client(shippo_app, keys):
    with AppClient(shippo_app) as c:
        yield c


def _book(client, keys, app, body, carrier=None):
    admin = keys["admin"]
    depot = f.depot(client, admin, "NYC")
    model = f.model(client, admin)
    f.unit(client, keys["warehouse"], model["id"], depot["id"])
    body["needed"] = {"model_id": model["id"]}
    created = client.post("/api/v1/swap-requests", json=body, headers=keys["support"]).json()
    assert work.run_outbox(app.state.session_factory, carrier or app.state.carrier, only=SWAP_JOB_KINDS) == 1
    return client.get(f"/api/v1/swap-requests/{created['id']}", headers=keys["support"]).json()


def test_swap_at_door_books_labels_and_pickup_through_shippo(shippo_client, keys, shippo_app, standin):
    assert shippo_app.state.carrier.name == "shippo"
    swap = _book(shippo_client, keys, shippo_app, swap_body(worker=US_WORKER, return_mode="swap_at_door"))
    assert swap["status"] == "label_booked" and swap["return_plan"] == "swap_at_door"
    ships = {s["direction"]: s for s in swap["shipments"]}
    # Cheapest next-day service; the return uses the same carrier.
    assert ships["outbound"]["service_name"] == "Priority Mail Express"
    assert ships["outbound"]["carrier"] == ships["return"]["carrier"] == "usps"
    assert ships["return"]["pickup_confirmation"].startswith("WTC")
    buys = standin.calls("POST", "/transactions")
    assert len(buys) == 2 and all(b.json["async"] is False for b in buys)
    assert sorted(b.json["metadata"] for b in buys) == [f"swap-{swap['id']}-outbound", f"swap-{swap['id']}-return"]
    shipments = standin.calls("POST", "/shipments")
    assert [s.json.get("extra", {}).get("is_return", False) for s in shipments] == [False, True]
    assert len(standin.calls("POST", "/pickups")) == 1


def test_pickup_refused_falls_back_to_a_return_label_in_the_box(shippo_client, keys, shippo_app, standin):
    standin.fail_next("/pickups", 400, body={"carrier_account": ["Pickups are not available for this carrier."]})
    swap = _book(shippo_client, keys, shippo_app, swap_body(worker=US_WORKER, return_mode="swap_at_door"))
    assert swap["status"] == "label_booked" and swap["return_plan"] == "return_box"
    fallback = [e for e in swap["timeline"] if e["kind"] == "return_fallback"]
    assert len(fallback) == 1 and "return label goes in the box" in fallback[0]["message"]


def test_lost_answer_to_a_label_purchase_is_adopted_not_bought_again(shippo_client, keys, shippo_app, standin,
                                                                    frozen_clock):
    # The stand-in buys the label but answers after the adapter's read timeout: the answer is lost.
    impatient = ShippoCarrier("shippo_test_abc", server_url=standin.url, timeout=(1, 0.5), poll_interval=0.01)
    standin.delay_next("/transactions", 1.5, method="POST")
    swap = _book(shippo_client, keys, shippo_app, swap_body(worker=US_WORKER, return_mode="no_return"),
                 carrier=impatient)
    assert swap["status"] == "allocated"  # the timeout left the job for a retry
    frozen_clock.advance(minutes=5)
    assert work.run_outbox(shippo_app.state.session_factory, impatient, only=SWAP_JOB_KINDS) == 1
    swap = shippo_client.get(f"/api/v1/swap-requests/{swap['id']}", headers=keys["support"]).json()
    assert swap["status"] == "label_booked"
    assert len(standin.calls("POST", "/transactions")) == 1  # adopted via GET /transactions?rate=…
    tx = next(iter(standin.transactions.values()))
    assert swap["shipments"][0]["tracking_number"] == tx["tracking_number"]


def _cancel(client, keys, swap_id):
    r = client.post(f"/api/v1/swap-requests/{swap_id}/cancel", json={"reason": "fixed remotely"},
                    headers=keys["support"])
    assert r.status_code == 200, r.text


def test_cancel_after_booking_refunds_each_label_once(shippo_client, keys, shippo_app, standin):
    swap = _book(shippo_client, keys, shippo_app, swap_body(worker=US_WORKER, return_mode="return_box"))
    _cancel(shippo_client, keys, swap["id"])
    assert work.run_outbox(shippo_app.state.session_factory, shippo_app.state.carrier, only=SWAP_JOB_KINDS) == 1
    refunded = sorted(r.json["transaction"] for r in standin.calls("POST", "/refunds"))
    assert refunded == sorted(standin.transactions)  # both labels, once each
    assert {t["status"] for t in standin.transactions.values()} == {"REFUNDED"}
    swap = shippo_client.get(f"/api/v1/swap-requests/{swap['id']}", headers=keys["support"]).json()
    assert {s["refund_status"] for s in swap["shipments"]} == {"SUCCESS"}


def test_cancel_while_a_purchase_answer_was_lost_still_refunds_that_label(shippo_client, keys, shippo_app,
                                                                         standin, frozen_clock):
    impatient = ShippoCarrier("shippo_test_abc", server_url=standin.url, timeout=(1, 0.5), poll_interval=0.01)
    standin.delay_next("/transactions", 1.5, method="POST")
    swap = _book(shippo_client, keys, shippo_app, swap_body(worker=US_WORKER, return_mode="swap_at_door"),
                 carrier=impatient)
    assert swap["status"] == "allocated" and swap["shipments"][0]["label_status"] == "pending"
    _cancel(shippo_client, keys, swap["id"])
    frozen_clock.advance(minutes=5)
    # The booking retry stops (the swap is cancelled); the void job finds the bought label by its rate.
    while work.run_outbox(shippo_app.state.session_factory, impatient):
        pass
    (tx_id,) = standin.transactions  # no return label was bought after the cancel
    assert [r.json["transaction"] for r in standin.calls("POST", "/refunds")] == [tx_id]
    swap = shippo_client.get(f"/api/v1/swap-requests/{swap['id']}", headers=keys["support"]).json()
    (outbound,) = swap["shipments"]
    assert outbound["refund_status"] == "SUCCESS" and outbound["tracking_number"]


def test_a_refused_refund_is_escalated_and_the_swap_stays_cancelled(shippo_client, keys, shippo_app, standin):
    swap = _book(shippo_client, keys, shippo_app, swap_body(worker=US_WORKER, return_mode="no_return"))
    standin.fail_next("/refunds", 400, body={"transaction": ["Refund window has passed."]})
    _cancel(shippo_client, keys, swap["id"])
    work.run_outbox(shippo_app.state.session_factory, shippo_app.state.carrier)
    swap = shippo_client.get(f"/api/v1/swap-requests/{swap['id']}", headers=keys["support"]).json()
    assert swap["status"] == "cancelled" and swap["shipments"][0]["refund_status"] is None
    (escalated,) = [e for e in swap["timeline"] if e["kind"] == "escalated"]
    assert "Voiding the unused labels failed" in escalated["message"] and "Refund window" in escalated["message"]


def test_a_border_crossing_swap_is_booked_with_a_well_formed_customs_declaration(shippo_client, keys, shippo_app,
                                                                                   standin):
    """A GB worker served from New York (the request allows it): both labels carry a declaration the
    stand-in checks field by field, with the model's value, tariff number and origin."""
    admin = keys["admin"]
    depot = f.depot(shippo_client, admin, "NYC")
    model = f.model(shippo_client, admin, replacement_value="900.00", currency="USD", hs_code="8471.30",
                    origin_country="CN")
    f.unit(shippo_client, keys["warehouse"], model["id"], depot["id"])
    body = swap_body(model["id"], return_mode="return_box", allow_cross_border=True)
    created = shippo_client.post("/api/v1/swap-requests", json=body, headers=keys["support"]).json()
    assert created["depot_code"] == "NYC"
    assert work.run_outbox(shippo_app.state.session_factory, shippo_app.state.carrier, only=SWAP_JOB_KINDS) == 1
    swap = shippo_client.get(f"/api/v1/swap-requests/{created['id']}", headers=keys["support"]).json()
    assert swap["status"] == "label_booked"
    sent = [s.json["customs_declaration"] for s in standin.calls("POST", "/shipments")]
    assert len(sent) == 2 and len(standin.declarations) == 2
    outbound, back = sent
    assert (outbound["contents_type"], outbound["incoterm"], outbound["eel_pfc"]) == ("MERCHANDISE", "DDP",
                                                                                      "NOEEI_30_37_a")
    assert outbound["certify"] is True and outbound["certify_signer"]
    (item,) = outbound["items"]
    assert (item["value_amount"], item["value_currency"], item["origin_country"], item["tariff_number"],
            item["quantity"], item["mass_unit"]) == ("900.00", "USD", "CN", "847130", 1, "kg")
    # The broken kit comes back from GB: a return of goods, and no US export filing for it.
    assert back["contents_type"] == "RETURN_MERCHANDISE" and "eel_pfc" not in back
    ships = {s["direction"]: s for s in swap["shipments"]}
    assert ships["outbound"]["customs"]["items"][0]["hs_code"] == "847130"


def test_a_swap_inside_one_country_sends_no_customs_declaration(shippo_client, keys, shippo_app, standin):
    _book(shippo_client, keys, shippo_app, swap_body(worker=US_WORKER, return_mode="return_box"))
    assert [s.json.get("customs_declaration") for s in standin.calls("POST", "/shipments")] == [None, None]


def _swap(client, keys, *, zip_code="60601"):
    admin = keys["admin"]
    depot = f.depot(client, admin, "NYC")
    model = f.model(client, admin)
    f.unit(client, keys["warehouse"], model["id"], depot["id"])
    worker = {**US_WORKER, "address": {**US_WORKER["address"], "postal_code": zip_code}}
    return client.post("/api/v1/swap-requests", json=swap_body(model["id"], worker=worker, return_mode="return_box"),
                       headers=keys["support"])


def test_an_address_shippo_cannot_find_is_a_422_with_its_words_and_nothing_is_taken_in(shippo_client, keys, standin):
    r = _swap(shippo_client, keys, zip_code="00000")
    assert r.status_code == 422, r.text
    assert any("could not be found" in m for m in r.json()["carrier_messages"])
    assert [c.json.get("validate") for c in standin.calls("POST", "/addresses")] == [True]
    assert shippo_client.get("/api/v1/swap-requests", headers=keys["support"]).json()["items"] == []


def test_a_carrier_outage_at_intake_still_takes_the_swap_in_and_the_address_is_checked_before_booking(
        shippo_client, keys, shippo_app, standin):
    standin.fail_next("/addresses", 503)
    created = _swap(shippo_client, keys)
    assert created.status_code == 201 and created.json()["address_status"] == "unchecked"
    assert work.run_outbox(shippo_app.state.session_factory, shippo_app.state.carrier, only=SWAP_JOB_KINDS) == 1
    swap = shippo_client.get(f"/api/v1/swap-requests/{created.json()['id']}", headers=keys["support"]).json()
    assert swap["address_status"] == "valid" and swap["status"] == "label_booked"
    assert len(standin.calls("POST", "/addresses")) == 2  # the refused one at intake, the check before booking


def test_an_address_found_undeliverable_at_booking_buys_nothing_and_says_why(shippo_client, keys, shippo_app, standin):
    standin.fail_next("/addresses", 503)
    created = _swap(shippo_client, keys, zip_code="00000")
    assert created.status_code == 201 and created.json()["address_status"] == "unchecked"
    work.run_outbox(shippo_app.state.session_factory, shippo_app.state.carrier, only=SWAP_JOB_KINDS)
    swap = shippo_client.get(f"/api/v1/swap-requests/{created.json()['id']}", headers=keys["support"]).json()
    assert swap["status"] == "exception" and "not deliverable" in swap["timeline"][-1]["message"]
    assert standin.calls("POST", "/transactions") == []
