"""A year of 10,000 workers (about 30,000 swaps) simulated through the real code (issue 14: under 60 s).

Runs `days` of the scenario (default the whole year) on the embedded default (SQLite in memory, the
simulated carrier), and beside it, in the same run, the baseline: the same arrivals and couriers'
timings played by SimPy with no service behind them (what ordering the events alone costs). Prints
swaps simulated per second, the time a whole year takes at that rate, and the ratio to the baseline.

    python -m bench.simulation_year [--days 365] [--workers 10000]

It also counts the transactions and statements the run commits per swap, and times the least a
transaction through the service's own sessions costs on the same database (read one row by its key,
change one column, commit): transactions per swap × that is what a swap costs before any of the
domain's own work, a floor no change inside the domain's rules can go under.
"""

import argparse
import os
import time
from datetime import UTC, datetime
from datetime import time as clock_time

import simpy
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from app import clock
from app.db import unit_of_work
from app.models import Depot
from app.planning.scenario import ModelPlan, Scenario, scaled_to
from app.simulation import engine
from app.simulation.arrivals import draw
from app.simulation.world import build_service, seed, throwaway_database

# Three failures per worker a year across the device mix: about 30,000 swaps for 10,000 workers.
MODELS = [ModelPlan(sku="LAT-5440", share=0.6, failures_per_year=3.0),
          ModelPlan(sku="MBP-14", share=0.3, failures_per_year=3.0),
          ModelPlan(sku="IPH-15", category="phone", share=0.1, failures_per_year=3.0, refurbish_days=1)]


def baseline(scenario: Scenario) -> tuple[int, float]:
    """The same requests, each a SimPy process waiting out a delivery, a return and a refurbish."""
    began = time.perf_counter()
    requests = draw(scenario)
    env = simpy.Environment()
    start = requests[0].at if requests else None

    def journey(r):
        yield env.timeout((r.at - start).total_seconds())
        yield env.timeout(86400 + r.lag.total_seconds() + 3 * 86400)

    for r in requests:
        env.process(journey(r))
    env.run()
    return len(requests), time.perf_counter() - began


class Counts:
    """Statements and commits of every engine while counting."""

    def __init__(self) -> None:
        self.statements = self.commits = 0

    def __enter__(self):
        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(Engine, "commit", self._commit)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(Engine, "before_cursor_execute", self._statement)
        event.remove(Engine, "commit", self._commit)

    def _statement(self, *args) -> None:
        self.statements += 1

    def _commit(self, *args) -> None:
        self.commits += 1


def transaction_floor(scenario: Scenario, n: int = 3000) -> float:
    """Seconds of the least transaction through the service's sessions on the simulation's database."""
    start = datetime.combine(scenario.start, clock_time(0), UTC)
    with clock.using(lambda: start), throwaway_database("sqlite://") as url:
        service = build_service(url)
        seed(service, scenario, {(d.code, m.sku): 1 for d in scenario.depots for m in scenario.models})
        with service.session_factory() as session:
            depot_id = session.scalars(select(Depot.id)).first()
        began = time.perf_counter()
        for i in range(n):
            with unit_of_work(service.session_factory) as session:
                session.get(Depot, depot_id).phone = f"+44 {i}"
        spent = time.perf_counter() - began
        service.engine.dispose()
    return spent / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--workers", type=int, default=10_000)
    args = parser.parse_args()
    scenario = scaled_to(Scenario(days=args.days, models=MODELS), args.workers)
    stock = {(d.code, m.sku): max(2, round(d.workers * m.share * m.failures_per_year / 365 * 8))
             for d in scenario.depots for m in scenario.models}
    n_base, t_base = baseline(scenario)
    with Counts() as counts:
        run = engine.run(scenario, stock)
    rate = run.swaps / run.wall_seconds
    floor = transaction_floor(scenario)
    load = os.getloadavg()[0]
    print(f"scenario: {args.workers} workers, {args.days} days, {run.requests} failures, {run.swaps} swaps "
          f"(load average {load:.2f} at the end)")
    print(f"baseline (events alone): {n_base} journeys in {t_base:.2f} s")
    print(f"through the service: {run.wall_seconds:.1f} s, {rate:.1f} swaps/s; ratio to the baseline "
          f"{run.wall_seconds / t_base:.0f}x")
    year = 3.0 * args.workers
    print(f"a whole year ({year:,.0f} swaps) at this rate: {year / rate:,.0f} s (target: under 60 s)")
    per_swap = counts.commits / max(run.swaps, 1)
    print(f"per swap: {per_swap:.1f} transactions, {counts.statements / max(run.swaps, 1):.0f} statements, "
          f"{run.wall_seconds / max(run.swaps, 1) * 1000:.1f} ms; the least transaction through the service's "
          f"sessions: {floor * 1e6:.0f} µs, so {per_swap * floor * 1000:.1f} ms a swap before the domain's own "
          f"work (a year: {year * per_swap * floor:,.0f} s)")


if __name__ == "__main__":
    main()
