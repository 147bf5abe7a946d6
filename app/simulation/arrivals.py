"""Who asks when, drawn up front from the scenario (and the seed), with the chance outcomes each request
will meet later: whether the courier is on time, when the worker sends the old device back, whether it
is scrapped. Drawn per request, so two runs of one scenario with different stock meet the same
failures and the same couriers (common random numbers): only the stock makes them differ."""

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from app.planning.scenario import Scenario

Z90 = 1.2815515655446004


@dataclass(frozen=True)
class Request:
    at: datetime  # UTC
    depot: str
    sku: str
    worker: int  # index among the depot's workers with this model
    on_time: bool  # the outbound courier delivers on the promised day
    delivery_minute: int  # minutes after 09:00 local on the delivery day
    lag: timedelta  # delivery → the worker hands the old device to the courier
    scrap: bool  # the old device is retired at triage
    answers: bool = False  # the worker answers the follow-up ("yes, it works")
    answer_lag: timedelta = timedelta(0)  # after the question is due


def devices(workers: int, share: float) -> int:
    return round(workers * share)


def draw(scenario: Scenario) -> list[Request]:
    """Every request of the period, in time order. Per depot × model and day, the count is Poisson
    with mean λ·(weekday weight / mean weekday weight); the hour follows the hour profile in the depot's
    timezone, the minute is uniform."""
    rng = np.random.default_rng(scenario.seed)
    hours = np.asarray(scenario.request_hours, dtype=float)
    hours = hours / hours.sum()
    weekdays = np.asarray(scenario.request_weekdays, dtype=float)
    weekdays = weekdays / weekdays.mean()
    median = max(scenario.return_lag_median_days, 1e-6)
    sigma = math.log(max(scenario.return_lag_p90_days, median) / median) / Z90
    out: list[Request] = []
    for depot in scenario.depots:
        zone = ZoneInfo(depot.timezone)
        for model in scenario.models:
            n_devices = devices(depot.workers, model.share)
            per_day = n_devices * model.failures_per_year / 365.25
            if n_devices == 0 or per_day <= 0:
                continue
            for k in range(scenario.days):
                day = scenario.start + timedelta(days=k)
                count = int(rng.poisson(per_day * weekdays[day.weekday()]))
                for _ in range(count):
                    hour = int(rng.choice(24, p=hours))
                    minute = int(rng.integers(60))
                    local = datetime.combine(day, time(hour, minute), zone)
                    out.append(Request(
                        at=local.astimezone(UTC), depot=depot.code, sku=model.sku,
                        worker=int(rng.integers(n_devices)), on_time=bool(rng.random() < depot.on_time),
                        delivery_minute=int(rng.integers(8 * 60)),
                        lag=timedelta(days=float(median * math.exp(sigma * rng.standard_normal()))),
                        scrap=bool(rng.random() < model.scrap_rate)))
    out.sort(key=lambda r: (r.at, r.depot, r.sku, r.worker))
    # The follow-up answers from a stream of their own, so they change none of the draws above.
    answers = np.random.default_rng([scenario.seed, 1])
    return [replace(r, answers=bool(answers.random() < scenario.follow_up_answer_rate),
                    answer_lag=timedelta(minutes=int(answers.integers(8 * 60)))) for r in out]
