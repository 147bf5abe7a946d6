"""Par levels from Poisson base stock, the (S−1, S) policy: each swap takes a ready unit and the broken
one comes back into stock after a turnaround T (or a new one arrives). By Palm's theorem the units away
at any moment are N ~ Poisson(λ·T) whatever T's distribution, λ the failures per day; a request finds a
unit on the shelf when fewer than S are away, so the fill rate of S units is P(N ≤ S − 1).

A worker is working the next business day when a unit was on the shelf *and* the courier was on time,
so the stock must fill target / on-time of the requests; when the lane's on-time rate is itself below
the target, no stock reaches it (said so, and the stock for a 99.9% fill is given)."""

import math
from dataclasses import asdict, dataclass

from app.planning.scenario import DepotPlan, ModelPlan, Scenario

FORMULA = "S = min{ s : P(N ≤ s − 1) ≥ target / on_time },  N ~ Poisson(λ·T)"
UNREACHABLE_FILL = 0.999
WEEK = 7 / 5  # calendar days per business day


def fill_rate(mean_away: float, stock: int) -> float:
    """P(N ≤ stock − 1) for N ~ Poisson(mean_away): the share of requests that find a unit."""
    return float(_poisson().cdf(stock - 1, mean_away)) if stock > 0 else 0.0


def smallest_stock(mean_away: float, fill: float) -> int:
    """The smallest S with fill_rate(mean_away, S) ≥ fill."""
    if mean_away <= 0:
        return 0
    # ppf gives the smallest k with P(N ≤ k) ≥ fill; S − 1 = k. Checked against the cdf, which ppf's
    # floating point can miss by one at the boundary.
    s = int(_poisson().ppf(fill, mean_away)) + 1
    while s > 1 and fill_rate(mean_away, s - 1) >= fill:
        s -= 1
    while fill_rate(mean_away, s) < fill:
        s += 1
    return s


def lognormal_mean(median: float, p90: float) -> float:
    """Mean of the log-normal with this median and 90th percentile (σ = ln(p90/median) / z₀.₉)."""
    if median <= 0:
        return 0.0
    sigma = math.log(p90 / median) / 1.2815515655446004 if p90 > median else 0.0
    return median * math.exp(sigma * sigma / 2)


@dataclass(frozen=True)
class Recommendation:
    depot: str
    sku: str
    devices: float  # workers of the depot's country with this model
    failures_per_day: float  # λ
    turnaround_days: float  # T, calendar days
    mean_away: float  # λ·T
    on_time: float
    fill_needed: float  # target / on_time (capped when unreachable)
    reachable: bool
    stock: int  # S
    fill_at_stock: float
    fill_one_fewer: float

    def as_dict(self) -> dict:
        return {k: round(v, 6) if isinstance(v, float) else v for k, v in asdict(self).items()}


def turnaround_days(scenario: Scenario, model: ModelPlan) -> float:
    """Calendar days from a request (the unit leaves the shelf) to the broken unit ready again, or its
    replacement arrived: delivery next business day, the worker's lag, the return courier, then
    refurbishing (or, for the scrapped share, resupply)."""
    lag = lognormal_mean(scenario.return_lag_median_days, scenario.return_lag_p90_days)
    back = (1 - model.scrap_rate) * model.refurbish_days + model.scrap_rate * model.resupply_days
    return (1 + scenario.return_transit_days + back) * WEEK + lag


def recommend_one(scenario: Scenario, depot: DepotPlan, model: ModelPlan) -> Recommendation:
    devices = depot.workers * model.share
    rate = devices * model.failures_per_year / 365.25
    turnaround = turnaround_days(scenario, model)
    mean = rate * turnaround
    reachable = depot.on_time >= scenario.target
    fill = min(scenario.target / depot.on_time, 1.0) if reachable else UNREACHABLE_FILL
    fill = min(fill, UNREACHABLE_FILL) if fill >= 1 else fill
    stock = smallest_stock(mean, fill)
    return Recommendation(depot=depot.code, sku=model.sku, devices=devices, failures_per_day=rate,
                          turnaround_days=turnaround, mean_away=mean, on_time=depot.on_time, fill_needed=fill,
                          reachable=reachable, stock=stock, fill_at_stock=fill_rate(mean, stock),
                          fill_one_fewer=fill_rate(mean, stock - 1))


def recommend(scenario: Scenario) -> list[Recommendation]:
    return [recommend_one(scenario, d, m) for d in scenario.depots for m in scenario.models]


def _poisson():
    """SciPy's Poisson distribution, imported when first needed (scipy.stats costs about a second to import)."""
    from scipy.stats import poisson

    return poisson
