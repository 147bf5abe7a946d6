"""Escalating swaps that linger: each rule (see `lingering`) fires once per swap, raises its priority
by one level (up to 3), says why on the timeline and tells support. Checked by a sweep."""

from sqlalchemy.orm import Session

from app import clock, events
from app.care import repository
from app.care.lingering import SwapFacts, Thresholds, lingering
from app.inventory.calendar import at_local
from app.inventory.states import UnitState
from app.models import Escalation, SwapRequest
from app.swaps.timeline import add_event

MAX_LEVEL = 3
WATCHED = ["backordered", "allocated", "label_booked", "shipped", "exception"]


def raise_priority(session: Session, swap: SwapRequest, *, rule: str, reason: str) -> bool:
    """Once per (swap, rule): the priority goes up a level, the timeline says why, support is told."""
    level = min(MAX_LEVEL, swap.priority + 1)
    if repository.add_escalation(session, Escalation(swap_id=swap.id, rule=rule, level=level, reason=reason[:500],
                                                     at=clock.now())) is None:
        return False
    swap.priority = level
    add_event(session, swap, "escalated", f"Escalated to priority {level}: {reason}.", escalated=True, rule=rule,
              level=level)
    events.record(session, events.SwapEscalated(swap_id=swap.id, rule=rule, level=level, reason=reason))
    return True


def facts(session: Session, swap: SwapRequest, outbound) -> SwapFacts:
    """What the rules look at, of a swap and its outbound shipment (None before booking)."""
    cutoff_at = None
    if swap.depot is not None and swap.ship_date is not None:
        cutoff_at = at_local(swap.ship_date, swap.depot.cutoff_local, swap.depot.timezone)
    return SwapFacts(
        status=swap.status, timezone=swap.worker_timezone, country=swap.country, waiting_since=swap.waiting_since,
        depot_timezone=swap.depot.timezone if swap.depot else None, ship_date=swap.ship_date, cutoff_at=cutoff_at,
        unit_packed=swap.unit is not None and swap.unit.state != UnitState.RESERVED,
        scanned_by_carrier=outbound is not None and outbound.tracking_status not in (None, "PRE_TRANSIT", "UNKNOWN"),
        last_tracking_at=(outbound.last_event_at or outbound.tracking_status_at) if outbound else None,
        exception_since=repository.last_event_at(session, swap.id, "exception") if swap.status == "exception" else None,
    )


def sweep(session: Session, thresholds: Thresholds) -> int:
    """Escalate what has lingered past a threshold; returns how many escalations were made."""
    now = clock.now()
    swaps = repository.lingering_candidates_for_update(session, WATCHED)
    ids = [s.id for s in swaps]
    fired = repository.rules_fired(session, ids)
    outbound = repository.outbound_shipments(session, ids)  # one read for all, not one per swap
    made = 0
    for swap in swaps:
        for rule, reason in lingering(facts(session, swap, outbound.get(swap.id)), now, thresholds):
            if (swap.id, rule) not in fired and raise_priority(session, swap, rule=rule, reason=reason):
                made += 1
    return made
