"""Booking the courier's visit to collect the old device (same-visit swaps), exactly once.

A pickup request is recorded, and committed, before the carrier is called, and settled after. If an
earlier call's answer was lost (a timeout, a dropped connection, a worker killed mid-call), the
pickup may exist: a carrier that can be asked is asked first and its pickup adopted; Shippo cannot
be asked (it has no way to list, fetch or cancel pickups), so the request is left `unconfirmed` and
support is asked to confirm it with the carrier instead of a second courier being sent. A refusal
that the carrier made before acting (429, 503, a connection never made) is safe to ask again.
A pickup nobody needs any more (its swap was cancelled) is recorded as orphaned, for support to
cancel with the carrier."""

from collections.abc import Callable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from app import clock
from app.db import unit_of_work
from app.models import PickupRequest, Shipment, SwapRequest
from app.shipping import repository
from app.shipping.carrier import (
    Address,
    Carrier,
    CarrierError,
    PermanentCarrierError,
    Pickup,
    TemporaryCarrierError,
)
from app.shipping.states import PickupState
from app.swaps.schemas import ReturnMode
from app.swaps.timeline import add_event

WINDOW = (time(9, 0), time(17, 0))  # local time at the worker's address


def reference_for(swap_id: int) -> str:
    return f"swap-{swap_id}-pickup"


def ensure_pickup(factory: sessionmaker[Session], carrier: Carrier, *, swap_id: int, shipment_id: int,
                  label_id: str, address: Address, timezone: str, day: date,
                  fence: Callable[[Session], None]) -> tuple[str, str | None]:
    """(return plan, note for the timeline). Falls back to a return label in the box when the
    carrier does not collect here."""
    reference = reference_for(swap_id)
    with unit_of_work(factory) as session:
        request = repository.pickup_request_for_update(session, reference)
        if request is not None and request.status in (PickupState.CONFIRMED, PickupState.UNCONFIRMED):
            return ReturnMode.SWAP_AT_DOOR.value, None
        fence(session)
        answer_lost = request is not None and request.status == PickupState.REQUESTING
        asked_at = request.updated_at if answer_lost else None
        now = clock.now()
        if request is None:
            request = PickupRequest(shipment_id=shipment_id, reference=reference, day=day, attempts=0,
                                    created_at=now)
            session.add(request)
        if not answer_lost:  # when it is, updated_at keeps the time it was asked
            request.status, request.updated_at = PickupState.REQUESTING.value, now
            request.attempts += 1
    if answer_lost and carrier.finds_pickups and clock.now() < asked_at + carrier.settle_after:
        raise TemporaryCarrierError("the pickup asked for earlier may still be being booked; looking for it once "
                                    "it has settled", maybe_done=False,
                                    retry_after=(asked_at + carrier.settle_after - clock.now()).total_seconds())
    if answer_lost:
        found = carrier.find_pickup(reference=reference, label_ids=[label_id], day=day)
        if found is not None:
            _confirmed(factory, reference, found, day)
            return ReturnMode.SWAP_AT_DOOR.value, None
        if not carrier.finds_pickups:
            _unconfirmed(factory, reference, carrier.name)
            return ReturnMode.SWAP_AT_DOOR.value, None
        with unit_of_work(factory) as session:  # the carrier has none: asking again is safe
            request = _request(session, reference)
            fence(session)
            request.updated_at, request.attempts = clock.now(), request.attempts + 1
    tz = ZoneInfo(timezone)
    try:
        pickup = carrier.book_pickup(address=address, label_ids=[label_id],
                                     start=datetime.combine(day, WINDOW[0], tzinfo=tz),
                                     end=datetime.combine(day, WINDOW[1], tzinfo=tz), reference=reference)
    except PermanentCarrierError as exc:
        _settle(factory, reference, PickupState.REFUSED, str(exc))
        # Shippo books pickups only for some carriers: fall back to a return label in the box.
        return ReturnMode.RETURN_BOX.value, (f"A same-visit collection could not be booked ({exc}); "
                                             "a prepaid return label goes in the box instead.")
    except CarrierError as exc:
        # A refusal made before acting is safe to ask again; otherwise the pickup may exist.
        _settle(factory, reference, PickupState.REQUESTING if exc.maybe_done else PickupState.FAILED, str(exc))
        raise
    _confirmed(factory, reference, pickup, day)
    return ReturnMode.SWAP_AT_DOOR.value, None


def _request(session: Session, reference: str) -> PickupRequest:
    request = repository.pickup_request_for_update(session, reference)
    assert request is not None, reference  # recorded before any call
    return request


def _settle(factory, reference: str, status: PickupState, error: str | None = None) -> None:
    with unit_of_work(factory) as session:
        request = _request(session, reference)
        request.status, request.last_error = status.value, (error or "")[:2000] or None
        request.updated_at = clock.now()


def _confirmed(factory, reference: str, pickup: Pickup, day: date) -> None:
    with unit_of_work(factory) as session:
        request = _request(session, reference)
        request.status, request.updated_at = PickupState.CONFIRMED.value, clock.now()
        request.carrier_pickup_id, request.confirmation_code = pickup.pickup_id, pickup.confirmation_code
        shipment = session.get(Shipment, request.shipment_id, with_for_update=True)
        shipment.pickup_id, shipment.pickup_confirmation = pickup.pickup_id, pickup.confirmation_code
        shipment.pickup_date, shipment.updated_at = day, clock.now()


def _unconfirmed(factory, reference: str, carrier_name: str) -> None:
    with unit_of_work(factory) as session:
        request = _request(session, reference)
        request.status, request.updated_at = PickupState.UNCONFIRMED.value, clock.now()
        shipment = session.get(Shipment, request.shipment_id)
        add_event(session, session.get(SwapRequest, shipment.swap_id), "pickup_unconfirmed",
                  f"A courier collection was requested for {request.day:%A %d %B} but the carrier's answer was "
                  f"lost, and {carrier_name} cannot be asked about pickups. It was not requested again (that "
                  f"could send two couriers): confirm it with the carrier, quoting reference {reference} and "
                  f"return tracking number {shipment.tracking_number}.", reference=reference, escalated=True)


def orphan_pickups(session: Session, swap: SwapRequest) -> None:
    """The swap was cancelled: a collection booked for it is a courier visit nobody expects."""
    for request in repository.live_pickups_of_swap(session, swap.id):
        request.status, request.updated_at = PickupState.ORPHANED.value, clock.now()
        code = request.confirmation_code or "unknown (the carrier's answer was lost)"
        add_event(session, swap, "pickup_orphaned",
                  f"The courier collection booked for {request.day:%A %d %B} is no longer needed: cancel it with "
                  f"the carrier (confirmation {code}, reference {request.reference}).", escalated=True)
