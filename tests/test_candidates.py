"""Candidate catalogs: overrides produce new validated catalogs and never touch the original."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pricing.analysis.candidates import apply_overrides, diff_parameters, parameter_map, price_parameters, scale_parameter
from pricing.engine.catalog import load_catalog
from pricing.errors import CatalogError, PricingError
from pricing.engine.rating import rate_one


@pytest.fixture(scope="module")
def quasr():
    return load_catalog("quasr")


def test_parameters_cover_every_kind_of_number(quasr):
    params = parameter_map(quasr)
    assert params["payg.maa.unit_price"].value == Decimal("0.05")
    assert params["payg.mac.included.times"].value == 10
    assert params["enterprise.maa.tiers.0.up_to"].value == 100000
    assert params["gravitate_and_save.maa.commitment.unit_price"].value == Decimal("0.035")
    assert params["enterprise.minimum_spend"].value == Decimal("2000.00")
    assert params["startup.recurring"].value == Decimal("49.00")
    assert len({p.key for p in price_parameters(quasr)}) == len(price_parameters(quasr))


@pytest.mark.parametrize("catalog_id", ["quasr", "logto", "license_jp", "prepaid_auth"])
def test_every_parameter_can_move_ten_percent_both_ways(catalog_id):
    catalog = load_catalog(catalog_id)
    for param in price_parameters(catalog):
        for pct in (-10, 10):
            moved = parameter_map(scale_parameter(catalog, param.key, pct))[param.key].value
            assert moved != param.value or param.value == 0 or (param.is_quantity and param.value < 10)


def test_override_changes_the_bill_exactly_and_leaves_the_original(quasr):
    usage = {"maa": 1100, "mac": 0, "mat": 1}
    candidate = apply_overrides(quasr, {"payg.maa.unit_price": "0.06"})
    assert candidate.version == f"{quasr.version}+candidate"
    assert rate_one(quasr, "payg", usage).total_minor == 5000  # 1,000 x 0.05
    assert rate_one(candidate, "payg", usage).total_minor == 6000
    assert quasr.plans["payg"].charges[0].unit_price == Decimal("0.05")
    assert diff_parameters(quasr, candidate) == [("payg.maa.unit_price", Decimal("0.05"), Decimal("0.06"))]


def test_tier_bounds_included_and_commitment_overrides(quasr):
    candidate = apply_overrides(quasr, {
        "enterprise.maa.tiers.0.up_to": 150000,
        "startup.maa.included": "3000",
        "gravitate_and_save.maa.commitment.unit_price": Decimal("0.03"),
    })
    assert candidate.plans["enterprise"].charges[0].tiers[0].up_to == 150000
    assert candidate.plans["startup"].charges[0].included.quantity == 3000
    assert candidate.plans["gravitate_and_save"].charges[0].commitment.unit_price == Decimal("0.03")
    # the YAML anchor shared by plans is now per plan: one plan's change does not leak
    assert candidate.plans["payg"].charges[0].included.quantity == 100


@pytest.mark.parametrize("overrides, fragment", [
    ({"payg.nope.unit_price": "1"}, "no price parameter"),
    ({"payg.maa.unit_price": 0.06}, "not a float"),
    ({"payg.maa.unit_price": "abc"}, "not a decimal"),
    ({"payg.maa.unit_price": "-1"}, ">= 0"),
    ({"payg.maa.included": "10.5"}, "decimal places"),
    ({"enterprise.maa.tiers.0.up_to": "0"}, "tier bounds"),
])
def test_bad_overrides_raise_one_line(quasr, overrides, fragment):
    with pytest.raises(CatalogError) as info:
        apply_overrides(quasr, overrides)
    assert fragment in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, PricingError)


def test_scaled_quantities_round_to_whole_units(quasr):
    moved = scale_parameter(quasr, "payg.mat.included", 10)  # 3 x 1.1 = 3.3 -> 3
    assert moved.plans["payg"].charges[1].included.quantity == 3
    moved = scale_parameter(quasr, "startup.maa.included", "-10")
    assert moved.plans["startup"].charges[0].included.quantity == 2250


def test_a_per_transaction_charge_offers_its_rate_and_fixed_fee():
    # It used to fall through to the tiered branch and fail on a missing .tiers (found by mypy).
    payments = load_catalog("tests/fixtures/events/payments_catalog.yaml")
    params = parameter_map(payments)
    assert params["online.card_volume.rate"].value == Decimal("2.9")
    assert params["online.card_volume.fixed_fee"].value == Decimal("0.30")
    # 2.9 % moved up 10 %: 2.9 * 1.1 = 3.19
    moved = parameter_map(scale_parameter(payments, "online.card_volume.rate", 10))
    assert moved["online.card_volume.rate"].value == Decimal("3.19")
