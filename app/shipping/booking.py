"""Booking a swap's courier work: the outbound label, the return label, and (for a same-visit
swap) a pickup at the worker's door on the delivery day.

Runs in the outbox worker, never in a request. Each step commits on its own and never holds a
transaction open across a carrier call. Every call that spends money (a label, a pickup) is preceded
by `fence(session)` in the transaction that records the intent: it proves the worker still holds the
job's lease, else the step stops before spending. A label is bought at most once per shipment: the
chosen rate is committed before buying, and *every* purchase is preceded by a look-up of labels
already bought for that rate and reference (a purchase whose answer was lost, or another worker's),
which are adopted instead; a second label found that way is recorded and refunded."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from time import sleep

from sqlalchemy.orm import Session, sessionmaker

from app import clock, events
from app.db import unit_of_work
from app.errors import Unprocessable
from app.inventory.calendar import business_days_between
from app.models import Shipment, SwapRequest
from app.shipping import address_check, pickups, refunds, repository
from app.shipping.carrier import (
    Address,
    Carrier,
    Parcel,
    PermanentCarrierError,
    TemporaryCarrierError,
)
from app.shipping.customs import Goods, as_record, declaration
from app.shipping.labels import record_extra_label, record_label
from app.shipping.rates import choose_rate
from app.shipping.states import Direction, LabelState
from app.swaps import repository as swaps_repository
from app.swaps.addresses import UNCHECKED
from app.swaps.addresses import apply as apply_address
from app.swaps.schemas import ReturnMode
from app.swaps.states import SwapStatus
from app.swaps.timeline import add_event, move

OUTBOUND, RETURN = Direction.OUTBOUND, Direction.RETURN
Fence = Callable[[Session], None]  # raises when the job is no longer this worker's to do
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
    goods: Goods  # what the box holds, for a customs declaration
    return_depot: Address  # where the broken kit goes back to (the sending depot, unless the policy says)


def _address(d) -> Address:
    return Address(name=d.contact_name, company=d.company, street1=d.street1, street2=d.street2, city=d.city,
                   state=d.state, postal_code=d.postal_code, country=d.country, phone=d.phone, email=d.email)


def choose_return_depot(session: Session, swap: SwapRequest, policy: str) -> None:
    """RETURN_DEPOT=region: a swap sent from a depot that does not serve the worker's country sends its
    broken kit to one that does (the lowest id), so it crosses no border on the way back."""
    if policy != "region" or swap.return_depot_id is not None:
        return
    calendars = swaps_repository.depot_calendars(session)
    if calendars[swap.depot_id].ships_to(swap.country):
        return
    local = sorted(i for i, c in calendars.items() if c.ships_to(swap.country))
    if local:
        swap.return_depot_id = local[0]


def _plan(session: Session, swap: SwapRequest) -> BookingPlan:
    d, model = swap.depot, swap.unit.model
    return BookingPlan(
        swap_id=swap.id,
        depot=_address(d),
        return_depot=_address(swap.return_depot or d),
        worker=address_check.address_of(swap),
        worker_timezone=swap.worker_timezone,
        parcel=Parcel(length_cm=model.length_cm, width_cm=model.width_cm, height_cm=model.height_cm,
                      weight_kg=model.weight_kg),
        return_mode=ReturnMode(swap.return_mode), ship_date=swap.ship_date, promised_date=swap.promised_date,
        depot_country=d.country,
        goods=Goods(description=f"{model.maker} {model.name} ({model.category}), used IT equipment",
                    value=model.replacement_value, currency=model.currency, weight_kg=model.weight_kg,
                    hs_code=model.hs_code, origin_country=model.origin_country),
    )


def _shipment(session: Session, swap_id: int, direction: Direction, provider: str) -> Shipment:
    row = repository.shipment_for_update(session, swap_id, direction)
    if row is None:
        now = clock.now()
        row = Shipment(swap_id=swap_id, direction=direction.value, provider=provider,
                       reference=f"swap-{swap_id}-{direction}", label_status=LabelState.PENDING.value,
                       created_at=now, updated_at=now)
        session.add(row)
        session.flush()
    return row


def book_swap(factory: sessionmaker[Session], carrier: Carrier, swap_id: int, *, fence: Fence,
              return_depot: str = "sending") -> None:
    with unit_of_work(factory) as session:
        swap = session.get(SwapRequest, swap_id)
        if swap is None or swap.status != SwapStatus.ALLOCATED or swap.unit is None:
            _void_if_cancelled(session, swap)
            return  # cancelled, backordered again or already booked: nothing (more) to do
        unchecked = address_check.address_of(swap) if swap.address_status == UNCHECKED else None
        if unchecked is None:
            plan = _ready_plan(session, swap, return_depot)
    if unchecked is not None:  # the carrier could not be asked at intake: ask now, outside any transaction
        verdict = _recheck(carrier, unchecked)
        with unit_of_work(factory) as session:
            swap = session.get(SwapRequest, swap_id)
            apply_address(swap, verdict)
            plan = _ready_plan(session, swap, return_depot)
    transit_days = business_days_between(plan.ship_date, plan.promised_date, plan.depot_country)
    outbound = _ensure_label(factory, carrier, plan, OUTBOUND, max_days=transit_days, carrier_token=None,
                             fence=fence)
    ret = None
    if plan.return_mode != ReturnMode.NO_RETURN:
        if not _still_wanted(factory, swap_id):
            return
        ret = _ensure_label(factory, carrier, plan, RETURN, max_days=None, carrier_token=outbound.carrier,
                            fence=fence)
    return_plan, pickup_note = plan.return_mode.value, None
    if plan.return_mode == ReturnMode.SWAP_AT_DOOR and ret is not None:
        return_plan, pickup_note = pickups.ensure_pickup(factory, carrier, swap_id=plan.swap_id, shipment_id=ret.id,
                                                         label_id=ret.label_id, address=plan.worker,
                                                         timezone=plan.worker_timezone, day=plan.promised_date,
                                                         fence=fence)
    _finish(factory, plan, outbound, ret, return_plan, pickup_note)


def _recheck(carrier: Carrier, address: Address):
    try:
        verdict = address_check.check(carrier, address)
    except Unprocessable as e:  # no courier can deliver there: support must sort it out with the worker
        raise PermanentCarrierError(f"the worker's address is not deliverable: {e.detail}") from None
    if verdict.status == UNCHECKED:
        raise TemporaryCarrierError("the worker's address could not be checked yet", maybe_done=False)
    return verdict


def _ready_plan(session: Session, swap: SwapRequest, return_depot: str) -> BookingPlan:
    choose_return_depot(session, swap, return_depot)
    return _plan(session, swap)


def _void_if_cancelled(session: Session, swap: SwapRequest | None) -> None:
    """A swap cancelled while its booking ran: the labels bought for it are voided, not kept."""
    if swap is not None and swap.status == SwapStatus.CANCELLED:
        refunds.void_if_booked(session, swap.id)


def _still_wanted(factory, swap_id: int) -> bool:
    """Checked between purchases, so a cancel stops the spending as soon as it can."""
    with unit_of_work(factory) as session:
        swap = session.get(SwapRequest, swap_id)
        if swap.status == SwapStatus.ALLOCATED:
            return True
        _void_if_cancelled(session, swap)
        return False


def _ensure_label(factory, carrier: Carrier, plan: BookingPlan, direction: str, *, max_days: int | None,
                  carrier_token: str | None, fence: Fence) -> Shipment:
    with unit_of_work(factory) as session:
        row = _shipment(session, plan.swap_id, direction, carrier.name)
        if row.label_status == LabelState.SUCCESS:
            return row
        rate_id, reference, known, sent_at = row.rate_id, row.reference, row.label_id, row.purchase_sent_at
    if sent_at is not None and known is None:
        # An earlier purchase got no answer (lost, or its worker died with it on the wire): until the
        # carrier can no longer be working on it, its label may not show yet. Look later, never buy now.
        settled_at = sent_at + carrier.settle_after
        if clock.now() < settled_at:
            raise TemporaryCarrierError(f"the {direction} purchase sent at {sent_at:%H:%M:%S} may still land; "
                                        "looking for it once it has settled",
                                        retry_after=(settled_at - clock.now()).total_seconds(), maybe_done=False)
    if rate_id is None:
        returning = direction == RETURN  # the broken kit travels from the worker back to the depot
        depot = plan.return_depot if returning else plan.depot  # the outbound orientation, for returns too
        ends = (plan.worker.country, depot.country) if returning else (depot.country, plan.worker.country)
        customs = declaration(plan.goods, from_country=ends[0], to_country=ends[1], returning=returning,
                              signer=plan.depot.name)
        rates = _read(carrier.get_rates, from_addr=depot, to_addr=plan.worker, parcel=plan.parcel,
                      reference=reference, is_return=returning, customs=customs)
        rate = choose_rate(rates, max_days=max_days, carrier=carrier_token)
        if rate is None:
            raise PermanentCarrierError(f"no {direction} rate offered for swap {plan.swap_id}")
        with unit_of_work(factory) as session:  # committed before buying: a retry looks for this rate's label
            row = _shipment(session, plan.swap_id, direction, carrier.name)
            fence(session)
            if row.rate_id is None:
                row.rate_id, row.carrier, row.service_level = rate.rate_id, rate.carrier, rate.service_level
                row.service_name, row.amount, row.currency = rate.service_name, rate.amount, rate.currency
                row.estimated_days, row.updated_at = rate.estimated_days, clock.now()
                row.customs = as_record(customs)
            rate_id = row.rate_id
    # Adopt before buying, every time: a label bought by an attempt whose answer was lost (or by a
    # worker that lost its lease mid-purchase) is found by its rate and reference.
    found = _read(carrier.find_labels, rate_id=rate_id, reference=reference)
    if not found:
        with unit_of_work(factory) as session:
            row = _shipment(session, plan.swap_id, direction, carrier.name)
            fence(session)  # the last word before spending: this job is still ours
            row.purchase_sent_at = clock.now()
        found = [carrier.buy_label(rate_id=rate_id, reference=reference)]
    label = next((x for x in found if x.label_id == known), found[0])
    if label.status == LabelState.QUEUED:
        label = _read(carrier.get_label, label_id=label.label_id)
    with unit_of_work(factory) as session:
        row = _shipment(session, plan.swap_id, direction, carrier.name)
        if row.label_status == LabelState.SUCCESS and row.label_id != label.label_id:
            extras = [label, *found]  # another attempt recorded its label first: keep that one
        else:
            record_label(row, label)
            extras = found
        for extra in extras:
            if extra.label_id != row.label_id and extra.status == LabelState.SUCCESS:
                record_extra_label(session, row, extra.label_id, extra.tracking_number, found_by="lookup")
        result = row
    if result.label_status != LabelState.SUCCESS:
        raise TemporaryCarrierError(f"{direction} label {label.label_id} still {label.status}")
    return result


def _finish(factory, plan: BookingPlan, outbound: Shipment, ret: Shipment | None, return_plan: str,
            pickup_note: str | None) -> None:
    with unit_of_work(factory) as session:
        swap = repository.swap_for_update(session, plan.swap_id)
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
        return_row = repository.shipment(session, swap.id, Direction.RETURN)
        events.record(session, events.SwapBooked(swap_id=swap.id, return_plan=return_plan,
                                                 return_shipment_id=return_row.id if return_row else None))
        move(session, swap, SwapStatus.LABEL_BOOKED,
             f"Courier booked: {outbound.service_name} with {outbound.carrier}, tracking {outbound.tracking_number}. "
             + what_back,
             outbound_tracking=outbound.tracking_number, return_tracking=ret.tracking_number if ret else None,
             return_plan=return_plan)

