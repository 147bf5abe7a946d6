"""Reconciliation: what went out and came back for a depot over a period, and a check that the
records tell one consistent story (every unit in one state and place, every ledger continuous,
every hold backed by one reservation)."""

import csv
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import Session

from app import clock
from app.db import one_snapshot
from app.errors import Unprocessable
from app.inventory import repository as inventory
from app.inventory.csv_io import _safe_cell
from app.inventory.states import ON_THE_SHELF, UnitState
from app.models import (
    CustodyEntry,
    Discrepancy,
    ExpectedReturn,
    ExtraLabel,
    Reservation,
    Shipment,
    SpareUnit,
    SwapRequest,
)
from app.swaps.states import SwapStatus
from app.warehouse.rules import LedgerRow, ledger_breaches

DEFAULT_PERIOD = timedelta(days=30)
MAX_PERIOD = timedelta(days=366)
S = UnitState
HELD = frozenset({S.RESERVED, S.PACKED})  # a unit in these states is held by exactly one reservation
OFF_SHELF = frozenset({S.RESERVED, S.PACKED, S.IN_TRANSIT, S.DEPLOYED, S.AWAITING_RETURN, S.RETURNING})
SWAP_HOLDS = frozenset({S.RESERVED, S.PACKED, S.IN_TRANSIT})  # where an allocated/booked swap's unit may be
ON_ITS_WAY = frozenset({SwapStatus.ALLOCATED, SwapStatus.LABEL_BOOKED, SwapStatus.SHIPPED})
KNOWN_STATES = frozenset(s.value for s in UnitState)


# ---- the period report --------------------------------------------------------------------------


@dataclass
class ReturnLine:
    expected_return_id: int
    swap_id: int
    ticket: str
    depot_id: int
    due_date: date
    status: str
    outcome: str | None
    received_at: datetime | None
    overdue: bool
    closed: bool  # checked in and matched: nothing left to chase
    discrepancies: list[Discrepancy] = field(default_factory=list)


@dataclass
class PeriodReport:
    depot_id: int | None
    since: date
    until: date
    shipped_out: int
    expected: int
    received: int
    matched: int
    overdue: int
    lost: int
    by_outcome: dict[str, int]
    open_discrepancies: list[Discrepancy]
    returns: list[ReturnLine]


def resolve_period(since: date | None, until: date | None, today: date) -> tuple[date, date]:
    """Both ends inclusive; by default the 30 days up to today."""
    until = until or today
    since = since or until - DEFAULT_PERIOD
    if since > until:
        raise Unprocessable(f"'since' ({since}) is after 'until' ({until}).", field="since")
    if until - since > MAX_PERIOD:
        raise Unprocessable(f"The period is longer than {MAX_PERIOD.days} days; ask for a shorter one.",
                            field="since")
    return since, until


def period_report(session: Session, *, depot_id: int | None, since: date | None = None,
                  until: date | None = None) -> PeriodReport:
    """The counts are over the returns expected in the period (created in it), whatever happened to
    them since; `shipped_out` counts outbound labels bought in the period."""
    today = clock.now().date()
    since, until = resolve_period(since, until, today)
    if depot_id is not None:
        inventory.get_depot(session, depot_id)
    start = datetime.combine(since, time.min, UTC)
    end = datetime.combine(until + timedelta(days=1), time.min, UTC)

    shipped = (select(func.count()).select_from(Shipment).join(SwapRequest, SwapRequest.id == Shipment.swap_id)
               .where(Shipment.direction == "outbound", Shipment.label_status == "SUCCESS",
                      Shipment.created_at >= start, Shipment.created_at < end))
    cohort = select(ExpectedReturn.id).where(ExpectedReturn.created_at >= start, ExpectedReturn.created_at < end)
    unlinked = (Discrepancy.expected_return_id.is_(None) & (Discrepancy.created_at >= start)
                & (Discrepancy.created_at < end))
    if depot_id is not None:
        shipped = shipped.where(SwapRequest.depot_id == depot_id)
        cohort = cohort.where(ExpectedReturn.depot_id == depot_id)
        unlinked &= Discrepancy.depot_id == depot_id
    # A return's flags go with its depot's report, wherever the device was scanned.
    flags = select(Discrepancy).where(or_(Discrepancy.expected_return_id.in_(cohort), unlinked))

    by_return: dict[int, list[Discrepancy]] = defaultdict(list)
    open_flags = []
    for row in session.scalars(flags.order_by(Discrepancy.id)):
        if row.expected_return_id is not None:
            by_return[row.expected_return_id].append(row)
        if row.status == "open":
            open_flags.append(row)

    rows = session.execute(
        select(ExpectedReturn, SwapRequest.ticket_system, SwapRequest.ticket_id)
        .join(SwapRequest, SwapRequest.id == ExpectedReturn.swap_id)
        .where(ExpectedReturn.id.in_(cohort)).order_by(ExpectedReturn.id))
    lines = [ReturnLine(
        expected_return_id=r.id, swap_id=r.swap_id, ticket=f"{system}/{ticket}", depot_id=r.depot_id,
        due_date=r.due_date, status=r.status, outcome=r.outcome, received_at=r.received_at,
        overdue=r.status == "open" and r.due_date < today,
        closed=r.status == "closed" and r.outcome == "matched", discrepancies=by_return[r.id],
    ) for r, system, ticket in rows]
    return PeriodReport(
        depot_id=depot_id, since=since, until=until, shipped_out=session.scalar(shipped) or 0,
        expected=len(lines), received=sum(1 for x in lines if x.received_at is not None),
        matched=sum(1 for x in lines if x.outcome == "matched"), overdue=sum(1 for x in lines if x.overdue),
        lost=sum(1 for x in lines if x.outcome == "lost"),
        by_outcome=dict(sorted(Counter(x.outcome or "pending" for x in lines).items())),
        open_discrepancies=open_flags, returns=lines,
    )


CSV_COLUMNS = ["expected_return_id", "swap_id", "ticket", "due_date", "status", "outcome", "received_at",
               "overdue", "closed", "discrepancies"]


def report_csv(report: PeriodReport) -> str:
    """One row per expected return; its discrepancies as `kind (status): details`, separated by ' | '."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for x in report.returns:
        flags = " | ".join(f"{d.kind} ({d.status}): {d.details}" for d in x.discrepancies)
        writer.writerow([_safe_cell(str(cell)) for cell in (
            x.expected_return_id, x.swap_id, x.ticket, x.due_date.isoformat(), x.status, x.outcome or "",
            x.received_at.isoformat() if x.received_at else "", str(x.overdue).lower(), str(x.closed).lower(),
            flags)])
    return out.getvalue()


# ---- invariants ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Breach:
    kind: str
    detail: str
    unit_id: int | None = None
    swap_id: int | None = None


def check_invariants(session: Session) -> list[Breach]:
    """Every breach of the records' invariants (empty: all is consistent). Reads only, from one snapshot
    when the session's transaction begins here: a swap committed between two of its reads is not a breach."""
    one_snapshot(session)
    return [*_ledger_breaches(session), *_reservation_breaches(session), *_swap_breaches(session),
            *_label_breaches(session)]


def _ledger_breaches(session: Session) -> list[Breach]:
    """Each unit has one known state and one depot, and its ledger walks continuously to them."""
    chains: dict[int, list[LedgerRow]] = defaultdict(list)
    ledger = select(CustodyEntry.unit_id, CustodyEntry.id, CustodyEntry.from_state, CustodyEntry.to_state,
                    CustodyEntry.from_depot_id, CustodyEntry.depot_id).order_by(CustodyEntry.unit_id, CustodyEntry.id)
    for unit_id, *row in session.execute(ledger):
        chains[unit_id].append(LedgerRow(*row))
    breaches = []
    for unit_id, state, depot_id in session.execute(
            select(SpareUnit.id, SpareUnit.state, SpareUnit.depot_id).order_by(SpareUnit.id)):
        if state not in KNOWN_STATES:
            breaches.append(Breach("unknown_state", f"unit is in unknown state '{state}'", unit_id=unit_id))
        breaches += [Breach("ledger", text, unit_id=unit_id)
                     for text in ledger_breaches(chains.get(unit_id, []), state=state, depot_id=depot_id)]
    return breaches


def _reservation_breaches(session: Session) -> list[Breach]:
    """A held unit has exactly one active reservation; a unit on the shelf has none."""
    holds: dict[int, list[int]] = defaultdict(list)
    breaches = []
    active = (select(Reservation.unit_id, Reservation.swap_id, SpareUnit.state)
              .join(SpareUnit, SpareUnit.id == Reservation.unit_id).where(Reservation.active == true())
              .order_by(Reservation.unit_id, Reservation.id))
    for unit_id, swap_id, state in session.execute(active):
        holds[unit_id].append(swap_id)
        if state in ON_THE_SHELF:
            breaches.append(Breach("reservation_on_free_unit", f"unit is '{state}' but swap {swap_id} still "
                                   "holds an active reservation on it", unit_id=unit_id, swap_id=swap_id))
    for unit_id, swap_ids in holds.items():
        if len(swap_ids) > 1:
            breaches.append(Breach("double_reservation", "active reservations for swaps "
                                   + ", ".join(map(str, swap_ids)), unit_id=unit_id))
    held = select(SpareUnit.id, SpareUnit.state).where(SpareUnit.state.in_(sorted(HELD))).order_by(SpareUnit.id)
    breaches += [Breach("missing_reservation", f"unit is '{state}' but no active reservation holds it",
                        unit_id=unit_id) for unit_id, state in session.execute(held) if unit_id not in holds]
    return breaches


def _label_breaches(session: Session) -> list[Breach]:
    """A label bought a second time for one shipment is money spent twice until it is refunded."""
    rows = session.execute(select(ExtraLabel.label_id, ExtraLabel.tracking_number, ExtraLabel.refund_status,
                                  Shipment.swap_id, Shipment.direction)
                           .join(Shipment, Shipment.id == ExtraLabel.shipment_id)
                           .where(or_(ExtraLabel.refund_status.is_(None), ExtraLabel.refund_status == "ERROR"))
                           .order_by(ExtraLabel.id))
    return [Breach("label_bought_twice", f"a second {direction} label ({tracking or label_id}) is "
                   + ("not refunded yet" if status is None else "refused a refund"), swap_id=swap_id)
            for label_id, tracking, status, swap_id, direction in rows]


def _swap_breaches(session: Session) -> list[Breach]:
    """An allocated or booked swap points at a unit held for it; no unit off the shelf is claimed by
    two swaps whose unit is still on its way to the worker (once delivered, the unit is the worker's:
    if it comes back, an earlier swap no longer claims it)."""
    breaches = []
    waiting = (select(SwapRequest.id, SwapRequest.status, SwapRequest.unit_id, SpareUnit.state)
               .outerjoin(SpareUnit, SpareUnit.id == SwapRequest.unit_id)
               .where(SwapRequest.status.in_([SwapStatus.ALLOCATED, SwapStatus.LABEL_BOOKED]))
               .order_by(SwapRequest.id))
    for swap_id, status, unit_id, state in session.execute(waiting):
        if unit_id is None:
            breaches.append(Breach("swap_without_unit", f"swap is '{status}' but points at no unit", swap_id=swap_id))
        elif state not in SWAP_HOLDS:
            breaches.append(Breach("swap_unit_state", f"swap is '{status}' but its unit is '{state}' (expected "
                                   "reserved, packed or in_transit)", unit_id=unit_id, swap_id=swap_id))
    claims: dict[int, list[int]] = defaultdict(list)
    live = (select(SwapRequest.unit_id, SwapRequest.id).join(SpareUnit, SpareUnit.id == SwapRequest.unit_id)
            .where(SwapRequest.status.in_(sorted(ON_ITS_WAY)), SpareUnit.state.in_(sorted(OFF_SHELF)))
            .order_by(SwapRequest.unit_id, SwapRequest.id))
    for unit_id, swap_id in session.execute(live):
        claims[unit_id].append(swap_id)
    breaches += [Breach("double_claim", "claimed by live swaps " + ", ".join(map(str, swap_ids)),
                        unit_id=unit_id, swap_id=swap_ids[-1])
                 for unit_id, swap_ids in claims.items() if len(swap_ids) > 1]
    return breaches
