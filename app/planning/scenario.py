"""What a service-level simulation is asked to play: the people, their devices, how often those fail
and when people ask, how the couriers and the depots do. Every field has a default, so `{}` is a
scenario (three depots, three models, 1,000 workers, one year)."""

from datetime import date, time
from typing import Annotated

from pydantic import Field, model_validator

from app.inventory.schemas import Country, Input, LocalTime, Timezone

Share = Annotated[float, Field(ge=0, le=1)]
Days = Annotated[float, Field(ge=0, le=365)]

# Requests by the hour of the worker's day (0–23) and by weekday (Monday first): most come in
# working hours, a few in the evening and at weekends.
OFFICE_HOURS = [0, 0, 0, 0, 0, 0, 1, 2, 6, 10, 10, 9, 7, 8, 9, 9, 8, 6, 4, 2, 1, 1, 0, 0]
WEEKDAYS = [1.1, 1.05, 1, 1, 0.9, 0.15, 0.1]


class DepotPlan(Input):
    code: Annotated[str, Field(pattern=r"^[A-Z0-9]{2,10}$")]
    city: Annotated[str, Field(min_length=1, max_length=100)]
    street1: Annotated[str, Field(min_length=1, max_length=200)]
    postal_code: Annotated[str, Field(min_length=1, max_length=20)]
    state: str | None = None
    country: Country
    timezone: Timezone
    cutoff_local: LocalTime = time(16, 0)
    workers: int = Field(ge=0, le=1_000_000, description="People in the country this depot serves")
    on_time: Share = Field(default=0.995, description="Share of next-day parcels the courier delivers next day "
                                                      "(the others a business day late)")
    stock: dict[str, Annotated[int, Field(ge=0, le=10_000)]] = Field(
        default_factory=dict, description="Ready units per model SKU at the start; a model left out starts with "
                                          "the recommended par level")
    # Where the depot's people live, as the courier would accept it (the depot's own city by default).
    worker_street1: str | None = None
    worker_postal_code: str | None = None


class ModelPlan(Input):
    sku: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{0,39}$")]
    category: str = "laptop"
    name: str = ""
    share: Share = Field(description="Share of workers who have this model")
    failures_per_year: Annotated[float, Field(ge=0, le=50)] = Field(
        description="Failures that need a swap, per device per year")
    refurbish_days: Annotated[int, Field(ge=0, le=60)] = Field(
        default=2, description="Business days from triage to ready (wipe, re-image, test, charge)")
    scrap_rate: Share = Field(default=0.05, description="Share of returned units retired at triage (replaced by a "
                                                        "new unit after `resupply_days`)")
    resupply_days: Annotated[int, Field(ge=0, le=120)] = Field(
        default=10, description="Business days for a new unit to arrive at the depot, ready")


class Scenario(Input):
    seed: int = 1
    start: date = Field(default=date(2027, 1, 4), description="First day simulated (a fixed default, so a seed "
                                                                "gives the same run on any day)")
    days: int = Field(default=365, ge=7, le=731)
    target: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.98, description="Next-business-day rate wanted for requests before the cut-off")
    depots: list[DepotPlan] = Field(default_factory=lambda: [
        DepotPlan(code="LON", city="London", street1="10 Bankside", postal_code="SE1 9PB", country="GB",
                  timezone="Europe/London", cutoff_local=time(16, 0), workers=500),
        DepotPlan(code="NYC", city="New York", street1="200 Varick St", state="NY", postal_code="10014",
                  country="US", timezone="America/New_York", cutoff_local=time(17, 0), workers=350),
        DepotPlan(code="BER", city="Berlin", street1="Friedrichstr. 68", postal_code="10117", country="DE",
                  timezone="Europe/Berlin", cutoff_local=time(15, 30), workers=150),
    ], min_length=1, max_length=50)
    models: list[ModelPlan] = Field(default_factory=lambda: [
        ModelPlan(sku="LAT-5440", name="Latitude 5440", share=0.6, failures_per_year=0.08),
        ModelPlan(sku="MBP-14", name="MacBook Pro 14", share=0.3, failures_per_year=0.05),
        ModelPlan(sku="IPH-15", category="phone", name="iPhone 15", share=0.1, failures_per_year=0.12,
                  refurbish_days=1),
    ], min_length=1, max_length=50)
    request_hours: list[Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: list(OFFICE_HOURS), min_length=24, max_length=24,
        description="Relative weight of requests in each hour of the worker's local day")
    request_weekdays: list[Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: list(WEEKDAYS), min_length=7, max_length=7,
        description="Relative weight of requests on each weekday, Monday first")
    return_lag_median_days: Days = Field(default=2, description="Delivery → the worker hands the old device to the "
                                                                "courier: median, calendar days (log-normal)")
    return_lag_p90_days: Days = Field(default=6, description="… and its 90th percentile")
    return_transit_days: Annotated[int, Field(ge=1, le=20)] = Field(
        default=2, description="Business days the return courier takes to the depot")
    follow_up_answer_rate: Share = Field(
        default=0.7, description="Share of workers who answer \"is it working?\" (yes, within 8 hours of the "
                                 "question); their answers give the metrics' time to working")
    sweep_every_hours: Annotated[int, Field(ge=1, le=24)] = Field(
        default=4, description="How often (simulated time) the periodic jobs run: waitlist, escalations, returns")

    @model_validator(mode="after")
    def _consistent(self):
        if len({d.code for d in self.depots}) != len(self.depots):
            raise ValueError("depot codes must be unique")
        if len({d.country for d in self.depots}) != len(self.depots):
            raise ValueError("one depot per country: a depot's workers are the country it serves")
        skus = {m.sku for m in self.models}
        if len(skus) != len(self.models):
            raise ValueError("model SKUs must be unique")
        if abs(sum(m.share for m in self.models) - 1) > 1e-6:
            raise ValueError("the models' shares must add up to 1")
        for d in self.depots:
            if unknown := set(d.stock) - skus:
                raise ValueError(f"depot {d.code}: stock names unknown models {sorted(unknown)}")
        if not any(self.request_hours) or not any(self.request_weekdays):
            raise ValueError("request_hours and request_weekdays need some weight")
        if self.return_lag_p90_days < self.return_lag_median_days:
            raise ValueError("return_lag_p90_days is below the median")
        return self


def scaled_to(scenario: Scenario, workers: int) -> Scenario:
    """The scenario with its depots' worker counts scaled to `workers` in all, in the same proportions
    (largest remainders first, so the counts add up exactly)."""
    total = sum(d.workers for d in scenario.depots)
    weights = [d.workers / total if total else 1 / len(scenario.depots) for d in scenario.depots]
    exact = [w * workers for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[:workers - sum(counts)]:
        counts[i] += 1
    return scenario.model_copy(update={"depots": [d.model_copy(update={"workers": n})
                                                  for d, n in zip(scenario.depots, counts, strict=True)]})
