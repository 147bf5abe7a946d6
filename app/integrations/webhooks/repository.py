"""The SQL of webhook endpoints and deliveries."""

from datetime import datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from app import outbox
from app.errors import NotFound
from app.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


def lane_of(endpoint_id: int) -> str:
    """An endpoint's deliveries go out one at a time, in the order they happened."""
    return f"webhook:{endpoint_id}"


def enabled_endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))
                                .order_by(WebhookEndpoint.id)))


def list_endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def find_endpoint(session: Session, endpoint_id: int, *, for_update: bool = False) -> WebhookEndpoint | None:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
    return session.scalars(stmt.with_for_update() if for_update else stmt).first()


def get_endpoint(session: Session, endpoint_id: int, *, for_update: bool = False) -> WebhookEndpoint:
    row = find_endpoint(session, endpoint_id, for_update=for_update)
    if row is None:
        raise NotFound(f"No webhook endpoint with id {endpoint_id}.")
    return row


def find_delivery(session: Session, delivery_id: int, *, for_update: bool = False) -> WebhookDelivery | None:
    stmt = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
    return session.scalars(stmt.with_for_update() if for_update else stmt).first()


def get_delivery(session: Session, delivery_id: int, *, for_update: bool = False) -> WebhookDelivery:
    row = find_delivery(session, delivery_id, for_update=for_update)
    if row is None:
        raise NotFound(f"No webhook delivery with id {delivery_id}.")
    return row


def deliveries_query(*, endpoint_id: int | None, status: str | None, event_type: str | None,
                     since: datetime | None = None, until: datetime | None = None) -> Select:
    stmt = select(WebhookDelivery)
    if endpoint_id is not None:
        stmt = stmt.where(WebhookDelivery.endpoint_id == endpoint_id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    if event_type is not None:
        stmt = stmt.where(WebhookDelivery.event_type == event_type)
    if since is not None:
        stmt = stmt.where(WebhookDelivery.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(WebhookDelivery.occurred_at < until)
    return stmt


def fail_pending(session: Session, endpoint_id: int, reason: str) -> int:
    """A disabled endpoint's deliveries still waiting fail with it (they can be replayed later), and
    their jobs leave its lane."""
    outbox.drop_lane(session, lane_of(endpoint_id))
    return session.execute(update(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == DeliveryStatus.PENDING,
    ).values(status=DeliveryStatus.FAILED, error=reason, next_attempt_at=None)).rowcount or 0


def delivery_counts(session: Session) -> list[tuple[int, str, int]]:
    """(endpoint id, status, deliveries)."""
    stmt = select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count()).group_by(
        WebhookDelivery.endpoint_id, WebhookDelivery.status)
    return [tuple(row) for row in session.execute(stmt)]
