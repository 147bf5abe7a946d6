"""A simulation's answer: the scenario played with the stock it names (a depot × model it leaves out
starts at the Poisson par level), and the recommended par levels — the Poisson numbers, verified by
playing the scenario again with them and raised by one where the simulated next-business-day rate
misses the target and stock was the cause (a request of that depot × model waited on the waitlist),
until every depot × model meets it or `max_rounds` runs were played."""

import logging

from app.planning import parlevels
from app.planning.scenario import Scenario
from app.simulation import engine, figures

log = logging.getLogger(__name__)


def starting_stock(scenario: Scenario, recommended: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    return {(d.code, m.sku): d.stock.get(m.sku, recommended[(d.code, m.sku)])
            for d in scenario.depots for m in scenario.models}


def misses(run: engine.Run, target: float) -> list[tuple[str, str]]:
    """Depot × model pairs whose simulated next-business-day rate is below the target, with a request
    that waited for stock (a miss only the courier caused is not fixed by more stock)."""
    out = []
    for key, pair in run.figures["depot_models"].items():
        share = pair["next_business_day"]["share"]
        if share is not None and share < target and pair["backordered"] > 0:
            depot, sku = key.split("/", 1)
            out.append((depot, sku))
    return out


def simulate(scenario: Scenario, *, verify: bool = True, max_rounds: int = 4, database_url: str = "sqlite://",
             progress=None) -> dict:
    say = progress or (lambda _msg: None)
    recs = parlevels.recommend(scenario)
    poisson = {(r.depot, r.sku): r.stock for r in recs}
    given = starting_stock(scenario, poisson)
    say(f"playing the scenario: {sum(given.values())} spare units at the start")
    played = engine.run(scenario, given, database_url=database_url, figures=figures.collect)
    rounds, levels = [], dict(poisson)
    if verify:
        run = played if given == levels else None
        for n in range(1, max_rounds + 1):
            if run is None:
                say(f"verifying the par levels, round {n}: {sum(levels.values())} spare units")
                run = engine.run(scenario, levels, database_url=database_url, figures=figures.collect)
            missed = misses(run, scenario.target)
            rounds.append({"round": n, "levels": _levels_list(levels), "missed": [f"{d}/{s}" for d, s in missed],
                           "next_business_day": run.figures["metrics"]["next_business_day"],
                           "wall_seconds": round(run.wall_seconds, 2)})
            if not missed or n == max_rounds:
                break
            for key in missed:
                levels[key] += 1
            run = None
        verified = not rounds[-1]["missed"]
    else:
        verified = None
    return result(scenario, played, recs, levels, rounds, verified)


def _levels_list(levels: dict[tuple[str, str], int]) -> list[dict]:
    return [{"depot_code": d, "sku": s, "min_ready": n} for (d, s), n in levels.items()]


def result(scenario: Scenario, played: engine.Run, recs, levels, rounds, verified) -> dict:
    f = played.figures
    rows = []
    for r in recs:
        pair = f["depot_models"][f"{r.depot}/{r.sku}"]
        rows.append({**r.as_dict(), "poisson_stock": r.stock, "recommended": levels[(r.depot, r.sku)],
                     "played_with": played.stock[(r.depot, r.sku)],
                     "played_next_business_day": pair["next_business_day"]})
    return {
        "scenario": scenario.model_dump(mode="json"),
        "requests": played.requests,
        "swaps": played.swaps,
        "wall_seconds": round(played.wall_seconds, 2),
        "swaps_per_second": round(played.swaps / played.wall_seconds, 1) if played.wall_seconds else None,
        "metrics": f["metrics"],
        "depots": f["depots"],
        "depot_models": f["depot_models"],
        "backorders": f["backorders"],
        "invariant_breaches": f["invariant_breaches"],
        "shipped": f["shipped"],
        "stock_turns": f["stock_turns"],
        "mean_ready_units": f["mean_ready_units"],
        "shipping_cost": f["shipping_cost"],
        "over_time": [{"day": s.day.isoformat(), "ready": s.ready, "waiting": s.waiting, "units": s.states}
                      for s in played.samples],
        "par_levels": {
            "formula": parlevels.FORMULA,
            "target": scenario.target,
            "inputs": "λ = workers × model share × failures per device-year / 365.25 (per day); T = (1 outbound + "
                      "return transit + (1 − scrap) × refurbish + scrap × resupply business days) × 7/5 + mean "
                      "return lag (calendar days); on_time = the lane's next-day rate",
            "rows": rows,
            "verified": verified,
            "rounds": rounds,
            "apply": {"levels": _levels_list(levels)},
        },
    }
