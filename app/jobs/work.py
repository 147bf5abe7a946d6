"""The background work, as sweeps that claim rows: safe to run in several processes at once."""

import logging
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from app import clock
from app.db import is_postgres, unit_of_work
from app.inventory.returns import overdue_and_lost
from app.jobs.runner import Kind, OutboxRunner
from app.models import Shipment
from app.shipping import booking, outbox, refunds, shippo_webhooks
from app.shipping.carrier import Carrier, CarrierError
from app.shipping.labels import VOID_EXTRA
from app.shipping.tracking import FINAL, Event, apply_event
from app.swaps import idempotency
from app.swaps.reserve import serve_waitlist

log = logging.getLogger("app.jobs")

# The outbox's kinds of job: what each does, and what to call it when it fails for good.
KINDS = {
    "book_swap": Kind(lambda ctx: booking.book_swap(ctx.factory, ctx.carrier, ctx.swap_id, fence=ctx.lease.fence),
                      "Booking the courier"),
    refunds.KIND: Kind(lambda ctx: refunds.void_labels(ctx.factory, ctx.carrier, ctx.swap_id, fence=ctx.lease.fence),
                       "Voiding the unused labels"),
    VOID_EXTRA: Kind(lambda ctx: refunds.void_extra_labels(ctx.factory, ctx.carrier, ctx.swap_id,
                                                           fence=ctx.lease.fence),
                     "Refunding a label bought twice"),
}


def outbox_runner(factory: sessionmaker[Session], carrier: Carrier, *, lease: timedelta = outbox.DEFAULT_LEASE,
                  stopping=None, backoff_base: timedelta = outbox.BACKOFF_BASE) -> OutboxRunner:
    return OutboxRunner(factory, carrier, KINDS, lease=lease, stopping=stopping, backoff_base=backoff_base)


def run_outbox(factory: sessionmaker[Session], carrier: Carrier, *, limit: int = 20,
               lease: timedelta = outbox.DEFAULT_LEASE) -> int:
    """Run due jobs one at a time until none is due (or `limit` ran); returns how many ran."""
    return outbox_runner(factory, carrier, lease=lease).run_until_idle(limit)


def poll_tracking(factory: sessionmaker[Session], carrier: Carrier, *, quiet_for: timedelta,
                  limit: int = 50) -> int:
    """The fallback for lost webhooks: ask the carrier about shipments we have not heard of lately."""
    now = clock.now()
    with unit_of_work(factory) as session:
        stmt = (
            select(Shipment)
            .where(Shipment.label_status == "SUCCESS", Shipment.tracking_number.is_not(None),
                   or_(Shipment.tracking_status.is_(None), Shipment.tracking_status.not_in(FINAL)),
                   or_(Shipment.last_polled_at.is_(None), Shipment.last_polled_at < now - quiet_for),
                   or_(Shipment.last_event_at.is_(None), Shipment.last_event_at < now - quiet_for))
            .order_by(Shipment.id).limit(limit)
        )
        if is_postgres(session):
            stmt = stmt.with_for_update(skip_locked=True)
        targets = []
        for s in session.scalars(stmt):
            s.last_polled_at = now  # claimed: another instance skips it until quiet_for passes
            targets.append((s.carrier, s.tracking_number))
    for carrier_token, number in targets:
        try:
            tracking = carrier.track(carrier=carrier_token, tracking_number=number)
        except CarrierError as exc:
            log.warning("tracking poll failed for %s: %s", number, exc)
            continue
        with unit_of_work(factory) as session:
            for e in tracking.events:
                apply_event(session, Event(carrier=carrier_token, tracking_number=number, status=e.status,
                                           status_date=e.status_date, details=e.status_details,
                                           substatus=e.substatus, action_required=e.action_required,
                                           location=e.location), source="poll")
    return len(targets)


def sweep_waitlist(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as session:
        return serve_waitlist(session)


def purge_expired(factory: sessionmaker[Session]) -> int:
    """Stored idempotent answers past 48 h and webhook receipts past 30 days."""
    with unit_of_work(factory) as session:
        return idempotency.purge_expired(session) + shippo_webhooks.purge_expired(session)


def sweep_returns(factory: sessionmaker[Session]) -> dict[str, int]:
    """Overdue returns get flagged and a reminder; returns delivered but never scanned become lost."""
    with unit_of_work(factory) as session:
        return overdue_and_lost(session, today=clock.now().date())
