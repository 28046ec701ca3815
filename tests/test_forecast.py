"""Growth forecasts: each month rated exactly; a term total is the sum of its months."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pricing.engine.catalog import Discount, load_catalog
from pricing.errors import UsageError
from pricing.analysis.forecast import forecast, project_usage
from pricing.engine.rating import RateOptions, rate_one


@pytest.fixture(scope="module")
def quasr():
    return load_catalog("quasr")


def test_usage_grows_by_compound_percent_rounded_half_up(quasr):
    table = project_usage(quasr, {"maa": 1000, "mat": 3, "committed_maa": 500}, "10", 4)
    assert table["maa"].tolist() == [1000, 1100, 1210, 1331]
    assert table["mat"].tolist() == [3, 3, 4, 4]  # 3.3 -> 3, 3.63 -> 4
    assert table["committed_maa"].tolist() == [500] * 4  # commitments do not grow
    table = project_usage(quasr, {"maa": 5}, "10", 3)
    assert table["maa"].tolist() == [5, 6, 6]  # 5.5 -> 6 (half up), 6.05 -> 6


def test_term_total_is_the_sum_of_exactly_rated_months(quasr):
    usage = {"maa": 2400, "mac": 30000, "mat": 3}
    result = forecast(quasr, usage, "3", 12)
    months = project_usage(quasr, usage, "3", 12)
    for plan in quasr.plans:
        expected = sum(
            rate_one(quasr, plan, {k: int(row[k]) for k in usage}).total_minor for _, row in months.iterrows())
        assert result.total(plan) == expected
        assert isinstance(result.total(plan), int)
    assert result.cheapest() in quasr.plans


def test_zero_growth_is_twelve_times_the_month(quasr):
    usage = dict(quasr.sample_usage)
    result = forecast(quasr, usage, 0, 12)
    for plan in quasr.plans:
        assert result.total(plan) == 12 * rate_one(quasr, plan, usage).total_minor


def test_first_months_discount_applies_only_to_those_months(quasr):
    options = RateOptions(discounts=(Discount(percent=Decimal("50"), periods=2, name="Intro"),))
    usage = {"maa": 2400, "mac": 30000, "mat": 3}
    result = forecast(quasr, usage, 0, 6, plans=["startup"], options=options)
    full = rate_one(quasr, "startup", usage).total_minor
    half = rate_one(quasr, "startup", usage, options).total_minor
    assert result.monthly["startup"].tolist() == [half, half, full, full, full, full]


@pytest.mark.parametrize("growth, months", [("abc", 12), ("-100", 12), ("3", 0), ("3", 500)])
def test_bad_inputs_raise_one_line(quasr, growth, months):
    with pytest.raises(UsageError):
        forecast(quasr, {"maa": 1}, growth, months)
