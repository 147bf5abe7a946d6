"""Running outbox jobs: one at a time per runner, each under its own lease.

While a job runs, a heartbeat thread extends its lease every third of the lease. A handler calls
`lease.fence(session)` in the transaction that records its intent, right before each side effect on
the outside world: that proves (in the same statement that extends it) that this worker still holds
the job. When it does not, `LeaseLost` stops the handler before the side effect; when the worker is
stopping (SIGTERM), `Released` does, and the job is handed back untouched for another worker. A side
effect already under way is finished and recorded first: stopping never abandons a purchase halfway."""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from app.db import unit_of_work
from app.models import OutboxJob, SwapRequest
from app.shipping import outbox
from app.shipping.carrier import Carrier, CarrierError
from app.swaps.states import TRANSITIONS, SwapStatus
from app.swaps.timeline import add_event, move

log = logging.getLogger("app.jobs")


class LeaseLost(Exception):
    """Another worker holds this job now: stop, with no side effect."""


class Released(Exception):
    """This worker is stopping: the job goes back to the queue before its next side effect."""


class Lease:
    def __init__(self, factory: sessionmaker[Session], job_id: int, token: str, duration: timedelta,
                 stopping: threading.Event) -> None:
        self.factory, self.job_id, self.token, self.duration = factory, job_id, token, duration
        self.stopping = stopping
        self.lost = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def fence(self, session: Session) -> None:
        """Before a side effect: still ours (and the lease extended), in the caller's transaction."""
        if self.lost.is_set() or not outbox.extend(session, self.job_id, self.token, self.duration):
            self.lost.set()
            raise LeaseLost(f"job {self.job_id}: lease lost")
        if self.stopping.is_set():
            raise Released(f"job {self.job_id}: worker stopping")

    def beat(self) -> None:
        """One heartbeat in a transaction of its own."""
        with unit_of_work(self.factory) as session:
            if not outbox.extend(session, self.job_id, self.token, self.duration):
                self.lost.set()

    def __enter__(self) -> "Lease":  # noqa: PYI034
        def run() -> None:
            interval = self.duration.total_seconds() / 3
            while not self._done.wait(interval) and not self.lost.is_set():
                try:
                    self.beat()
                except Exception:  # a missed beat is retried at the next one; the fence decides
                    log.warning("heartbeat for job %s failed", self.job_id, exc_info=True)

        self._thread = threading.Thread(target=run, name=f"lease-{self.job_id}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()


@dataclass(frozen=True)
class JobContext:
    factory: sessionmaker[Session]
    carrier: Carrier
    job_id: int
    kind: str
    swap_id: int | None
    lease: Lease


Handler = Callable[[JobContext], None]


@dataclass(frozen=True)
class Kind:
    handler: Handler
    failure: str  # what failed, in words, for the escalation


class OutboxRunner:
    def __init__(self, factory: sessionmaker[Session], carrier: Carrier, kinds: dict[str, Kind], *,
                 lease: timedelta = outbox.DEFAULT_LEASE, stopping: threading.Event | None = None,
                 backoff_base: timedelta = outbox.BACKOFF_BASE) -> None:
        self.factory, self.carrier, self.kinds, self.lease = factory, carrier, kinds, lease
        self.stopping = stopping or threading.Event()
        self.backoff_base = backoff_base

    def run_one(self) -> bool:
        """Claim and run one due job; False when none was due (or the worker is stopping)."""
        if self.stopping.is_set():
            return False
        with unit_of_work(self.factory) as session:
            job = outbox.claim_one(session, lease=self.lease)
            if job is None:
                return False
            job_id, kind, swap_id, token = job.id, job.kind, job.swap_id, job.lease_token
        with Lease(self.factory, job_id, token, self.lease, self.stopping) as lease:
            self._run(JobContext(self.factory, self.carrier, job_id, kind, swap_id, lease))
        return True

    def run_until_idle(self, limit: int = 1000) -> int:
        done = 0
        while done < limit and self.run_one():
            done += 1
        return done

    def run_forever(self, idle_seconds: float = 1.0) -> None:
        """Until `stopping` is set: then the job under way stops at its next fence (or finishes)."""
        while not self.stopping.is_set():
            try:
                worked = self.run_one()
            except Exception:  # the database went away: wait and try again, never die
                log.exception("outbox runner: claiming failed")
                worked = False
            if not worked:
                self.stopping.wait(idle_seconds)

    def _run(self, ctx: JobContext) -> None:
        try:
            self.kinds[ctx.kind].handler(ctx)
        except LeaseLost:
            log.warning("job %s (%s): lease lost to another worker; stopped without side effects",
                        ctx.job_id, ctx.kind)
        except Released:
            with unit_of_work(self.factory) as session:
                outbox.release(session, ctx.job_id, ctx.lease.token)
            log.info("job %s (%s) released: worker stopping", ctx.job_id, ctx.kind)
        except CarrierError as exc:
            self._failed(ctx, str(exc), retryable=exc.retryable, retry_after=exc.retry_after)
        except Exception as exc:  # an unexpected failure is retried too: nothing is dropped
            log.exception("job %s (%s) failed", ctx.job_id, ctx.kind)
            self._failed(ctx, f"{type(exc).__name__}: {exc}", retryable=True)
        else:
            with unit_of_work(self.factory) as session:
                if not outbox.complete(session, ctx.job_id, ctx.lease.token):
                    log.warning("job %s (%s) finished after its lease was lost", ctx.job_id, ctx.kind)

    def _failed(self, ctx: JobContext, error: str, *, retryable: bool, retry_after: float | None = None) -> None:
        with unit_of_work(self.factory) as session:
            job = outbox.settle_failure(session, ctx.job_id, ctx.lease.token, error, retryable=retryable,
                                        retry_after=retry_after, backoff_base=self.backoff_base)
            if job is None or job.swap_id is None:
                return
            _escalate(session, job, f"{self.kinds[ctx.kind].failure} failed after {job.attempts} attempt(s): "
                                    f"{error}. Escalated to support.")


def _escalate(session: Session, job: OutboxJob, message: str) -> None:
    swap = session.get(SwapRequest, job.swap_id)
    if SwapStatus.EXCEPTION in TRANSITIONS[SwapStatus(swap.status)]:
        move(session, swap, SwapStatus.EXCEPTION, message, job_id=job.id, escalated=True)
    else:  # e.g. a cancelled swap whose labels could not be voided: it stays cancelled
        add_event(session, swap, "escalated", message, job_id=job.id, escalated=True)
