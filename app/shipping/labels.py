"""Writing what the carrier told us about a label onto its shipment: one place for it, whoever heard
it (the purchase answer, a look-up after a lost answer, or a carrier event)."""

from sqlalchemy.orm import Session

from app import clock, outbox
from app.models import ExtraLabel, Shipment, SwapRequest
from app.shipping import repository
from app.shipping.carrier import Label
from app.swaps.timeline import add_event

VOID_EXTRA = "void_extra_labels"


def record_label(row: Shipment, label: Label) -> None:
    row.label_id, row.label_status = label.label_id, label.status
    row.tracking_number = label.tracking_number or row.tracking_number
    row.tracking_url = label.tracking_url or row.tracking_url
    row.label_url = label.label_url or row.label_url
    row.carrier = label.carrier or row.carrier
    row.live = label.live
    row.updated_at = clock.now()


def record_extra_label(session: Session, row: Shipment, label_id: str, tracking_number: str | None, *,
                       found_by: str) -> bool:
    """A second label for a shipment that has one: keep it on record and queue its refund. Returns
    False when it was known already."""
    if label_id == row.label_id or repository.extra_label(session, label_id) is not None:
        return False
    now = clock.now()
    session.add(ExtraLabel(shipment_id=row.id, label_id=label_id, tracking_number=tracking_number,
                           found_by=found_by, found_at=now, updated_at=now))
    session.flush()
    add_event(session, session.get(SwapRequest, row.swap_id), "extra_label",
              f"A second {row.direction} label ({tracking_number}) was bought for this swap; it is being "
              "refunded.", label_id=label_id, escalated=True)
    outbox.enqueue(session, VOID_EXTRA, {"swap_id": row.swap_id})
    return True
