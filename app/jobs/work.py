"""The background work, as sweeps that claim rows: safe to run in several processes at once."""

import logging
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from app import clock
from app.db import is_postgres, unit_of_work
from app.inventory.returns import overdue_and_lost
from app.models import OutboxJob, Shipment, SwapRequest
from app.shipping import booking, outbox, refunds
from app.shipping.carrier import Carrier, CarrierError
from app.shipping.tracking import FINAL, Event, apply_event
from app.swaps import idempotency
from app.swaps.reserve import serve_waitlist
from app.swaps.states import TRANSITIONS, SwapStatus
from app.swaps.timeline import add_event, move

log = logging.getLogger("app.jobs")
HANDLERS = {
    "book_swap": lambda factory, carrier, job: booking.book_swap(factory, carrier, job.swap_id),
    refunds.KIND: lambda factory, carrier, job: refunds.void_labels(factory, carrier, job.swap_id),
}
FAILED = {"book_swap": "Booking the courier", refunds.KIND: "Voiding the unused labels"}


def run_outbox(factory: sessionmaker[Session], carrier: Carrier, *, limit: int = 20) -> int:
    """Claim due jobs (committed before any carrier call), run each, record the outcome."""
    with unit_of_work(factory) as session:
        jobs = [(j.id, j.kind, j.swap_id) for j in outbox.claim(session, limit=limit)]
    for job_id, kind, swap_id in jobs:
        try:
            HANDLERS[kind](factory, carrier, _Job(job_id, kind, swap_id))
        except CarrierError as exc:
            _settle(factory, job_id, str(exc), retryable=exc.retryable, retry_after=exc.retry_after)
        except Exception as exc:  # an unexpected failure is retried too: nothing is dropped
            log.exception("outbox job %s (%s) failed", job_id, kind)
            _settle(factory, job_id, f"{type(exc).__name__}: {exc}", retryable=True)
        else:
            with unit_of_work(factory) as session:
                outbox.complete(session.get(OutboxJob, job_id))
    return len(jobs)


class _Job:
    def __init__(self, job_id: int, kind: str, swap_id: int | None):
        self.id, self.kind, self.swap_id = job_id, kind, swap_id


def _settle(factory, job_id: int, error: str, *, retryable: bool, retry_after: float | None = None) -> None:
    with unit_of_work(factory) as session:
        job = session.get(OutboxJob, job_id)
        if retryable and outbox.retry_later(job, error, retry_after=retry_after):
            return
        outbox.fail(job, error)
        if job.swap_id is None:
            return
        swap = session.get(SwapRequest, job.swap_id)
        message = f"{FAILED[job.kind]} failed after {job.attempts} attempt(s): {error}. Escalated to support."
        if SwapStatus.EXCEPTION in TRANSITIONS[SwapStatus(swap.status)]:
            move(session, swap, SwapStatus.EXCEPTION, message, job_id=job.id, escalated=True)
        else:  # e.g. a cancelled swap whose labels could not be voided: it stays cancelled
            add_event(session, swap, "escalated", message, job_id=job.id, escalated=True)


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


def purge_idempotency_keys(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as session:
        return idempotency.purge_expired(session)


def sweep_returns(factory: sessionmaker[Session]) -> dict[str, int]:
    """Overdue returns get flagged and a reminder; returns delivered but never scanned become lost."""
    with unit_of_work(factory) as session:
        return overdue_and_lost(session, today=clock.now().date())
