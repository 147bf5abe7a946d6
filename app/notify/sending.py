"""Sending a queued notification: an outbox job of its own, so a slow or failing channel holds up
nothing else. The message is rendered when it is sent (a link of its own minted for the worker), the
worker's lease is proven before it is handed over, and what was sent is kept with the link masked.
A message that is no longer true when its time comes (a reminder for a return already received) is
skipped, and kept as skipped."""

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session

from app import clock
from app.care import repository as care
from app.db import unit_of_work
from app.models import Notification, NotificationStatus, OutboxJob, ReturnStatus, SwapRequest
from app.notify import content, repository
from app.notify.config import NotifyConfig
from app.notify.messages import WORKER
from app.notify.notifier import Notifier, Outgoing
from app.notify.render import Templates
from app.outbox import JobContext, Kind, RetryPolicy
from app.swaps import repository as swaps
from app.swaps import tracking_link
from app.swaps.states import SwapStatus
from app.warehouse import repository as warehouse

RETRY = RetryPolicy(max_attempts=8, base=timedelta(minutes=1), cap=timedelta(hours=2))


def _follow_up_open(session: Session, swap: SwapRequest, _note: Notification) -> bool:
    row = care.follow_up_of(session, swap.id)
    return row is not None and row.answer is None and row.outcome is None


def _return_still_out(session: Session, swap: SwapRequest, note: Notification) -> bool:
    expected = warehouse.return_of_swap(session, swap.id)
    if expected is None or expected.status not in (ReturnStatus.OPEN, ReturnStatus.UNRETURNED):
        return False
    return note.data.get("due_date") in (None, expected.due_date.isoformat())


STILL_TRUE: dict[str, Callable[[Session, SwapRequest, Notification], bool]] = {
    "waitlist_update": lambda session, swap, note: swap.status == SwapStatus.BACKORDERED,
    "followup": _follow_up_open,
    "followup_reminder": _follow_up_open,
    "return_reminder": _return_still_out,
    "return_overdue_manager": _return_still_out,
}


def send(ctx: JobContext, *, config: NotifyConfig, templates: Templates, notifier: Notifier) -> None:
    notification_id = ctx.payload["notification_id"]
    with unit_of_work(ctx.factory) as session:
        note = repository.get_for_update(session, notification_id)
        if note is None or note.status != NotificationStatus.QUEUED:
            return
        if note.swap_id is None:  # about the service itself, for support
            rendered = templates.render(note.kind, content.service_context(note, config), language="en",
                                        timezone="UTC")
            outgoing, token = Outgoing(note.channel, None, rendered.subject, rendered.text, rendered.html), None
        else:
            outgoing, token = _prepare(session, note, config, templates)
            if outgoing is None:
                return
        ctx.fence(session)  # still this worker's job, and the link is committed before it is sent
    carried_by = notifier.deliver(outgoing)
    with unit_of_work(ctx.factory) as session:
        note = repository.get_for_update(session, notification_id)
        hide = (lambda text: tracking_link.mask(text, token)) if token else (lambda text: text)
        note.subject, note.body_text, note.body_html = outgoing.subject[:300], hide(outgoing.text), hide(outgoing.html)
        note.status, note.sent_at, note.delivered_by, note.error = NotificationStatus.SENT, clock.now(), carried_by, None


def _prepare(session: Session, note: Notification, config: NotifyConfig,
             templates: Templates) -> tuple[Outgoing | None, str | None]:
    """The message about a swap, rendered now with a link of its own; None when it is no longer true."""
    swap = swaps.get_swap(session, note.swap_id)
    if not STILL_TRUE.get(note.kind, lambda *_: True)(session, swap, note):
        note.status, note.sent_at = NotificationStatus.SKIPPED, clock.now()
        return None, None
    token = tracking_link.issue(session, swap, purpose=tracking_link.MESSAGE) if note.audience == WORKER else None
    rendered = templates.render(note.kind, content.context(session, swap, note, config, token),
                                language=swap.language, timezone=swap.worker_timezone)
    return Outgoing(note.channel, note.recipient, rendered.subject, rendered.text, rendered.html), token


def _failed_for_good(session: Session, job: OutboxJob, message: str) -> None:
    note = repository.get_for_update(session, job.payload["notification_id"])
    if note is not None and note.status == NotificationStatus.QUEUED:
        note.status, note.error = NotificationStatus.FAILED, message[:2000]


def kind(*, config: NotifyConfig, templates: Templates, notifier: Notifier) -> Kind:
    return Kind(lambda ctx: send(ctx, config=config, templates=templates, notifier=notifier),
                "Sending a notification", RETRY, _failed_for_good)
