"""The warehouse's SQL: expected returns, discrepancies and cycle counts. A function that locks says so
in its name."""

from collections.abc import Collection
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models import (
    ChargeBack,
    CycleCount,
    DeviceModel,
    Discrepancy,
    DiscrepancyStatus,
    ExpectedReturn,
    ReturnStatus,
    Scan,
    Shipment,
    SpareUnit,
)

# ---- expected returns ---------------------------------------------------------------------------


def find_return(session: Session, return_id: int) -> ExpectedReturn | None:
    return session.get(ExpectedReturn, return_id)


def get_return(session: Session, return_id: int) -> ExpectedReturn:
    expected = find_return(session, return_id)
    if expected is None:
        raise NotFound(f"No expected return with id {return_id}.")
    return expected


def return_of_swap(session: Session, swap_id: int) -> ExpectedReturn | None:
    return session.scalars(select(ExpectedReturn).where(ExpectedReturn.swap_id == swap_id)).one_or_none()


# Still to come back: an unreturned device that turns up after all is received like any other.
AWAITED = (ReturnStatus.OPEN, ReturnStatus.UNRETURNED)


def open_return_for_unit(session: Session, unit_id: int) -> ExpectedReturn | None:
    stmt = select(ExpectedReturn).where(ExpectedReturn.status.in_(AWAITED), ExpectedReturn.unit_id == unit_id)
    return session.scalars(stmt).first()


def open_return_for_code(session: Session, code: str) -> ExpectedReturn | None:
    stmt = select(ExpectedReturn).where(ExpectedReturn.status.in_(AWAITED), ExpectedReturn.code == code)
    return session.scalars(stmt).first()


def pending_charge_back(session: Session, expected_return_id: int) -> ChargeBack | None:
    return session.scalars(select(ChargeBack).where(ChargeBack.expected_return_id == expected_return_id,
                                                    ChargeBack.status == "pending").with_for_update()).first()


def return_for_tracking(session: Session, tracking_number: str) -> ExpectedReturn | None:
    stmt = (select(ExpectedReturn).join(Shipment, Shipment.id == ExpectedReturn.shipment_id)
            .where(Shipment.tracking_number == tracking_number))
    return session.scalars(stmt).first()


def overdue_returns_for_update(session: Session, today: date, *, including_today: bool = False) -> list[ExpectedReturn]:
    """Open returns past their due date (or due today), locked (skipping those another sweep holds)."""
    due = ExpectedReturn.due_date <= today if including_today else ExpectedReturn.due_date < today
    stmt = (select(ExpectedReturn).where(ExpectedReturn.status == ReturnStatus.OPEN, due)
            .order_by(ExpectedReturn.id).with_for_update(skip_locked=True))
    return list(session.scalars(stmt))


def get_return_for_update(session: Session, return_id: int) -> ExpectedReturn:
    expected = session.scalars(select(ExpectedReturn).where(ExpectedReturn.id == return_id).with_for_update()).first()
    if expected is None:
        raise NotFound(f"No expected return with id {return_id}.")
    return expected


def next_return_due(session: Session, model_ids: Collection[int], category: str | None) -> date | None:
    """The earliest due date of an open return of one of our units that could serve this need."""
    stmt = (select(func.min(ExpectedReturn.due_date)).join(SpareUnit, SpareUnit.id == ExpectedReturn.unit_id)
            .where(ExpectedReturn.status == ReturnStatus.OPEN))
    if model_ids:
        stmt = stmt.where(SpareUnit.model_id.in_(sorted(model_ids)))
    else:
        stmt = stmt.join(DeviceModel, DeviceModel.id == SpareUnit.model_id).where(DeviceModel.category == category)
    return session.scalar(stmt)


# ---- charge-backs -------------------------------------------------------------------------------


def get_charge_back_for_update(session: Session, charge_id: int) -> ChargeBack:
    row = session.scalars(select(ChargeBack).where(ChargeBack.id == charge_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"No charge-back with id {charge_id}.")
    return row


def list_charge_backs(session: Session, *, status: str | None) -> list[ChargeBack]:
    stmt = select(ChargeBack).order_by(ChargeBack.id)
    if status:
        stmt = stmt.where(ChargeBack.status == status)
    return list(session.scalars(stmt))


def list_returns(session: Session, *, status: str | None, depot_id: int | None, limit: int) -> list[ExpectedReturn]:
    stmt = select(ExpectedReturn).order_by(ExpectedReturn.due_date, ExpectedReturn.id).limit(limit)
    if status:
        stmt = stmt.where(ExpectedReturn.status == status)
    if depot_id is not None:
        stmt = stmt.where(ExpectedReturn.depot_id == depot_id)
    return list(session.scalars(stmt))


# ---- discrepancies ------------------------------------------------------------------------------


def existing_flag(session: Session, kind: str, *, expected_return_id: int | None,
                  unit_id: int | None) -> Discrepancy | None:
    """The flag of this kind already raised for the return and unit. A flag with no return (a unit
    that arrived unexpectedly) counts only while it is open: the unit may arrive unexpectedly again."""
    stmt = select(Discrepancy).where(Discrepancy.kind == kind)
    if expected_return_id is None:
        stmt = stmt.where(Discrepancy.expected_return_id.is_(None), Discrepancy.status == DiscrepancyStatus.OPEN)
    else:
        stmt = stmt.where(Discrepancy.expected_return_id == expected_return_id)
    stmt = stmt.where(Discrepancy.unit_id.is_(None) if unit_id is None else Discrepancy.unit_id == unit_id)
    return session.scalars(stmt).first()


def list_discrepancies(session: Session, *, status: str | None, kind: str | None,
                       depot_id: int | None) -> list[Discrepancy]:
    stmt = select(Discrepancy).order_by(Discrepancy.id)
    if status:
        stmt = stmt.where(Discrepancy.status == status)
    if kind:
        stmt = stmt.where(Discrepancy.kind == kind)
    if depot_id is not None:
        stmt = stmt.where(Discrepancy.depot_id == depot_id)
    return list(session.scalars(stmt))


def get_discrepancy(session: Session, discrepancy_id: int) -> Discrepancy:
    row = session.get(Discrepancy, discrepancy_id)
    if row is None:
        raise NotFound(f"Discrepancy {discrepancy_id} does not exist.")
    return row


def get_discrepancy_for_update(session: Session, discrepancy_id: int) -> Discrepancy:
    row = session.scalars(select(Discrepancy).where(Discrepancy.id == discrepancy_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"No discrepancy with id {discrepancy_id}.")
    return row


# ---- cycle counts -------------------------------------------------------------------------------


def get_cycle_count(session: Session, count_id: int) -> CycleCount:
    count = session.get(CycleCount, count_id)
    if count is None:
        raise NotFound(f"No cycle count with id {count_id}.")
    return count


def get_cycle_count_for_update(session: Session, count_id: int) -> CycleCount:
    count = session.scalars(select(CycleCount).where(CycleCount.id == count_id).with_for_update()).one_or_none()
    if count is None:
        raise NotFound(f"No cycle count with id {count_id}.")
    return count


def count_scans(session: Session, count_id: int) -> list[Scan]:
    return list(session.scalars(select(Scan).where(Scan.cycle_count_id == count_id).order_by(Scan.id)))


def first_count_scan(session: Session, count_id: int, *, codes: Collection[str], unit_id: int | None) -> Scan | None:
    """The scan of this count that already saw the unit (by any of its codes, or by id)."""
    same = Scan.code.in_(sorted(codes))
    if unit_id is not None:
        same = same | (Scan.unit_id == unit_id)
    stmt = select(Scan).where(Scan.cycle_count_id == count_id, same).order_by(Scan.id)
    return session.scalars(stmt).first()
