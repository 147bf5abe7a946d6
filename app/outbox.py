"""The one job outbox: work on the outside world (or for later), written in the same transaction as
the change that needs it, and done by a worker. Delivery is at least once; each job's work is made
idempotent.

A job has a kind, a JSON payload, a due time (so work can be scheduled for later), and optionally a
dedupe key: the same logical job is never queued twice (a unique constraint, so two processes racing
to queue it make one). Each job is claimed on its own under a short lease with a token; the worker
extends the lease while the job runs, and every statement about the job afterwards (extend, complete,
retry, release) holds only for the token's holder, which fences off a worker that stalled past its
lease."""

import random
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from app import clock, writes
from app.db import is_postgres
from app.models import JobStatus, OutboxJob

_JOBS = OutboxJob.__table__

DEFAULT_LEASE = timedelta(seconds=30)
KEEP_DONE_FOR = timedelta(days=7)


@dataclass(frozen=True)
class RetryPolicy:
    """How a kind of job is retried: exponential backoff from `base`, capped, with jitter, for at most
    `max_attempts` attempts (then the job fails for good and its kind's `on_exhausted` runs)."""

    max_attempts: int = 12
    base: timedelta = timedelta(seconds=15)
    cap: timedelta = timedelta(minutes=30)
    jitter: float = 0.2  # ± this share of the delay, so retries of many jobs do not arrive together
    # A fixed schedule instead: the delay after the n-th failed attempt is schedule[n-1] (its last
    # entry from then on).
    schedule: tuple[timedelta, ...] = ()

    def delay(self, attempts: int, retry_after: float | None = None, rng: random.Random | None = None) -> timedelta:
        if self.schedule:
            delay = self.schedule[min(max(attempts, 1), len(self.schedule)) - 1]
        else:
            delay = min(self.base * (2 ** max(attempts - 1, 0)), self.cap)
        if self.jitter:
            delay *= 1 + (rng or random).uniform(-self.jitter, self.jitter)
        if retry_after is not None:
            delay = max(delay, timedelta(seconds=retry_after))
        return delay


def enqueue(session: Session, kind: str, payload: dict | None = None, *, due: datetime | None = None,
            dedupe_key: str | None = None, lane: str | None = None) -> None:
    """Queue a job in the caller's transaction. With a dedupe key, a job already queued under it (done
    or not) makes this a no-op. Jobs of one `lane` run one at a time, in the order queued."""
    now = clock.now()
    values = {"kind": kind, "payload": payload or {}, "dedupe_key": dedupe_key, "status": JobStatus.PENDING, "attempts": 0,
              "next_attempt_at": due or now, "lane": lane, "created_at": now, "updated_at": now}
    # One form for every job (a NULL key repeats nothing), so a transaction's jobs are written together
    # and their ids keep the order they were queued in (a lane runs in that order).
    writes.add(session, _JOBS, values, ignore_conflicts_on=("dedupe_key",))


def claim_one(session: Session, *, lease: timedelta, kinds: Collection[str]) -> OutboxJob | None:
    """The next due job of one of `kinds` (or one whose worker's lease ran out), marked in flight
    under a new lease token. A lane is first in, first out: a job in a lane waits until every job
    queued before it in its lane is done or failed (its retries included), in any process. The
    caller commits before doing anything else."""
    if not kinds:
        return None
    now = clock.now()
    job = session.scalars(_next_due(is_postgres(session)), {"now": now, "kinds": sorted(kinds)}).first()
    if job is None:
        return None
    job.status, job.attempts = JobStatus.IN_FLIGHT, job.attempts + 1
    job.lease_token, job.locked_until, job.updated_at = uuid.uuid4().hex, now + lease, now
    session.flush()
    return job


@lru_cache(maxsize=2)
def _next_due(postgres: bool) -> Select:
    """`claim_one`'s query, built once (the time and the kinds are bound parameters): building it,
    with its alias, cost more than running it."""
    other = aliased(OutboxJob)
    lane_free = ~exists().where(other.lane == OutboxJob.lane, other.id < OutboxJob.id,
                                other.status.in_([JobStatus.PENDING, JobStatus.IN_FLIGHT]))
    now = bindparam("now")
    stmt = (
        select(OutboxJob)
        .where(OutboxJob.kind.in_(bindparam("kinds", expanding=True)), or_(
            (OutboxJob.status == JobStatus.PENDING) & (OutboxJob.next_attempt_at <= now),
            (OutboxJob.status == JobStatus.IN_FLIGHT) & (OutboxJob.locked_until < now),
        ), or_(OutboxJob.lane.is_(None), lane_free))
        .order_by(OutboxJob.next_attempt_at, OutboxJob.id)
        .limit(1)
    )
    return stmt.with_for_update(skip_locked=True) if postgres else stmt


def _held(job_id: int, token: str):
    return update(OutboxJob).where(OutboxJob.id == job_id, OutboxJob.lease_token == token,
                                   OutboxJob.status == JobStatus.IN_FLIGHT)


def extend(session: Session, job_id: int, token: str, lease: timedelta) -> bool:
    """Extend the lease if this token still holds it; False means the job is someone else's now."""
    now = clock.now()
    return session.execute(_held(job_id, token).values(locked_until=now + lease, updated_at=now)).rowcount == 1


def complete(session: Session, job_id: int, token: str) -> bool:
    return session.execute(_held(job_id, token).values(
        status=JobStatus.DONE, lease_token=None, locked_until=None, last_error=None, updated_at=clock.now())).rowcount == 1


def release(session: Session, job_id: int, token: str) -> bool:
    """Give a job back untouched (a stopping worker): due at once, its attempt not counted."""
    now = clock.now()
    return session.execute(_held(job_id, token).values(
        status=JobStatus.PENDING, attempts=OutboxJob.attempts - 1, lease_token=None, locked_until=None,
        next_attempt_at=now, updated_at=now)).rowcount == 1


def settle_failure(session: Session, job_id: int, token: str, error: str, *, policy: RetryPolicy,
                   retryable: bool, retry_after: float | None = None,
                   retry_at: datetime | None = None) -> OutboxJob | None:
    """Record a failed attempt: due again after the policy's delay (or at `retry_at`, when the handler
    keeps a schedule of its own), or `failed` once its attempts are used up (or the error is final). Returns the job if it failed for good, None if it will be tried
    again or is not this worker's any more."""
    job = session.scalars(select(OutboxJob).where(OutboxJob.id == job_id, OutboxJob.lease_token == token,
                                                  OutboxJob.status == JobStatus.IN_FLIGHT).with_for_update()).first()
    if job is None:
        return None
    now = clock.now()
    job.last_error, job.lease_token, job.locked_until, job.updated_at = error[:2000], None, None, now
    if retryable and job.attempts < policy.max_attempts:
        job.status = JobStatus.PENDING
        job.next_attempt_at = retry_at or now + policy.delay(job.attempts, retry_after)
        return None
    job.status = JobStatus.FAILED
    return job


def drop_lane(session: Session, lane: str) -> int:
    """The lane's jobs still waiting are done with (their endpoint is gone, say); one in flight ends
    on its own."""
    return session.execute(update(OutboxJob).where(OutboxJob.lane == lane, OutboxJob.status == JobStatus.PENDING)
                           .values(status=JobStatus.DONE, last_error="dropped with its lane",
                                   updated_at=clock.now())).rowcount or 0


def counts(session: Session) -> list[tuple[str, str, int]]:
    """(kind, status, jobs) for every kind and status present."""
    stmt = select(OutboxJob.kind, OutboxJob.status, func.count()).group_by(OutboxJob.kind, OutboxJob.status)
    return [tuple(row) for row in session.execute(stmt)]


def oldest_due(session: Session) -> datetime | None:
    """When the longest-waiting due job came due (None: nothing is waiting)."""
    return session.scalar(select(func.min(OutboxJob.next_attempt_at)).where(
        OutboxJob.status == JobStatus.PENDING, OutboxJob.next_attempt_at <= clock.now()))


def purge_done(session: Session) -> int:
    """Done jobs are kept a week (their dedupe keys with them), then dropped."""
    cutoff = clock.now() - KEEP_DONE_FOR
    return session.execute(delete(OutboxJob).where(OutboxJob.status == JobStatus.DONE,
                                                   OutboxJob.updated_at < cutoff)).rowcount or 0


# ---- what a job's handler sees ------------------------------------------------------------------


class LeaseLost(Exception):
    """Another worker holds this job now: stop, with no side effect."""


class Released(Exception):
    """This worker is stopping: the job goes back to the queue before its next side effect."""


@dataclass(frozen=True)
class JobContext:
    job_id: int
    kind: str
    payload: dict
    factory: sessionmaker[Session]
    carrier: Any  # the carrier port (app.shipping.carrier.Carrier)
    # Call in the transaction that records an intent, right before a side effect on the outside world:
    # raises LeaseLost or Released when this worker may not go on.
    fence: Callable[[Session], None]


@dataclass(frozen=True)
class Kind:
    run: Callable[[JobContext], None]
    description: str  # what it does, in words ("Booking the courier"): escalations say what failed
    policy: RetryPolicy = RetryPolicy()
    # Runs in the transaction that marks the job failed for good (e.g. escalate its swap).
    on_exhausted: Callable[[Session, OutboxJob, str], None] | None = None
    # How many of its jobs a worker runs at once (each of a different lane, see `enqueue`).
    concurrency: int = 1
