"""Writing a swap's timeline and moving its status (one place for both)."""

from typing import Any

from sqlalchemy.orm import Session

from app import clock, events, writes
from app.models import SwapEvent, SwapRequest
from app.swaps.states import SwapStatus, check_swap_transition

_WRITTEN = "timeline_written"
_EVENTS = SwapEvent.__table__


def written(session: Session, swap_id: int) -> list[SwapEvent]:
    """The swap's timeline as this session wrote it: all there is of a swap taken in by this
    transaction, so it need not be read back."""
    return [e for e in session.info.get(_WRITTEN, []) if e.swap_id == swap_id]


def add_event(session: Session, swap: SwapRequest, kind: str, message: str, **data: Any) -> SwapEvent:
    """A touchpoint on the timeline. One marked `escalated` is also an alert for support."""
    event = SwapEvent(swap_id=swap.id, kind=kind, message=message, data=data, at=clock.now())
    session.info.setdefault(_WRITTEN, []).append(event)  # what this transaction wrote, as written
    if data.get("escalated"):  # its id goes in the alert: written now, after the ones before it
        writes.flush(session)
        session.add(event)
        session.flush()
        events.record(session, events.SupportAlert(swap_id=swap.id, kind=kind, message=message,
                                                   swap_event_id=event.id))
    else:
        writes.add(session, _EVENTS, {"swap_id": swap.id, "kind": kind, "message": message, "data": data,
                                      "at": event.at})
    return event


def move(session: Session, swap: SwapRequest, target: SwapStatus, message: str, **data: Any) -> None:
    """Change the swap's status (if the table allows) and record it on the timeline."""
    old = SwapStatus(swap.status)
    check_swap_transition(old, target)
    writes.update(session, swap, status=target.value, updated_at=clock.now())  # written with the timeline row
    moved(session, swap, old, message, **data)


def moved(session: Session, swap: SwapRequest, old: SwapStatus, message: str, **data: Any) -> None:
    """Record a move from `old` to the swap's status, set before (a new swap is inserted with the status
    it reaches in its first transaction, instead of being inserted and then updated)."""
    target = SwapStatus(swap.status)
    check_swap_transition(old, target)
    add_event(session, swap, target.value, message, **data)
    events.record(session, events.SwapStatusChanged(swap_id=swap.id, old=old.value, new=target.value))
