"""Follow-ups' and escalations' SQL."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import insert_new
from app.models import Escalation, FollowUp, Shipment, SwapEvent, SwapRequest
from app.shipping.states import Direction
from app.swaps.repository import escalations_of, follow_up_of

__all__ = ["escalations_of", "follow_up_of"]  # a swap's own records, read where the swap is read


def follow_up_of_for_update(session: Session, swap_id: int) -> FollowUp | None:
    return session.scalars(select(FollowUp).where(FollowUp.swap_id == swap_id).with_for_update()).first()


def unanswered_follow_ups_for_update(session: Session, asked_before: datetime, limit: int = 200) -> list[FollowUp]:
    """Follow-ups asked before `asked_before`, not answered nor closed (skipping rows another sweep holds)."""
    stmt = (select(FollowUp).where(FollowUp.due_at < asked_before, FollowUp.answer.is_(None),
                                   FollowUp.outcome.is_(None))
            .order_by(FollowUp.id).limit(limit).with_for_update(skip_locked=True))
    return list(session.scalars(stmt))


def rules_fired(session: Session, swap_ids: list[int]) -> set[tuple[int, str]]:
    if not swap_ids:
        return set()
    rows = session.execute(select(Escalation.swap_id, Escalation.rule).where(Escalation.swap_id.in_(swap_ids)))
    return {(s, r) for s, r in rows}


def lingering_candidates_for_update(session: Session, statuses: list[str], limit: int = 500) -> list[SwapRequest]:
    stmt = (select(SwapRequest).where(SwapRequest.status.in_(statuses)).order_by(SwapRequest.id).limit(limit)
            .with_for_update(of=SwapRequest, skip_locked=True))
    return list(session.scalars(stmt).unique())


def outbound_shipments(session: Session, swap_ids: list[int]) -> dict[int, Shipment]:
    """The outbound shipment of each of these swaps that has one."""
    if not swap_ids:
        return {}
    rows = session.scalars(select(Shipment).where(Shipment.swap_id.in_(swap_ids),
                                                  Shipment.direction == Direction.OUTBOUND).order_by(Shipment.id))
    found: dict[int, Shipment] = {}
    for row in rows:
        found.setdefault(row.swap_id, row)
    return found


def last_event_at(session: Session, swap_id: int, kind: str) -> datetime | None:
    return session.scalar(select(SwapEvent.at).where(SwapEvent.swap_id == swap_id, SwapEvent.kind == kind)
                          .order_by(SwapEvent.id.desc()).limit(1))


def add_escalation(session: Session, row: Escalation) -> Escalation | None:
    """Inserts the escalation (not yet in the session); None when the swap had it already under that
    rule (the unique key says so in the same statement, nothing fails)."""
    return insert_new(session, row, key=("swap_id", "rule"))
