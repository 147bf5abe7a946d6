"""Booking a swap's courier work: the outbound label, the return label, and (for a same-visit
swap) a pickup at the worker's door on the delivery day.

Runs in the outbox worker, never in a request. Each step commits on its own and never holds a
transaction open across a carrier call. A label is bought at most once per shipment: the chosen
rate is committed before buying, and a retry first asks the carrier for a label already bought for
that rate and reference (a purchase whose answer was lost), adopting it instead of buying again."""

from dataclasses import dataclass
from datetime import date, datetime, time
from time import sleep
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app import clock
from app.db import unit_of_work
from app.inventory import returns
from app.models import Shipment, SwapRequest
from app.shipping import refunds
from app.shipping.calendar import add_business_days
from app.shipping.carrier import (
    Address,
    Carrier,
    Parcel,
    PermanentCarrierError,
    TemporaryCarrierError,
)
from app.shipping.labels import record_label
from app.shipping.rates import choose_rate
from app.swaps.schemas import ReturnMode
from app.swaps.states import SwapStatus
from app.swaps.timeline import add_event, move

OUTBOUND, RETURN = "outbound", "return"
READ_TRIES = 3  # reads (rates, label look-ups) are retried in place; a purchase never is
READ_PAUSE_SECONDS = 0.5


def _read(call, **kwargs):
    """A carrier read, retried a few times on temporary errors before the whole job backs off."""
    for attempt in range(1, READ_TRIES + 1):
        try:
            return call(**kwargs)
        except TemporaryCarrierError as exc:
            if attempt == READ_TRIES or (exc.retry_after or 0) > 10:
                raise
            sleep(exc.retry_after or READ_PAUSE_SECONDS * attempt)


@dataclass(frozen=True)
class BookingPlan:
    swap_id: int
    depot: Address
    worker: Address
    worker_timezone: str
    parcel: Parcel
    return_mode: ReturnMode
    ship_date: date
    promised_date: date
    depot_country: str


def _plan(session: Session, swap: SwapRequest) -> BookingPlan:
    d, model = swap.depot, swap.unit.model
    return BookingPlan(
        swap_id=swap.id,
        depot=Address(name=d.contact_name, company=d.company, street1=d.street1, street2=d.street2, city=d.city,
                      state=d.state, postal_code=d.postal_code, country=d.country, phone=d.phone, email=d.email),
        worker=Address(name=swap.worker_name, street1=swap.street1, street2=swap.street2, city=swap.city,
                       state=swap.region, postal_code=swap.postal_code, country=swap.country,
                       phone=swap.worker_phone, email=swap.worker_email),
        worker_timezone=swap.worker_timezone,
        parcel=Parcel(length_cm=model.length_cm, width_cm=model.width_cm, height_cm=model.height_cm,
                      weight_kg=model.weight_kg),
        return_mode=ReturnMode(swap.return_mode), ship_date=swap.ship_date, promised_date=swap.promised_date,
        depot_country=d.country,
    )


def _shipment(session: Session, swap_id: int, direction: str, provider: str) -> Shipment:
    row = session.scalars(select(Shipment).where(Shipment.swap_id == swap_id, Shipment.direction == direction)
                          .with_for_update()).one_or_none()
    if row is None:
        now = clock.now()
        row = Shipment(swap_id=swap_id, direction=direction, provider=provider, reference=f"swap-{swap_id}-{direction}",
                       label_status="pending", created_at=now, updated_at=now)
        session.add(row)
        session.flush()
    return row


def book_swap(factory: sessionmaker[Session], carrier: Carrier, swap_id: int) -> None:
    with unit_of_work(factory) as session:
        swap = session.get(SwapRequest, swap_id)
        if swap is None or swap.status != SwapStatus.ALLOCATED or swap.unit is None:
            _void_if_cancelled(session, swap)
            return  # cancelled, backordered again or already booked: nothing (more) to do
        plan = _plan(session, swap)
    transit_days = _business_days(plan.ship_date, plan.promised_date, plan.depot_country)
    outbound = _ensure_label(factory, carrier, plan, OUTBOUND, max_days=transit_days, carrier_token=None)
    ret = None
    if plan.return_mode != ReturnMode.NO_RETURN:
        if not _still_wanted(factory, swap_id):
            return
        ret = _ensure_label(factory, carrier, plan, RETURN, max_days=None, carrier_token=outbound.carrier)
    return_plan, pickup_note = plan.return_mode.value, None
    if plan.return_mode == ReturnMode.SWAP_AT_DOOR and ret is not None:
        return_plan, pickup_note = _ensure_pickup(factory, carrier, plan, ret)
    _finish(factory, plan, outbound, ret, return_plan, pickup_note)


def _void_if_cancelled(session: Session, swap: SwapRequest | None) -> None:
    """A swap cancelled while its booking ran: the labels bought for it are voided, not kept."""
    if swap is not None and swap.status == SwapStatus.CANCELLED and refunds.has_labels(session, swap.id):
        refunds.request_void(session, swap)


def _still_wanted(factory, swap_id: int) -> bool:
    """Checked between purchases, so a cancel stops the spending as soon as it can."""
    with unit_of_work(factory) as session:
        swap = session.get(SwapRequest, swap_id)
        if swap.status == SwapStatus.ALLOCATED:
            return True
        _void_if_cancelled(session, swap)
        return False


def _business_days(start: date, end: date, country: str) -> int:
    n, day = 0, start
    while day < end:
        day = add_business_days(day, 1, country)
        n += 1
    return max(n, 1)


def _ensure_label(factory, carrier: Carrier, plan: BookingPlan, direction: str, *, max_days: int | None,
                  carrier_token: str | None) -> Shipment:
    with unit_of_work(factory) as session:
        row = _shipment(session, plan.swap_id, direction, carrier.name)
        if row.label_status == "SUCCESS":
            return row
        rate_id, reference = row.rate_id, row.reference
    if rate_id is None:
        rates = _read(carrier.get_rates, from_addr=plan.depot, to_addr=plan.worker, parcel=plan.parcel,
                      reference=reference, is_return=direction == RETURN)
        rate = choose_rate(rates, max_days=max_days, carrier=carrier_token)
        if rate is None:
            raise PermanentCarrierError(f"no {direction} rate offered for swap {plan.swap_id}")
        with unit_of_work(factory) as session:  # committed before buying: a retry looks for this rate's label
            row = _shipment(session, plan.swap_id, direction, carrier.name)
            row.rate_id, row.carrier, row.service_level = rate.rate_id, rate.carrier, rate.service_level
            row.service_name, row.amount, row.currency = rate.service_name, rate.amount, rate.currency
            row.estimated_days, row.updated_at = rate.estimated_days, clock.now()
        rate_id = rate.rate_id
    label = _read(carrier.find_label, rate_id=rate_id, reference=reference) or carrier.buy_label(
        rate_id=rate_id, reference=reference)
    if label.status == "QUEUED":
        label = _read(carrier.get_label, label_id=label.label_id)
    with unit_of_work(factory) as session:
        row = _shipment(session, plan.swap_id, direction, carrier.name)
        record_label(row, label)
        result = row
    if label.status != "SUCCESS":
        raise TemporaryCarrierError(f"{direction} label {label.label_id} still {label.status}")
    return result


def _ensure_pickup(factory, carrier: Carrier, plan: BookingPlan, ret: Shipment) -> tuple[str, str | None]:
    if ret.pickup_id:
        return ReturnMode.SWAP_AT_DOOR.value, None
    tz = ZoneInfo(plan.worker_timezone)
    start = datetime.combine(plan.promised_date, time(9, 0), tzinfo=tz)
    end = datetime.combine(plan.promised_date, time(17, 0), tzinfo=tz)
    try:
        pickup = carrier.book_pickup(address=plan.worker, label_ids=[ret.label_id], start=start, end=end,
                                     reference=f"swap-{plan.swap_id}-pickup")
    except PermanentCarrierError as exc:
        # Shippo books pickups only for some carriers: fall back to a return label in the box.
        return ReturnMode.RETURN_BOX.value, (f"A same-visit collection could not be booked ({exc}); "
                                             "a prepaid return label goes in the box instead.")
    with unit_of_work(factory) as session:
        row = _shipment(session, plan.swap_id, RETURN, carrier.name)
        row.pickup_id, row.pickup_confirmation = pickup.pickup_id, pickup.confirmation_code
        row.pickup_date, row.updated_at = plan.promised_date, clock.now()
    return ReturnMode.SWAP_AT_DOOR.value, None


def _finish(factory, plan: BookingPlan, outbound: Shipment, ret: Shipment | None, return_plan: str,
            pickup_note: str | None) -> None:
    with unit_of_work(factory) as session:
        swap = session.scalars(select(SwapRequest).where(SwapRequest.id == plan.swap_id).with_for_update(of=SwapRequest)).unique().one()
        if swap.status != SwapStatus.ALLOCATED:
            _void_if_cancelled(session, swap)
            return
        swap.return_plan = return_plan
        if pickup_note:
            add_event(session, swap, "return_fallback", pickup_note)
        what_back = {
            ReturnMode.SWAP_AT_DOOR.value: "The courier collects your old device when delivering the new one.",
            ReturnMode.RETURN_BOX.value: "A prepaid return label is in the box for your old device.",
            ReturnMode.NO_RETURN.value: "Nothing needs to come back.",
        }[return_plan]
        return_row = session.scalars(select(Shipment).where(Shipment.swap_id == swap.id,
                                                            Shipment.direction == RETURN)).one_or_none()
        returns.expect_return(session, swap, return_plan=return_plan, return_shipment=return_row,
                              box_contents=list(swap.unit.box_contents or []))
        move(session, swap, SwapStatus.LABEL_BOOKED,
             f"Courier booked: {outbound.service_name} with {outbound.carrier}, tracking {outbound.tracking_number}. "
             + what_back,
             outbound_tracking=outbound.tracking_number, return_tracking=ret.tracking_number if ret else None,
             return_plan=return_plan)

