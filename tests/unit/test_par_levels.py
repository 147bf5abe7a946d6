"""Poisson base stock: the textbook numbers, and the inputs a scenario gives them."""

import math

import pytest

from app.planning import parlevels
from app.planning.scenario import Scenario


def poisson_cdf(k: int, mean: float) -> float:  # written out here, not SciPy's
    return sum(math.exp(-mean) * mean**i / math.factorial(i) for i in range(k + 1))


def test_the_textbook_example_needs_four_spares_for_98_percent():
    # 500 devices failing 4% a year, 250 business days a year, back in 10 business days: λT = 0.8.
    mean = 500 * 0.04 / 250 * 10
    assert mean == pytest.approx(0.8)
    assert [round(parlevels.fill_rate(mean, s), 3) for s in (2, 3, 4)] == [0.809, 0.953, 0.991]
    assert parlevels.smallest_stock(mean, 0.98) == 4
    assert parlevels.smallest_stock(mean, 0.95) == 3


@pytest.mark.parametrize("mean", [0.05, 0.3, 0.8, 1.7, 4.2, 12.5, 40.0])
@pytest.mark.parametrize("fill", [0.8, 0.9, 0.95, 0.98, 0.995])
def test_the_smallest_stock_is_the_first_that_fills_enough(mean, fill):
    s = parlevels.smallest_stock(mean, fill)
    assert poisson_cdf(s - 1, mean) >= fill
    if s >= 2:  # one fewer would not do
        assert poisson_cdf(s - 2, mean) < fill


def test_no_failures_need_no_stock():
    assert parlevels.smallest_stock(0.0, 0.98) == 0


def test_a_scenario_gives_lambda_and_turnaround_as_the_formula_says():
    scenario = Scenario.model_validate({
        "target": 0.98, "return_lag_median_days": 2, "return_lag_p90_days": 2, "return_transit_days": 2,
        "depots": [{"code": "LON", "city": "London", "street1": "10 Bankside", "postal_code": "SE1 9PB",
                    "country": "GB", "timezone": "Europe/London", "workers": 1000, "on_time": 0.99}],
        "models": [{"sku": "LAT", "share": 1, "failures_per_year": 0.073, "refurbish_days": 3, "scrap_rate": 0.1,
                    "resupply_days": 13}]})
    (rec,) = parlevels.recommend(scenario)
    assert rec.failures_per_day == pytest.approx(1000 * 0.073 / 365.25)
    # 1 outbound + 2 return transit + 0.9 × 3 refurbish + 0.1 × 13 resupply business days, ×7/5, + 2 days' lag.
    assert rec.turnaround_days == pytest.approx((1 + 2 + 2.7 + 1.3) * 1.4 + 2)
    assert rec.fill_needed == pytest.approx(0.98 / 0.99)
    assert rec.stock == parlevels.smallest_stock(rec.mean_away, 0.98 / 0.99)
    assert poisson_cdf(rec.stock - 1, rec.mean_away) >= 0.98 / 0.99 > poisson_cdf(rec.stock - 2, rec.mean_away)


def test_a_lane_slower_than_the_target_is_said_to_be_unreachable():
    scenario = Scenario.model_validate({
        "depots": [{"code": "LON", "city": "London", "street1": "10 Bankside", "postal_code": "SE1 9PB",
                    "country": "GB", "timezone": "Europe/London", "workers": 500, "on_time": 0.9}],
        "models": [{"sku": "LAT", "share": 1, "failures_per_year": 0.1}]})
    (rec,) = parlevels.recommend(scenario)
    assert rec.reachable is False
    assert rec.fill_at_stock >= parlevels.UNREACHABLE_FILL


def test_a_scenario_whose_shares_do_not_add_up_is_refused():
    with pytest.raises(ValueError, match="add up to 1"):
        Scenario.model_validate({"models": [{"sku": "A", "share": 0.5, "failures_per_year": 0.1}]})
