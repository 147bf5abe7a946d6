"""Which domain events become which webhook event types, and what each carries: the resource as the
API shows it at that moment.

At intake the swap is taken in and reserved (or put on the waitlist) in one transaction, and the
domain records `SwapReceived` last; receivers are told in the order things happened to the swap:
`swap.received`, then `swap.allocated` or `swap.backordered`."""

from collections.abc import Callable

from sqlalchemy.orm import Session

from app import events
from app.inventory.stock import stock_view
from app.swaps import repository as swaps
from app.swaps.intake import swap_read
from app.swaps.states import SwapStatus
from app.warehouse import repository as warehouse
from app.warehouse.schemas import DiscrepancyRead, ExpectedReturnRead

API_VERSION = "2026-12-01"

TYPES = (
    "swap.received", "swap.allocated", "swap.backordered", "swap.shipped", "swap.delivered", "swap.exception",
    "swap.escalated", "swap.cancelled", "swap.closed", "return.received", "return.discrepancy", "return.overdue",
    "followup.answered", "stock.below_par",
)  # fmt: skip

# What the swap's status becoming this tells receivers (allocation and cancelling have events of their own).
STATUS_TYPES = {SwapStatus.SHIPPED: "swap.shipped", SwapStatus.DELIVERED: "swap.delivered",
                SwapStatus.EXCEPTION: "swap.exception", SwapStatus.CLOSED: "swap.closed"}

Outgoing = tuple[str, int | None, dict]  # (type, swap id, data)


def _swap(session: Session, swap_id: int) -> dict:
    return swap_read(session, swaps.get_swap(session, swap_id)).model_dump(mode="json")


def received(session: Session, e: events.SwapReceived) -> list[Outgoing]:
    data = _swap(session, e.swap_id)
    then = "swap.allocated" if e.outcome == "allocated" else "swap.backordered"
    return [("swap.received", e.swap_id, data), (then, e.swap_id, data)]


def allocated(session: Session, e: events.SwapAllocated) -> list[Outgoing]:
    return [("swap.allocated", e.swap_id, _swap(session, e.swap_id))] if e.from_waitlist else []


def status_changed(session: Session, e: events.SwapStatusChanged) -> list[Outgoing]:
    kind = STATUS_TYPES.get(SwapStatus(e.new))
    if e.new == SwapStatus.BACKORDERED and e.old != SwapStatus.RECEIVED:  # back on the waitlist
        kind = "swap.backordered"
    return [(kind, e.swap_id, _swap(session, e.swap_id))] if kind else []


def escalated(session: Session, e: events.SwapEscalated) -> list[Outgoing]:
    return [("swap.escalated", e.swap_id, {**_swap(session, e.swap_id), "escalation": {
        "rule": e.rule, "level": e.level, "reason": e.reason}})]


def cancelled(session: Session, e: events.SwapCancelled) -> list[Outgoing]:
    return [("swap.cancelled", e.swap_id, _swap(session, e.swap_id))]


def follow_up_answered(session: Session, e: events.FollowUpAnswered) -> list[Outgoing]:
    return [("followup.answered", e.swap_id, _swap(session, e.swap_id))]


def return_received(session: Session, e: events.ReturnReceived) -> list[Outgoing]:
    row = warehouse.get_return(session, e.expected_return_id)
    return [("return.received", e.swap_id, ExpectedReturnRead.model_validate(row).model_dump(mode="json"))]


def discrepancy(session: Session, e: events.DiscrepancyFound) -> list[Outgoing]:
    row = warehouse.get_discrepancy(session, e.discrepancy_id)
    swap_id = warehouse.get_return(session, row.expected_return_id).swap_id if row.expected_return_id else None
    kind = "return.overdue" if e.kind == "overdue" else "return.discrepancy"
    return [(kind, swap_id, DiscrepancyRead.model_validate(row).model_dump(mode="json"))]


def below_par(session: Session, e: events.StockBelowPar) -> list[Outgoing]:
    rows = [r for r in stock_view(session, depot_id=e.depot_id) if r.model_id == e.model_id]
    return [("stock.below_par", None, rows[0].model_dump(mode="json"))] if rows else []


HANDLERS: dict[type[events.Event], Callable[[Session, events.Event], list[Outgoing]]] = {
    events.SwapReceived: received, events.SwapAllocated: allocated, events.SwapStatusChanged: status_changed,
    events.SwapEscalated: escalated, events.SwapCancelled: cancelled, events.FollowUpAnswered: follow_up_answered,
    events.ReturnReceived: return_received, events.DiscrepancyFound: discrepancy, events.StockBelowPar: below_par,
}
