"""The notifications' SQL."""

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.db import insert_unless_exists
from app.models import Notification


def add(session: Session, row: Notification) -> int | None:
    """Inserts the notification; None when one with its dedupe key exists already."""
    return insert_unless_exists(session, row)


def get_for_update(session: Session, notification_id: int) -> Notification | None:
    stmt = select(Notification).where(Notification.id == notification_id).with_for_update()
    return session.scalars(stmt).first()


def notifications_query(*, swap_id: int | None = None, kind: str | None = None, status: str | None = None,
                        audience: str | None = None) -> Select:
    stmt = select(Notification)
    if swap_id is not None:
        stmt = stmt.where(Notification.swap_id == swap_id)
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind)
    if status is not None:
        stmt = stmt.where(Notification.status == status)
    if audience is not None:
        stmt = stmt.where(Notification.audience == audience)
    return stmt
