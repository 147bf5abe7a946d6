"""Running the outbox from code (tests, the CLI): the same runner the worker uses."""

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from app import outbox
from app.jobs.kinds import all_kinds
from app.jobs.runner import OutboxRunner
from app.jobs.sweeps import purge_expired, sweep_returns, sweep_waitlist
from app.shipping.carrier import Carrier
from app.shipping.tracking_poll import poll as poll_tracking

__all__ = ["outbox_runner", "poll_tracking", "purge_expired", "run_outbox", "sweep_returns", "sweep_waitlist"]


def outbox_runner(factory: sessionmaker[Session], carrier: Carrier, *, lease: timedelta = outbox.DEFAULT_LEASE,
                  stopping=None, kinds=None) -> OutboxRunner:
    return OutboxRunner(factory, carrier, kinds or all_kinds(), lease=lease, stopping=stopping)


def run_outbox(factory: sessionmaker[Session], carrier: Carrier, *, limit: int = 20,
               lease: timedelta = outbox.DEFAULT_LEASE, kinds=None, only=None) -> int:
    """Run due jobs one at a time until none is due (or `limit` ran); returns how many ran. `only`
    names the kinds to run (default: every kind)."""
    runner = outbox_runner(factory, carrier, lease=lease, kinds=kinds)
    return runner.run_until_idle(limit, set(only) if only is not None else None)
