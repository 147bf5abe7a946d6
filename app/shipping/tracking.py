"""Applying carrier tracking events (webhook or poll) to shipments, swaps and units.

Idempotent: each (shipment, status, substatus, carrier's date) is stored once; a replay changes
nothing. Order-safe: a status never moves backwards (a late TRANSIT after DELIVERED is recorded, not
applied). DELIVERED and RETURNED are final; FAILURE is not: a carrier that finds a lost parcel goes on
to report it in transit or delivered, and that later news is applied. What the courier needs from the
worker (a missed delivery, an address problem, a parcel held) reaches the swap's timeline, the
worker's page and support even when the status itself does not change."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from app import clock, events, writes
from app.inventory import repository as inventory
from app.inventory.states import UnitState
from app.inventory.units import transition_unit
from app.models import Shipment, SpareUnit, SwapRequest, TrackingEventRecord
from app.shipping import repository
from app.shipping.states import FINAL_TRACKING, Direction
from app.swaps.reserve import fulfil
from app.swaps.states import TRANSITIONS, SwapStatus
from app.swaps.timeline import add_event, move

RANK = {"UNKNOWN": 0, "PRE_TRANSIT": 1, "TRANSIT": 2, "FAILURE": 3, "DELIVERED": 4, "RETURNED": 4}
# After a FAILURE, later news of the parcel moving or arriving is applied.
AFTER_FAILURE = frozenset({"TRANSIT", "DELIVERED", "RETURNED"})

# What a courier's substatus means for the worker, in their words, and whether support must act.
# Codes are Shippo's; `action_required` from the carrier escalates whatever the code.
COURIER_NEWS: dict[str, tuple[str, bool]] = {
    "delivery_attempted": (("The courier tried to deliver but nobody could take the parcel. They will try "
                           "again or leave a note saying where to collect it."), True),
    "address_issue": ("The courier has a problem with the delivery address. Support will check it with you.",
                      True),
    "contact_carrier": ("The courier needs to be contacted about this delivery. Support is on it.", True),
    "location_inaccessible": ("The courier could not reach the delivery address. Support is on it.", True),
    "notice_left": ("The courier left a note: follow it to rearrange delivery or collect the parcel.", True),
    "package_damaged": ("The courier reports the parcel was damaged on the way. Support is on it.", True),
    "package_held": (("The courier is holding the parcel for now. Support is on it and will tell you when it "
                     "moves again."), True),
    "pickup_available": (("The parcel is waiting for you at a pickup point: the courier's tracking page says "
                         "where."), True),
    "reschedule_delivery": ("The courier needs the delivery rescheduled. Support is on it.", True),
    "delivery_rescheduled": ("The courier has rescheduled the delivery.", False),
    "delayed": ("The courier reports a delay.", False),
    "out_for_delivery": ("Your replacement is out for delivery today.", False),
}
OUT_FOR_DELIVERY = "out_for_delivery"


@dataclass(frozen=True)
class Event:
    carrier: str | None
    tracking_number: str
    status: str
    status_date: datetime | None  # the carrier's date for the event; some (UNKNOWN) have none
    details: str | None = None
    substatus: str | None = None
    action_required: bool = False
    location: str | None = None
    transaction: str | None = None  # the carrier's label id, when the event names it
    test: bool = False  # a carrier test-mode event

    @property
    def key(self) -> str:
        """Identifies the event across webhooks and polls (never the time we received it)."""
        when = "-" if self.status_date is None else self.status_date.astimezone(UTC).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ")
        return f"{self.status}|{self.substatus or ''}|{when}"[:120]


def supersedes(current: str | None, current_at: datetime | None, new: str, new_at: datetime) -> bool:
    """Whether `new` should replace the shipment's `current` status. UNKNOWN carries no news; final
    statuses stay; otherwise only forward moves apply, and after a FAILURE any later movement."""
    if new not in RANK or new == "UNKNOWN":
        return False
    if current is None:
        return True
    if current in FINAL_TRACKING:
        return False
    if current == "FAILURE":
        return new in AFTER_FAILURE and (current_at is None or new_at > current_at)
    if RANK[new] != RANK[current]:
        return RANK[new] > RANK[current]
    return new != current and current_at is not None and new_at > current_at


def courier_news(substatus: str | None, action_required: bool, details: str | None) -> tuple[str, bool] | None:
    """(message for the worker, escalate to support) for a substatus worth telling, else None."""
    if substatus in COURIER_NEWS:
        message, escalate = COURIER_NEWS[substatus]
        return message, escalate or action_required
    if action_required:
        return ((f"The courier needs something to complete the delivery ({details or substatus or 'no details'}). "
                "Support is on it."), True)
    return None


def find_shipment(session: Session, *, carrier: str | None, tracking_number: str,
                  transaction: str | None = None) -> Shipment | None:
    """The shipment an event is about. The label id, when given, settles it; else the tracking number
    with the carrier (numbers are unique per carrier only, and carriers reuse them: the newest wins).
    An event naming another carrier is not ours."""
    if transaction:
        row = repository.shipment_by_label(session, transaction)
        if row is not None:
            return row
    rows = repository.shipments_by_tracking(session, tracking_number)
    if carrier:
        rows = [r for r in rows if (r.carrier or "").lower() == carrier.lower()]
    return rows[0] if rows else None


def apply_event(session: Session, event: Event, *, source: str, keep_test_events: bool = True) -> str:
    """Returns 'applied' (the status moved or the worker was told something), 'recorded' (kept, no
    change), 'duplicate', 'unknown' (not our shipment) or 'test_event' (a test event about a live
    shipment: kept, or dropped when `keep_test_events` is off, and never applied)."""
    found = find_shipment(session, carrier=event.carrier, tracking_number=event.tracking_number,
                          transaction=event.transaction)
    if found is None:
        return "unknown"
    # Locks in one order everywhere: the swap, then its shipments (a sweep that holds a swap and
    # writes beside it never waits on a shipment this transaction holds).
    swap = repository.swap_for_update(session, found.swap_id)
    shipment = repository.shipment_by_id_for_update(session, found.id)
    now = clock.now()
    is_test = event.test and shipment.live
    if is_test and not keep_test_events:
        return "test_event"
    when = event.status_date or now
    fresh = shipment.tracking_status_at is None or when >= shipment.tracking_status_at
    moved = not is_test and supersedes(shipment.tracking_status, shipment.tracking_status_at, event.status, when)
    news = courier_news(event.substatus, event.action_required, event.details) if fresh and not is_test else None
    # A test event is kept apart from the live event it may mimic, which must still apply when it comes.
    key = f"test|{event.key}"[:120] if is_test else event.key
    record = TrackingEventRecord(shipment_id=shipment.id, event_key=key, status=event.status,
                                 substatus=event.substatus, details=(event.details or "")[:500],
                                 location=(event.location or None) and event.location[:200],
                                 status_date=event.status_date, applied=moved or news is not None, test=event.test,
                                 source=source, received_at=now)
    record = repository.insert_event_once(session, record)
    if record is None:
        return "duplicate"
    if is_test:
        return "test_event"
    if moved:  # the shipment's news, written with the rows that follow from it
        writes.update(session, shipment, last_event_at=now, tracking_status=event.status, tracking_status_at=when,
                      updated_at=now)
        if shipment.direction == Direction.OUTBOUND:
            _outbound(session, swap, event)
        else:
            _return(session, swap, event)
        events.record(session, events.ShipmentStatusChanged(shipment_id=shipment.id, swap_id=swap.id,
                                                            direction=shipment.direction, status=event.status))
    elif fresh and event.status == shipment.tracking_status:
        # the latest word on the current status: older news is stale
        writes.update(session, shipment, last_event_at=now, tracking_status_at=when)
    else:
        writes.update(session, shipment, last_event_at=now)
    if news is not None:
        _tell(session, swap, shipment, event, *news)
    return "applied" if record.applied else "recorded"


def _tell(session: Session, swap: SwapRequest, shipment: Shipment, event: Event, message: str,
          escalate: bool) -> None:
    if shipment.direction != Direction.OUTBOUND:  # the worker is not the recipient of the return: support only
        add_event(session, swap, "return_attention", f"The return parcel ({shipment.tracking_number}): "
                  f"{event.details or event.substatus}.", substatus=event.substatus, escalated=escalate)
        return
    kind = OUT_FOR_DELIVERY if event.substatus == OUT_FOR_DELIVERY else "courier_attention"
    add_event(session, swap, kind, message, substatus=event.substatus, carrier_text=event.details,
              location=event.location, escalated=escalate)
    events.record(session, events.CourierNews(swap_id=swap.id, kind=kind, message=message, escalate=escalate))


def _advance(session: Session, swap: SwapRequest, path: list[SwapStatus], message: str, **data) -> None:
    """Walk the swap along `path` from wherever it is (a missed event must not strand it)."""
    current = SwapStatus(swap.status)
    if current not in path and path[0] not in TRANSITIONS[current]:
        return
    start = path.index(current) + 1 if current in path else 0
    for target in path[start:]:
        move(session, swap, target, message if target == path[-1] else f"({target.value})", **data)


def _unit_to(session: Session, unit: SpareUnit | None, path: list[UnitState], reason: str, ref: str) -> None:
    """Walk the unit along `path` from its current state (a step not scanned at the bench is filled in)."""
    if unit is None or unit.state not in path:
        return
    for target in path[path.index(UnitState(unit.state)) + 1:]:
        transition_unit(session, unit, target, actor="carrier", reason=reason, reference=ref)


def _outbound(session: Session, swap: SwapRequest, event: Event) -> None:
    ref = f"swap:{swap.id}"
    unit = inventory.get_unit_for_update(session, swap.unit_id) if swap.unit_id else None
    if event.status == "TRANSIT":
        _unit_to(session, unit, [UnitState.RESERVED, UnitState.PACKED, UnitState.IN_TRANSIT],
                 "collected by the courier", ref)
        _advance(session, swap, [SwapStatus.SHIPPED], "Your replacement is on its way.",
                 details=event.details)
    elif event.status == "DELIVERED":
        _unit_to(session, unit, [UnitState.RESERVED, UnitState.PACKED, UnitState.IN_TRANSIT, UnitState.DEPLOYED],
                 "delivered to the worker", ref)
        fulfil(session, swap)
        _advance(session, swap, [SwapStatus.SHIPPED, SwapStatus.DELIVERED], "Delivered. Is everything working?",
                 details=event.details)
    elif event.status in ("FAILURE", "RETURNED"):
        if SwapStatus.EXCEPTION in TRANSITIONS[SwapStatus(swap.status)]:
            move(session, swap, SwapStatus.EXCEPTION,
                 f"The courier reports {event.status.lower()}: {event.details or 'no details'}. Support is on it.",
                 substatus=event.substatus, escalated=True)
    elif event.status == "PRE_TRANSIT":
        add_event(session, swap, "label_scanned", "The courier has the shipment details.")


def _return(session: Session, swap: SwapRequest, event: Event) -> None:
    # The broken unit's own record follows the courier through `ShipmentStatusChanged` (warehouse).
    if event.status == "TRANSIT":
        _advance(session, swap, [SwapStatus.RETURN_IN_TRANSIT], "Your old device is on its way back to us.")
    elif event.status == "DELIVERED":
        _advance(session, swap, [SwapStatus.RETURN_IN_TRANSIT, SwapStatus.RETURNED],
                 "Your old device has reached our depot. Thank you!")
    elif event.status in ("FAILURE", "RETURNED"):
        add_event(session, swap, "return_problem",
                  f"The return shipment reports {event.status.lower()}: {event.details or 'no details'}.",
                  escalated=True)
