"""Depots, device models, config profiles and par levels."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import Admin, Reader, SessionDep
from app.api.problems import problem_responses
from app.inventory import catalog, repository
from app.inventory.schemas import (
    DepotCreate,
    DepotRead,
    DepotUpdate,
    DeviceModelCreate,
    DeviceModelRead,
    DeviceModelUpdate,
    Id,
    ParLevelSet,
    ProfileCreate,
    ProfileRead,
    ProfileUpdate,
)

router = APIRouter(prefix="/api/v1", responses=problem_responses(401, 403, 422))
Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("/depots", response_model=list[DepotRead], tags=["depots"])
def list_depots(session: SessionDep, _: Reader, limit: Limit = 500):
    return repository.list_depots(session, limit=limit)


@router.post("/depots", response_model=DepotRead, status_code=201, tags=["depots"],
             responses=problem_responses(409))
def create_depot(body: DepotCreate, session: SessionDep, _: Admin):
    return catalog.create_depot(session, body)


@router.get("/depots/{depot_id}", response_model=DepotRead, tags=["depots"], responses=problem_responses(404))
def get_depot(depot_id: Id, session: SessionDep, _: Reader):
    return repository.get_depot(session, depot_id)


@router.patch("/depots/{depot_id}", response_model=DepotRead, tags=["depots"], responses=problem_responses(404))
def update_depot(depot_id: Id, body: DepotUpdate, session: SessionDep, _: Admin):
    return catalog.update_depot(session, depot_id, body)


@router.put("/depots/{depot_id}/par-levels/{model_id}", tags=["stock"], responses=problem_responses(404))
def set_par_level(depot_id: Id, model_id: Id, body: ParLevelSet, session: SessionDep, _: Admin) -> dict:
    par = catalog.set_par_level(session, depot_id, model_id, body)
    return {"depot_id": par.depot_id, "model_id": par.model_id, "min_ready": par.min_ready}


@router.get("/models", response_model=list[DeviceModelRead], tags=["models"])
def list_models(session: SessionDep, _: Reader, limit: Limit = 500):
    return [catalog.model_read(m) for m in repository.list_models(session, limit=limit)]


@router.post("/models", response_model=DeviceModelRead, status_code=201, tags=["models"],
             responses=problem_responses(404, 409))
def create_model(body: DeviceModelCreate, session: SessionDep, _: Admin):
    return catalog.model_read(catalog.create_model(session, body))


@router.get("/models/{model_id}", response_model=DeviceModelRead, tags=["models"], responses=problem_responses(404))
def get_model(model_id: Id, session: SessionDep, _: Reader):
    return catalog.model_read(repository.get_model(session, model_id))


@router.patch("/models/{model_id}", response_model=DeviceModelRead, tags=["models"],
              responses=problem_responses(404))
def update_model(model_id: Id, body: DeviceModelUpdate, session: SessionDep, _: Admin):
    return catalog.model_read(catalog.update_model(session, model_id, body))


@router.get("/profiles", response_model=list[ProfileRead], tags=["profiles"])
def list_profiles(session: SessionDep, _: Reader, limit: Limit = 500):
    return repository.list_profiles(session, limit=limit)


@router.post("/profiles", response_model=ProfileRead, status_code=201, tags=["profiles"],
             responses=problem_responses(409))
def create_profile(body: ProfileCreate, session: SessionDep, _: Admin):
    return catalog.create_profile(session, body)


@router.get("/profiles/{profile_id}", response_model=ProfileRead, tags=["profiles"],
            responses=problem_responses(404))
def get_profile(profile_id: Id, session: SessionDep, _: Reader):
    return repository.get_profile(session, profile_id)


@router.patch("/profiles/{profile_id}", response_model=ProfileRead, tags=["profiles"],
              responses=problem_responses(404))
def update_profile(profile_id: Id, body: ProfileUpdate, session: SessionDep, _: Admin):
    return catalog.update_profile(session, profile_id, body)
