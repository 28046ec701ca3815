"""Graduated percentage charges (Lago): worked examples from Lago's documentation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pricing.analysis.candidates import apply_overrides, price_parameters
from pricing.errors import CatalogError
from pricing.engine.rating import rate_one
from pricing.reporting.report_tables import plan_rules

from conftest import make_catalog

LAGO = "https://getlago.com/docs/guide/plans/charges/charge-models/graduated-percentage"

# Lago's table: tier 1 from 0 to 1,000 at 1% + $200, tier 2 to 10,000 at 2% + $300, tier 3 at 3% + $400
CHARGE = f"""\
- metric: volume
  model: graduated_percentage
  source: "{LAGO}"
  tiers:
    - {{up_to: 1000, rate: "1", flat_fee: "200"}}
    - {{up_to: 10000, rate: "2", flat_fee: "300"}}
    - {{rate: "3", flat_fee: "400"}}
"""
AMOUNT = "  volume: {name: Transaction volume, kind: amount, decimals: 2}\n"


def total(amount: str) -> Decimal:
    catalog = make_catalog(CHARGE, metrics=AMOUNT, currency="USD")
    return rate_one(catalog, "p", {"volume": amount}).total()


@pytest.mark.parametrize(
    ("amount", "expected", "arithmetic"),
    [
        ("500", "205.00", "Lago: 500 x 1% + $200 flat = $205.00"),
        ("1050", "511.00", "500 + 550: 1,000 x 1% + 200 + 50 x 2% + 300 = 10 + 200 + 1 + 300"),
        ("5050", "591.00", "500 + 550 + 4,000: 1,000 x 1% + 200 + 4,050 x 2% + 300 = 10 + 200 + 81 + 300"),
        ("1000", "210.00", "on the bound: 1,000 x 1% + 200; tier 2 not entered (up_to is inclusive)"),
        ("1000.01", "510.0002", "0.01 into tier 2: + 0.01 x 2% (0.0002, rounded on the line) + 300"),
        ("20000", "1390.00", "1,000 x 1% + 200 + 9,000 x 2% + 300 + 10,000 x 3% + 400 = 10 + 200 + 180 + 300 + 300 + 400"),
        ("0", "200.00", "an amount of 0 lies in tier 1: its flat fee is due (assumption: as graduated charges)"),
    ],
)
def test_lago_example(amount, expected, arithmetic):
    assert total(amount) == Decimal(expected).quantize(Decimal("0.01")), arithmetic


def test_each_transaction_costs_the_total_after_it_minus_the_total_before_it():
    # Lago prices its example transaction by transaction: $500 -> $205.00, then $550 -> $306.00
    # ([500 x 1% + 50 x 2%] + $300 flat), then $4,000 -> $80.00 (4,000 x 2%): the increments of
    # the period's running total, whose sum 591.00 is the period's charge
    running = [Decimal(0), total("500"), total("1050"), total("5050")]
    assert [after - before for before, after in zip(running, running[1:])] == [
        Decimal("205.00"), Decimal("306.00"), Decimal("80.00")]


def test_the_line_explains_its_tiers():
    catalog = make_catalog(CHARGE, metrics=AMOUNT, currency="USD")
    line = rate_one(catalog, "p", {"volume": "5050"}).lines[0]
    assert line.exact_amount == Decimal("591")
    assert [t["units"] for t in line.tiers] == ["1000", "4050", "0"]
    assert [t["rate"] for t in line.tiers] == ["1", "2", "3"]
    assert [t["flat_fee"] for t in line.tiers] == ["200", "300", "0"]
    assert "tier 2: 4050 x 2% + flat 300" in line.explanation


def test_needs_an_amount_metric():
    with pytest.raises(CatalogError, match="graduated_percentage charge needs a metric of kind 'amount'"):
        make_catalog(CHARGE, metrics="  volume: {name: Calls}\n")


def test_tier_bounds_are_checked_and_the_error_names_the_field():
    bad = CHARGE.replace("up_to: 10000", "up_to: 500")
    with pytest.raises(CatalogError, match=r"plans\.p\.charges\.0: tier bounds must be positive and ascending"):
        make_catalog(bad, metrics=AMOUNT)


def test_plan_rules_and_price_parameters_name_the_rates():
    catalog = make_catalog(CHARGE, metrics=AMOUNT, currency="USD")
    assert plan_rules(catalog, "p")[1] == (
        "volume: up to 1,000 at 1% of the amount + USD 200.00 flat; up to 10,000 at 2% of the amount"
        " + USD 300.00 flat; above 10,000 at 3% of the amount + USD 400.00 flat (each tier prices its own units).")
    kinds = {p.key: p.kind for p in price_parameters(catalog)}
    assert kinds["p.volume.tiers.1.rate"] == "tier_rate"
    cheaper = apply_overrides(catalog, {"p.volume.tiers.1.rate": "1.5"})
    # 5,050: 1,000 x 1% + 200 + 4,050 x 1.5% + 300 = 10 + 200 + 60.75 + 300
    assert rate_one(cheaper, "p", {"volume": "5050"}).total() == Decimal("570.75")
