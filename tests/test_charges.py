"""Worked examples for each charge model, with the arithmetic in the table."""

from __future__ import annotations

import typing
from decimal import Decimal

import numpy as np
import pytest

from conftest import make_catalog
from pricing.engine.catalog import Charge, Settings
from pricing.engine.charges import MODELS, ChargeModel, apply_model, model_for, price_scale
from pricing.engine.rating import rate_one

GRADUATED = """\
- metric: q
  model: graduated
  source: "assumption: test"
  tiers:
    - {up_to: 100, unit_price: "0.10", flat_fee: "5.00"}
    - {up_to: 1000, unit_price: "0.05", flat_fee: "10.00"}
    - {unit_price: "0.01"}
"""

VOLUME = """\
- metric: q
  model: volume
  source: "assumption: test"
  tiers:
    - {up_to: 100, unit_price: "1.00"}
    - {up_to: 1000, unit_price: "0.50", flat_fee: "20.00"}
    - {unit_price: "0.40"}
"""

PACKAGE = """\
- metric: q
  model: package
  package_size: 100
  package_price: "0.08"
  included: {quantity: 100000, source: "seed:004_3fbcfa647f01fbe0.txt"}
  source: seed:004_3fbcfa647f01fbe0.txt
"""


def total(catalog, quantity) -> Decimal:
    return rate_one(catalog, "p", {"q": quantity}).total()


@pytest.mark.parametrize(
    ("bounds", "quantity", "expected", "arithmetic"),
    [
        ("up_to_inclusive", 0, "5.00", "zero usage lies in tier 1: its flat fee 5.00"),
        ("up_to_inclusive", 1, "5.10", "1 x 0.10 + 5.00"),
        ("up_to_inclusive", 100, "15.00", "100 x 0.10 + 5.00; on the bound, tier 2 not entered"),
        ("up_to_exclusive", 100, "25.00", "100 x 0.10 + 5.00 + tier 2 flat 10.00 (the bound starts tier 2)"),
        ("up_to_inclusive", 101, "25.05", "100 x 0.10 + 5.00 + 1 x 0.05 + 10.00"),
        ("up_to_inclusive", 1500, "75.00", "10.00 + 5.00 + 900 x 0.05 + 10.00 + 500 x 0.01"),
    ],
)
def test_graduated(bounds, quantity, expected, arithmetic):
    catalog = make_catalog(GRADUATED, settings=f"tier_bounds: {bounds}\n")
    assert total(catalog, quantity) == Decimal(expected), arithmetic


def test_graduated_explains_its_tiers():
    catalog = make_catalog(GRADUATED)
    line = rate_one(catalog, "p", {"q": 1500}).lines[0]
    assert [t["units"] for t in line.tiers] == ["100", "900", "500"]
    assert [t["flat_fee"] for t in line.tiers] == ["5", "10", "0"]
    assert "tier 2: 900 x 0.05 + flat 10" in line.explanation


@pytest.mark.parametrize(
    ("bounds", "quantity", "expected", "arithmetic"),
    [
        ("up_to_inclusive", 0, "0.00", "0 x 1.00"),
        ("up_to_inclusive", 100, "100.00", "100 x 1.00, tier 1 holds its bound"),
        ("up_to_inclusive", 101, "70.50", "101 x 0.50 + 20.00: more usage, lower bill (the volume cliff)"),
        ("up_to_exclusive", 100, "70.00", "100 x 0.50 + 20.00: the bound starts tier 2"),
        ("up_to_inclusive", 2000, "800.00", "2000 x 0.40"),
    ],
)
def test_volume(bounds, quantity, expected, arithmetic):
    catalog = make_catalog(VOLUME, settings=f"tier_bounds: {bounds}\n")
    assert total(catalog, quantity) == Decimal(expected), arithmetic


def test_volume_cliff_more_usage_costs_less():
    catalog = make_catalog(VOLUME)
    assert total(catalog, 101) < total(catalog, 100)


@pytest.mark.parametrize(
    ("rounding", "quantity", "expected", "arithmetic"),
    [
        ("up", 100000, "0.00", "all 100,000 included"),
        ("up", 100001, "0.08", "1 unit past the quota starts a block: 1 x 0.08"),
        ("up", 100100, "0.08", "exactly one full block"),
        ("up", 100101, "0.16", "101 units: 2 blocks x 0.08"),
        ("down", 100150, "0.08", "150 units: 1 completed block x 0.08"),
        ("down", 100099, "0.00", "99 units: no completed block"),
    ],
)
def test_package(rounding, quantity, expected, arithmetic):
    catalog = make_catalog(PACKAGE, settings=f"package_rounding: {rounding}\n")
    assert total(catalog, quantity) == Decimal(expected), arithmetic


def test_package_rounding_override_on_the_charge():
    catalog = make_catalog(PACKAGE + "  rounding: down\n")
    assert total(catalog, 100150) == Decimal("0.08")


PERCENTAGE = """\
- metric: volume
  model: percentage
  rate: "2.9"
  fixed_fee: "0.30"
  source: "assumption: card-processing style fee"
"""
AMOUNT_METRIC = "  volume: {name: Payment volume, kind: amount, decimals: 2}\n"


@pytest.mark.parametrize(
    ("amount", "expected", "exact", "arithmetic"),
    [
        ("123.45", "3.88", "3.88005", "123.45 x 2.9% = 3.58005, + 0.30 fixed = 3.88005 -> 3.88"),
        ("0", "0.00", "0", "no amount, no fixed fee"),
        ("10.00", "0.59", "0.59", "10.00 x 2.9% = 0.29, + 0.30"),
    ],
)
def test_percentage(amount, expected, exact, arithmetic):
    catalog = make_catalog(PERCENTAGE, metrics=AMOUNT_METRIC)
    line = rate_one(catalog, "p", {"volume": amount}).lines[0]
    assert line.amount_minor == int(Decimal(expected) * 100), arithmetic
    assert line.exact_amount == Decimal(exact)


def test_flat_feature_fee_only_when_enabled():
    catalog = make_catalog('- {metric: q, model: flat, fee: "48.00", kind: feature, source: "seed:004_3fbcfa647f01fbe0.txt"}\n')
    assert total(catalog, 0) == Decimal("0.00")
    assert total(catalog, 1) == Decimal("48.00")
    assert total(catalog, 3) == Decimal("48.00")  # a feature fee, not per unit


@pytest.mark.parametrize(
    ("rounding", "quantity", "expected", "arithmetic"),
    [
        ("half_up", 1, "0.01", "0.005 rounds half away from zero"),
        ("half_even", 1, "0.00", "0.005 rounds to the even cent"),
        ("half_even", 3, "0.02", "0.015 rounds to the even cent"),
        ("half_up", 3, "0.02", "0.015 -> 0.02"),
    ],
)
def test_rounding_rule_is_a_setting(rounding, quantity, expected, arithmetic):
    catalog = make_catalog('- {metric: q, model: per_unit, unit_price: "0.005", source: "assumption: t"}\n',
                           settings=f"rounding: {rounding}\n")
    assert total(catalog, quantity) == Decimal(expected), arithmetic


def test_sub_cent_prices_keep_their_precision_until_the_line_rounds():
    catalog = make_catalog('- {metric: q, model: per_unit, unit_price: "0.0004", source: "assumption: t"}\n')
    line = rate_one(catalog, "p", {"q": 12345}).lines[0]
    assert line.exact_amount == Decimal("4.938")  # 12,345 x 0.0004
    assert line.amount_minor == 494


def test_zero_decimal_and_three_decimal_currencies():
    jpy = make_catalog('- {metric: q, model: per_unit, unit_price: "2.5", source: "assumption: t"}\n', currency="JPY")
    assert rate_one(jpy, "p", {"q": 3}).total_minor == 8  # 7.5 yen -> 8 yen (half up)
    kwd = make_catalog('- {metric: q, model: per_unit, unit_price: "0.0125", source: "assumption: t"}\n', currency="KWD")
    assert rate_one(kwd, "p", {"q": 3}).total_minor == 38  # 0.0375 KWD -> 0.038 (38 fils)


def test_huge_quantities_stay_exact_past_int64():
    catalog = make_catalog('- {metric: q, model: per_unit, unit_price: "3.0001", source: "assumption: t"}\n')
    quantity = 4 * 10**18
    invoice = rate_one(catalog, "p", {"q": quantity})
    assert invoice.total() == Decimal(quantity) * Decimal("3.0001")


# --- the registry ------------------------------------------------------------------


def test_every_charge_class_of_the_catalog_has_a_model():
    members = typing.get_args(typing.get_args(Charge)[0])
    assert set(MODELS) == set(members)
    for member in members:
        assert issubclass(MODELS[member], ChargeModel)


def test_a_charge_without_a_model_is_refused():
    with pytest.raises(TypeError, match="no charge model for str"):
        model_for("per_unit", 0)


def test_apply_model_and_price_scale_keep_their_signatures():
    charge = make_catalog(PACKAGE).plans["p"].charges[0]
    result = apply_model(charge, np.array([100_150]), 0, price_scale(charge), Settings())
    # 100,150 units, 100,000 of them included only by rating: 1,002 started blocks x 0.08
    assert price_scale(charge) == 2
    assert int(result.amount[0]) == 1002 * 8


# --- exact at any magnitude (issue 12) ------------------------------------------------


def test_package_of_a_3_decimal_metric_does_not_wrap():
    # 1,000,000,000 units at 9.999999 a unit = 9,999,999,000.00: the amount is 10**9 blocks x
    # 9,999,999 (price scale 6) x 10**3 (metric scale) = 9.999999e18 scaled, past 2**63
    catalog = make_catalog('- {metric: q, model: package, package_size: 1, package_price: "9.999999",'
                           ' source: "assumption: t"}\n', metrics="  q: {name: Q, decimals: 3}\n")
    assert rate_one(catalog, "p", {"q": 1_000_000_000}).total() == Decimal("9999999000.00")


@pytest.mark.parametrize("quantity", [2**62 + 1, 2**63 - 1, 2**63 + 5, 10**30])
def test_volume_tiers_past_int64(quantity):
    # volume, second tier: quantity x 0.000001 + 0.50 flat
    charge = make_catalog(VOLUME.replace('"0.40"', '"0.000001", flat_fee: "0.50"')).plans["p"].charges[0]
    billable = np.array([0, quantity], dtype=np.int64 if quantity < 2**63 else object)
    result = model_for(charge, 0).price(billable, price_scale(charge))
    assert int(result.amount[1]) == quantity + 500_000  # at price scale 6
    assert int(result.amount[0]) == 0
