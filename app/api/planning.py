"""Stock planning: simulations of the service (run by a worker, fetched by id) and par levels set in
one call from their recommendation."""

from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import Response

from app.api.deps import Admin, Reader, SessionDep
from app.api.problems import problem_responses
from app.errors import Conflict
from app.inventory import catalog
from app.inventory.schemas import Id, Output, ParLevelRead, ParLevelsSet
from app.models import Simulation, SimulationStatus
from app.planning import report, simulations
from app.planning.simulations import SimulationCreate

router = APIRouter(prefix="/api/v1", tags=["planning"], responses=problem_responses(401, 403, 422))


class SimulationRead(Output):
    id: int
    status: SimulationStatus
    scenario: dict
    verify: bool
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    result: dict | None
    links: dict[str, str]


def simulation_read(sim: Simulation) -> dict:
    base = f"/api/v1/planning/simulations/{sim.id}"
    links = {"self": base}
    if sim.status == SimulationStatus.DONE:
        links |= {"plot": f"{base}/plot.png", "days_csv": f"{base}/days.csv", "table": f"{base}/table.txt"}
    return {"id": sim.id, "status": sim.status, "scenario": sim.scenario, "verify": sim.verify,
            "requested_by": sim.requested_by, "created_at": sim.created_at, "started_at": sim.started_at,
            "finished_at": sim.finished_at, "error": sim.error, "result": sim.result, "links": links}


@router.post("/planning/simulations", status_code=202, response_model=SimulationRead)
def request_simulation(body: SimulationCreate, session: SessionDep, key: Admin, response: Response):
    """Simulate the service over a period (default one year) through its own code, on a throwaway
    database, and recommend par levels per depot × model. A worker runs it (a one-year run takes
    minutes); poll `links.self` until `status` is `done` (or `failed`)."""
    sim = simulations.request(session, body, actor=key.name)
    response.headers["Location"] = f"/api/v1/planning/simulations/{sim.id}"
    return simulation_read(sim)


@router.get("/planning/simulations/{simulation_id}", response_model=SimulationRead, responses=problem_responses(404))
def get_simulation(simulation_id: Id, session: SessionDep, _: Reader):
    """The simulation and, once done, its answer: the service metrics of the simulated period (overall,
    per depot and per depot × model), backorders and their waits, units in each state per day, stock
    turns, shipping cost, and `par_levels` (formula, inputs, Poisson and verified numbers; `apply` is the
    body for PUT /api/v1/par-levels)."""
    return simulation_read(simulations.get(session, simulation_id))


def _done(session, simulation_id: int) -> Simulation:
    sim = simulations.get(session, simulation_id)
    if sim.status != SimulationStatus.DONE:
        raise Conflict(f"Simulation {simulation_id} is '{sim.status}': its answer is not there yet.",
                       current_status=sim.status)
    return sim


@router.get("/planning/simulations/{simulation_id}/plot.png", response_class=Response, responses={
    200: {"content": {"image/png": {}}, "description": "Ready stock and backorders per depot over time"},
    **problem_responses(404, 409)})
def simulation_plot(simulation_id: Id, session: SessionDep, _: Reader) -> Response:
    return Response(_done(session, simulation_id).plot_png, media_type="image/png")


@router.get("/planning/simulations/{simulation_id}/days.csv", response_class=Response, responses={
    200: {"content": {"text/csv": {}}, "description": "Each simulated day per depot: swaps waiting, units by state"},
    **problem_responses(404, 409)})
def simulation_days(simulation_id: Id, session: SessionDep, _: Reader) -> Response:
    return Response(report.daily_csv(_done(session, simulation_id).result), media_type="text/csv; charset=utf-8")


@router.get("/planning/simulations/{simulation_id}/table.txt", response_class=Response, responses={
    200: {"content": {"text/plain": {}}, "description": "The answer as the CLI prints it"},
    **problem_responses(404, 409)})
def simulation_table(simulation_id: Id, session: SessionDep, _: Reader) -> Response:
    return Response(report.table(_done(session, simulation_id).result), media_type="text/plain; charset=utf-8")


@router.put("/par-levels", response_model=list[ParLevelRead], tags=["stock"])
def set_par_levels(body: ParLevelsSet, session: SessionDep, _: Admin):
    """Set many par levels at once, each depot and model named by id or by code and SKU (a simulation's
    `par_levels.apply` is such a body). All or nothing: an unknown depot or model, or a pair named twice,
    is a 422 and changes nothing."""
    return catalog.set_par_levels(session, body)
