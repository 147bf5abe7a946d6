"""The periodic sweeps, as outbox kinds: each runs once per slot across all processes (see
`kinds.PERIODIC`) and claims the rows it works on, so an overlap does no work twice."""

from sqlalchemy.orm import Session, sessionmaker

from app import clock, outbox
from app.db import unit_of_work
from app.outbox import Kind, RetryPolicy
from app.shipping import shippo_webhooks
from app.swaps import idempotency
from app.swaps.reserve import serve_waitlist
from app.warehouse.returns import overdue_and_lost

SWEEP_WAITLIST = "sweep_waitlist"
SWEEP_RETURNS = "sweep_returns"
PURGE_EXPIRED = "purge_expired"
ONCE = RetryPolicy(max_attempts=1)  # the next slot's run is the retry


def sweep_waitlist(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as session:
        return serve_waitlist(session)


def sweep_returns(factory: sessionmaker[Session]) -> dict[str, int]:
    """Overdue returns get flagged and a reminder; returns delivered but never scanned become lost."""
    with unit_of_work(factory) as session:
        return overdue_and_lost(session, today=clock.now().date())


def purge_expired(factory: sessionmaker[Session]) -> int:
    """Stored idempotent answers past 48 h, webhook receipts past 30 days, done jobs past a week."""
    with unit_of_work(factory) as session:
        return (idempotency.purge_expired(session) + shippo_webhooks.purge_expired(session)
                + outbox.purge_done(session))


def kinds() -> dict[str, Kind]:
    return {
        SWEEP_WAITLIST: Kind(lambda ctx: sweep_waitlist(ctx.factory), "Serving the waitlist", ONCE),
        SWEEP_RETURNS: Kind(lambda ctx: sweep_returns(ctx.factory), "Chasing overdue returns", ONCE),
        PURGE_EXPIRED: Kind(lambda ctx: purge_expired(ctx.factory), "Purging expired records", ONCE),
    }
