"""The messages the service sends, who gets each, and which may not wait for working hours."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

WORKER, MANAGER, SUPPORT = "worker", "manager", "support"


@dataclass(frozen=True)
class Message:
    audience: str
    # Delivery-day news is sent at once, whatever the hour; anything else waits for working hours.
    delivery_day: bool = False


MESSAGES: dict[str, Message] = {
    "received": Message(WORKER),  # with the tracking link, and what happened: reserved or on the waitlist
    "reserved": Message(WORKER),  # a unit freed up for a swap on the waitlist
    "waitlist_update": Message(WORKER),  # daily, while on the waitlist
    "courier_booked": Message(WORKER),
    "out_for_delivery": Message(WORKER, delivery_day=True),
    "delivered": Message(WORKER, delivery_day=True),
    "delivery_exception": Message(WORKER, delivery_day=True),
    "exception": Message(WORKER),
    "followup": Message(WORKER),
    "followup_reminder": Message(WORKER),
    "return_reminder": Message(WORKER),
    "return_received": Message(WORKER),
    "return_overdue_manager": Message(MANAGER),
    "support_alert": Message(SUPPORT),
    "service_alert": Message(SUPPORT),  # about the service itself, not a swap (a webhook endpoint disabled)
}


def release_time(at: datetime, timezone: str, opens: time, closes: time) -> datetime:
    """When a message due `at` may be sent to someone in `timezone`: at once within their working
    hours [opens, closes), else at the next opening (local time)."""
    local = at.astimezone(ZoneInfo(timezone))
    if opens <= local.time() < closes:
        return at
    day = local.date() if local.time() < opens else local.date() + timedelta(days=1)
    return datetime.combine(day, opens, ZoneInfo(timezone)).astimezone(at.tzinfo)
