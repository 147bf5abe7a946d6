"""A process's background work: the outbox runner, and APScheduler ticking the periodic jobs.

APScheduler 3 keeps its jobs per process, so a tick does not do the work itself: it queues the slot's
outbox job under a dedupe key (the slot), so however many processes tick, one job is queued per slot,
and one worker runs it. coalesce + max_instances=1 stop a slow tick from piling up."""

import threading
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session, sessionmaker

from app.jobs.kinds import PERIODIC, schedule_slot
from app.jobs.runner import OutboxRunner
from app.outbox import Kind
from app.shipping.carrier import Carrier


def build_scheduler(factory: sessionmaker[Session], tick_every: float | None = None) -> BackgroundScheduler:
    """Each periodic kind ticks at its own pace, or every `tick_every` seconds (drills, demos on a
    clock that runs fast): a tick queues its slot's job, so ticking more often never does more work."""
    scheduler = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
    for kind, every in PERIODIC.items():
        scheduler.add_job(schedule_slot, "interval", seconds=tick_every or every.total_seconds(),
                          args=[factory, kind], id=kind)
    return scheduler


class BackgroundWork:
    """The periodic ticks and the outbox runner of one process; `stop()` lets each job under way reach
    its next safe point (see `runner`) and hands it back."""

    def __init__(self, factory: sessionmaker[Session], carrier: Carrier, kinds: dict[str, Kind], *,
                 lease: timedelta, idle_seconds: float = 1.0, tick_every: float | None = None) -> None:
        self.stopping = threading.Event()
        self.scheduler = build_scheduler(factory, tick_every)
        self.runner = OutboxRunner(factory, carrier, kinds, lease=lease, stopping=self.stopping)
        self.idle_seconds = min(idle_seconds, tick_every) if tick_every else idle_seconds

    def run(self) -> None:
        """In the calling thread, until `stop()`."""
        self.scheduler.start()
        try:
            self.runner.run_forever(idle_seconds=self.idle_seconds)
        finally:
            self.scheduler.shutdown(wait=True)

    def stop(self) -> None:
        self.stopping.set()
