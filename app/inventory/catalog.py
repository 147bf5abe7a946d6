"""Depots, device models, config profiles and par levels: the reference data units point at."""

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.errors import Conflict, Unprocessable
from app.inventory import repository
from app.inventory.schemas import (
    DepotCreate,
    DepotUpdate,
    DeviceModelCreate,
    DeviceModelRead,
    DeviceModelUpdate,
    ParLevelRead,
    ParLevelSet,
    ParLevelsSet,
    ProfileCreate,
    ProfileUpdate,
)
from app.models import ConfigProfile, Depot, DeviceModel, ParLevel


def _flush_unique(session: Session, what: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"{what} already exists.") from None


# ---- depots ---------------------------------------------------------------------------------


def create_depot(session: Session, data: DepotCreate) -> Depot:
    if session.scalar(select(Depot.id).where(Depot.code == data.code)):
        raise Conflict(f"A depot with code '{data.code}' already exists.", field="code")
    depot = Depot(**data.model_dump(), created_at=clock.now())
    session.add(depot)
    _flush_unique(session, f"A depot with code '{data.code}'")
    return depot


def update_depot(session: Session, depot_id: int, data: DepotUpdate) -> Depot:
    depot = repository.get_depot(session, depot_id)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None and field in {"name", "contact_name", "street1", "city", "postal_code", "country",
                                       "timezone", "cutoff_local", "serves"}:
            raise Unprocessable(f"{field} cannot be emptied.", field=field)
        setattr(depot, field, value)
    session.flush()
    return depot


# ---- device models -----------------------------------------------------------------------------


def model_read(model: DeviceModel) -> DeviceModelRead:
    return DeviceModelRead.model_validate(
        {**{c: getattr(model, c) for c in DeviceModelRead.model_fields if c != "substitute_ids"},
         "substitute_ids": [m.id for m in model.substitutes]}
    )


def _substitutes(session: Session, model_id: int | None, ids: list[int]) -> list[DeviceModel]:
    if model_id is not None and model_id in ids:
        raise Unprocessable("A model cannot be its own substitute.", field="substitute_ids")
    return [repository.get_model(session, i) for i in sorted(set(ids))]


def create_model(session: Session, data: DeviceModelCreate) -> DeviceModel:
    if session.scalar(select(DeviceModel.id).where(DeviceModel.sku == data.sku)):
        raise Conflict(f"A device model with SKU '{data.sku}' already exists.", field="sku")
    fields = data.model_dump(exclude={"substitute_ids"})
    model = DeviceModel(**fields, created_at=clock.now())
    model.substitutes = _substitutes(session, None, data.substitute_ids)
    session.add(model)
    _flush_unique(session, f"A device model with SKU '{data.sku}'")
    session.refresh(model)  # read back as stored (numeric scale), as a later GET returns it
    return model


def update_model(session: Session, model_id: int, data: DeviceModelUpdate) -> DeviceModel:
    model = repository.get_model(session, model_id)
    changes = data.model_dump(exclude_unset=True)
    substitute_ids = changes.pop("substitute_ids", None)
    for field, value in changes.items():
        if value is None:
            raise Unprocessable(f"{field} cannot be emptied.", field=field)
        setattr(model, field, value)
    if substitute_ids is not None:
        model.substitutes = _substitutes(session, model.id, substitute_ids)
    session.flush()
    session.refresh(model)  # read back as stored (numeric scale), as a later GET returns it
    return model


# ---- config profiles ---------------------------------------------------------------------------


def create_profile(session: Session, data: ProfileCreate) -> ConfigProfile:
    # Case-insensitive: the CSV import finds profiles by name ignoring case.
    if session.scalar(select(ConfigProfile.id).where(func.upper(ConfigProfile.name) == data.name.upper())):
        raise Conflict(f"A config profile named '{data.name}' already exists.", field="name")
    profile = ConfigProfile(**data.model_dump(), updated_at=clock.now())
    session.add(profile)
    _flush_unique(session, f"A config profile named '{data.name}'")
    return profile


def update_profile(session: Session, profile_id: int, data: ProfileUpdate) -> ConfigProfile:
    """Bumping current_version makes every unit imaged with an older version stale."""
    profile = repository.get_profile(session, profile_id)
    changes = data.model_dump(exclude_unset=True)
    if "current_version" in changes and changes["current_version"] is None:
        raise Unprocessable("current_version cannot be emptied.", field="current_version")
    for field, value in changes.items():
        setattr(profile, field, value)
    profile.updated_at = clock.now()
    session.flush()
    return profile


# ---- par levels ------------------------------------------------------------------------------


def set_par_level(session: Session, depot_id: int, model_id: int, data: ParLevelSet) -> ParLevel:
    repository.get_depot(session, depot_id)
    repository.get_model(session, model_id)
    par = _put_par_level(session, repository.get_par_level(session, depot_id, model_id), depot_id, model_id,
                         data.min_ready)
    session.flush()
    return par


def _put_par_level(session: Session, par: ParLevel | None, depot_id: int, model_id: int, min_ready: int) -> ParLevel:
    """`par` (the pair's row, None when it has none) set to `min_ready`."""
    if par is None:
        par = ParLevel(depot_id=depot_id, model_id=model_id, min_ready=min_ready)
        session.add(par)
    else:
        par.min_ready = min_ready
    return par


def set_par_levels(session: Session, data: ParLevelsSet) -> list[ParLevelRead]:
    """Many par levels in one go (a simulation's recommendation): all of them, or none when any entry
    names a depot or model that does not exist, or a depot × model twice."""
    depots = {d.id: d for d in session.scalars(select(Depot))}
    models = {m.id: m for m in session.scalars(select(DeviceModel))}
    depot_by_code = {d.code: d for d in depots.values()}
    model_by_sku = {m.sku: m for m in models.values()}
    errors, pairs = [], {}
    for i, e in enumerate(data.levels):
        depot = depots.get(e.depot_id) if e.depot_id is not None else depot_by_code.get(e.depot_code)
        model = models.get(e.model_id) if e.model_id is not None else model_by_sku.get(e.sku)
        if depot is None:
            errors.append({"field": f"levels.{i}.{'depot_id' if e.depot_id is not None else 'depot_code'}",
                           "in": "body", "message": f"no depot {e.depot_id or e.depot_code}"})
        if model is None:
            errors.append({"field": f"levels.{i}.{'model_id' if e.model_id is not None else 'sku'}",
                           "in": "body", "message": f"no device model {e.model_id or e.sku}"})
        if depot is not None and model is not None:
            if (depot.id, model.id) in pairs:
                errors.append({"field": f"levels.{i}", "in": "body",
                               "message": f"{depot.code} × {model.sku} is named twice"})
            pairs[(depot.id, model.id)] = e.min_ready
    if errors:
        raise Unprocessable(f"{len(errors)} of the par levels cannot be set; none was.", errors=errors)
    existing = {(p.depot_id, p.model_id): p for p in repository.par_levels(session)}
    for (depot_id, model_id), min_ready in pairs.items():
        _put_par_level(session, existing.get((depot_id, model_id)), depot_id, model_id, min_ready)
    session.flush()
    return [ParLevelRead(depot_id=d, depot_code=depots[d].code, model_id=m, sku=models[m].sku, min_ready=n)
            for (d, m), n in pairs.items()]
