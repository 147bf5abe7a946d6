import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from shippo.models import components

from app.shipping.carrier import Address, Customs, CustomsItem, Parcel, PermanentCarrierError
from app.shipping.simulated import (
    SimulatedCarrier,
    make_webhook_payload,
    purchase_time,
    render_label_svg,
)

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
DEPOT = Address("Spares Desk", "10 Bankside", "London", "SE1 9PB", "GB")
WORKER = Address("Ada Lovelace", "1 Canal St", "Manchester", "M1 3HE", "GB", phone="+44 161 000")
LAPTOP = Parcel(Decimal(40), Decimal(30), Decimal(8), Decimal("2.4"))


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def sim(clock) -> SimulatedCarrier:
    return SimulatedCarrier(clock, base_url="https://spares.example/")


def rates(carrier: SimulatedCarrier, reference: str = "swap-1:out", **kw):
    return carrier.get_rates(
        from_addr=DEPOT, to_addr=WORKER, parcel=kw.pop("parcel", LAPTOP), reference=reference, **kw
    )


def test_rates_are_deterministic_and_encode_their_inputs(sim, clock):
    first = rates(sim)
    clock.at = T0 + timedelta(days=3)
    again = rates(SimulatedCarrier(clock))  # another process, later
    assert first == again
    by_service = {r.service_level: r for r in first}
    assert set(by_service) == {"sim_next_day", "sim_ground"}
    next_day, ground = by_service["sim_next_day"], by_service["sim_ground"]
    assert next_day.rate_id.startswith("sim_rate_sim_next_day_")
    assert (next_day.service_name, next_day.estimated_days) == ("Next Day", 1)
    assert ground.estimated_days == 3 and ground.amount < next_day.amount
    # 2.4 kg is one started kg over the 2 kg base price; a GB depot pays in EUR.
    assert next_day.amount == Decimal("20.50") and next_day.currency == "EUR"
    assert {r.rate_id for r in rates(sim, reference="swap-2:out")}.isdisjoint(
        r.rate_id for r in first
    )
    assert {r.rate_id for r in rates(sim, is_return=True)}.isdisjoint(r.rate_id for r in first)


def test_rates_depend_on_weight_and_origin(sim):
    light = Parcel(Decimal(30), Decimal(20), Decimal(5), Decimal("1.2"))
    assert {r.amount for r in rates(sim, parcel=light)} == {Decimal("18.50"), Decimal("7.90")}
    us = sim.get_rates(
        from_addr=Address("Desk", "200 Varick St", "New York", "10014", "US", state="NY"),
        to_addr=Address("Sam Reed", "1 Main St", "Chicago", "60601", "US", state="IL"),
        parcel=light,
        reference="r",
    )
    assert {r.currency for r in us} == {"USD"}


def test_a_label_across_a_customs_border_needs_a_declaration_and_one_inside_the_eu_does_not(sim):
    light = Parcel(Decimal(30), Decimal(20), Decimal(5), Decimal("1.2"))
    new_york = Address("Desk", "200 Varick St", "New York", "10014", "US", state="NY")
    berlin = Address("Desk", "Friedrichstr. 68", "Berlin", "10117", "DE")
    paris = Address("Léa Martin", "8 rue de Rivoli", "Paris", "75004", "FR")
    with pytest.raises(PermanentCarrierError, match="customs declaration"):
        sim.get_rates(from_addr=new_york, to_addr=paris, parcel=light, reference="r")
    declared = Customs(contents_type="MERCHANDISE", certify_signer="Desk", incoterm="DDP", eel_pfc="NOEEI_30_37_a",
                       items=(CustomsItem("Laptop", 1, Decimal("1.2"), Decimal(900), "USD", "CN", "847130"),))
    assert sim.get_rates(from_addr=new_york, to_addr=paris, parcel=light, reference="r", customs=declared)
    assert sim.get_rates(from_addr=berlin, to_addr=paris, parcel=light, reference="r")


def test_buy_then_find_label_returns_the_same_label(sim):
    rate = rates(sim)[0]
    assert sim.find_labels(rate_id=rate.rate_id, reference="swap-1:out") == []
    label = sim.buy_label(rate_id=rate.rate_id, reference="swap-1:out")
    assert label.status == "SUCCESS" and label.carrier == "simulated"
    assert label.label_id.startswith("sim_tx_") and label.rate_id == rate.rate_id
    assert label.tracking_number.startswith("SIM")
    assert label.label_url == f"https://spares.example/labels/sim/{label.label_id}.svg"
    assert sim.find_labels(rate_id=rate.rate_id, reference="swap-1:out") == [label]
    assert sim.find_labels(rate_id=rate.rate_id, reference="swap-9:out") == []
    assert sim.get_label(label.label_id) == label


def test_a_rebuy_elsewhere_yields_the_same_label_id(sim, clock):
    rate = rates(sim)[0]
    label = sim.buy_label(rate_id=rate.rate_id, reference="swap-1:out")
    assert sim.buy_label(rate_id=rate.rate_id, reference="swap-1:out") == label
    other_process = SimulatedCarrier(clock)
    assert other_process.find_labels(rate_id=rate.rate_id, reference="swap-1:out") == []
    rebought = other_process.buy_label(rate_id=rate.rate_id, reference="swap-1:out")
    assert rebought.label_id == label.label_id


def test_unknown_rates_labels_and_long_references_are_refused(sim):
    with pytest.raises(PermanentCarrierError) as e:
        sim.buy_label(rate_id="rate_from_shippo", reference="x")
    assert e.value.retryable is False
    with pytest.raises(PermanentCarrierError):
        sim.buy_label(rate_id="sim_rate_sim_teleport_abc", reference="x")
    with pytest.raises(PermanentCarrierError):
        sim.get_label("sim_tx_nope")
    with pytest.raises(ValueError):
        sim.buy_label(rate_id=rates(sim)[0].rate_id, reference="x" * 101)


def test_tracking_advances_with_the_clock(sim, clock):
    label = sim.buy_label(rate_id=rates(sim)[0].rate_id, reference="swap-1:out")
    assert purchase_time(label.tracking_number) == T0

    def status_at(delta: timedelta) -> str:
        clock.at = T0 + delta
        return sim.track(carrier="simulated", tracking_number=label.tracking_number).status

    assert status_at(timedelta(0)) == "PRE_TRANSIT"
    assert status_at(timedelta(minutes=59)) == "PRE_TRANSIT"
    assert status_at(timedelta(hours=1)) == "TRANSIT"
    assert status_at(timedelta(hours=11, minutes=59)) == "TRANSIT"
    assert status_at(timedelta(hours=12)) == "DELIVERED"

    tracking = sim.track(carrier="simulated", tracking_number=label.tracking_number)
    assert [e.status for e in tracking.events] == ["PRE_TRANSIT", "TRANSIT", "TRANSIT", "DELIVERED"]
    assert [e.substatus for e in tracking.events][2] == "out_for_delivery"  # three quarters of the way
    assert [e.status_date for e in tracking.events] == [
        T0, T0 + timedelta(hours=1), T0 + timedelta(hours=9, minutes=15), T0 + timedelta(hours=12)
    ]  # fmt: skip
    assert all(e.status_date.tzinfo == UTC for e in tracking.events)
    assert tracking.events[-1].substatus == "delivered"
    assert tracking.eta == T0 + timedelta(hours=12)


def test_tracking_needs_no_shared_state_and_honours_thresholds(sim, clock):
    label = sim.buy_label(rate_id=rates(sim)[0].rate_id, reference="swap-1:out")
    clock.at = T0 + timedelta(minutes=20)
    worker = SimulatedCarrier(
        clock, in_transit_after=timedelta(minutes=10), delivered_after=timedelta(minutes=30)
    )
    assert worker.track(carrier="simulated", tracking_number=label.tracking_number).status == (
        "TRANSIT"
    )
    clock.at = T0 + timedelta(minutes=30)
    assert worker.track(carrier="simulated", tracking_number=label.tracking_number).status == (
        "DELIVERED"
    )
    unknown = worker.track(carrier="simulated", tracking_number="1Z999")
    assert (unknown.status, unknown.events) == ("UNKNOWN", [])


def test_webhook_payload_has_shippos_track_updated_shape(sim, clock):
    label = sim.buy_label(rate_id=rates(sim)[0].rate_id, reference="swap-1:out")
    clock.at = T0 + timedelta(hours=2)
    tracking = sim.track(carrier="simulated", tracking_number=label.tracking_number)
    payload = make_webhook_payload(tracking, transaction=label.label_id, metadata="swap-1:out")

    assert payload["event"] == "track_updated" and payload["test"] is True
    data = payload["data"]
    assert data["carrier"] == "simulated"
    assert data["tracking_number"] == label.tracking_number
    assert data["transaction"] == label.label_id and data["metadata"] == "swap-1:out"
    assert data["messages"] == []
    assert data["tracking_status"]["status"] == "TRANSIT"
    assert data["tracking_status"]["status_date"] == "2026-11-24T10:00:00Z"
    assert [s["status"] for s in data["tracking_history"]] == ["PRE_TRANSIT", "TRANSIT"]
    assert data["tracking_history"][-1] == data["tracking_status"]
    assert len({s["object_id"] for s in data["tracking_history"]}) == 2

    # The SDK's own model (strict about required fields and enums) accepts the JSON.
    parsed = components.WebhookPayloadTrack.from_json(json.dumps(payload))
    assert parsed.data.tracking_status.status == components.TrackingStatusEnum.TRANSIT
    assert parsed.data.tracking_history[0].substatus.code == "information_received"
    assert parsed.data.tracking_status.status_date == T0 + timedelta(hours=1)


def test_label_svg_is_well_formed_and_escaped():
    svg = render_label_svg("sim_tx_1", "SIM123", "London <Depot>", "Manchester & Co")
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "FROM: London <Depot>" in texts and "TO: Manchester & Co" in texts
    assert "SIM123" in texts and "sim_tx_1" in texts
    assert len(list(root.iter("{http://www.w3.org/2000/svg}rect"))) == 1 + len("SIM123")




def test_pickups_are_deterministic_and_in_utc(sim, clock):
    start = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    local = start.astimezone(ZoneInfo("Europe/Berlin"))
    one = sim.book_pickup(
        address=WORKER, label_ids=["sim_tx_a"], start=local, end=local + timedelta(hours=8),
        reference="swap-1:pickup",
    )  # fmt: skip
    two = SimulatedCarrier(clock).book_pickup(
        address=WORKER, label_ids=["sim_tx_a"], start=start, end=start + timedelta(hours=8),
        reference="swap-1:pickup",
    )  # fmt: skip
    assert one == two and one.status == "CONFIRMED"
    assert one.start == start and one.start.tzinfo == UTC
    with pytest.raises(PermanentCarrierError):
        sim.book_pickup(address=WORKER, label_ids=["x"], start=start, end=start, reference="r")
