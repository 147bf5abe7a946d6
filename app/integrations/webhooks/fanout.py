"""Turning a domain event into deliveries: one per enabled endpoint that wants its type, each sent by
an outbox job in the endpoint's lane (so one endpoint's deliveries go out one at a time, in the order
they happened, and a slow endpoint holds up only itself). Written in the transaction that records the
event: a delivery exists exactly when what it tells happened."""

import json
import uuid
from datetime import UTC

from sqlalchemy.orm import Session

from app import clock, outbox
from app.db import per_transaction
from app.dispatch import Dispatcher
from app.events import Event
from app.integrations.webhooks import catalog, repository
from app.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

DELIVER = "deliver_webhook"
ENDPOINTS_KEY = "webhook_endpoints"


def wants(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return not endpoint.event_types or event_type in endpoint.event_types


def body_of(message_id: str, event_type: str, data: dict, at) -> str:
    """The payload, as the bytes that are signed and sent: Standard Webhooks' `type`, `timestamp`
    and `data`, with the event's id and the API version its resource is shown in."""
    return json.dumps({"id": message_id, "type": event_type,
                       "timestamp": at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                       "api_version": catalog.API_VERSION, "data": data}, separators=(",", ":"), sort_keys=True)


def queue_delivery(session: Session, endpoint_id: int, delivery_id: int, *, due=None) -> None:
    outbox.enqueue(session, DELIVER, {"delivery_id": delivery_id}, due=due, lane=repository.lane_of(endpoint_id))


def _endpoints(session: Session) -> list[WebhookEndpoint]:
    """The enabled endpoints, read once per transaction (an intake records several events)."""
    return per_transaction(session, ENDPOINTS_KEY, lambda: repository.enabled_endpoints(session))


def on_event(session: Session, event: Event) -> None:
    endpoints = _endpoints(session)
    if not endpoints:
        return
    now = clock.now()
    for event_type, swap_id, data in catalog.HANDLERS[type(event)](session, event):
        targets = [e for e in endpoints if wants(e, event_type)]
        if not targets:
            continue
        message_id = f"msg_{uuid.uuid4().hex}"
        body = body_of(message_id, event_type, data, now)
        for endpoint in targets:
            delivery = WebhookDelivery(endpoint_id=endpoint.id, message_id=message_id, event_type=event_type,
                                       swap_id=swap_id, body=body, occurred_at=now, status=DeliveryStatus.PENDING,
                                       attempts=0, next_attempt_at=now, created_at=now)
            session.add(delivery)
            session.flush()
            queue_delivery(session, endpoint.id, delivery.id)


def wire(dispatcher: Dispatcher) -> None:
    for event_type in catalog.HANDLERS:
        dispatcher.on(event_type, on_event)
