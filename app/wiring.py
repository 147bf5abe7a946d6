"""Connects the parts that must not import each other: inventory tells swaps when a unit is ready,
a swap that gets its unit queues its courier booking, and a cancelled one the voiding of its labels."""

from sqlalchemy.orm import Session

from app.inventory import units
from app.models import SwapRequest
from app.shipping import outbox, refunds
from app.swaps import intake, reserve


def queue_booking(session: Session, swap: SwapRequest) -> None:
    outbox.enqueue(session, "book_swap", swap_id=swap.id)


def queue_void(session: Session, swap: SwapRequest) -> None:
    if refunds.has_labels(session, swap.id):
        refunds.request_void(session, swap)


def wire() -> None:
    if reserve.offer_unit not in units.ready_listeners:
        units.ready_listeners.append(reserve.offer_unit)
    if queue_booking not in reserve.allocated_listeners:
        reserve.allocated_listeners.append(queue_booking)
    if queue_void not in intake.cancelled_listeners:
        intake.cancelled_listeners.append(queue_void)
