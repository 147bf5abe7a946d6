"""Use cases on spare units: create, edit, move between depots, change state. Each change writes
the custody ledger in the same transaction."""

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock, events, writes
from app.errors import Conflict, Unprocessable
from app.inventory import grading, holds, ledger, repository, wipes
from app.inventory.schemas import UnitCreate, UnitMove, UnitRead, UnitUpdate
from app.inventory.states import (
    INITIAL_STATES,
    ON_THE_SHELF,
    UnitState,
    allowed_next,
    check_manual_transition,
    check_transition,
)
from app.models import SpareUnit


def unit_read(unit: SpareUnit) -> UnitRead:
    return UnitRead(
        id=unit.id,
        serial=unit.serial,
        asset_tag=unit.asset_tag,
        model_id=unit.model_id,
        model_sku=unit.model.sku,
        depot_id=unit.depot_id,
        depot_code=unit.depot.code,
        state=UnitState(unit.state),
        allowed_transitions=allowed_next(UnitState(unit.state)),
        condition_notes=unit.condition_notes,
        profile_id=unit.profile_id,
        profile_name=unit.profile.name if unit.profile else None,
        profile_version=unit.profile_version,
        profile_current_version=unit.profile.current_version if unit.profile else None,
        is_stale=unit.is_stale,
        configured_at=unit.configured_at,
        last_tested_at=unit.last_tested_at,
        last_charged_at=unit.last_charged_at,
        box_contents=list(unit.box_contents or []), cosmetic_grade=unit.cosmetic_grade,
        battery_health=unit.battery_health,
        created_at=unit.created_at,
        updated_at=unit.updated_at,
    )


def _check_references(session: Session, *, model_id=None, depot_id=None, profile_id=None) -> None:
    if model_id is not None:
        repository.get_model(session, model_id)
    if depot_id is not None:
        repository.get_depot(session, depot_id)
    if profile_id is not None:
        repository.get_profile(session, profile_id)


def create_unit(session: Session, data: UnitCreate, *, actor: str, reason: str = "unit created") -> SpareUnit:
    if data.state not in INITIAL_STATES:
        raise Unprocessable(
            f"A new unit may start in {', '.join(sorted(INITIAL_STATES))}, not '{data.state.value}'.",
            field="state",
        )
    if data.profile_version is not None and data.profile_id is None:
        raise Unprocessable("profile_version needs profile_id.", field="profile_version")
    _check_references(session, model_id=data.model_id, depot_id=data.depot_id, profile_id=data.profile_id)
    if repository.find_unit_by_code(session, data.serial) or repository.find_unit_by_code(
        session, data.asset_tag
    ):
        raise Conflict(
            f"A unit with serial '{data.serial}' or asset tag '{data.asset_tag}' already exists.",
            field="serial",
        )
    return create_units(session, [data], actor=actor, reason=reason)[0]


def create_units(session: Session, rows: list[UnitCreate], *, actor: str, reason: str) -> list[SpareUnit]:
    """New units, inserted together (an import's thousands in a few statements), each with its ledger row;
    the ready ones are offered to the waitlist. The caller has checked each row as `create_unit` does
    (the import reports them by line); a serial or tag taken meanwhile is refused by the unique index."""
    now = clock.now()
    made = [SpareUnit(**row.model_dump(exclude={"state"}), state=row.state.value, created_at=now, updated_at=now)
            for row in rows]
    session.add_all(made)
    try:
        session.flush()
    except IntegrityError:  # a concurrent insert of the same serial/tag
        raise Conflict("A unit with this serial or asset tag already exists.", field="serial") from None
    for unit in made:
        ledger.record(session, unit, from_state=None, from_depot_id=None, actor=actor, reason=reason)
    for unit in made:
        _after_state_change(session, unit)
    return made


def update_unit(session: Session, unit_id: int, data: UnitUpdate) -> SpareUnit:
    unit = repository.get_unit_for_update(session, unit_id)
    changes = data.model_dump(exclude_unset=True)
    _check_references(session, profile_id=changes.get("profile_id"))
    for field, value in changes.items():
        setattr(unit, field, value)
    if unit.profile_version is not None and unit.profile_id is None:
        raise Unprocessable("profile_version needs profile_id.", field="profile_version")
    unit.updated_at = clock.now()
    session.flush()
    session.refresh(unit)
    return unit


def move_unit(session: Session, unit_id: int, data: UnitMove, *, actor: str) -> SpareUnit:
    unit = repository.get_unit_for_update(session, unit_id)
    repository.get_depot(session, data.depot_id)
    if unit.depot_id == data.depot_id:
        raise Conflict(f"The unit is already at depot {unit.depot.code}.")
    if unit.state not in ON_THE_SHELF:
        raise Conflict(f"A unit in state '{unit.state}' cannot be moved between depots.")
    from_depot = unit.depot_id
    unit.depot_id = data.depot_id
    unit.updated_at = clock.now()
    session.flush()
    session.refresh(unit)
    ledger.record(session, unit, from_state=unit.state, from_depot_id=from_depot, actor=actor, reason=data.reason)
    _after_state_change(session, unit)
    return unit


def move_by_hand(session: Session, unit_id: int, target: UnitState, *, actor: str, reason: str,
                 reference: str | None = None) -> SpareUnit:
    """A state change asked for through the API (warehouse): never into the swap journey, and never
    for a unit a swap or an open return holds."""
    unit = repository.get_unit_for_update(session, unit_id)
    check_manual_transition(UnitState(unit.state), target, in_journey=repository.is_in_journey(session, unit.id))
    return transition_unit(session, unit, target, actor=actor, reason=reason, reference=reference)


def transition_unit(
    session: Session,
    unit: SpareUnit | int,
    target: UnitState,
    *,
    actor: str,
    reason: str,
    reference: str | None = None,
) -> SpareUnit:
    """Move a unit to `target` if the state machine allows it, and write the ledger row."""
    if isinstance(unit, int):
        unit = repository.get_unit_for_update(session, unit)
    current = UnitState(unit.state)
    check_transition(current, target)
    holds.check_not_held(session, unit, target)
    if current == UnitState.REFURBISHING and target == UnitState.READY:
        wipes.check_wiped(session, unit)
        grading.check_fit_for_workers(unit)
    writes.update(session, unit, state=target.value, updated_at=clock.now())  # written with the ledger row
    if unit.id is None:  # a unit new in this transaction: its ledger row needs its id
        session.flush()
    ledger.record(
        session, unit, from_state=current.value, from_depot_id=unit.depot_id, actor=actor, reason=reason,
        reference=reference,
    )
    _after_state_change(session, unit)
    return unit


def _after_state_change(session: Session, unit: SpareUnit) -> None:
    if unit.state == UnitState.READY:  # waiting swaps may claim it (swaps listens; inventory does not know)
        events.record(session, events.UnitReady(unit_id=unit.id))
