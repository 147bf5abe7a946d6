"""The carrier port: what the domain needs from a courier, in plain values, free of SDK types.

Two adapters implement it: `ShippoCarrier` (the real API) and `SimulatedCarrier` (the embedded
default). Every call is synchronous and may raise `CarrierError`.

Buying a label or a pickup is not idempotent at the carrier. After an error the request may have
taken effect anyway (`CarrierError.maybe_done`), so callers look for the result first
(`find_labels(rate_id=…, reference=…)`, `find_pickup(…)`) and adopt it before asking again.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal, Protocol, get_args

TrackingStatus = Literal["PRE_TRANSIT", "TRANSIT", "DELIVERED", "RETURNED", "FAILURE", "UNKNOWN"]
LabelStatus = Literal["SUCCESS", "QUEUED", "ERROR"]
RefundStatus = Literal["QUEUED", "PENDING", "SUCCESS", "ERROR"]

TRACKING_STATUSES: frozenset[str] = frozenset(get_args(TrackingStatus))
MAX_REFERENCE_LENGTH = 100  # Shippo's metadata limit


@dataclass(frozen=True)
class Address:
    name: str
    street1: str
    city: str
    postal_code: str
    country: str  # ISO 3166-1 alpha-2
    street2: str | None = None
    state: str | None = None
    phone: str | None = None
    email: str | None = None
    company: str | None = None


@dataclass(frozen=True)
class AddressCheck:
    """What the carrier makes of an address: usable or not, why, and what it would correct."""

    valid: bool
    messages: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()  # the fields found wrong (our names: street1, city, region, postal_code)
    corrected: dict[str, str] | None = None  # field → the carrier's spelling, where it differs from ours


@dataclass(frozen=True)
class Parcel:
    length_cm: Decimal
    width_cm: Decimal
    height_cm: Decimal
    weight_kg: Decimal


@dataclass(frozen=True)
class CustomsItem:
    description: str
    quantity: int
    net_weight_kg: Decimal
    value: Decimal  # for the whole quantity
    currency: str
    origin_country: str  # where it was made
    hs_code: str  # Harmonized System tariff number


@dataclass(frozen=True)
class Customs:
    """A customs declaration for a shipment that crosses a customs border (see `shipping.customs`)."""

    contents_type: str  # MERCHANDISE | RETURN_MERCHANDISE
    items: tuple[CustomsItem, ...]
    certify_signer: str  # who certifies it is true
    incoterm: str  # DDP: the sender pays the duties, never the worker
    eel_pfc: str | None  # exports from the US only, e.g. NOEEI_30_37_a
    non_delivery_option: str = "RETURN"


@dataclass(frozen=True)
class Rate:
    rate_id: str
    carrier: str  # carrier token, e.g. "usps", "dhl_express": what `track` takes
    service_level: str  # service level token, e.g. "usps_priority_express"
    service_name: str
    amount: Decimal
    currency: str
    estimated_days: int | None


@dataclass(frozen=True)
class Label:
    label_id: str  # the carrier's transaction id
    tracking_number: str | None  # empty until the label is SUCCESS
    tracking_url: str | None
    label_url: str | None
    carrier: str
    rate_id: str
    status: LabelStatus
    live: bool = False  # bought with a live key (a test label never moves, and test events are for it)


@dataclass(frozen=True)
class Refund:
    label_id: str
    status: RefundStatus  # QUEUED/PENDING: the carrier is processing it; ERROR: refused


@dataclass(frozen=True)
class Pickup:
    pickup_id: str
    confirmation_code: str | None  # quote it to the carrier: pickups cannot be edited via API
    status: str  # PENDING | CONFIRMED | CANCELLED
    start: datetime
    end: datetime


@dataclass(frozen=True)
class TrackingEvent:
    status: TrackingStatus
    status_details: str
    status_date: datetime  # aware, UTC
    substatus: str | None = None  # e.g. "out_for_delivery"
    location: str | None = None
    action_required: bool = False  # the carrier says someone must act (missed delivery, address issue)


@dataclass(frozen=True)
class Tracking:
    carrier: str
    tracking_number: str
    status: TrackingStatus
    events: list[TrackingEvent] = field(default_factory=list)  # oldest first
    eta: datetime | None = None


class CarrierError(Exception):
    """A carrier call failed. `retryable` says whether the same call may succeed later;
    `retry_after` (seconds) is the carrier's hint, when it gave one; `maybe_done` whether the request
    may have taken effect all the same (its answer was lost, or the server failed midway)."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status_code: int | None = None,
        messages: Sequence[str] = (),
        maybe_done: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status_code = status_code
        self.messages = list(messages)  # the carrier's own texts, for operators
        self.maybe_done = maybe_done


class TemporaryCarrierError(CarrierError):
    """5xx, 429, timeouts, connection failures: try again later (after looking for what an attempt
    whose answer was lost did). Unless the carrier refused before acting (429, 503, no connection
    made), the request may have been carried out."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status_code: int | None = None,
        messages: Sequence[str] = (),
        maybe_done: bool = True,
    ) -> None:
        super().__init__(
            message,
            retryable=True,
            retry_after=retry_after,
            status_code=status_code,
            messages=messages,
            maybe_done=maybe_done,
        )


class PermanentCarrierError(CarrierError):
    """4xx, a label in ERROR, an unreadable answer: retrying the same request will not help."""

    def __init__(
        self, message: str, *, status_code: int | None = None, messages: Sequence[str] = ()
    ) -> None:
        super().__init__(message, retryable=False, status_code=status_code, messages=messages)


def check_reference(reference: str) -> str:
    if len(reference) > MAX_REFERENCE_LENGTH:
        raise ValueError(f"carrier reference longer than {MAX_REFERENCE_LENGTH} characters")
    return reference


class Carrier(Protocol):
    name: str  # "shippo" | "simulated"
    finds_pickups: bool  # whether `find_pickup` can see pickups booked earlier (Shippo cannot)
    # How long after it was sent a request whose answer never came may still be carried out: a retry
    # looks for its result only after that, or it could miss a purchase still landing and buy again.
    settle_after: timedelta

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
        """All rates on offer; the caller chooses. For a return label pass the *outbound*
        orientation (from = depot, to = worker): the carrier swaps them. A shipment across a customs
        border needs `customs`."""
        ...

    def validate_address(self, address: Address) -> AddressCheck:
        """Ask the carrier whether it can deliver to `address` (and how it would write it). An outage
        raises a CarrierError: the caller decides what waits."""
        ...

    def buy_label(self, *, rate_id: str, reference: str) -> Label:
        """Buy the label for a rate; `reference` (≤100 chars) is stored with it so that
        `find_labels` can recognise it. May return a QUEUED label: poll `get_label`."""
        ...

    def find_labels(self, *, rate_id: str, reference: str) -> list[Label]:
        """Every usable (bought or queued) label already bought for this rate and reference, oldest
        first: one after a purchase whose answer was lost, two if it was bought twice."""
        ...

    def get_label(self, label_id: str) -> Label: ...

    def book_pickup(
        self,
        *,
        address: Address,
        label_ids: list[str],
        start: datetime,
        end: datetime,
        reference: str,
    ) -> Pickup: ...

    def find_pickup(self, *, reference: str, label_ids: list[str], day: date) -> Pickup | None:
        """A pickup already booked for these labels on that day, when the carrier can say
        (`finds_pickups`); None otherwise."""
        ...

    def refund_label(self, *, label_id: str) -> Refund:
        """Void an unused label and get its price back. Safe to repeat: a label already refunded
        (or being refunded) answers with that refund instead of asking again."""
        ...

    def track(self, *, carrier: str, tracking_number: str) -> Tracking: ...
