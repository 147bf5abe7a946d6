"""APScheduler wiring. APScheduler 3 keeps jobs per process, so every job is a sweep that claims
rows (SKIP LOCKED on PostgreSQL): several instances running the same schedule do each piece of work
once. coalesce + max_instances=1 stop a slow tick from piling up."""

from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session, sessionmaker

from app.jobs import work
from app.shipping.carrier import Carrier


def build_scheduler(factory: sessionmaker[Session], carrier: Carrier, *, poll_quiet_for: timedelta,
                    scheduler_cls=BackgroundScheduler):
    scheduler = scheduler_cls(job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
    scheduler.add_job(work.run_outbox, "interval", seconds=3, args=[factory, carrier], id="outbox")
    scheduler.add_job(work.poll_tracking, "interval", seconds=30, args=[factory, carrier],
                      kwargs={"quiet_for": poll_quiet_for}, id="tracking-poll")
    scheduler.add_job(work.sweep_waitlist, "interval", seconds=60, args=[factory], id="waitlist")
    scheduler.add_job(work.sweep_returns, "interval", minutes=15, args=[factory], id="returns")
    scheduler.add_job(work.purge_idempotency_keys, "interval", hours=1, args=[factory], id="idempotency-purge")
    return scheduler
