"""The outbox: carrier work written in the same transaction as the change that needs it, done
later by a worker. Delivery is at least once; the work itself is made idempotent."""

from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app import clock
from app.db import is_postgres
from app.models import OutboxJob

LEASE = timedelta(minutes=5)  # a claimed job whose worker died is claimable again after this
MAX_ATTEMPTS = 12  # with capped backoff: about five hours of trying before escalating
BACKOFF_BASE = timedelta(seconds=15)
BACKOFF_MAX = timedelta(minutes=30)


def enqueue(session: Session, kind: str, *, swap_id: int | None = None, payload: dict | None = None,
            delay: timedelta = timedelta()) -> OutboxJob:
    now = clock.now()
    job = OutboxJob(kind=kind, swap_id=swap_id, payload=payload or {}, status="pending", attempts=0,
                    next_attempt_at=now + delay, created_at=now, updated_at=now)
    session.add(job)
    session.flush()
    return job


def claim(session: Session, *, limit: int = 10, kinds: tuple[str, ...] | None = None) -> list[OutboxJob]:
    """Due jobs, marked in flight under a lease. The caller commits before calling out, so a crash
    mid-call leaves a job that another worker picks up when the lease ends."""
    now = clock.now()
    stmt = (
        select(OutboxJob)
        .where(or_(
            (OutboxJob.status == "pending") & (OutboxJob.next_attempt_at <= now),
            (OutboxJob.status == "in_flight") & (OutboxJob.locked_until < now),
        ))
        .order_by(OutboxJob.next_attempt_at, OutboxJob.id)
        .limit(limit)
    )
    if kinds:
        stmt = stmt.where(OutboxJob.kind.in_(kinds))
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    jobs = list(session.scalars(stmt))
    for job in jobs:
        job.status = "in_flight"
        job.attempts += 1
        job.locked_until = now + LEASE
        job.updated_at = now
    session.flush()
    return jobs


def complete(job: OutboxJob) -> None:
    job.status = "done"
    job.locked_until = None
    job.last_error = None
    job.updated_at = clock.now()


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    delay = min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


def retry_later(job: OutboxJob, error: str, *, retry_after: float | None = None) -> bool:
    """Schedule another attempt; returns False when the job has used all its attempts."""
    now = clock.now()
    job.last_error = error[:2000]
    job.locked_until = None
    job.updated_at = now
    if job.attempts >= MAX_ATTEMPTS:
        job.status = "failed"
        return False
    job.status = "pending"
    job.next_attempt_at = now + backoff(job.attempts, retry_after)
    return True


def fail(job: OutboxJob, error: str) -> None:
    job.status = "failed"
    job.last_error = error[:2000]
    job.locked_until = None
    job.updated_at = clock.now()


def pending_count(session: Session) -> int:
    return len(session.scalars(select(OutboxJob.id).where(OutboxJob.status.in_(("pending", "in_flight")))).all())
