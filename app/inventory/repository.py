"""All inventory SQL. A method that locks says so in its name."""

from collections.abc import Collection
from datetime import date

from sqlalchemy import Select, exists, func, or_, select, true
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.inventory.states import UnitState
from app.models import (
    ConfigProfile,
    CustodyEntry,
    Depot,
    DeviceModel,
    ExpectedReturn,
    LegalHold,
    ParLevel,
    Reservation,
    ReturnStatus,
    SpareUnit,
    SwapRequest,
    WarrantyClaim,
    WipeRecord,
)
from app.reference import cached

# Swap statuses in which the swap's unit is still on its way to the worker.
_ON_ITS_WAY = ("allocated", "label_booked", "shipped")


def list_depots(session: Session, *, limit: int) -> list[Depot]:
    return list(session.scalars(select(Depot).order_by(Depot.id).limit(limit)))


def list_models(session: Session, *, limit: int) -> list[DeviceModel]:
    return list(session.scalars(select(DeviceModel).order_by(DeviceModel.id).limit(limit)))


def list_profiles(session: Session, *, limit: int) -> list[ConfigProfile]:
    return list(session.scalars(select(ConfigProfile).order_by(ConfigProfile.id).limit(limit)))


def get_depot(session: Session, depot_id: int) -> Depot:
    depot = session.get(Depot, depot_id)
    if depot is None:
        raise NotFound(f"No depot with id {depot_id}.", field="depot_id")
    return depot


def depot_code(session: Session, depot_id: int) -> str:
    """The depot's code; 404 unless it exists. Cached, as depots are reference data (a depot not found
    is not cached: it may be created a moment later, by another process)."""
    code = cached(session, ("depot code", depot_id), lambda: session.scalar(select(Depot.code).where(
        Depot.id == depot_id)), keep=lambda found: found is not None)
    if code is None:
        raise NotFound(f"No depot with id {depot_id}.", field="depot_id")
    return code


def check_model(session: Session, model_id: int) -> None:
    """404 unless the model exists. Models are never deleted, so one known to exist is cached (one
    not found is not: it may be created a moment later, by another process)."""
    if not cached(session, ("model exists", model_id), lambda: session.get(DeviceModel, model_id) is not None,
                  keep=bool):
        raise NotFound(f"No device model with id {model_id}.", field="model_id")


def get_model(session: Session, model_id: int) -> DeviceModel:
    model = session.get(DeviceModel, model_id)
    if model is None:
        raise NotFound(f"No device model with id {model_id}.", field="model_id")
    return model


def get_profile(session: Session, profile_id: int) -> ConfigProfile:
    profile = session.get(ConfigProfile, profile_id)
    if profile is None:
        raise NotFound(f"No config profile with id {profile_id}.", field="profile_id")
    return profile


def get_unit(session: Session, unit_id: int) -> SpareUnit:
    unit = session.get(SpareUnit, unit_id)
    if unit is None:
        raise NotFound(f"No unit with id {unit_id}.")
    return unit


def get_unit_for_update(session: Session, unit_id: int) -> SpareUnit:
    stmt = select(SpareUnit).where(SpareUnit.id == unit_id).with_for_update(of=SpareUnit)
    unit = session.scalars(stmt).unique().one_or_none()
    if unit is None:
        raise NotFound(f"No unit with id {unit_id}.")
    return unit


def is_in_journey(session: Session, unit_id: int) -> bool:
    """Whether a swap holds the unit (reserved, or on its way to the worker) or an open return expects
    it back."""
    held = exists().where(Reservation.unit_id == unit_id, Reservation.active == true())
    on_its_way = exists().where(SwapRequest.unit_id == unit_id, SwapRequest.status.in_(_ON_ITS_WAY))
    expected = exists().where(ExpectedReturn.unit_id == unit_id, ExpectedReturn.status == ReturnStatus.OPEN)
    return bool(session.scalar(select(or_(held, on_its_way, expected))))


def find_unit_by_code(session: Session, code: str, *, for_update: bool = False) -> SpareUnit | None:
    """The unit whose asset tag or serial is `code`; `for_update`: locked as it is found (one statement,
    and what is read is what is locked)."""
    code = code.strip().upper()
    stmt = select(SpareUnit).where(or_(SpareUnit.asset_tag == code, SpareUnit.serial == code))
    return session.scalars(stmt.with_for_update(of=SpareUnit) if for_update else stmt).unique().first()


def units_query(
    *,
    depot_id: int | None = None,
    model_id: int | None = None,
    state: str | None = None,
    stale: bool | None = None,
) -> Select:
    stmt = select(SpareUnit)
    if depot_id is not None:
        stmt = stmt.where(SpareUnit.depot_id == depot_id)
    if model_id is not None:
        stmt = stmt.where(SpareUnit.model_id == model_id)
    if state is not None:
        stmt = stmt.where(SpareUnit.state == state)
    if stale is not None:
        stmt = stmt.where(SpareUnit.is_stale if stale else ~SpareUnit.is_stale)
    return stmt


def unit_history(session: Session, unit_id: int) -> list[CustodyEntry]:
    stmt = select(CustodyEntry).where(CustodyEntry.unit_id == unit_id).order_by(CustodyEntry.id)
    return list(session.scalars(stmt))


def units_in_states(session: Session, *, depot_id: int, states: Collection[UnitState]) -> list[SpareUnit]:
    stmt = units_query(depot_id=depot_id).where(SpareUnit.state.in_(sorted(states))).order_by(SpareUnit.id)
    return list(session.scalars(stmt).unique())


def units_for_export(session: Session, stmt: Select) -> list[SpareUnit]:
    return list(session.scalars(stmt.order_by(SpareUnit.id)).unique())


def stock_counts(session: Session, depot_id: int | None = None) -> list[tuple[int, int, str, int]]:
    """(depot_id, model_id, state, count) for every non-empty combination."""
    stmt = select(SpareUnit.depot_id, SpareUnit.model_id, SpareUnit.state, func.count()).group_by(
        SpareUnit.depot_id, SpareUnit.model_id, SpareUnit.state
    )
    if depot_id is not None:
        stmt = stmt.where(SpareUnit.depot_id == depot_id)
    return [tuple(row) for row in session.execute(stmt)]


def stale_ready_counts(session: Session) -> dict[tuple[int, int], int]:
    stmt = (
        select(SpareUnit.depot_id, SpareUnit.model_id, func.count())
        .where(SpareUnit.state == UnitState.READY, SpareUnit.is_stale)
        .group_by(SpareUnit.depot_id, SpareUnit.model_id)
    )
    return {(d, m): n for d, m, n in session.execute(stmt)}


def par_levels(session: Session, *, for_update: bool = False) -> list[ParLevel]:
    stmt = select(ParLevel).order_by(ParLevel.id)
    return list(session.scalars(stmt.with_for_update() if for_update else stmt))


def get_par_level(session: Session, depot_id: int, model_id: int) -> ParLevel | None:
    stmt = select(ParLevel).where(ParLevel.depot_id == depot_id, ParLevel.model_id == model_id)
    return session.scalars(stmt).one_or_none()


def codes_taken(session: Session, codes: set[str]) -> set[str]:
    """The subset of `codes` already used as any unit's serial or asset tag."""
    taken: set[str] = set()
    code_list = sorted(codes)
    for i in range(0, len(code_list), 500):
        chunk = code_list[i : i + 500]
        stmt = select(SpareUnit.serial, SpareUnit.asset_tag).where(
            or_(SpareUnit.serial.in_(chunk), SpareUnit.asset_tag.in_(chunk))
        )
        for serial, tag in session.execute(stmt):
            taken.update({serial, tag})
    return taken & codes


# ---- legal holds ---------------------------------------------------------------------------


def hold_for_update(session: Session, hold_id: int) -> LegalHold | None:
    return session.scalars(select(LegalHold).where(LegalHold.id == hold_id).with_for_update()).first()


def active_hold_on(session: Session, unit: SpareUnit, today: date) -> LegalHold | None:
    """The oldest hold in force on the unit: its own, or one on a worker who had it (it was delivered
    to them, or came back from them)."""
    had_it = select(func.lower(SwapRequest.worker_email)).where(SwapRequest.unit_id == unit.id).union(
        select(func.lower(SwapRequest.worker_email)).join(ExpectedReturn, ExpectedReturn.swap_id == SwapRequest.id)
        .where(or_(ExpectedReturn.unit_id == unit.id, ExpectedReturn.received_unit_id == unit.id)))
    stmt = select(LegalHold).where(
        LegalHold.lifted_at.is_(None), or_(LegalHold.until.is_(None), LegalHold.until >= today),
        or_(LegalHold.unit_id == unit.id, LegalHold.worker_email.in_(had_it)),
    ).order_by(LegalHold.id).limit(1)
    return session.scalars(stmt).first()


def holds_query(*, active_on: date | None) -> Select:
    stmt = select(LegalHold)
    if active_on is not None:
        stmt = stmt.where(LegalHold.lifted_at.is_(None), or_(LegalHold.until.is_(None), LegalHold.until >= active_on))
    return stmt


# ---- wipes ---------------------------------------------------------------------------------


def successful_wipe_since_refurbishing(session: Session, unit_id: int) -> WipeRecord | None:
    went_in = select(func.max(CustodyEntry.at)).where(CustodyEntry.unit_id == unit_id,
                                                      CustodyEntry.to_state == UnitState.REFURBISHING,
                                                      CustodyEntry.from_state != UnitState.REFURBISHING)
    since = went_in.scalar_subquery()  # none on record (a state set outside the ledger): any wipe counts
    stmt = select(WipeRecord).where(WipeRecord.unit_id == unit_id, WipeRecord.result == "success",
                                    or_(since.is_(None), WipeRecord.recorded_at >= since)).order_by(WipeRecord.id.desc())
    return session.scalars(stmt.limit(1)).first()


def wipes_of(session: Session, unit_id: int) -> list[WipeRecord]:
    return list(session.scalars(select(WipeRecord).where(WipeRecord.unit_id == unit_id).order_by(WipeRecord.id)))


# ---- warranty claims -----------------------------------------------------------------------


def claim_for_update(session: Session, claim_id: int) -> WarrantyClaim | None:
    return session.scalars(select(WarrantyClaim).where(WarrantyClaim.id == claim_id).with_for_update()).first()


def open_claim_of(session: Session, unit_id: int) -> WarrantyClaim | None:
    return session.scalars(select(WarrantyClaim).where(WarrantyClaim.unit_id == unit_id,
                                                       WarrantyClaim.closed_at.is_(None))).first()


def overdue_claims(session: Session, today: date) -> list[WarrantyClaim]:
    """Open, past the vendor's due date, not yet escalated; locked (skipping rows another sweep holds)."""
    stmt = select(WarrantyClaim).where(WarrantyClaim.closed_at.is_(None), WarrantyClaim.due_date < today,
                                       WarrantyClaim.escalated_at.is_(None)).order_by(WarrantyClaim.id)
    return list(session.scalars(stmt.with_for_update(skip_locked=True)))


def claims_query(*, unit_id: int | None, open_only: bool) -> Select:
    stmt = select(WarrantyClaim)
    if unit_id is not None:
        stmt = stmt.where(WarrantyClaim.unit_id == unit_id)
    if open_only:
        stmt = stmt.where(WarrantyClaim.closed_at.is_(None))
    return stmt
