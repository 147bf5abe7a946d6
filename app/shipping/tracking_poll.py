"""The fallback for lost webhooks: ask the carrier about shipments we have not heard of lately."""

import logging
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from app.db import unit_of_work
from app.shipping import repository
from app.shipping.carrier import Carrier, CarrierError
from app.shipping.tracking import Event, apply_event

log = logging.getLogger("app.shipping")


def poll(factory: sessionmaker[Session], carrier: Carrier, *, quiet_for: timedelta, limit: int = 50) -> int:
    with unit_of_work(factory) as session:
        targets = [(s.carrier, s.tracking_number)
                   for s in repository.claim_quiet_shipments(session, quiet_for=quiet_for, limit=limit)]
    for carrier_token, number in targets:
        try:
            tracking = carrier.track(carrier=carrier_token, tracking_number=number)
        except CarrierError as exc:
            log.warning("tracking poll failed for %s: %s", number, exc)
            continue
        with unit_of_work(factory) as session:
            for e in tracking.events:
                apply_event(session, Event(carrier=carrier_token, tracking_number=number, status=e.status,
                                           status_date=e.status_date, details=e.status_details,
                                           substatus=e.substatus, action_required=e.action_required,
                                           location=e.location), source="poll")
    return len(targets)
