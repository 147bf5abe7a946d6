"""Notes back on the ticket, so support sees the swap's progress where they work and nobody copies it
by hand. At each moment that matters a short internal note is written, and where the worker should
hear it too (reserved, waiting, shipped, delivered) a public comment. Each note is a row and an
outbox job in its ticket's lane (so a ticket's notes arrive in order), written in the transaction that records the event; posting it is
retried on the tool's terms (Retry-After) and a tool that keeps refusing leaves the swap untouched.

A note whose answer was lost may be posted twice (none of the three tools takes an idempotency
key): each note ends with its reference, so a duplicate is easy to recognise."""

from dataclasses import dataclass, field
from datetime import date
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app import clock, events, outbox
from app.dispatch import Dispatcher
from app.integrations.tickets import repository
from app.integrations.tickets.connectors import TicketSystem
from app.models import SwapRequest, TicketNote, TicketNoteStatus
from app.notify.daily import expected_date
from app.shipping.couriers import courier_name
from app.shipping.states import Direction
from app.swaps import repository as swaps
from app.swaps.states import SwapStatus

POST = "post_ticket_note"


@dataclass(frozen=True)
class TicketConfig:
    systems: dict[str, TicketSystem] = field(default_factory=dict)  # by the `ticket.system` given at intake


@dataclass(frozen=True)
class Note:
    moment: str
    step: str  # the same moment may come again (a second exception): a new step is a new note
    internal: str
    public: str | None = None  # what the worker reads on their ticket, where the moment is theirs


def _day(value: date | None) -> str:
    return f"{value:%A %d %B}" if value else "a date to be confirmed"


def _device(swap: SwapRequest) -> str:
    unit = swap.unit
    return f"{unit.model.name} {unit.asset_tag}" if unit is not None else (swap.model.name if swap.model else "device")


def allocated(session: Session, swap: SwapRequest) -> Note:
    return Note("allocated", str(swap.unit_id),
                f"Spare reserved: {_device(swap)} from depot {swap.depot.code}, ships {_day(swap.ship_date)}, "
                f"promised for {_day(swap.promised_date)}.",
                f"A replacement {swap.unit.model.name} is reserved for you and should arrive on "
                f"{_day(swap.promised_date)}. You will get the courier's tracking link when it ships.")


def backordered(session: Session, swap: SwapRequest) -> Note:
    position = swaps.waitlist_position(session, swap)
    today = clock.now().astimezone(ZoneInfo(swap.worker_timezone)).date()
    expected = expected_date(session, swap, swaps.need_of(session, swap), today=today)
    when = f", expected about {_day(expected)}" if expected else ", no unit due back yet"
    return Note("backordered", str(position),
                f"No suitable spare ready: on the waitlist at position {position}{when}. Escalates after a "
                "business day waiting.",
                f"No replacement is in stock right now. You are number {position} in line{when}. We will write "
                "every day with where you stand, and as soon as it ships.")


def shipped(session: Session, swap: SwapRequest) -> Note:
    out = next((s for s in swaps.shipments(session, swap.id) if s.direction == Direction.OUTBOUND), None)
    courier = courier_name(out.carrier if out else None) or "the courier"
    tracking = f" {out.tracking_url}" if out is not None and out.tracking_url else ""
    number = f" ({out.tracking_number})" if out is not None and out.tracking_number else ""
    return Note("shipped", "1", f"Shipped with {courier}{number}, promised for {_day(swap.promised_date)}.{tracking}",
                f"Your replacement is on its way with {courier}, expected {_day(swap.promised_date)}.{tracking}")


def delivered(session: Session, swap: SwapRequest) -> Note:
    back = {"return_box": "the old device goes back in the box with the label inside",
            "swap_at_door": "the courier took the old device", "no_return": "nothing to send back"}
    plan = back.get(swap.return_plan or swap.return_mode, "")
    return Note("delivered", "1", f"Delivered; {plan}. Follow-up asked the next business day.",
                f"Your replacement was delivered. {plan[:1].upper()}{plan[1:]}.")


def _last_message(session: Session, swap: SwapRequest) -> str:
    last = swaps.last_event(session, swap.id)
    return last.message if last else ""


def exception(session: Session, swap: SwapRequest) -> Note:
    return Note("exception", clock.now().isoformat(timespec="seconds"), f"Exception: {_last_message(session, swap)}")


def closed(session: Session, swap: SwapRequest) -> Note:
    return Note("closed", "1", f"Swap complete: {_last_message(session, swap)}")


def _queue(session: Session, config: TicketConfig, swap: SwapRequest, note: Note) -> None:
    system = config.systems.get(swap.ticket_system)
    if system is None:  # no tool configured for this ticket system: nothing to post to
        return
    ticket = swap.ticket_sys_id or swap.ticket_id
    now = clock.now()
    for public, body in ((False, note.internal), (True, note.public)):
        if body is None:
            continue
        key = f"ticket:{swap.id}:{note.moment}:{note.step}:{'public' if public else 'internal'}"[:200]
        row = TicketNote(dedupe_key=key, swap_id=swap.id, system=system.name, ticket_id=ticket, moment=note.moment,
                         public=public, body=body, status=TicketNoteStatus.QUEUED, attempts=0, created_at=now)
        row = repository.add(session, row)
        if row is None:
            continue
        row.body = f"{body}\n\n[spares swap {swap.id} · note {row.id}]"
        outbox.enqueue(session, POST, {"note_id": row.id}, lane=f"ticket:{system.name}:{ticket}"[:80])


def on_received(session: Session, e: events.SwapReceived, *, config: TicketConfig) -> None:
    swap = swaps.get_swap(session, e.swap_id)
    _queue(session, config, swap, (allocated if e.outcome == "allocated" else backordered)(session, swap))


def on_allocated(session: Session, e: events.SwapAllocated, *, config: TicketConfig) -> None:
    if e.from_waitlist:
        swap = swaps.get_swap(session, e.swap_id)
        _queue(session, config, swap, allocated(session, swap))


STATUS_NOTES = {SwapStatus.SHIPPED: shipped, SwapStatus.DELIVERED: delivered, SwapStatus.EXCEPTION: exception,
                SwapStatus.CLOSED: closed}


def on_status_changed(session: Session, e: events.SwapStatusChanged, *, config: TicketConfig) -> None:
    make = STATUS_NOTES.get(SwapStatus(e.new))
    if make is not None:
        swap = swaps.get_swap(session, e.swap_id)
        _queue(session, config, swap, make(session, swap))


def on_escalated(session: Session, e: events.SwapEscalated, *, config: TicketConfig) -> None:
    swap = swaps.get_swap(session, e.swap_id)
    _queue(session, config, swap, Note("escalated", e.rule, f"Escalated to priority {e.level} ({e.rule}): {e.reason}"))


def on_follow_up_answered(session: Session, e: events.FollowUpAnswered, *, config: TicketConfig) -> None:
    swap = swaps.get_swap(session, e.swap_id)
    says = "it works" if e.working else "it does not work"
    score = f" (score {e.score}/5)" if e.score else ""
    follow = swaps.follow_up_of(session, swap.id)
    comment = f": “{follow.comment}”" if follow is not None and follow.comment else "."
    _queue(session, config, swap, Note("followup", f"{e.answer}:{e.score}", f"Follow-up: the worker says {says}"
                                       f"{score}{comment}"))


def wire(dispatcher: Dispatcher, config: TicketConfig) -> None:
    if not config.systems:
        return
    for event_type, handler in [
        (events.SwapReceived, on_received), (events.SwapAllocated, on_allocated),
        (events.SwapStatusChanged, on_status_changed), (events.SwapEscalated, on_escalated),
        (events.FollowUpAnswered, on_follow_up_answered),
    ]:
        dispatcher.on(event_type, partial(handler, config=config))
