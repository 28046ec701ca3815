"""Stripe Products and Prices imported into a catalog, quoted against Stripe's documented amounts, and exported back.

tests/fixtures/interop/stripe_prices.json is written by hand from Stripe's API reference
(https://docs.stripe.com/api/prices/object): a monthly fee, Stripe's tiered-pricing example
(https://docs.stripe.com/subscriptions/pricing-models/tiered-pricing: 1-5 fonts at 7 USD, 6-10 at
6.50 USD, 11+ at 6 USD), a volume price with flat amounts, a yearly fee, and the two
transform_quantity examples (https://docs.stripe.com/billing/subscriptions/usage-based/transform-quantities:
10 USD an hour of 60 minutes rounded up; https://stripe.com/docs/billing/subscriptions/quantity-transformation:
10 USD per 5 users rounded up).
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest

from pricing import rate_one
from pricing.interop import stripe
from pricing.interop.common import InteropError, read_json

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "interop" / "stripe_prices.json"


@pytest.fixture(scope="module")
def data():
    return read_json(FIXTURE)


@pytest.fixture(scope="module")
def catalog(data):
    catalog, notes = stripe.import_catalog(data, "typo", "stripe_prices.json")
    assert notes == ["skipped 1 inactive price(s): price_1OldFee"]
    return catalog


def total(catalog, plan, **usage) -> int:
    return rate_one(catalog, plan, usage).total_minor


def test_the_import_keeps_the_price_ids_as_sources_and_the_minor_units_as_currency_units(catalog):
    pro = catalog.plans["typographic_pro"]
    assert pro.recurring.amount == Decimal("20")  # unit_amount_decimal "2000" cents
    assert pro.recurring.source == "https://api.stripe.com/v1/prices/price_1PfeeMonthly"
    fonts, api = pro.charges
    assert (fonts.model, fonts.metric, fonts.source) == (
        "graduated", "fonts", "https://api.stripe.com/v1/prices/price_1FontsGraduated")
    assert [(t.up_to, t.unit_price) for t in fonts.tiers] == [
        (Decimal(5), Decimal(7)), (Decimal(10), Decimal("6.5")), (None, Decimal(6))]
    # "0.1" cent is USD 0.001; flat_amount 500 cents is USD 5
    assert [(t.up_to, t.unit_price, t.flat_fee) for t in api.tiers] == [
        (Decimal(1000), 0, 0), (Decimal(10000), Decimal("0.001"), Decimal(5)), (None, Decimal("0.0005"), Decimal(20))]
    assert catalog.settings.tier_bounds.value == "up_to_inclusive"
    assert catalog.metrics["users"].kind.value == "count"  # a licensed price with metadata.metric
    assert catalog.plans["productivity_suite"].charges[0].kind == "addon"


@pytest.mark.parametrize("fonts, expected", [
    (1, 700),     # 1 x 7
    (5, 3500),    # 5 x 7 (Stripe: "5 fonts result in the same charge as volume-based pricing: 35 USD")
    (6, 4150),    # 5 x 7 + 1 x 6.50 = 41.50
    (20, 12750),  # 5 x 7 + 5 x 6.50 + 10 x 6 = 35 + 32.50 + 60 = 127.50
])
def test_graduated_tiers_quote_stripes_example(catalog, fonts, expected):
    # the plan's fee of 20.00 is on the invoice too
    assert total(catalog, "typographic_pro", fonts=fonts) == 2000 + expected


@pytest.mark.parametrize("fonts, expected", [(1, 700), (5, 3500), (6, 3900), (20, 12000), (25, 15000)])
def test_the_same_tiers_as_volume_quote_stripes_volume_table(data, fonts, expected):
    # Stripe's table: 1 -> 7 USD, 5 -> 35, 6 -> 39 (6 x 6.50), 20 -> 120 (20 x 6), 25 -> 150
    volume = copy.deepcopy(data)
    price = next(p for p in volume[1]["data"] if p["id"] == "price_1FontsGraduated")
    price["tiers_mode"] = "volume"
    catalog, _ = stripe.import_catalog(volume, "typo", "volume")
    assert total(catalog, "typographic_pro", fonts=fonts) == 2000 + expected


@pytest.mark.parametrize("calls, expected", [
    (1000, 0),       # tier 1 (up to and including 1,000): 0 per unit, no flat amount
    (1001, 600),     # tier 2 for all units: 1,001 x 0.001 = 1.001 + flat 5 = 6.001 -> 6.00
    (5000, 1000),    # 5,000 x 0.001 + 5 = 10.00
    (20000, 3000),   # tier 3: 20,000 x 0.0005 + 20 = 30.00
])
def test_volume_tiers_with_flat_amounts(catalog, calls, expected):
    assert total(catalog, "typographic_pro", api_calls=calls) == 2000 + expected


def test_transform_quantity_is_a_package_charge(catalog):
    # 150 minutes / 60 = 2.5, rounded up to 3 hours x 10 USD = 30 USD (Stripe's car rental example)
    assert total(catalog, "car_rental_service", rental_minutes=150) == 3000
    # 10 USD for every 5 users or part of 5: 1, 3, 5 users -> 10; 6, 7 -> 20
    assert [total(catalog, "productivity_suite", users=n) for n in (1, 3, 5, 6, 7)] == [1000] * 3 + [2000] * 2


def test_a_yearly_price_is_a_yearly_plan(catalog):
    assert catalog.billing_interval("pro_yearly")[0].value == "year"
    assert catalog.plans["pro_yearly"].recurring.amount == Decimal(200)  # 20000 cents
    assert catalog.interval.value == "month"  # the first plan's interval


def _with(data, price_id, **changes):
    out = copy.deepcopy(data)
    price = next(p for p in out[1]["data"] if p["id"] == price_id)
    for key, value in changes.items():
        if value is None:
            price.pop(key, None)
        else:
            price[key] = value
    return out


@pytest.mark.parametrize("price_id, changes, message", [
    ("price_1PfeeMonthly", {"type": "one_time", "recurring": None}, "price price_1PfeeMonthly: type 'one_time'"),
    ("price_1PfeeMonthly", {"recurring": {"interval": "day", "interval_count": 1, "usage_type": "licensed"}},
     "price price_1PfeeMonthly: recurring.interval 'day'"),
    ("price_1PfeeMonthly", {"unit_amount": 1999}, "unit_amount 1999 and unit_amount_decimal 2000 disagree"),
    ("price_1RentalHour", {"currency": "eur"}, "price price_1RentalHour: currency 'eur', another currency"),
    ("price_1PfeeMonthly", {"unit_amount_decimal": "0.0000000000001", "unit_amount": None},
     "price price_1PfeeMonthly: unit_amount_decimal: "),
    ("price_1FontsGraduated", {"tiers": None}, "price price_1FontsGraduated: tiers missing"),
    ("price_1FontsGraduated", {"transform_quantity": {"divide_by": 5, "round": "up"}},
     "price price_1FontsGraduated: transform_quantity with tiers"),
    ("price_1RentalHour", {"transform_quantity": {"divide_by": 60, "round": "nearest"}},
     "price price_1RentalHour: transform_quantity.round must be 'up' or 'down'"),
    ("price_1RentalHour", {"recurring": {"interval": "month", "interval_count": 1, "usage_type": "metered",
                                         "aggregate_usage": "max"}},
     "price price_1RentalHour: recurring.aggregate_usage 'max'"),
    ("price_1RentalHour", {"tax_behavior": "inclusive"}, "price price_1RentalHour: tax_behavior inclusive"),
    ("price_1RentalHour", {"metadata": {"plan": "pro_yearly", "metric": "rental_minutes"}},
     "price price_1RentalHour: recurring.interval 1 x month in plan 'pro_yearly' billed every 1 x year"),
])
def test_what_the_catalog_cannot_express_is_refused_naming_the_price_and_field(data, price_id, changes, message):
    with pytest.raises(InteropError) as caught:
        stripe.import_catalog(_with(data, price_id, **changes), "typo", "prices.json")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_incomplete_list_is_refused(data):
    partial = copy.deepcopy(data)
    partial[1]["has_more"] = True
    with pytest.raises(InteropError, match="has more pages"):
        stripe.import_catalog(partial, "typo", "prices.json")


def test_export_writes_prices_stripe_would_create_and_imports_back_identically(catalog):
    exported = stripe.export_catalog(catalog, "typo.yaml")
    prices = {p["id"]: p for p in exported["data"] if p["object"] == "price"}
    fonts = prices["price_1FontsGraduated"]
    assert fonts["tiers"][1] == {"up_to": 10, "unit_amount": 650, "unit_amount_decimal": "650", "flat_amount": 0,
                                 "flat_amount_decimal": "0"}
    assert prices["price_1RentalHour"]["transform_quantity"] == {"divide_by": 60, "round": "up"}
    assert prices["price_1FeeYearly"]["recurring"]["interval"] == "year"
    again, _ = stripe.import_catalog(json.loads(json.dumps(exported)), "typo", "exported")
    assert again == catalog


@pytest.mark.parametrize("bundled, message", [
    ("quasr", "quasr.account_rules: cannot be exported to Stripe"),
    ("logto", "logto: plans.pro.charges.0.included: cannot be exported to Stripe"),
    ("license_jp", "license_jp: settings.day_count actual_days: Stripe works exact_seconds"),
])
def test_export_refuses_what_stripe_cannot_express(bundled, message):
    from pricing.engine.catalog import load_catalog

    with pytest.raises(InteropError) as caught:
        stripe.export_catalog(load_catalog(bundled), bundled)
    assert message in str(caught.value)


@pytest.mark.parametrize("module, vendor", [(stripe, "Stripe"), (None, "Lago")])
def test_invoice_level_rounding_is_refused_by_both_vendors(catalog, module, vendor):
    from pricing.engine.catalog import DayCount, RoundingScope
    from pricing.interop import lago

    # Stripe and Lago round each line item or fee on its own
    settings = catalog.settings.model_copy(update={"rounding_scope": RoundingScope.INVOICE, "day_count": (
        DayCount.EXACT_SECONDS if vendor == "Stripe" else DayCount.ACTUAL_DAYS)})
    odd = catalog.model_copy(update={"settings": settings})
    with pytest.raises(InteropError, match=f"odd: settings.rounding_scope invoice: {vendor} works line"):
        (module or lago).export_catalog(odd, "odd")
