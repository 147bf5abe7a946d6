"""The kind of job that runs a simulation asked for through the API. It runs in a child process
(`python -m app.simulation`): a simulation sets the clock to its own time, which this worker's other
jobs must not see, and the worker's lease heartbeat goes on meanwhile."""

import base64
import json
import subprocess
import sys
from datetime import timedelta

from sqlalchemy.orm import Session

from app.db import unit_of_work
from app.models import OutboxJob
from app.outbox import JobContext, Kind, RetryPolicy
from app.planning import simulations

TIME_LIMIT_SECONDS = 3 * 3600


class SimulationFailed(Exception):
    retryable = False  # the same scenario fails the same way: said once, not retried


def run(ctx: JobContext) -> None:
    simulation_id = ctx.payload["simulation_id"]
    with unit_of_work(ctx.factory) as session:
        ctx.fence(session)
        sim = simulations.started(session, simulation_id)
        order = json.dumps({"scenario": sim.scenario, "verify": sim.verify})
    done = subprocess.run([sys.executable, "-m", "app.simulation", "--json"], input=order, capture_output=True,
                          text=True, timeout=TIME_LIMIT_SECONDS, check=False)
    if done.returncode != 0:
        raise SimulationFailed(f"the simulation stopped (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    answer = json.loads(done.stdout)
    with unit_of_work(ctx.factory) as session:
        ctx.fence(session)
        simulations.finished(session, simulation_id, result=answer["result"],
                             plot_png=base64.b64decode(answer["plot_png"]))


def on_exhausted(session: Session, job: OutboxJob, message: str) -> None:
    simulations.failed(session, job.payload["simulation_id"], message)


def kinds() -> dict[str, Kind]:
    # A worker killed mid-run loses its lease: another worker runs the simulation again, once.
    return {simulations.RUN: Kind(run, "Running a stock-planning simulation",
                                  RetryPolicy(max_attempts=2, base=timedelta(seconds=5)), on_exhausted)}
