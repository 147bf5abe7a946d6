"""The outbox: carrier work written in the same transaction as the change that needs it, done later
by a worker. Delivery is at least once; the work itself is made idempotent.

Each job is claimed on its own, under a short lease with a token. The worker extends the lease while
the job runs (a heartbeat) and fences every side effect: the statement that extends the lease also
proves the worker still holds it (`WHERE id = :id AND lease_token = :token`). A worker that lost its
lease (it stalled past it, and another worker took the job over) finds out at its next fence and stops
without side effects; its `complete`/`retry_later` change nothing either. A killed worker's job is
claimable again as soon as its short lease runs out."""

import uuid
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app import clock
from app.db import is_postgres
from app.models import OutboxJob

DEFAULT_LEASE = timedelta(seconds=30)  # settings.outbox_lease_seconds; extended every third of it
MAX_ATTEMPTS = 12  # with capped backoff: about five hours of trying before escalating
BACKOFF_BASE = timedelta(seconds=15)
BACKOFF_MAX = timedelta(minutes=30)


def enqueue(session: Session, kind: str, *, swap_id: int | None = None) -> OutboxJob:
    now = clock.now()
    job = OutboxJob(kind=kind, swap_id=swap_id, payload={}, status="pending", attempts=0,
                    next_attempt_at=now, created_at=now, updated_at=now)
    session.add(job)
    session.flush()
    return job


def claim_one(session: Session, *, lease: timedelta) -> OutboxJob | None:
    """The next due job (or one whose worker's lease ran out), marked in flight under a new lease
    token. The caller commits before doing anything else, so a crash leaves a job that another worker
    takes over when the lease ends."""
    now = clock.now()
    stmt = (
        select(OutboxJob)
        .where(or_(
            (OutboxJob.status == "pending") & (OutboxJob.next_attempt_at <= now),
            (OutboxJob.status == "in_flight") & (OutboxJob.locked_until < now),
        ))
        .order_by(OutboxJob.next_attempt_at, OutboxJob.id)
        .limit(1)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    job = session.scalars(stmt).first()
    if job is None:
        return None
    job.status, job.attempts = "in_flight", job.attempts + 1
    job.lease_token, job.locked_until, job.updated_at = uuid.uuid4().hex, now + lease, now
    session.flush()
    return job


def _held(job_id: int, token: str):
    return update(OutboxJob).where(OutboxJob.id == job_id, OutboxJob.lease_token == token,
                                   OutboxJob.status == "in_flight")


def extend(session: Session, job_id: int, token: str, lease: timedelta) -> bool:
    """Extend the lease if this token still holds it; False means the job is someone else's now."""
    now = clock.now()
    result = session.execute(_held(job_id, token).values(locked_until=now + lease, updated_at=now))
    return result.rowcount == 1


def complete(session: Session, job_id: int, token: str) -> bool:
    result = session.execute(_held(job_id, token).values(
        status="done", lease_token=None, locked_until=None, last_error=None, updated_at=clock.now()))
    return result.rowcount == 1


def release(session: Session, job_id: int, token: str) -> bool:
    """Give a job back untouched (a stopping worker): due at once, its attempt not counted."""
    now = clock.now()
    result = session.execute(_held(job_id, token).values(
        status="pending", attempts=OutboxJob.attempts - 1, lease_token=None, locked_until=None,
        next_attempt_at=now, updated_at=now))
    return result.rowcount == 1


def backoff(attempts: int, retry_after: float | None = None, *, base: timedelta = BACKOFF_BASE) -> timedelta:
    delay = min(base * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


def settle_failure(session: Session, job_id: int, token: str, error: str, *, retryable: bool,
                   retry_after: float | None = None, backoff_base: timedelta = BACKOFF_BASE) -> OutboxJob | None:
    """Record a failed attempt: due again after a backoff, or `failed` once retries are used up (or
    the error is final). Returns the job if it failed for good, None if it will be tried again or is
    not this worker's any more."""
    job = session.scalars(select(OutboxJob).where(OutboxJob.id == job_id, OutboxJob.lease_token == token,
                                                  OutboxJob.status == "in_flight").with_for_update()).first()
    if job is None:
        return None
    now = clock.now()
    job.last_error, job.lease_token, job.locked_until, job.updated_at = error[:2000], None, None, now
    if retryable and job.attempts < MAX_ATTEMPTS:
        job.status, job.next_attempt_at = "pending", now + backoff(job.attempts, retry_after, base=backoff_base)
        return None
    job.status = "failed"
    return job
