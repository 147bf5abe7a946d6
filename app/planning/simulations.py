"""Simulations asked for through the API: stored with their scenario, run by a worker as a job (in a
process of its own: a simulation moves the clock), their answer kept for fetching by id."""

from pydantic import Field
from sqlalchemy.orm import Session

from app import clock, outbox
from app.errors import NotFound
from app.inventory.schemas import Input
from app.models import Simulation, SimulationStatus
from app.planning.scenario import Scenario

RUN = "run_simulation"


class SimulationCreate(Input):
    scenario: Scenario = Field(default_factory=Scenario)
    verify: bool = Field(default=True, description="Play the scenario again with the recommended par levels and "
                                                   "raise them where the simulated rate misses the target")


def request(session: Session, data: SimulationCreate, *, actor: str) -> Simulation:
    sim = Simulation(status=SimulationStatus.QUEUED, scenario=data.scenario.model_dump(mode="json"),
                     verify=data.verify, requested_by=actor, created_at=clock.now())
    session.add(sim)
    session.flush()
    outbox.enqueue(session, RUN, {"simulation_id": sim.id}, dedupe_key=f"{RUN}:{sim.id}")
    return sim


def get(session: Session, simulation_id: int, *, for_update: bool = False) -> Simulation:
    sim = session.get(Simulation, simulation_id, with_for_update=for_update)
    if sim is None:
        raise NotFound(f"No simulation with id {simulation_id}.")
    return sim


def started(session: Session, simulation_id: int) -> Simulation:
    sim = get(session, simulation_id, for_update=True)
    sim.status, sim.started_at, sim.error = SimulationStatus.RUNNING, clock.now(), None
    return sim


def finished(session: Session, simulation_id: int, *, result: dict, plot_png: bytes) -> None:
    sim = get(session, simulation_id, for_update=True)
    sim.status, sim.result, sim.plot_png, sim.finished_at = SimulationStatus.DONE, result, plot_png, clock.now()


def failed(session: Session, simulation_id: int, error: str) -> None:
    sim = get(session, simulation_id, for_update=True)
    sim.status, sim.error, sim.finished_at = SimulationStatus.FAILED, error[-4000:], clock.now()
