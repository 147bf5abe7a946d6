"""Running outbox jobs, each under its own lease.

While a job runs, a heartbeat thread extends its lease every third of the lease. A handler calls
`ctx.fence(session)` in the transaction that records its intent, right before each side effect on
the outside world: that proves (in the same statement that extends it) that this worker still holds
the job. When it does not, `LeaseLost` stops the handler before the side effect; when the worker is
stopping (SIGTERM), `Released` does, and the job is handed back untouched for another worker. A side
effect already under way is finished and recorded first: stopping never abandons a purchase halfway.

Kinds run independently: `run_forever` runs each job in its own thread, at most one of each kind at
a time (or the kind's `concurrency`, each of another lane), so a slow or failing kind (a carrier
timing out) never holds up another, and a slow webhook receiver never holds up the others."""

import logging
import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from app import outbox
from app.db import unit_of_work
from app.outbox import JobContext, Kind, LeaseLost, Released

log = logging.getLogger("app.jobs")


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


class OutboxRunner:
    def __init__(self, factory: sessionmaker[Session], carrier, kinds: dict[str, Kind], *,
                 lease: timedelta = outbox.DEFAULT_LEASE, stopping: threading.Event | None = None) -> None:
        self.factory, self.carrier, self.kinds, self.lease = factory, carrier, kinds, lease
        self.stopping = stopping or threading.Event()

    def claim(self, kinds) -> tuple[int, str, dict, str] | None:
        if self.stopping.is_set():
            return None
        with unit_of_work(self.factory) as session:
            job = outbox.claim_one(session, lease=self.lease, kinds=kinds)
            return None if job is None else (job.id, job.kind, dict(job.payload or {}), job.lease_token)

    def run_one(self, kinds=None) -> bool:
        """Claim and run one due job (of `kinds`, default all); False when none was due."""
        claimed = self.claim(self.kinds if kinds is None else kinds)
        if claimed is None:
            return False
        self.run(*claimed)
        return True

    def run_until_idle(self, limit: int = 1000, kinds=None) -> int:
        done = 0
        while done < limit and self.run_one(kinds):
            done += 1
        return done

    def run_forever(self, idle_seconds: float = 1.0) -> None:
        """Until `stopping` is set; then each job under way stops at its next fence (or finishes).
        Each job runs in a thread of its own: at most `concurrency` jobs of a kind at once (one unless
        the kind says more); a lane's next job is not claimable while one of it runs (`claim_one`)."""
        running: dict[int, tuple[str, threading.Thread]] = {}
        wake = threading.Event()
        while not self.stopping.is_set():
            for job_id in [j for j, (_, t) in running.items() if not t.is_alive()]:
                running.pop(job_id)[1].join()
            in_flight = Counter(kind for kind, _ in running.values())
            free = {k for k, kind in self.kinds.items() if in_flight[k] < kind.concurrency}
            try:
                claimed = self.claim(free)
            except Exception:  # the database went away: wait and try again, never die
                log.exception("outbox runner: claiming failed")
                claimed = None
            if claimed is None:
                wake.wait(idle_seconds)
                wake.clear()
                continue

            def work(claimed=claimed) -> None:
                try:
                    self.run(*claimed)
                finally:
                    wake.set()

            thread = threading.Thread(target=work, name=f"job-{claimed[1]}", daemon=True)
            running[claimed[0]] = (claimed[1], thread)
            thread.start()
        for _, thread in running.values():
            thread.join()

    def run(self, job_id: int, kind_name: str, payload: dict, token: str) -> None:
        kind = self.kinds[kind_name]
        with Lease(self.factory, job_id, token, self.lease, self.stopping) as lease:
            ctx = JobContext(job_id=job_id, kind=kind_name, payload=payload, factory=self.factory,
                             carrier=self.carrier, fence=lease.fence)
            try:
                kind.run(ctx)
            except LeaseLost:
                log.warning("job %s (%s): lease lost to another worker; stopped without side effects",
                            job_id, kind_name)
            except Released:
                with unit_of_work(self.factory) as session:
                    outbox.release(session, job_id, token)
                log.info("job %s (%s) released: worker stopping", job_id, kind_name)
            except Exception as exc:
                retryable = getattr(exc, "retryable", True)
                if not hasattr(exc, "retryable"):
                    log.exception("job %s (%s) failed", job_id, kind_name)
                error = str(exc) if hasattr(exc, "retryable") else f"{type(exc).__name__}: {exc}"
                self._failed(kind, job_id, token, error, retryable=retryable,
                             retry_after=getattr(exc, "retry_after", None), retry_at=getattr(exc, "retry_at", None))
            else:
                with unit_of_work(self.factory) as session:
                    if not outbox.complete(session, job_id, token):
                        log.warning("job %s (%s) finished after its lease was lost", job_id, kind_name)

    def _failed(self, kind: Kind, job_id: int, token: str, error: str, *, retryable: bool,
                retry_after: float | None, retry_at=None) -> None:
        with unit_of_work(self.factory) as session:
            job = outbox.settle_failure(session, job_id, token, error, policy=kind.policy, retryable=retryable,
                                        retry_after=retry_after, retry_at=retry_at)
            if job is not None and kind.on_exhausted is not None:
                kind.on_exhausted(session, job, f"{kind.description} failed after {job.attempts} attempt(s): "
                                                f"{error}. Escalated to support.")
