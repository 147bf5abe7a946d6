"""APScheduler wiring for the sweeps. APScheduler 3 keeps jobs per process, so every job is a sweep
that claims rows (SKIP LOCKED on PostgreSQL): several instances running the same schedule do each piece
of work once. coalesce + max_instances=1 stop a slow tick from piling up. The outbox is not a sweep:
`runner.OutboxRunner` works through it continuously, beside the sweeps (`BackgroundWork`)."""

import threading
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session, sessionmaker

from app.jobs import work
from app.settings import Settings
from app.shipping.carrier import Carrier


def build_scheduler(factory: sessionmaker[Session], carrier: Carrier, *, poll_quiet_for: timedelta):
    scheduler = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
    scheduler.add_job(work.poll_tracking, "interval", seconds=30, args=[factory, carrier],
                      kwargs={"quiet_for": poll_quiet_for}, id="tracking-poll")
    scheduler.add_job(work.sweep_waitlist, "interval", seconds=60, args=[factory], id="waitlist")
    scheduler.add_job(work.sweep_returns, "interval", minutes=15, args=[factory], id="returns")
    scheduler.add_job(work.purge_expired, "interval", hours=1, args=[factory], id="purge")
    return scheduler


class BackgroundWork:
    """The sweeps and the outbox runner of one process; `stop()` lets the job under way reach its next
    safe point (see `runner`) and hands the rest back."""

    def __init__(self, factory: sessionmaker[Session], carrier: Carrier, *, poll_quiet_for: timedelta,
                 lease: timedelta, backoff_base: timedelta, idle_seconds: float = 1.0) -> None:
        self.stopping = threading.Event()
        self.scheduler = build_scheduler(factory, carrier, poll_quiet_for=poll_quiet_for)
        self.runner = work.outbox_runner(factory, carrier, lease=lease, stopping=self.stopping,
                                         backoff_base=backoff_base)
        self.idle_seconds = idle_seconds

    @classmethod
    def from_settings(cls, factory: sessionmaker[Session], carrier: Carrier, settings: Settings) -> "BackgroundWork":
        return cls(factory, carrier, poll_quiet_for=timedelta(seconds=settings.tracking_poll_quiet_seconds),
                   lease=timedelta(seconds=settings.outbox_lease_seconds),
                   backoff_base=timedelta(seconds=settings.outbox_retry_seconds))

    def run(self) -> None:
        """In the calling thread, until `stop()`."""
        self.scheduler.start()
        try:
            self.runner.run_forever(idle_seconds=self.idle_seconds)
        finally:
            self.scheduler.shutdown(wait=True)

    def stop(self) -> None:
        self.stopping.set()
