"""Plan comparison and break-even points."""

from __future__ import annotations

from pricing.engine.catalog import load_catalog
from pricing.analysis.comparison import break_even, compare, cost_curve
from pricing.engine.rating import RateOptions

QUASR = load_catalog("quasr")


def test_compare_orders_cheapest_eligible_first_and_ineligible_last():
    license_catalog = load_catalog("license_jp")
    result = compare(license_catalog, {"mau": 1800, "registered_users": 5200})
    assert [inv.plan for inv in result.invoices] == ["starter", "business", "free"]
    assert result.cheapest.plan == "starter"
    # business 120,000 - starter (30,000 + 800 x 30 = 54,000) = 66,000 yen
    assert result.saving("business") == 66_000
    assert result.invoices[-1].reason == "registered_users 5,200 exceeds Free's maximum of 100"


def test_compare_without_eligible_plans_has_no_cheapest():
    result = compare(QUASR, {"mat": 4}, options=RateOptions(billing_details=False))
    assert result.cheapest is None
    assert result.to_json()["cheapest"] is None


def test_break_even_payg_vs_startup_on_maa():
    # payg: (maa - 100) x 0.05; startup: 49.00 flat up to 2,500 MAA.
    # (maa - 100) x 0.05 = 49.00 -> maa = 1,080: equal there, startup cheaper past it.
    points = break_even(QUASR, "payg", "startup", "maa", {"mat": 1}, high=100_000)
    assert len(points) == 1
    point = points[0]
    assert point.quantity == 1080
    assert point.total_a_minor == point.total_b_minor == 4900
    assert (point.cheaper_below, point.cheaper_from) == ("payg", "startup")


def test_break_even_finds_a_package_step_to_the_unit():
    logto = load_catalog("logto")
    # pro vs pro with one more M2M app: never equal -> no break-even
    assert break_even(logto, "pro", "pro", "tokens", {}, high=10**6) == []


def test_cost_curve_is_exact_and_matches_rating():
    curve = cost_curve(QUASR, "maa", [0, 100, 1080, 5000], {"mat": 1}, plans=["payg", "startup"])
    assert list(curve["payg"]) == [0, 0, 4900, 24500]  # (5,000 - 100) x 0.05 = 245.00
    assert list(curve["startup"]) == [4900, 4900, 4900, 4900 + 2500 * 4]  # 2,500 past 2,500 x 0.04
