"""Running the background work of a test's app as its workers would: the periodic slots are queued
(as the schedulers tick) and every due job is run, with the app's own kinds (its notifier, its
policies). The courier's news comes from the test's webhooks: the tracking poll (which would ask the
simulated carrier, whose parcels move on their own) runs only when asked for."""

from fastapi import FastAPI

from app.jobs import work
from app.jobs.kinds import PERIODIC, schedule_slot
from app.shipping.jobs import POLL_TRACKING


def run_due(app: FastAPI, *, limit: int = 500, poll: bool = False) -> int:
    service = app.state.service
    periodic = [k for k in PERIODIC if poll or k != POLL_TRACKING]
    for kind in periodic:
        schedule_slot(service.session_factory, kind)
    kinds = {k for k in service.kinds if k in periodic or k not in PERIODIC}
    return work.run_outbox(service.session_factory, app.state.carrier, kinds=service.kinds, limit=limit, only=kinds)
