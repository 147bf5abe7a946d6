"""Reserving a unit for a swap, safely under concurrency, and serving the waitlist fairly.

The rules (which unit, who is next) are in `allocation`; this module loads their inputs, then locks
rows one at a time in the order the rules give: on PostgreSQL `FOR UPDATE SKIP LOCKED`, so two
requests never wait on or take the same unit; on SQLite the transaction holds the write lock."""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app import clock, events, writes
from app.db import per_transaction
from app.events import UnitReady
from app.inventory import repository as inventory
from app.inventory.calendar import DepotCalendar, promised_delivery, ship_date
from app.inventory.states import UnitState
from app.inventory.units import transition_unit
from app.models import Reservation, SpareUnit, SwapRequest
from app.swaps import repository
from app.swaps.allocation import Candidate, Need, is_substitute, next_in_line
from app.swaps.states import SwapStatus
from app.swaps.timeline import move, moved


def transit_days(calendar: DepotCalendar, swap: SwapRequest) -> int:
    """Next-day service within the depot's country; a border crossing adds a business day (so a
    domestic depot wins whenever it can deliver as soon)."""
    return 1 if calendar.country == swap.country else 2


def may_serve(calendar: DepotCalendar, swap: SwapRequest) -> bool:
    """A depot serves the countries it ships to (see `inventory.regions`); another only when the
    request allows crossing a border (then with a customs declaration)."""
    return calendar.ships_to(swap.country) or swap.allow_cross_border


@dataclass(frozen=True)
class Choice:
    """The unit chosen (and locked) for a swap, with what the rules need to promise it."""

    unit: SpareUnit
    candidate: Candidate
    need: Need
    calendar: DepotCalendar


def choose(session: Session, swap: SwapRequest, *, none_for: set | None = None) -> Choice | None:
    """The best ready unit for `swap` at a depot that may serve it, locked; None when none is free.
    Needs only the swap's fields, so a new swap can be matched before it is inserted. `none_for`:
    (need, depots) found with nothing free earlier in this transaction, which is not looked for again
    (and is added to when nothing is found)."""
    need = repository.need_of(session, swap)
    calendars = repository.depot_calendars(session)
    now = clock.now()
    promised = {depot_id: promised_delivery(cal, now, transit_days(cal, swap))
                for depot_id, cal in calendars.items() if may_serve(cal, swap)}
    looked_for = (need, frozenset(promised))
    if none_for is not None and looked_for in none_for:
        return None
    unit = repository.pick_ready(session, need, promised)
    if unit is None:
        if none_for is not None:
            none_for.add(looked_for)
        return None
    return Choice(unit, repository.candidate_of(session, unit), need, calendars[unit.depot_id])


def allocate(session: Session, swap: SwapRequest, *, actor: str, none_for: set | None = None) -> bool:
    """Reserve the best ready unit for `swap` at a depot that may serve it. Returns False when none
    is free (the swap then waits for its region's stock). `none_for`: as `choose` takes it."""
    choice = choose(session, swap, none_for=none_for)
    if choice is None:
        return False
    reserve(session, swap, choice, actor=actor)
    return True


def wait_in_line(session: Session, swap: SwapRequest) -> None:
    """The swap's fields when it waits: since now (or since it first waited), with no unit or dates.
    Someone new waits, so what this transaction found nobody waiting for is looked for again."""
    _nobody_waits(session).clear()
    swap.waiting_since = swap.waiting_since or clock.now()
    swap.unit = swap.depot = None
    swap.promised_date = swap.ship_date = None


def backorder(session: Session, swap: SwapRequest, *, moved_from: SwapStatus | None = None) -> int:
    """Put the swap on the waitlist; returns its place in line. `moved_from`: the status it had before
    `wait_in_line()` and the backordered status were written with it (a new swap, inserted waiting)."""
    if moved_from is None:
        wait_in_line(session, swap)
        session.flush()
    position = repository.waitlist_position(session, swap)
    message = (f"No suitable spare is ready in your region right now. You are number {position} in line; the next "
               "unit that becomes ready is yours. We will write every day with where you stand, and as soon as it "
               "ships.")
    if moved_from is None:
        move(session, swap, SwapStatus.BACKORDERED, message, position=position)
    else:
        moved(session, swap, moved_from, message, position=position)
    events.record(session, events.SwapBackordered(swap_id=swap.id, position=position))
    return position


def on_unit_ready(session: Session, event: UnitReady) -> None:
    offer_unit(session, session.get(SpareUnit, event.unit_id))


def offer_unit(session: Session, unit: SpareUnit) -> None:
    """A unit just became ready: the first waiting swap it fits gets it (fair order). A model and region
    nobody waits for is not looked for again in the same transaction (an import of thousands of ready
    units asks once), unless a swap starts waiting meanwhile (`wait_in_line`)."""
    calendar = repository.depot_calendars(session)[unit.depot_id]
    looked_for = (unit.model_id, calendar.serves)
    if looked_for in _nobody_waits(session):
        return
    waiting_swaps = repository.waiting_swaps_for_unit(session, unit, calendar.serves)
    if not waiting_swaps:
        _nobody_waits(session).add(looked_for)
        return
    candidate = repository.candidate_of(session, unit)
    for waiting in next_in_line(waiting_swaps, candidate):
        swap = repository.try_lock_waiting_swap(session, waiting.swap_id)
        if swap is not None and may_serve(calendar, swap):
            reserve(session, swap, Choice(unit, candidate, waiting.need, calendar), actor="waitlist")
            return


def _nobody_waits(session: Session) -> set:
    """(model, countries served) this transaction found no waiting swap for."""
    return per_transaction(session, _NOBODY_WAITS, set)


_NOBODY_WAITS = "nobody_waits"  # the session's info key


def serve_waitlist(session: Session, *, limit: int = 200) -> int:
    """Sweep: give ready units to backordered swaps, head of the line first. Catches the race where
    a unit became ready while a swap was being backordered in another transaction."""
    served, none_for = 0, set()  # a need with nothing free for one swap has nothing for the next either
    for waiting in repository.waiting_swaps(session, limit=limit):
        swap = repository.try_lock_waiting_swap(session, waiting.swap_id)
        if swap is not None and allocate(session, swap, actor="waitlist", none_for=none_for):
            served += 1
    return served


def release(session: Session, swap: SwapRequest, *, actor: str, reason: str) -> None:
    """Undo the reservation: the unit goes back to ready stock (and so to the waitlist)."""
    reservation = repository.active_reservation(session, swap.id)
    if reservation is None:
        return
    reservation.active = False
    reservation.released_at = clock.now()
    reservation.release_reason = reason
    session.flush()
    unit = inventory.get_unit_for_update(session, reservation.unit_id)
    if unit.state in (UnitState.RESERVED, UnitState.PACKED):
        transition_unit(session, unit, UnitState.READY, actor=actor, reason=reason, reference=f"swap:{swap.id}")


def fulfil(session: Session, swap: SwapRequest) -> None:
    """The unit reached the worker: the hold has done its job (the unit is theirs now, not stock)."""
    reservation = repository.active_reservation(session, swap.id)
    if reservation is not None:
        reservation.active, reservation.released_at = False, clock.now()
        reservation.release_reason = "delivered"


def promise(swap: SwapRequest, choice: Choice) -> None:
    """Give `swap` the chosen unit and its dates (written with the swap: before a new one's insert,
    it is inserted with them)."""
    now, unit = clock.now(), choice.unit
    swap.unit, swap.depot = unit, unit.depot
    swap.is_substitute = is_substitute(choice.need, choice.candidate)
    swap.needs_reimage = choice.candidate.is_stale
    swap.ship_date = ship_date(choice.calendar, now)
    swap.promised_date = promised_delivery(choice.calendar, now, transit_days(choice.calendar, swap))


def reserve(session: Session, swap: SwapRequest, choice: Choice, *, actor: str,
            moved_from: SwapStatus | None = None) -> None:
    """Hold the chosen unit for `swap` and move the swap to allocated. `moved_from`: the status it had
    before `promise()` and the allocated status were written with it (a new swap, inserted allocated)."""
    unit = choice.unit
    transition_unit(session, unit, UnitState.RESERVED, actor=actor, reason=f"reserved for swap {swap.id}",
                    reference=f"swap:{swap.id}")
    writes.add(session, Reservation.__table__, {"unit_id": unit.id, "swap_id": swap.id, "active": True,
                                                "created_at": clock.now(), "released_at": None, "release_reason": None})
    if moved_from is None:
        promise(swap, choice)
    notes = []
    if swap.is_substitute:
        notes.append(f"a {unit.model.name} stands in for the requested model")
    if swap.needs_reimage:
        notes.append("it will be re-imaged to the current build before packing")
    message = (f"A replacement is reserved at {unit.depot.name}; it ships {swap.ship_date:%A %d %B} and should "
               f"arrive {swap.promised_date:%A %d %B}." + (f" Note: {'; '.join(notes)}." if notes else ""))
    data = {"unit_id": unit.id, "depot": unit.depot.code, "promised_date": swap.promised_date.isoformat(),
            "substitute": swap.is_substitute, "needs_reimage": swap.needs_reimage}
    if moved_from is None:
        move(session, swap, SwapStatus.ALLOCATED, message, **data)
    else:
        moved(session, swap, moved_from, message, **data)
    events.record(session, events.SwapAllocated(swap_id=swap.id, unit_id=unit.id, from_waitlist=actor == "waitlist"))
