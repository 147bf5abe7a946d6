"""Registering endpoints, rotating their secrets, replaying deliveries."""

from datetime import timedelta

from sqlalchemy.orm import Session

from app import clock
from app.errors import Conflict
from app.integrations.webhooks import fanout, repository, secrets, urlguard
from app.integrations.webhooks.schemas import EndpointCreate, EndpointUpdate, ReplayRange
from app.keyring import Keyring
from app.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

REPLAY_LIMIT = 1000


def register(session: Session, data: EndpointCreate, *, keyring: Keyring,
             allowed_hosts: frozenset[str]) -> tuple[WebhookEndpoint, str]:
    urlguard.check(data.url, allowed_hosts)
    secret, now = secrets.new_secret(), clock.now()
    endpoint = WebhookEndpoint(url=data.url, description=data.description, event_types=sorted(set(data.event_types)),
                               enabled=data.enabled, secret_encrypted=secrets.seal(keyring, secret, session),
                               created_at=now, updated_at=now)
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def update(session: Session, endpoint_id: int, data: EndpointUpdate, *, allowed_hosts: frozenset[str]) -> WebhookEndpoint:
    endpoint = repository.get_endpoint(session, endpoint_id, for_update=True)
    if data.url is not None:
        urlguard.check(data.url, allowed_hosts)
        endpoint.url = data.url
    if data.description is not None:
        endpoint.description = data.description
    if data.event_types is not None:
        endpoint.event_types = sorted(set(data.event_types))
    if data.enabled is not None:
        if data.enabled and not endpoint.enabled:
            endpoint.failing_since = endpoint.disabled_reason = None
        elif not data.enabled and endpoint.enabled:
            repository.fail_pending(session, endpoint.id, "endpoint disabled by an admin")
        endpoint.enabled = data.enabled
    endpoint.updated_at = clock.now()
    session.flush()
    return endpoint


def rotate(session: Session, endpoint_id: int, *, grace: timedelta, keyring: Keyring) -> tuple[WebhookEndpoint, str]:
    """A new secret signs from now on; the old one signs beside it for `grace` (both signatures in
    the header), so receivers can switch without losing a message."""
    endpoint = repository.get_endpoint(session, endpoint_id, for_update=True)
    secret, now = secrets.new_secret(), clock.now()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted if grace else None
    endpoint.previous_secret_until = now + grace if grace else None
    endpoint.secret_encrypted, endpoint.updated_at = secrets.seal(keyring, secret, session), now
    session.flush()
    return endpoint, secret


def delete(session: Session, endpoint_id: int) -> None:
    endpoint = repository.get_endpoint(session, endpoint_id, for_update=True)
    repository.fail_pending(session, endpoint.id, "endpoint deleted")
    session.delete(endpoint)
    session.flush()


def _replay(session: Session, delivery: WebhookDelivery) -> None:
    endpoint = repository.get_endpoint(session, delivery.endpoint_id)
    if not endpoint.enabled:
        raise Conflict(f"Webhook endpoint {endpoint.id} is disabled: enable it before replaying its deliveries.")
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.PENDING, 0, clock.now()
    fanout.queue_delivery(session, endpoint.id, delivery.id)


def replay_one(session: Session, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again, same message id and body (receivers deduplicate on the id)."""
    delivery = repository.get_delivery(session, delivery_id, for_update=True)
    if delivery.status == DeliveryStatus.PENDING:
        raise Conflict(f"Webhook delivery {delivery.id} is still pending: it will be sent on its schedule.")
    _replay(session, delivery)
    session.flush()
    return delivery


def replay_range(session: Session, data: ReplayRange) -> list[int]:
    status = None if data.status == "any" else data.status
    stmt = repository.deliveries_query(endpoint_id=data.endpoint_id, status=status, event_type=None,
                                       since=data.since, until=data.until)
    rows = list(session.scalars(stmt.where(WebhookDelivery.status != DeliveryStatus.PENDING)
                                .order_by(WebhookDelivery.id).limit(REPLAY_LIMIT + 1).with_for_update()))
    if len(rows) > REPLAY_LIMIT:
        raise Conflict(f"More than {REPLAY_LIMIT} deliveries match: replay a shorter time range.")
    for row in rows:
        _replay(session, row)
    session.flush()
    return [r.id for r in rows]
