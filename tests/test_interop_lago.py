"""Lago plans imported into a catalog, quoted against Lago's documented amounts, and exported back.

tests/fixtures/interop/lago_plans.json is written by hand from Lago's API reference
(https://getlago.com/docs/api-reference/plans/object) with the examples of Lago's guides:
graduated ($1 for the first 100 units, $0.50 for the next 100, $0.10 beyond:
https://getlago.com/docs/guide/plans/charges/charge-models/graduated), package ($5 per 100 units,
the first 100 free: "201 units would cost $10", .../charge-models/package), a spending minimum
($0.010 per MTU with a $100 minimum: "$50 of consumption, a true-up fee of $50",
https://getlago.com/docs/guide/plans/charges/spending-minimum), graduated percentage (1% + $200 to
1,000, 2% + $300 to 10,000, 3% + $400 beyond: $500 + $550 + $4,000 cost $591,
.../charge-models/graduated-percentage), and a minimum commitment ($50 + 3 x $10 = $80 topped up to
$100, https://github.com/getlago/lago-api/pull/1787).
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest

from pricing import rate_one
from pricing.interop import lago
from pricing.interop.common import InteropError, read_json

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "interop" / "lago_plans.json"


@pytest.fixture(scope="module")
def data():
    return read_json(FIXTURE)


@pytest.fixture(scope="module")
def catalog(data):
    catalog, notes = lago.import_catalog(data, "lagocat", "lago_plans.json")
    assert notes == []
    return catalog


def line_amounts(catalog, plan, **usage) -> dict[str, int]:
    return {line.item: line.amount_minor for line in rate_one(catalog, plan, usage).lines}


def test_the_import_reads_cents_and_decimal_properties(catalog):
    startup = catalog.plans["startup"]
    assert startup.recurring.amount == Decimal(49)  # amount_cents 4900
    assert startup.recurring.source == "https://api.getlago.com/api/v1/plans/startup"
    assert startup.billing_timing.value == "in_advance"
    api, storage, mtu = startup.charges
    assert api.source == "https://api.getlago.com/api/v1/plans/startup#charge-ch-graduated-api"
    # to_value is inclusive: the next range starts at to_value + 1
    assert [t.up_to for t in api.tiers] == [Decimal(100), Decimal(200), None]
    assert (storage.metric, catalog.metrics["storage_units"].name) == ("storage_units", "storage-units")
    assert mtu.min_amount == Decimal(100)  # min_amount_cents 10000
    assert catalog.plans["payments"].billing_timing.value == "in_arrears"
    assert catalog.metrics["payment_volume"].kind.value == "amount"
    assert catalog.plans["team"].minimum_spend.amount == Decimal(100)
    assert catalog.plans["team"].progressive_billing.thresholds == (Decimal(500),)
    assert catalog.billing_interval("startup_yearly")[0].value == "year"
    assert catalog.settings.day_count.value == "actual_days"


def test_graduated_charge_quotes_lagos_example(catalog):
    # 250 calls: 100 x $1 + 100 x $0.50 + 50 x $0.10 = 100 + 50 + 5 = $155
    assert line_amounts(catalog, "startup", api_calls=250)["API calls"] == 15500


def test_package_charge_quotes_lagos_example(catalog):
    # 201 units, first 100 free: 101 left = 2 packages of 100 (a started package counts) x $5 = $10
    assert line_amounts(catalog, "startup", storage_units=201)["storage_units (per 100)"] == 1000


def test_spending_minimum_quotes_lagos_example(catalog):
    # 5,000 MTU x $0.010 = $50, below the $100 minimum: a true-up of $50
    lines = line_amounts(catalog, "startup", mtu=5000)
    assert (lines["Monthly tracked users"], lines["Monthly tracked users minimum"]) == (5000, 5000)


def test_graduated_percentage_quotes_lagos_example(catalog):
    # $500 + $550 + $4,000 = $5,050 in the period: 1,000 x 1% + $200 + 4,050 x 2% + $300 = 10 + 200 + 81 + 300 = $591
    assert line_amounts(catalog, "payments", payment_volume="5050")["Payment volume"] == 59100


def test_minimum_commitment_quotes_lagos_scenario(catalog):
    # $50 fee + 3 seats x $10 = $80; the $100 commitment adds a $20 true-up
    lines = line_amounts(catalog, "team", seats=3)
    assert lines == {"Team fee": 5000, "seats": 3000, "Minimum spend true-up": 2000}


def test_percentage_with_transaction_terms_is_per_transaction(data):
    plans = copy.deepcopy(data)
    plans["plans"][1]["charges"][0] = {
        "lago_id": "ch-pct", "billable_metric_code": "payment_volume", "charge_model": "percentage",
        "properties": {"rate": "1", "fixed_amount": "0.5", "free_units_per_events": 3,
                       "free_units_per_total_aggregation": "500", "per_transaction_max_amount": "3.75",
                       "per_transaction_min_amount": "1.75"}}
    catalog, _ = lago.import_catalog(plans, "pct", "pct")
    charge = catalog.plans["payments"].charges[0]
    assert (charge.model, charge.fixed_fee, charge.free_transactions, charge.free_amount, charge.min_fee,
            charge.max_fee) == ("percentage_per_transaction", Decimal("0.5"), 3, Decimal(500), Decimal("1.75"),
                                Decimal("3.75"))
    plans["plans"][1]["charges"][0]["properties"] = {"rate": "1.2"}
    assert lago.import_catalog(plans, "pct", "pct")[0].plans["payments"].charges[0].model == "percentage"


def _charge(data, **changes):
    out = copy.deepcopy(data)
    out["plans"][0]["charges"][0].update(changes)
    return out


@pytest.mark.parametrize("change, message", [
    ({"charge_model": "dynamic"}, "plan startup: charge ch-graduated-api.charge_model: 'dynamic'"),
    ({"filters": [{"values": {"region": ["eu"]}}]}, "charge ch-graduated-api.filters: prices per filter"),
    ({"properties": {"graduated_ranges": [
        {"from_value": 0, "to_value": 100, "per_unit_amount": "1", "flat_amount": "0"},
        {"from_value": 150, "to_value": None, "per_unit_amount": "0.5", "flat_amount": "0"}]}},
     "charge ch-graduated-api.properties.graduated_ranges[1].from_value: 150, expected 101"),
    ({"properties": {"graduated_ranges": [
        {"from_value": 0, "to_value": 100, "per_unit_amount": "abc", "flat_amount": "0"},
        {"from_value": 101, "to_value": None, "per_unit_amount": "0.5", "flat_amount": "0"}]}},
     "graduated_ranges[0].per_unit_amount: 'abc' is not a number"),
    ({"invoiceable": False}, "charge ch-graduated-api.invoiceable: false"),
    ({"min_amount_cents": "12.5"}, "charge ch-graduated-api.min_amount_cents: 12.5 must be a whole number"),
])
def test_what_the_catalog_cannot_express_is_refused_naming_the_charge_and_field(data, change, message):
    with pytest.raises(InteropError) as caught:
        lago.import_catalog(_charge(data, **change), "x", "plans.json")
    assert message in str(caught.value)


@pytest.mark.parametrize("change, message", [
    ({"trial_period": 14}, "plan startup.trial_period: 14 days"),
    ({"interval": "daily"}, "plan startup.interval: 'daily'"),
    ({"amount_currency": "EUR"}, "plan payments.amount_currency: USD, another currency than EUR"),
    ({"taxes": [{"code": "vat", "rate": 20.0}]}, "plan startup.taxes: taxes"),
    ({"bill_charges_monthly": True}, "plan startup.bill_charges_monthly"),
])
def test_plan_fields_the_catalog_cannot_express_are_refused(data, change, message):
    plans = copy.deepcopy(data)
    plans["plans"][0].update(change)
    with pytest.raises(InteropError) as caught:
        lago.import_catalog(plans, "x", "plans.json")
    assert message in str(caught.value)


def test_a_list_with_a_next_page_is_refused(data):
    plans = copy.deepcopy(data)
    plans["meta"]["next_page"] = 2
    with pytest.raises(InteropError, match="has a next page"):
        lago.import_catalog(plans, "x", "plans.json")


def test_export_keeps_codes_and_ids_and_imports_back_identically(catalog):
    exported = lago.export_catalog(catalog, "lagocat.yaml")
    startup = exported["plans"][0]
    assert (startup["code"], startup["amount_cents"], startup["interval"], startup["pay_in_advance"]) == (
        "startup", 4900, "monthly", True)
    storage = startup["charges"][1]
    assert (storage["lago_id"], storage["billable_metric_code"], storage["properties"]) == (
        "ch-package-storage", "storage-units", {"amount": "5", "package_size": 100, "free_units": 100})
    assert exported["plans"][3]["code"] == "startup-yearly"
    again, _ = lago.import_catalog(json.loads(json.dumps(exported)), "lagocat", "exported")
    assert again == catalog


@pytest.mark.parametrize("bundled, message", [
    ("quasr", "quasr.account_rules: cannot be exported to Lago"),
    ("logto", "logto: settings.day_count exact_seconds: Lago works actual_days"),
])
def test_export_refuses_what_lago_cannot_express(bundled, message):
    from pricing.engine.catalog import load_catalog

    with pytest.raises(InteropError) as caught:
        lago.export_catalog(load_catalog(bundled), bundled)
    assert message in str(caught.value)


def test_export_refuses_a_fraction_of_a_cent_where_lago_wants_cents(catalog):
    plan = catalog.plans["startup"]
    fee = plan.recurring.model_copy(update={"amount": Decimal("49.005")})
    odd = catalog.model_copy(update={"plans": {"startup": plan.model_copy(update={"recurring": fee})}})
    with pytest.raises(InteropError, match=r"plans.startup.recurring.amount: 49.005 is not a whole number of minor"):
        lago.export_catalog(odd, "odd")
