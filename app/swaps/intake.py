"""Use cases of a swap request: take it in, reserve or backorder it, cancel it, show it."""

from sqlalchemy.orm import Session

from app import clock, events
from app.errors import Conflict, Unprocessable
from app.inventory import repository as inventory
from app.models import SwapRequest
from app.swaps import addresses, repository, tracking_link
from app.swaps.addresses import AddressVerdict
from app.swaps.reserve import backorder, choose, promise, release, reserve, wait_in_line
from app.swaps.schemas import (
    CancelRequest,
    EscalationRead,
    FollowUpRead,
    ShipmentRead,
    SwapCreate,
    SwapEventRead,
    SwapRead,
)
from app.swaps.states import CANCELLABLE, SwapStatus
from app.swaps.timeline import add_event, move, written


def create_swap(session: Session, data: SwapCreate, *, actor: str,
                address_verdict: AddressVerdict | None = None) -> tuple[SwapRequest, str]:
    """Returns the swap and its tracking token (shown to the caller once). `address_verdict`: what the carrier
    said of the worker's address (none: it is checked before booking)."""
    needed = data.needed
    if needed.model_id is not None:
        inventory.check_model(session, needed.model_id)
    if needed.profile_id is not None:
        inventory.get_profile(session, needed.profile_id)
    now = clock.now()
    if data.needed_by is not None and data.needed_by < now.date():
        raise Unprocessable("needed_by is in the past.", field="needed_by")
    worker, address = data.worker, data.worker.address
    swap = SwapRequest(
        ticket_system=data.ticket.system, ticket_id=data.ticket.id, ticket_sys_id=data.ticket.sys_id,
        status=SwapStatus.RECEIVED.value,
        worker_name=worker.name, given_name=worker.given_name, language=worker.language.replace("-", "_"),
        manager_email=str(worker.manager_email) if worker.manager_email else None, worker_email=str(worker.email), worker_phone=worker.phone,
        worker_timezone=worker.timezone, street1=address.street1, street2=address.street2, city=address.city,
        region=address.region, postal_code=address.postal_code, country=address.country,
        model_id=needed.model_id, category=needed.category.value if needed.category else None,
        profile_id=needed.profile_id, broken_code=data.broken_unit, return_mode=data.return_mode.value,
        needed_by=data.needed_by, allow_cross_border=data.allow_cross_border, impact_note=data.impact_note, created_by=actor, created_at=now, updated_at=now,
    )
    addresses.apply(swap, address_verdict or AddressVerdict(addresses.UNCHECKED))
    # Matched before the insert, so the swap is written once: with its unit and dates, or waiting.
    choice = choose(session, swap)
    if choice is not None:
        promise(swap, choice)
        swap.status = SwapStatus.ALLOCATED.value
    else:
        wait_in_line(session, swap)
        swap.status = SwapStatus.BACKORDERED.value
    written_swap = repository.insert_new_swap(session, swap)
    if written_swap is None:  # the ticket already has a live swap (the unique index says so; no read before)
        existing = repository.live_swap_for_ticket(session, data.ticket.system, data.ticket.id)
        raise Conflict(
            f"Ticket {data.ticket.system}/{data.ticket.id} already has swap {existing.id} (status {existing.status})."
            if existing else f"Ticket {data.ticket.system}/{data.ticket.id} already has a swap.",
            **({"existing_swap_id": existing.id} if existing else {}),
        )
    swap = written_swap
    token = tracking_link.issue(session, swap, first=True)
    add_event(session, swap, "received", f"Request received from {actor} for ticket "
              f"{data.ticket.system}/{data.ticket.id}.")
    if choice is not None:
        reserve(session, swap, choice, actor=actor, moved_from=SwapStatus.RECEIVED)
    position = None if choice is not None else backorder(session, swap, moved_from=SwapStatus.RECEIVED)
    events.record(session, events.SwapReceived(swap_id=swap.id, outcome="allocated" if choice is not None else "backordered",
                                               position=position))
    return swap, token


def cancel_swap(session: Session, swap_id: int, data: CancelRequest, *, actor: str) -> SwapRequest:
    swap = repository.get_swap_for_update(session, swap_id)
    if SwapStatus(swap.status) not in CANCELLABLE:
        raise Conflict(
            f"Swap {swap.id} is '{swap.status}' and can no longer be cancelled.", current_status=swap.status,
            allowed=sorted(s.value for s in CANCELLABLE),
        )
    # Cancel first, so the released unit cannot be offered back to this swap.
    move(session, swap, SwapStatus.CANCELLED, f"Cancelled by {actor}: {data.reason}")
    release(session, swap, actor=actor, reason=f"swap {swap.id} cancelled: {data.reason}")
    events.record(session, events.SwapCancelled(swap_id=swap.id))
    return swap


def swap_read(session: Session, swap: SwapRequest, *, tracking_url: str | None = None, new: bool = False) -> SwapRead:
    """The swap as the API shows it. `new`: taken in by this transaction, so it has no shipments,
    follow-up or escalations yet, and its timeline (with its place in line) is what this transaction
    wrote: none of them is read back."""
    timeline = written(session, swap.id) if new else repository.timeline(session, swap.id)
    position = None
    if swap.status == SwapStatus.BACKORDERED:
        position = (next((e.data["position"] for e in reversed(timeline) if e.kind == SwapStatus.BACKORDERED), None)
                    if new else repository.waitlist_position(session, swap))
    return SwapRead(
        id=swap.id, ticket_system=swap.ticket_system, ticket_id=swap.ticket_id, ticket_sys_id=swap.ticket_sys_id,
        status=SwapStatus(swap.status),
        return_mode=swap.return_mode, worker_name=swap.worker_name, given_name=swap.given_name, worker_email=swap.worker_email,
        city=swap.city, country=swap.country, model_id=swap.model_id, category=swap.category,
        profile_id=swap.profile_id, broken_unit=swap.broken_code, needed_by=swap.needed_by,
        allow_cross_border=swap.allow_cross_border, address_status=swap.address_status,
        address_check=swap.address_check, street1=swap.street1, postal_code=swap.postal_code, region=swap.region,
        unit_id=swap.unit_id, unit_asset_tag=swap.unit.asset_tag if swap.unit else None,
        unit_model_id=swap.unit.model_id if swap.unit else None, is_substitute=swap.is_substitute,
        needs_reimage=swap.needs_reimage, depot_id=swap.depot_id,
        depot_code=swap.depot.code if swap.depot else None, ship_date=swap.ship_date,
        promised_date=swap.promised_date, waitlist_position=position, priority=swap.priority, created_at=swap.created_at,
        return_plan=swap.return_plan, tracking_url=tracking_url,
        shipments=[] if new else [ShipmentRead.model_validate(s) for s in repository.shipments(session, swap.id)],
        follow_up=None if new else (FollowUpRead.model_validate(f) if (f := repository.follow_up_of(session, swap.id))
                                    else None),
        escalations=[] if new else [EscalationRead.model_validate(e) for e in repository.escalations_of(session, swap.id)],
        timeline=journey(timeline),
    )


def journey(events: list) -> list[SwapEventRead]:
    """The timeline, each touchpoint with the time since the one before it."""
    rows, previous = [], None
    for e in events:
        row = SwapEventRead.model_validate(e)
        row.since_previous_seconds = None if previous is None else (e.at - previous).total_seconds()
        rows.append(row)
        previous = e.at
    return rows
