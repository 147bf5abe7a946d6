"""What each event tells people: the handlers `bootstrap()` binds, each queueing a message (in the
transaction that records the event)."""

import hashlib
from datetime import datetime
from functools import partial

from sqlalchemy.orm import Session

from app import clock, events
from app.dispatch import Dispatcher
from app.notify.config import NotifyConfig
from app.notify.queue import queue, queue_service_alert
from app.notify.render import local_day
from app.shipping.states import Direction
from app.swaps import repository as swaps
from app.swaps.states import SwapStatus


def _swap(session: Session, swap_id: int):
    return swaps.get_swap(session, swap_id)


def received(session: Session, e: events.SwapReceived, *, config: NotifyConfig) -> None:
    swap = _swap(session, e.swap_id)
    data = {"outcome": e.outcome}
    if e.outcome == "backordered":
        data["position"] = e.position if e.position is not None else swaps.waitlist_position(session, swap)
    queue(session, config, swap, "received", e.outcome, data=data)


def allocated(session: Session, e: events.SwapAllocated, *, config: NotifyConfig) -> None:
    if e.from_waitlist:  # at intake, "received" says so
        queue(session, config, _swap(session, e.swap_id), "reserved", str(e.unit_id))


def booked(session: Session, e: events.SwapBooked, *, config: NotifyConfig) -> None:
    queue(session, config, _swap(session, e.swap_id), "courier_booked", "1")


def courier_news(session: Session, e: events.CourierNews, *, config: NotifyConfig) -> None:
    swap = _swap(session, e.swap_id)
    today = local_day(clock.now(), swap.worker_timezone).isoformat()
    if e.kind == "out_for_delivery":
        queue(session, config, swap, "out_for_delivery", today)
    else:
        queue(session, config, swap, "delivery_exception", f"{today}:{hashlib.sha256(e.message.encode()).hexdigest()[:12]}",
              data={"message": e.message})


def shipment_moved(session: Session, e: events.ShipmentStatusChanged, *, config: NotifyConfig) -> None:
    if e.direction == Direction.OUTBOUND and e.status == "DELIVERED":
        queue(session, config, _swap(session, e.swap_id), "delivered", str(e.shipment_id))


def status_changed(session: Session, e: events.SwapStatusChanged, *, config: NotifyConfig) -> None:
    if e.new == SwapStatus.EXCEPTION:
        queue(session, config, _swap(session, e.swap_id), "exception", clock.now().isoformat(timespec="seconds"))


def support_alert(session: Session, e: events.SupportAlert, *, config: NotifyConfig) -> None:
    headline = e.kind.replace("_", " ")
    queue(session, config, _swap(session, e.swap_id), "support_alert", str(e.swap_event_id),
          data={"message": e.message, "headline": headline})


def follow_up(session: Session, e: events.FollowUpScheduled, *, config: NotifyConfig) -> None:
    queue(session, config, _swap(session, e.swap_id), "followup", "1", due=datetime.fromisoformat(e.due_at_iso))


def follow_up_reminder(session: Session, e: events.FollowUpReminderDue, *, config: NotifyConfig) -> None:
    queue(session, config, _swap(session, e.swap_id), "followup_reminder", "1")


def return_chased(session: Session, e: events.ReturnChased, *, config: NotifyConfig) -> None:
    swap = _swap(session, e.swap_id)
    step = f"{e.due_date_iso}:{e.step}"
    data = {"due_date": e.due_date_iso, "overdue": clock.now().date().isoformat() > e.due_date_iso}
    if e.action == "remind":
        queue(session, config, swap, "return_reminder", step, data=data)
    elif e.action == "escalate":
        queue(session, config, swap, "return_overdue_manager", step, data=data)


def return_received(session: Session, e: events.ReturnReceived, *, config: NotifyConfig) -> None:
    queue(session, config, _swap(session, e.swap_id), "return_received", str(e.expected_return_id),
          data={"received_at": clock.now().isoformat()})


def claim_overdue(session: Session, e: events.WarrantyClaimOverdue, *, config: NotifyConfig) -> None:
    queue_service_alert(session, f"claim:{e.claim_id}:overdue", headline="warranty claim overdue",
                        message=f"Unit {e.unit_id} is still with {e.vendor} under RMA {e.rma_number}, due back "
                                f"{e.due_date}: chase the vendor (GET /api/v1/warranty-claims?open=true).")


def wire(dispatcher: Dispatcher, config: NotifyConfig) -> None:
    for event_type, handler in [
        (events.SwapReceived, received), (events.SwapAllocated, allocated), (events.SwapBooked, booked),
        (events.CourierNews, courier_news), (events.ShipmentStatusChanged, shipment_moved),
        (events.SwapStatusChanged, status_changed), (events.SupportAlert, support_alert),
        (events.FollowUpScheduled, follow_up), (events.FollowUpReminderDue, follow_up_reminder),
        (events.ReturnChased, return_chased), (events.ReturnReceived, return_received),
        (events.WarrantyClaimOverdue, claim_overdue),
    ]:
        dispatcher.on(event_type, partial(handler, config=config))
