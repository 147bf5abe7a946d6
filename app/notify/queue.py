"""Queueing a message: one notification per channel, each sent by an outbox job when it is due. The
dedupe key (swap + kind + step + channel) makes a message queued twice — by two processes, or by
a sweep that runs again — one message."""

from datetime import datetime

from sqlalchemy.orm import Session

from app import clock, outbox
from app.models import Notification, NotificationStatus, SwapRequest
from app.notify import repository
from app.notify.config import NotifyConfig
from app.notify.messages import MANAGER, MESSAGES, SUPPORT, WORKER, release_time

SEND = "send_notification"


def _channels(swap: SwapRequest, audience: str, config: NotifyConfig) -> list[tuple[str, str | None]]:
    if audience == WORKER:
        channels = [("email", swap.worker_email)]
        if config.sms_enabled and swap.worker_phone:
            channels.append(("sms", swap.worker_phone))
        return channels
    if audience == MANAGER:
        return [("email", swap.manager_email)] if swap.manager_email else []
    return [("support", None)]


def queue(session: Session, config: NotifyConfig, swap: SwapRequest, kind: str, step: str, *,
          data: dict | None = None, due: datetime | None = None) -> list[int]:
    """Queue `kind` for its audience; returns the ids of the notifications made (none if queued before).
    A message to a person outside their working hours waits for the next opening, unless it is
    delivery-day news."""
    message = MESSAGES[kind]
    now = clock.now()
    due = due or now
    send_at = due
    if message.audience != SUPPORT and not message.delivery_day:
        send_at = release_time(due, swap.worker_timezone, config.opens, config.closes)
    made = []
    for channel, recipient in _channels(swap, message.audience, config):
        key = f"swap:{swap.id}:{kind}:{step}:{channel}"[:200]
        row = Notification(dedupe_key=key, swap_id=swap.id, kind=kind, step=step[:60], audience=message.audience,
                           channel=channel, recipient=recipient, data=data or {}, status=NotificationStatus.QUEUED,
                           due_at=due, held_until=send_at if send_at > due else None, created_at=now)
        notification_id = repository.add(session, row)
        if notification_id is not None:
            outbox.enqueue(session, SEND, {"notification_id": notification_id}, due=send_at,
                           dedupe_key=f"notify:{notification_id}")
            made.append(notification_id)
    return made


def queue_service_alert(session: Session, key: str, *, headline: str, message: str) -> int | None:
    """Tell support about the service itself (no swap): a webhook endpoint disabled, say. Once per `key`."""
    now = clock.now()
    row = Notification(dedupe_key=f"service:{key}:support"[:200], swap_id=None, kind="service_alert", step=key[:60],
                       audience=SUPPORT, channel="support", recipient=None,
                       data={"headline": headline, "message": message}, status=NotificationStatus.QUEUED,
                       due_at=now, created_at=now)
    notification_id = repository.add(session, row)
    if notification_id is not None:
        outbox.enqueue(session, SEND, {"notification_id": notification_id}, dedupe_key=f"notify:{notification_id}")
    return notification_id
