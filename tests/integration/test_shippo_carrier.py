"""The real ShippoCarrier, through the real shippo 3.9.0 SDK over HTTP, against the stand-in."""

import logging
import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pytest

from app.retry_after import parse_retry_after
from app.shipping.carrier import (
    Address,
    CarrierError,
    Parcel,
    PermanentCarrierError,
    TemporaryCarrierError,
)
from app.shipping.shippo_carrier import ShippoCarrier
from tests.support.shippo_standin import ShippoStandin

KEY = "shippo_test_5ecr3tk3y0123456789"
DEPOT = Address("Spares Desk", "200 Varick St", "New York", "10014", "US", state="NY",
                company="Spares Inc", phone="+1 212 555 0100")  # fmt: skip
WORKER = Address("Ada Lovelace", "1 Main St", "Chicago", "60611", "US", state="IL",
                 street2="Apt 4", email="ada@example.com")  # fmt: skip
LAPTOP = Parcel(Decimal(40), Decimal("30.5"), Decimal(8), Decimal("2.40"))
UPS_TIMEOUT = {"source": "UPS", "code": "carrier_timeout",
               "text": "UPS could not be reached, please try again."}  # fmt: skip


@pytest.fixture
def standin():
    with ShippoStandin() as api:
        yield api


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def carrier(standin, sleeps) -> ShippoCarrier:
    return ShippoCarrier(
        KEY, server_url=standin.url, timeout=(1, 2), poll_interval=0.01, sleep=sleeps.append
    )


def get_rates(carrier: ShippoCarrier, reference: str = "swap-7:out", is_return: bool = False):
    return carrier.get_rates(
        from_addr=DEPOT, to_addr=WORKER, parcel=LAPTOP, reference=reference, is_return=is_return
    )


def buy(carrier: ShippoCarrier, reference: str = "swap-7:out"):
    rate = get_rates(carrier, reference)[0]
    return rate, carrier.buy_label(rate_id=rate.rate_id, reference=reference)


def test_rates_request_and_mapping(carrier, standin):
    rates = get_rates(carrier)

    (post,) = standin.calls("POST", "/shipments")
    body = post.json
    assert body["async"] is False
    assert body["metadata"] == "swap-7:out"
    assert "extra" not in body
    assert body["address_from"]["zip"] == "10014" and body["address_from"]["name"] == "Spares Desk"
    assert body["address_to"] == {"name": "Ada Lovelace", "street1": "1 Main St",
                                  "street2": "Apt 4", "city": "Chicago", "state": "IL",
                                  "zip": "60611", "country": "US", "email": "ada@example.com"}  # fmt: skip
    assert body["parcels"] == [{"length": "40", "width": "30.5", "height": "8",
                                "distance_unit": "cm", "weight": "2.40", "mass_unit": "kg"}]  # fmt: skip

    served = {r["object_id"]: r for r in standin.rates.values()}
    assert {r.rate_id for r in rates} == set(served)
    express = next(r for r in rates if r.service_level == "usps_priority_express")
    assert express.carrier == "usps" and express.service_name == "Priority Mail Express"
    assert express.amount == Decimal(served[express.rate_id]["amount"])
    assert isinstance(express.amount, Decimal) and express.currency == "USD"
    assert express.estimated_days == 1
    assert {r.carrier for r in rates} == {"usps", "dhl_express"}


def test_return_rates_keep_the_outbound_orientation(carrier, standin):
    get_rates(carrier, reference="swap-7:return", is_return=True)
    (post,) = standin.calls("POST", "/shipments")
    assert post.json["extra"] == {"is_return": True}
    assert post.json["address_from"]["street1"] == DEPOT.street1  # Shippo swaps, not us
    assert post.json["address_to"]["street1"] == WORKER.street1


def test_buy_label(carrier, standin, sleeps):
    rate, label = buy(carrier)

    (post,) = standin.calls("POST", "/transactions")
    assert post.json == {"rate": rate.rate_id, "async": False, "label_file_type": "PDF_4x6",
                         "metadata": "swap-7:out"}  # fmt: skip
    tx = standin.transactions[label.label_id]
    assert label.status == "SUCCESS" and tx["status"] == "SUCCESS"
    assert label.tracking_number == tx["tracking_number"] != ""
    assert label.label_url == tx["label_url"] and label.tracking_url
    assert (label.rate_id, label.carrier) == (rate.rate_id, "usps")
    assert sleeps == []  # answered synchronously: no polling
    assert standin.calls("GET", "/rates") == []  # the rate was known from get_rates


def test_buy_label_from_another_process_looks_the_rate_up(standin, carrier):
    rate = get_rates(carrier)[0]
    fresh = ShippoCarrier(KEY, server_url=standin.url)
    label = fresh.buy_label(rate_id=rate.rate_id, reference="swap-7:out")
    assert label.carrier == "usps"
    assert [r.path for r in standin.calls("GET", "/rates")] == [f"/rates/{rate.rate_id}"]


def test_queued_label_is_polled_until_success(carrier, standin, sleeps):
    standin.queue_transactions(3)
    _, label = buy(carrier)
    assert label.status == "SUCCESS" and label.label_url
    assert len(standin.calls("GET", f"/transactions/{label.label_id}")) == 3
    assert sleeps == [0.01, 0.01, 0.01]
    assert len(standin.calls("POST", "/transactions")) == 1


def test_still_queued_label_is_returned_for_later_polling(standin, sleeps):
    impatient = ShippoCarrier(
        KEY, server_url=standin.url, poll_attempts=1, poll_interval=0.01, sleep=sleeps.append
    )
    standin.queue_transactions(2)
    _, label = buy(impatient)
    assert label.status == "QUEUED" and label.label_url is None and label.tracking_number is None
    later = impatient.get_label(label.label_id)
    assert later.status == "SUCCESS" and later.label_url and later.label_id == label.label_id


def test_label_error_is_permanent_and_carries_the_carrier_message(carrier, standin):
    standin.error_transactions([UPS_TIMEOUT])
    with pytest.raises(PermanentCarrierError) as e:
        buy(carrier)
    assert e.value.retryable is False
    assert "UPS could not be reached" in str(e.value)
    assert e.value.messages == ["UPS: UPS could not be reached, please try again."]
    # An errored label is not one to adopt.
    (tx,) = standin.transactions.values()
    assert carrier.find_labels(rate_id=tx["rate"], reference="swap-7:out") == []


def test_refund_label(carrier, standin):
    _, label = buy(carrier)

    refund = carrier.refund_label(label_id=label.label_id)

    (post,) = standin.calls("POST", "/refunds")
    assert post.json == {"transaction": label.label_id, "async": False}
    assert (refund.label_id, refund.status) == (label.label_id, "SUCCESS")
    assert standin.transactions[label.label_id]["status"] == "REFUNDED"
    # Asked again (say the first answer was lost): the carrier's record answers, no second request.
    assert carrier.refund_label(label_id=label.label_id).status == "SUCCESS"
    assert len(standin.calls("POST", "/refunds")) == 1


@pytest.mark.parametrize(("outcome", "status"), [("QUEUED", "PENDING"), ("ERROR", "ERROR")])
def test_refund_pending_or_refused(carrier, standin, outcome, status):
    _, label = buy(carrier)
    standin.refund_outcome = outcome
    assert carrier.refund_label(label_id=label.label_id).status == outcome
    assert carrier.refund_label(label_id=label.label_id).status == status  # read back from the label
    assert len(standin.calls("POST", "/refunds")) == 1


def test_refund_failures_are_mapped(carrier, standin):
    _, label = buy(carrier)
    standin.fail_next("/refunds", 503, retry_after=5)
    with pytest.raises(TemporaryCarrierError) as e:
        carrier.refund_label(label_id=label.label_id)
    assert e.value.retry_after == 5 and standin.transactions[label.label_id]["status"] == "SUCCESS"
    with pytest.raises(PermanentCarrierError):
        carrier.refund_label(label_id="0" * 32)  # no such label


def test_server_error_is_retryable(carrier, standin):
    rate = get_rates(carrier)[0]
    standin.fail_next("/transactions", 500, method="POST")
    with pytest.raises(TemporaryCarrierError) as e:
        carrier.buy_label(rate_id=rate.rate_id, reference="swap-7:out")
    assert (e.value.retryable, e.value.status_code, e.value.retry_after) == (True, 500, None)
    assert standin.transactions == {}
    assert carrier.buy_label(rate_id=rate.rate_id, reference="swap-7:out").status == "SUCCESS"


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_is_retryable_after_the_servers_delay(carrier, standin, status):
    standin.fail_next("/shipments", status, retry_after=7)
    with pytest.raises(CarrierError) as e:
        get_rates(carrier)
    assert e.value.retryable is True and e.value.retry_after == 7
    assert e.value.status_code == status
    assert len(get_rates(carrier)) == 3  # the next call goes through


def test_retry_after_as_http_date():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(header, now=lambda: now.timestamp()) == 30
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_client_errors_are_permanent(carrier, standin):
    standin.fail_next("/shipments", 400, body={"parcels": ["This field is required."]})
    with pytest.raises(PermanentCarrierError) as e:
        get_rates(carrier)
    assert e.value.status_code == 400 and "This field is required." in str(e.value)

    with pytest.raises(PermanentCarrierError) as e:
        get_rates(ShippoCarrier("not-a-shippo-key", server_url=standin.url))
    assert e.value.status_code == 401


def test_unreadable_answers_are_permanent(carrier, standin):
    rate = get_rates(carrier)[0]
    # An enum value the SDK does not know: ValueError inside the SDK.
    standin.fail_next("/transactions", 201, method="POST",
                      body={"status": "ON_FIRE", "created_by": None})  # fmt: skip
    with pytest.raises(PermanentCarrierError, match="unreadable"):
        carrier.buy_label(rate_id=rate.rate_id, reference="swap-7:out")
    # The created_by bug: a Transaction without the key crashes the SDK.
    standin.fail_next("/transactions", 201, method="POST", body={"status": "SUCCESS"})
    with pytest.raises(PermanentCarrierError, match="unreadable"):
        carrier.buy_label(rate_id=rate.rate_id, reference="swap-7:out")
    # A success code other than the documented one.
    standin.fail_next("/transactions", 200, method="POST", body={})
    with pytest.raises(PermanentCarrierError) as e:
        carrier.buy_label(rate_id=rate.rate_id, reference="swap-7:out")
    assert e.value.status_code == 200


def test_timeout_is_retryable_and_the_bought_label_is_adopted(standin):
    hasty = ShippoCarrier(KEY, server_url=standin.url, timeout=(1, 0.3))
    rate = get_rates(hasty)[0]
    standin.delay_next("/transactions", 1.5, method="POST")

    with pytest.raises(TemporaryCarrierError, match="timed out") as e:
        hasty.buy_label(rate_id=rate.rate_id, reference="swap-7:out")
    assert e.value.retryable is True

    assert e.value.maybe_done is True  # the request was sent: it may have been carried out
    (adopted,) = hasty.find_labels(rate_id=rate.rate_id, reference="swap-7:out")
    assert adopted.status == "SUCCESS"
    (tx,) = standin.transactions.values()  # the server did buy it
    assert adopted.label_id == tx["object_id"] and adopted.tracking_number == tx["tracking_number"]
    assert len(standin.calls("POST", "/transactions")) == 1
    (listing,) = standin.calls("GET", "/transactions")
    assert listing.query["rate"] == [rate.rate_id]
    assert hasty.find_labels(rate_id=rate.rate_id, reference="swap-8:out") == []


def test_every_label_bought_for_a_rate_and_reference_is_found(carrier, standin):
    rate, first = buy(carrier)
    second = carrier.buy_label(rate_id=rate.rate_id, reference="swap-7:out")  # bought twice
    carrier.buy_label(rate_id=rate.rate_id, reference="swap-9:out")  # someone else's
    found = carrier.find_labels(rate_id=rate.rate_id, reference="swap-7:out")
    assert sorted(x.label_id for x in found) == sorted([first.label_id, second.label_id])


@pytest.mark.parametrize("status,maybe_done", [(429, False), (503, False), (500, True), (502, True), (504, True)])
def test_an_error_says_whether_the_request_may_have_been_carried_out(carrier, standin, status, maybe_done):
    rate = get_rates(carrier)[0]
    standin.fail_next("/transactions", status, method="POST")
    with pytest.raises(TemporaryCarrierError) as e:
        carrier.buy_label(rate_id=rate.rate_id, reference="swap-7:out")
    assert e.value.maybe_done is maybe_done


def test_connection_failure_is_retryable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    dead = ShippoCarrier(KEY, server_url=f"http://127.0.0.1:{port}")
    with pytest.raises(TemporaryCarrierError) as e:
        get_rates(dead)
    assert e.value.retryable is True
    assert e.value.maybe_done is False  # nothing reached a server


def test_book_pickup(carrier, standin):
    _, label = buy(carrier)
    start = datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("America/Chicago"))
    pickup = carrier.book_pickup(
        address=WORKER, label_ids=[label.label_id], start=start, end=start + timedelta(hours=8),
        reference="swap-7:pickup",
    )  # fmt: skip

    (post,) = standin.calls("POST", "/pickups")
    body = post.json
    assert body["carrier_account"] == "ca_usps"  # the account the label was bought on
    assert body["transactions"] == [label.label_id]
    assert body["requested_start_time"] == "2026-11-25T15:00:00Z"
    assert body["requested_end_time"] == "2026-11-25T23:00:00Z"
    assert body["location"]["building_location_type"] == "Front Door"
    assert body["location"]["address"]["zip"] == "60611"
    assert body["metadata"] == "swap-7:pickup"
    assert pickup.status == "CONFIRMED" and pickup.confirmation_code
    assert pickup.start == start and pickup.start.tzinfo == UTC


def test_track_shippo_test_number(carrier, standin):
    tracking = carrier.track(carrier="shippo", tracking_number="SHIPPO_DELIVERED")
    assert standin.calls("GET", "/tracks")[0].path == "/tracks/shippo/SHIPPO_DELIVERED"
    assert tracking.status == "DELIVERED"
    assert [e.status for e in tracking.events] == ["PRE_TRANSIT", "TRANSIT", "TRANSIT",
                                                   "DELIVERED"]  # fmt: skip
    assert tracking.events[-1].substatus == "delivered"
    assert tracking.events[-1].location == "Chicago, IL, 60611, US"
    assert all(e.status_date.tzinfo == UTC for e in tracking.events)
    dates = [e.status_date for e in tracking.events]
    assert dates == sorted(dates)
    assert carrier.track(carrier="shippo", tracking_number="SHIPPO_FAILURE").status == "FAILURE"


def test_every_request_is_authenticated_and_version_pinned(carrier, standin):
    buy(carrier)
    carrier.track(carrier="shippo", tracking_number="SHIPPO_TRANSIT")
    assert len(standin.requests) >= 3
    for r in standin.requests:
        assert r.headers["authorization"] == f"ShippoToken {KEY}"
        assert r.headers["shippo-api-version"] == "2018-02-08"


def test_api_key_stays_out_of_logs_and_errors(carrier, standin, caplog):
    caplog.set_level(logging.DEBUG)
    rate, _ = buy(carrier)
    standin.fail_next("/transactions", 429, retry_after=3)
    with pytest.raises(CarrierError) as e:
        carrier.buy_label(rate_id=rate.rate_id, reference="swap-9:out")
    standin.delay_next("/tracks", 1.0)
    hasty = ShippoCarrier(KEY, server_url=standin.url, timeout=(1, 0.2))
    with pytest.raises(CarrierError):
        hasty.track(carrier="shippo", tracking_number="SHIPPO_DELIVERED")

    shippo_logs = [r for r in caplog.records if r.name == "app.shipping.shippo_carrier"]
    assert any("label" in r.getMessage() for r in shippo_logs)
    assert any("timed out" in r.getMessage() for r in shippo_logs)
    assert any("429" in r.getMessage() for r in shippo_logs)
    assert KEY not in caplog.text
    assert KEY not in str(e.value) and KEY not in repr(carrier)
