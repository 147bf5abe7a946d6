"""The daily word to everyone on the waitlist: where they stand, and when a device is expected (the
earliest one due back to us that could serve them, plus the time to refurbish and deliver it).
Serving everyone a little, when stock is short, starts with not leaving anyone in silence."""

from datetime import date, time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app import clock
from app.inventory.calendar import add_business_days
from app.models import SwapRequest
from app.notify.config import NotifyConfig
from app.notify.queue import queue
from app.swaps import repository as swaps
from app.swaps.allocation import Need
from app.warehouse import repository as warehouse

SENT_FROM = time(9)  # the day's update goes out from this local hour
TURNAROUND_BUSINESS_DAYS = 2  # a returned device refurbished (1) and delivered (1)


def expected_date(session: Session, swap: SwapRequest, need: Need, *, today: date) -> date | None:
    """When a waiting swap can expect a device: the earliest one due back that could serve it, then
    refurbished and delivered (None: nothing is on its way back)."""
    due_back = warehouse.next_return_due(session, {need.model_id, *need.substitute_ids} - {None}, need.category)
    return add_business_days(max(due_back, today), TURNAROUND_BUSINESS_DAYS, swap.country) if due_back else None


def waitlist_updates(session: Session, config: NotifyConfig) -> int:
    """One update per waiting worker per local day (not on the day they asked: they just heard)."""
    now, made = clock.now(), 0
    for waiting in swaps.waiting_swaps(session):
        swap = swaps.get_swap(session, waiting.swap_id)
        local = now.astimezone(ZoneInfo(swap.worker_timezone))
        if local.time() < SENT_FROM or swap.waiting_since.astimezone(local.tzinfo).date() >= local.date():
            continue
        expected = expected_date(session, swap, waiting.need, today=local.date())
        data = {"position": swaps.waitlist_position(session, swap),
                "expected": expected.isoformat() if expected else None}
        made += len(queue(session, config, swap, "waitlist_update", local.date().isoformat(), data=data))
    return made
