"""Returns: what should come back from each swap, receiving it at the bench, inspecting it, and
chasing what does not arrive (overdue, lost)."""

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from app import clock, events
from app.errors import Conflict
from app.events import ShipmentStatusChanged, SwapBooked
from app.inventory import repository as inventory
from app.inventory.calendar import add_business_days
from app.inventory.states import TRANSITIONS, UnitState
from app.inventory.units import transition_unit
from app.models import (
    ChargeBackStatus,
    Discrepancy,
    DiscrepancyStatus,
    ExpectedReturn,
    ReturnStatus,
    Shipment,
    SpareUnit,
    SwapRequest,
)
from app.shipping import repository as shipping
from app.shipping.states import Direction
from app.swaps import repository as swaps
from app.swaps.states import SwapStatus
from app.swaps.timeline import move
from app.warehouse import repository
from app.warehouse.rules import return_outcomes

RETURN_WINDOW_BUSINESS_DAYS = 10  # a return box must be back this long after delivery (settings may say otherwise)
LOST_AFTER = timedelta(days=5)  # carrier says it reached the depot, but nobody scanned it
# Where a broken unit of ours can be when it comes back through the door.
RECEIVABLE = (UnitState.DEPLOYED, UnitState.AWAITING_RETURN, UnitState.RETURNING, UnitState.IN_TRANSIT,
              UnitState.LOST)


def expect_return(session: Session, swap: SwapRequest, *, return_plan: str, return_shipment: Shipment | None,
                  box_contents: list[str], window: int = RETURN_WINDOW_BUSINESS_DAYS) -> ExpectedReturn | None:
    """Called when a swap's courier work is booked: record what should come back, and by when."""
    if return_plan == "no_return":
        return None
    existing = repository.return_of_swap(session, swap.id)
    if existing is not None:
        return existing
    country = swap.depot.country
    due = swap.promised_date if return_plan == "swap_at_door" else add_business_days(
        swap.promised_date, window, country)
    unit = inventory.find_unit_by_code(session, swap.broken_code) if swap.broken_code else None
    # The model's kit when it has one (the broken unit's model, else the replacement's: a like-for-like swap);
    # else what went out with the broken unit, when it is one of ours, or what the replacement came with.
    model = unit.model if unit else swap.unit.model if swap.unit else None
    kit = [a["item"] for a in (model.accessories if model else [])]
    items = kit or (unit.box_contents if unit else box_contents)
    expected = ExpectedReturn(
        swap_id=swap.id, depot_id=swap.return_depot_id or swap.depot_id, code=swap.broken_code,
        unit_id=unit.id if unit else None,
        shipment_id=return_shipment.id if return_shipment else None,
        expected_items=sorted({"device", *items}), due_date=due, status=ReturnStatus.OPEN, created_at=clock.now(),
    )
    session.add(expected)
    session.flush()
    return expected


def on_swap_booked(session: Session, event: SwapBooked, *, window: int = RETURN_WINDOW_BUSINESS_DAYS) -> None:
    """The courier work is booked: from now on, the broken unit is expected back."""
    swap = swaps.get_swap(session, event.swap_id)
    shipment = shipping.get_shipment(session, event.return_shipment_id) if event.return_shipment_id else None
    expect_return(session, swap, return_plan=event.return_plan, return_shipment=shipment,
                  box_contents=list(swap.unit.box_contents or []), window=window)


# What the courier's news means for the broken unit: (direction, status) → (its state now, why).
_COURIER_MOVES = {
    (Direction.OUTBOUND, "DELIVERED"): (UnitState.AWAITING_RETURN, "replacement delivered"),
    (Direction.RETURN, "TRANSIT"): (UnitState.RETURNING, "collected by the courier"),
    # Reaching the depot implies it was collected, whether or not that scan was reported.
    (Direction.RETURN, "DELIVERED"): (UnitState.RETURNING, "delivered to the depot by the courier"),
}


def on_shipment_status_changed(session: Session, event: ShipmentStatusChanged) -> None:
    step = _COURIER_MOVES.get((Direction(event.direction), event.status))
    if step is not None:
        broken_unit_moves(session, swaps.get_swap(session, event.swap_id), *step)


def broken_unit_moves(session: Session, swap: SwapRequest, target: UnitState, reason: str) -> None:
    """Keep the broken unit's record in step with the courier (delivered → awaiting return, collected → returning)."""
    expected = repository.return_of_swap(session, swap.id)
    if expected is None or expected.unit_id is None or expected.status != ReturnStatus.OPEN:
        return
    unit = inventory.get_unit_for_update(session, expected.unit_id)
    path = [UnitState.DEPLOYED, UnitState.AWAITING_RETURN, UnitState.RETURNING]
    if unit.state in path and path.index(UnitState(unit.state)) < path.index(target):
        for step in path[path.index(UnitState(unit.state)) + 1: path.index(target) + 1]:
            transition_unit(session, unit, step, actor="carrier", reason=reason, reference=f"swap:{swap.id}")


def receive(session: Session, expected: ExpectedReturn, *, code: str, unit: SpareUnit | None, depot_id: int,
            actor: str) -> list[str]:
    """The device is on the bench: mark the return received and the unit `received`. Wrong units are
    flagged at once; contents and condition come with `inspect`."""
    now = clock.now()
    charge = repository.pending_charge_back(session, expected.id) if expected.status == ReturnStatus.UNRETURNED else None
    if charge is not None:  # it came back after all: nothing to charge
        charge.status, charge.decided_at, charge.decided_by = ChargeBackStatus.WAIVED, now, "returned"
        charge.note = "The device came back after it was recorded as unreturned."
    expected.status, expected.received_at, expected.received_by = ReturnStatus.RECEIVED, now, actor
    expected.received_code, expected.received_unit_id = code, unit.id if unit else None
    events.record(session, events.ReturnReceived(expected_return_id=expected.id, swap_id=expected.swap_id))
    ref = f"swap:{expected.swap_id}"
    if unit is not None:
        _receive_unit(session, unit, depot_id=depot_id, actor=actor, ref=ref,
                      reason=f"returned from swap {expected.swap_id}")
    # Matching by unit when the expected one is ours; a serial typed at intake matches its asset tag too.
    if expected.unit_id is None and unit is not None and expected.code in (unit.serial, unit.asset_tag):
        code = expected.code
    outcomes = return_outcomes(expected_code=expected.code, expected_unit_id=expected.unit_id, received_code=code,
                               received_unit_id=unit.id if unit else None, expected_items=[], items_present=[],
                               damaged=False)
    if "wrong_unit" in outcomes:
        expected.outcome = "wrong_unit"
        flag(session, "wrong_unit", expected=expected, unit_id=unit.id if unit else None, depot_id=depot_id,
             details=f"Swap {expected.swap_id} should return '{expected.code}', but '{code}' arrived.")
        if expected.unit_id is not None:  # the unit we expected is still out there: flag its record too
            flag(session, "wrong_unit", expected=expected, unit_id=expected.unit_id, depot_id=depot_id,
                 details=f"Expected back from swap {expected.swap_id}; '{code}' came instead.")
    if depot_id != expected.depot_id:
        # Received where it is (the unit is here now) and reconciled here; the depot that expected it is named.
        meant, here = inventory.get_depot(session, expected.depot_id), inventory.get_depot(session, depot_id)
        flag(session, "wrong_depot", expected=expected, unit_id=unit.id if unit else None, depot_id=depot_id,
             details=f"The return of swap {expected.swap_id} was expected at {meant.code} ({meant.name}); it was "
                     f"received at {here.code}.")
        expected.depot_id = depot_id
        expected.outcome = expected.outcome or "wrong_depot"
        outcomes = [o for o in outcomes if o != "matched"] + ["wrong_depot"]
    session.flush()
    return outcomes


def _receive_unit(session: Session, unit: SpareUnit, *, depot_id: int, actor: str, ref: str, reason: str) -> None:
    if unit.depot_id != depot_id:
        unit.depot_id = depot_id  # it arrived here: the ledger row records the move
    if unit.state == UnitState.DEPLOYED:
        transition_unit(session, unit, UnitState.AWAITING_RETURN, actor=actor, reason=reason, reference=ref)
    if unit.state == UnitState.LOST:
        transition_unit(session, unit, UnitState.RECEIVED, actor=actor, reason="found: " + reason, reference=ref)
        return
    transition_unit(session, unit, UnitState.RECEIVED, actor=actor, reason=reason, reference=ref)


def receive_unexpected(session: Session, unit: SpareUnit, *, depot_id: int, actor: str) -> None:
    """One of our units arrived with no return expected for it."""
    _receive_unit(session, unit, depot_id=depot_id, actor=actor, ref=None, reason="arrived with no expected return")
    flag(session, "unexpected", expected=None, unit_id=unit.id, depot_id=depot_id,
         details=f"Unit {unit.asset_tag} arrived at the depot with no expected return.")


def inspect(session: Session, expected_id: int, *, items_present: list[str], damaged: bool, notes: str | None,
            actor: str) -> ExpectedReturn:
    """The tech's checklist after receiving: which items were in the box, and the condition. The unit
    goes on to triage."""
    expected = repository.get_return(session, expected_id)
    if expected.status != ReturnStatus.RECEIVED:
        raise Conflict(f"Return {expected_id} is '{expected.status}'; scan the device in first.")
    expected.items_present, expected.condition = sorted(set(items_present)), "damaged" if damaged else "ok"
    outcomes = return_outcomes(
        expected_code=expected.code, expected_unit_id=expected.unit_id, received_code=expected.received_code,
        received_unit_id=expected.received_unit_id, expected_items=expected.expected_items,
        items_present=items_present, damaged=damaged)
    missing = sorted(set(expected.expected_items) - set(items_present) - {"device"})
    if "missing_items" in outcomes:
        costs, currency = _replacement_costs(session, expected)
        priced = [f"{m} ({costs[m]} {currency})" if m in costs else m for m in missing]
        amount = sum((costs[m] for m in missing if m in costs), Decimal(0))
        flag(session, "missing_items", expected=expected, unit_id=expected.received_unit_id,
             depot_id=expected.depot_id, details=f"Missing from the return of swap {expected.swap_id}: "
             + ", ".join(priced) + (f"; to replace: {amount} {currency}" if amount else ""),
             amount=amount or None, currency=currency if amount else None)
    if damaged:
        flag(session, "damaged", expected=expected, unit_id=expected.received_unit_id, depot_id=expected.depot_id,
             details=f"Returned damaged from swap {expected.swap_id}: {notes or 'no notes'}")
    # What the scan found first (a wrong unit, a wrong depot) stays the outcome; else what inspection finds.
    expected.outcome = expected.outcome if expected.outcome in ("wrong_unit", "wrong_depot") else outcomes[0]
    expected.status = ReturnStatus.CLOSED
    _close_swap(session, expected)
    if expected.received_unit_id is not None:
        unit = inventory.get_unit_for_update(session, expected.received_unit_id)
        if notes:
            unit.condition_notes = notes
        if unit.state == UnitState.RECEIVED:
            transition_unit(session, unit, UnitState.TRIAGE, actor=actor,
                            reason=f"inspected: {', '.join(outcomes)}" + (f" ({notes})" if notes else ""),
                            reference=f"swap:{expected.swap_id}")
    session.flush()
    return expected


def _close_swap(session: Session, expected: ExpectedReturn) -> None:
    """The return is checked in: the swap's journey ends (whatever was flagged stays open on its own)."""
    swap = swaps.get_swap(session, expected.swap_id)
    if swap.status in (SwapStatus.DELIVERED, SwapStatus.RETURN_IN_TRANSIT):
        move(session, swap, SwapStatus.RETURNED, "Your old device has reached our depot. Thank you!")
    if swap.status == SwapStatus.RETURNED:
        outcome = "everything as expected" if expected.outcome == "matched" else f"noted: {expected.outcome}"
        move(session, swap, SwapStatus.CLOSED, f"Return checked in ({outcome}). This swap is complete.",
             outcome=expected.outcome)


def _replacement_costs(session: Session, expected: ExpectedReturn) -> tuple[dict[str, Decimal], str]:
    """What each of the kit's items costs to replace, in the model's currency (the expected unit's model,
    else the swap's replacement's)."""
    unit = inventory.get_unit(session, expected.unit_id) if expected.unit_id else swaps.get_swap(
        session, expected.swap_id).unit
    model = unit.model if unit else None
    if model is None:
        return {}, "USD"
    return {a["item"]: Decimal(a["cost"]) for a in model.accessories or []}, model.currency


def flag(session: Session, kind: str, *, expected: ExpectedReturn | None, unit_id: int | None, depot_id: int,
         details: str, amount: Decimal | None = None, currency: str | None = None) -> Discrepancy | None:
    """Open a discrepancy, once per (kind, return, unit)."""
    expected_id = expected.id if expected else None
    if repository.existing_flag(session, kind, expected_return_id=expected_id, unit_id=unit_id) is not None:
        return None
    row = Discrepancy(kind=kind, expected_return_id=expected_id, unit_id=unit_id, depot_id=depot_id,
                      details=details, amount=amount, currency=currency, status=DiscrepancyStatus.OPEN,
                      created_at=clock.now())
    session.add(row)
    session.flush()
    events.record(session, events.DiscrepancyFound(discrepancy_id=row.id, kind=kind))
    return row


def overdue_and_lost(session: Session, *, today: date) -> dict[str, int]:
    """Sweep: flag returns past their due date (reminding the worker is `chasing`'s); mark as lost a
    return the carrier delivered to the depot that nobody scanned in."""
    now = clock.now()
    counts = {"overdue": 0, "lost": 0}
    for expected in repository.overdue_returns_for_update(session, today):
        shipment = shipping.get_shipment(session, expected.shipment_id) if expected.shipment_id else None
        delivered_unscanned = (shipment is not None and shipment.tracking_status == "DELIVERED"
                               and shipment.tracking_status_at is not None
                               and now - shipment.tracking_status_at > LOST_AFTER)
        carrier_lost = shipment is not None and shipment.tracking_status == "FAILURE"
        if delivered_unscanned or carrier_lost:
            why = ("the carrier delivered it to the depot over 5 days ago but it was never scanned in"
                   if delivered_unscanned else "the carrier reports the return lost")
            if flag(session, "lost", expected=expected, unit_id=expected.unit_id, depot_id=expected.depot_id,
                    details=f"Return of swap {expected.swap_id}: {why}."):
                counts["lost"] += 1
                expected.outcome, expected.status = "lost", ReturnStatus.CLOSED
                if expected.unit_id is not None:
                    unit = inventory.get_unit_for_update(session, expected.unit_id)
                    if UnitState.LOST in TRANSITIONS[UnitState(unit.state)]:
                        transition_unit(session, unit, UnitState.LOST, actor="reconciliation", reason=why,
                                        reference=f"swap:{expected.swap_id}")
            continue
        if flag(session, "overdue", expected=expected, unit_id=expected.unit_id, depot_id=expected.depot_id,
                details=f"Return of swap {expected.swap_id} was due {expected.due_date.isoformat()}."):
            counts["overdue"] += 1
    session.flush()
    return counts



def resolve(session: Session, discrepancy_id: int, *, resolution: str) -> Discrepancy:
    row = repository.get_discrepancy_for_update(session, discrepancy_id)
    if row.status == DiscrepancyStatus.RESOLVED:
        raise Conflict(f"Discrepancy {row.id} is already resolved.")
    row.status, row.resolution, row.resolved_at = DiscrepancyStatus.RESOLVED, resolution, clock.now()
    session.flush()
    return row
