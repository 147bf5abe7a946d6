"""All shipping SQL: shipments, pickups, extra labels, webhook receipts. A method that locks says so."""

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from app import clock
from app.db import insert_new, is_postgres
from app.models import (
    ExtraLabel,
    PickupRequest,
    Shipment,
    SwapRequest,
    TrackingEventRecord,
    WebhookReceipt,
)
from app.shipping.states import FINAL_TRACKING, LabelState, PickupState


def shipment_for_update(session: Session, swap_id: int, direction: str) -> Shipment | None:
    return session.scalars(select(Shipment).where(Shipment.swap_id == swap_id, Shipment.direction == direction)
                           .with_for_update()).one_or_none()


def shipment(session: Session, swap_id: int, direction: str) -> Shipment | None:
    return session.scalars(select(Shipment).where(Shipment.swap_id == swap_id,
                                                  Shipment.direction == direction)).one_or_none()


def get_shipment(session: Session, shipment_id: int) -> Shipment | None:
    return session.get(Shipment, shipment_id)


def insert_event_once(session: Session, record: TrackingEventRecord) -> TrackingEventRecord | None:
    """Keep a carrier event (not yet in the session); None when the shipment has it already (a replay,
    by webhook or poll: the unique key says so in the same statement, and nothing fails)."""
    return insert_new(session, record, key=("shipment_id", "event_key"))


def shipment_by_label(session: Session, label_id: str) -> Shipment | None:
    return session.scalars(select(Shipment).where(Shipment.label_id == label_id)).first()


def has_shipments(session: Session, swap_id: int) -> bool:
    return session.scalar(select(Shipment.id).where(Shipment.swap_id == swap_id).limit(1)) is not None


def shipment_by_label_for_update(session: Session, label_id: str) -> Shipment | None:
    return session.scalars(select(Shipment).where(Shipment.label_id == label_id).with_for_update()).first()


def shipment_by_rate_for_update(session: Session, rate_id: str, reference: str) -> Shipment | None:
    return session.scalars(select(Shipment).where(Shipment.rate_id == rate_id, Shipment.reference == reference)
                           .with_for_update()).first()


def shipments_by_tracking(session: Session, tracking_number: str) -> list[Shipment]:
    """Newest first: carriers reuse tracking numbers."""
    return list(session.scalars(select(Shipment).where(Shipment.tracking_number == tracking_number)
                                .order_by(Shipment.id.desc())))


def shipment_by_id_for_update(session: Session, shipment_id: int) -> Shipment:
    stmt = select(Shipment).where(Shipment.id == shipment_id).with_for_update().execution_options(
        populate_existing=True)
    return session.scalars(stmt).one()


def claim_quiet_shipments(session: Session, *, quiet_for: timedelta, limit: int) -> list[Shipment]:
    """Shipments with a label, not yet at a final status, not heard of nor polled for `quiet_for`:
    marked as polled now, so another instance skips them (SKIP LOCKED on PostgreSQL)."""
    now = clock.now()
    stmt = (
        select(Shipment)
        .where(Shipment.label_status == LabelState.SUCCESS, Shipment.tracking_number.is_not(None),
               or_(Shipment.tracking_status.is_(None), Shipment.tracking_status.not_in(sorted(FINAL_TRACKING))),
               or_(Shipment.last_polled_at.is_(None), Shipment.last_polled_at < now - quiet_for),
               or_(Shipment.last_event_at.is_(None), Shipment.last_event_at < now - quiet_for))
        .order_by(Shipment.id).limit(limit)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(session.scalars(stmt))
    for row in rows:
        row.last_polled_at = now
    return rows


def swap_for_update(session: Session, swap_id: int) -> SwapRequest:
    return session.scalars(select(SwapRequest).where(SwapRequest.id == swap_id)
                           .with_for_update(of=SwapRequest)).unique().one()


def pickup_request_for_update(session: Session, reference: str) -> PickupRequest | None:
    return session.scalars(select(PickupRequest).where(PickupRequest.reference == reference)
                           .with_for_update()).first()


def live_pickups_of_swap(session: Session, swap_id: int) -> list[PickupRequest]:
    """Pickups booked, or perhaps booked, for the swap."""
    return list(session.scalars(
        select(PickupRequest).join(Shipment, Shipment.id == PickupRequest.shipment_id)
        .where(Shipment.swap_id == swap_id, PickupRequest.status.in_(
            (PickupState.CONFIRMED, PickupState.UNCONFIRMED, PickupState.REQUESTING)))))


def extra_label(session: Session, label_id: str) -> ExtraLabel | None:
    return session.scalars(select(ExtraLabel).where(ExtraLabel.label_id == label_id)).first()


def extra_labels_to_refund(session: Session, swap_id: int) -> list[int]:
    return list(session.scalars(select(ExtraLabel.id).join(Shipment, Shipment.id == ExtraLabel.shipment_id)
                                .where(Shipment.swap_id == swap_id, ExtraLabel.refund_status.is_(None))
                                .order_by(ExtraLabel.id)))


def purge_receipts(session: Session, before: datetime) -> int:
    return session.execute(delete(WebhookReceipt).where(WebhookReceipt.received_at < before)).rowcount or 0
