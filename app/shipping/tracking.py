"""Applying carrier tracking events (webhook or poll) to shipments, swaps and units.

Idempotent: each (shipment, status, status date) is stored once; a replay changes nothing.
Order-safe: a status never moves backwards (a late TRANSIT after DELIVERED is recorded, not applied)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.inventory import returns
from app.inventory.states import UnitState
from app.inventory.units import transition_unit
from app.models import Shipment, SpareUnit, SwapRequest, TrackingEventRecord
from app.swaps.reserve import fulfil
from app.swaps.states import TRANSITIONS, SwapStatus
from app.swaps.timeline import add_event, move

RANK = {"UNKNOWN": 0, "PRE_TRANSIT": 1, "TRANSIT": 2, "DELIVERED": 3, "RETURNED": 3, "FAILURE": 3}
TERMINAL = frozenset({"DELIVERED", "RETURNED", "FAILURE"})


@dataclass(frozen=True)
class Event:
    carrier: str | None
    tracking_number: str
    status: str
    status_date: datetime
    details: str | None = None
    substatus: str | None = None


def supersedes(current: str | None, current_at: datetime | None, new: str, new_at: datetime) -> bool:
    """Whether `new` should replace the shipment's `current` status. Terminal statuses are final;
    UNKNOWN carries no news; otherwise only forward moves apply."""
    if new not in RANK or new == "UNKNOWN":
        return False
    if current is None:
        return True
    if current in TERMINAL:
        return False
    if RANK[new] != RANK[current]:
        return RANK[new] > RANK[current]
    return new != current and current_at is not None and new_at > current_at


def find_shipment(session: Session, carrier: str | None, tracking_number: str) -> Shipment | None:
    rows = list(session.scalars(select(Shipment).where(Shipment.tracking_number == tracking_number)
                                .with_for_update()))
    # Tracking numbers are unique per carrier only.
    exact = [r for r in rows if carrier is None or r.carrier == carrier]
    return (exact or rows or [None])[0]


def apply_event(session: Session, event: Event, *, source: str) -> str:
    """Returns 'applied', 'recorded' (kept, but no status change), 'duplicate' or 'unknown'."""
    shipment = find_shipment(session, event.carrier, event.tracking_number)
    if shipment is None:
        return "unknown"
    now = clock.now()
    record = TrackingEventRecord(shipment_id=shipment.id, status=event.status, substatus=event.substatus,
                                 details=(event.details or "")[:500], status_date=event.status_date,
                                 applied=False, source=source, received_at=now)
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        return "duplicate"
    shipment.last_event_at = now
    if not supersedes(shipment.tracking_status, shipment.tracking_status_at, event.status, event.status_date):
        return "recorded"
    record.applied = True
    shipment.tracking_status, shipment.tracking_status_at = event.status, event.status_date
    shipment.updated_at = now
    swap = session.scalars(select(SwapRequest).where(SwapRequest.id == shipment.swap_id)
                           .with_for_update(of=SwapRequest)).unique().one()
    if shipment.direction == "outbound":
        _outbound(session, swap, event)
    else:
        _return(session, swap, event)
    return "applied"


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
    unit = session.scalars(select(SpareUnit).where(SpareUnit.id == swap.unit_id).with_for_update(of=SpareUnit)).unique().one_or_none()
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
        returns.broken_unit_moves(session, swap, UnitState.AWAITING_RETURN, "replacement delivered")
    elif event.status in ("FAILURE", "RETURNED"):
        if SwapStatus.EXCEPTION in TRANSITIONS[SwapStatus(swap.status)]:
            move(session, swap, SwapStatus.EXCEPTION,
                 f"The courier reports {event.status.lower()}: {event.details or 'no details'}. Support is on it.",
                 substatus=event.substatus)
    elif event.status == "PRE_TRANSIT":
        add_event(session, swap, "label_scanned", "The courier has the shipment details.")


def _return(session: Session, swap: SwapRequest, event: Event) -> None:
    if event.status == "TRANSIT":
        _advance(session, swap, [SwapStatus.RETURN_IN_TRANSIT], "Your old device is on its way back to us.")
        returns.broken_unit_moves(session, swap, UnitState.RETURNING, "collected by the courier")
    elif event.status == "DELIVERED":
        _advance(session, swap, [SwapStatus.RETURN_IN_TRANSIT, SwapStatus.RETURNED],
                 "Your old device has reached our depot. Thank you!")
    elif event.status in ("FAILURE", "RETURNED"):
        add_event(session, swap, "return_problem",
                  f"The return shipment reports {event.status.lower()}: {event.details or 'no details'}.")
