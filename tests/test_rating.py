"""Rating with the bundled catalogs: every seed number, checked with its arithmetic."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pricing.engine.catalog import Discount, load_catalog
from pricing.errors import CatalogError, UsageError
from pricing.engine.invoice import LineType
from pricing.engine.rating import RateOptions, rate, rate_one

QUASR = load_catalog("quasr")
LOGTO = load_catalog("logto")
LICENSE = load_catalog("license_jp")
PREPAID = load_catalog("prepaid_auth")


def amounts(invoice) -> dict[str, Decimal]:
    return {line.item: Decimal(line.amount_minor).scaleb(-invoice.decimals) for line in invoice.lines}


# --- seed 000: Quasr's free tier and the MAC price -------------------------------------


def test_quasr_payg_issue_example():
    # free calls max(10 x 50, 1,000) = 1,000; 1,200 - 1,000 = 200 extra x EUR 0.004 = EUR 0.80
    invoice = rate_one(QUASR, "payg", {"maa": 50, "mat": 1, "mac": 1200})
    assert invoice.total() == Decimal("0.80")
    mac = next(l for l in invoice.lines if l.metric == "mac")
    assert (mac.quantity, mac.unit_price, mac.amount_minor) == (200, Decimal("0.004"), 80)
    assert "1,000 of 1,000 included free" in mac.explanation


@pytest.mark.parametrize(
    ("maa", "mac", "expected_free_calls", "arithmetic"),
    [
        (50, 1000, 1000, "max(10 x 50, 1000) = 1000: the floor"),
        (100, 1000, 1000, "10 x 100 = 1000 = the floor"),
        (150, 2000, 1500, "10 x 150 = 1500 above the floor"),
    ],
)
def test_quasr_free_calls_are_ten_per_maa_at_least_1000(maa, mac, expected_free_calls, arithmetic):
    invoice = rate_one(QUASR, "payg", {"maa": maa, "mac": mac})
    line = next(l for l in invoice.lines if l.metric == "mac")
    assert line.quantity == max(mac - expected_free_calls, 0), arithmetic


def test_quasr_free_tier_100_maa_and_3_mat():
    # 100 MAA and 3 MAT are free (seed 000); the 101st MAA and 4th MAT are charged
    within = rate_one(QUASR, "payg", {"maa": 100, "mat": 3, "mac": 1000})
    assert within.total_minor == 0
    past = rate_one(QUASR, "payg", {"maa": 101, "mat": 4, "mac": 1000})
    # 1 x 0.05 (assumed MAA price) + 1 x 5.00 (assumed MAT price)
    assert past.total() == Decimal("5.05")


def test_gravitate_and_save_commitment_and_overuse():
    usage = {"maa": 1600, "mat": 5, "mac": 5000, "committed_maa": 1000, "committed_mat": 0}
    invoice = rate_one(QUASR, "gravitate_and_save", usage)
    assert amounts(invoice) == {
        "Monthly Active Accounts (committed)": Decimal("35.00"),  # 1,000 x 0.035, whatever the usage
        "Monthly Active Accounts (over commitment)": Decimal("25.00"),  # 1,600 - 100 free - 1,000 = 500 x 0.05
        "Monthly Active Tenants (committed)": Decimal("0.00"),
        "Monthly Active Tenants (over commitment)": Decimal("10.00"),  # 5 - 3 free = 2 x 5.00
        "Monthly API Calls": Decimal("0.00"),  # 5,000 <= 10 x 1,600
    }
    assert invoice.total() == Decimal("70.00")
    committed = invoice.lines[0]
    assert committed.line_type is LineType.COMMITMENT


def test_commitment_is_charged_even_without_usage():
    invoice = rate_one(QUASR, "gravitate_and_save", {"committed_maa": 2000})
    assert invoice.total() == Decimal("70.00")  # 2,000 x 0.035


def test_enterprise_minimum_spend_true_up():
    usage = {"maa": 10, "committed_maa": 0, "committed_mat": 0}
    invoice = rate_one(QUASR, "enterprise", usage)
    # fee 990.00 < minimum 2,000.00: true-up 1,010.00
    assert amounts(invoice)["Minimum spend true-up"] == Decimal("1010.00")
    assert invoice.total() == Decimal("2000.00")


def test_enterprise_graduated_overuse_past_commitment():
    usage = {"maa": 160_100, "committed_maa": 50_000, "committed_mat": 0}
    invoice = rate_one(QUASR, "enterprise", usage)
    # billable 160,100 - 100 free = 160,000; 50,000 committed -> 110,000 over:
    # 100,000 x 0.035 + 10,000 x 0.03 = 3,500 + 300 = 3,800
    assert amounts(invoice)["Monthly Active Accounts (over commitment)"] == Decimal("3800.00")
    assert amounts(invoice)["Monthly Active Accounts (committed)"] == Decimal("1250.00")  # 50,000 x 0.025


# --- seed 004: Logto Pro and its add-on table ---------------------------------------------


def test_logto_issue_example():
    # Pro $16 + 1 M2M app past the 1 included ($8) + 2 API resources past 3 ($4 each) + 1 SSO ($48) = $80
    invoice = rate_one(LOGTO, "pro", {"m2m_apps": 2, "api_resources": 5, "enterprise_sso": 1})
    assert invoice.total() == Decimal("80.00")
    assert amounts(invoice)["Pro fee"] == Decimal("16.00")
    assert amounts(invoice)["Machine-to-machine apps"] == Decimal("8.00")
    assert amounts(invoice)["API resources"] == Decimal("8.00")
    assert amounts(invoice)["Enterprise SSO"] == Decimal("48.00")


@pytest.mark.parametrize(
    ("usage", "expected", "arithmetic"),
    [
        ({"tokens": 100_000}, "16.00", "100k tokens included"),
        ({"tokens": 250_000}, "136.00", "16 + 150,000 / 100 x 0.08 = 16 + 120"),
        ({"mfa": 1}, "64.00", "16 + MFA 48"),
        ({"organizations": 1}, "64.00", "16 + organizations 48"),
        ({"tenant_members": 5}, "32.00", "16 + (5 - 3) x 8"),
    ],
)
def test_logto_add_on_table(usage, expected, arithmetic):
    assert rate_one(LOGTO, "pro", usage).total() == Decimal(expected), arithmetic


# --- seed 003: licenses with caps and overage; seed 002: presets and custom --------------


def test_free_license_caps_make_it_ineligible_with_a_reason():
    invoice = rate_one(LICENSE, "free", {"registered_users": 101, "registered_rps": 1})
    assert not invoice.eligible
    assert invoice.reason == "registered_users 101 exceeds Free's maximum of 100"
    assert rate_one(LICENSE, "free", {"registered_users": 100, "registered_rps": 3}).eligible


def test_paid_license_mau_overage():
    # JPY 30,000 + (1,800 - 1,000 max MAU) x JPY 30 = 54,000
    invoice = rate_one(LICENSE, "starter", {"mau": 1800})
    assert invoice.total_minor == 54_000
    assert invoice.decimals == 0


def test_custom_plan_is_dearer_than_the_preset_with_the_same_objects():
    for preset, users, apps in [("mini", 1000, 2), ("standard", 10_000, 10), ("business", 100_000, 50)]:
        usage = {"users": users, "applications": apps}
        assert rate_one(PREPAID, "custom", usage).total_minor > rate_one(PREPAID, preset, usage).total_minor


# --- options: discounts, tax, billing details -------------------------------------------


def test_discount_and_tax_give_net_tax_gross():
    options = RateOptions(discounts=(Discount(percent=Decimal("10")),), tax_percent=Decimal("21"))
    invoice = rate_one(QUASR, "payg", {"maa": 50, "mac": 1200}, options)
    # subtotal 0.80; 10% off = -0.08; net 0.72; tax 21% of 0.72 = 0.1512 -> 0.15; total 0.87
    assert invoice.subtotal_minor == 80
    assert invoice.discount_minor == -8
    assert invoice.net_minor == 72
    assert invoice.tax_minor == 15
    assert invoice.total_minor == 87


def test_negative_halves_round_away_from_zero():
    # 10% off 0.05 is -0.005: rounds to -0.01, the mirror of +0.005 -> +0.01
    options = RateOptions(discounts=(Discount(percent=Decimal("10")),))
    invoice = rate_one(QUASR, "payg", {"maa": 101}, options)
    assert invoice.discount_minor == -1
    assert invoice.total_minor == 4


def test_amount_discount_never_exceeds_the_subtotal():
    options = RateOptions(discounts=(Discount(amount=Decimal("5.00")),))
    assert rate_one(QUASR, "payg", {"mac": 1200}, options).total_minor == 0


def test_discount_for_the_first_periods_only():
    options = RateOptions(discounts=(Discount(percent=Decimal("50"), periods=2),), period_index=2)
    assert rate_one(LOGTO, "pro", {}, options).total() == Decimal("16.00")
    options = RateOptions(discounts=(Discount(percent=Decimal("50"), periods=2),), period_index=1)
    assert rate_one(LOGTO, "pro", {}, options).total() == Decimal("8.00")


def test_without_billing_details_usage_past_free_tier_is_blocked_not_charged():
    options = RateOptions(billing_details=False)
    invoice = rate_one(QUASR, "payg", {"maa": 50, "mat": 1, "mac": 1200}, options)
    assert invoice.total_minor == 0
    mac = next(l for l in invoice.lines if l.metric == "mac")
    assert "200 past the free tier blocked" in mac.explanation
    assert not rate_one(QUASR, "gravitate_and_save", {}, options).eligible
    over = rate_one(QUASR, "payg", {"mat": 4}, options)
    assert over.reason == "without billing details an account may have at most 3 tenants"


# --- the table path -------------------------------------------------------------------------


def test_table_rates_each_row_like_a_single_quote():
    table = pd.DataFrame({
        "customer_id": ["a", "b", "c"],
        "maa": [50, 1600, 0], "mac": [1200, 5000, 0], "mat": [1, 5, 0],
    })
    rated = rate(QUASR, table)
    for row in range(3):
        usage = {k: int(table[k][row]) for k in ("maa", "mac", "mat")}
        for plan in QUASR.plans:
            assert rated.totals()[plan][row] == rate_one(QUASR, plan, usage).total_minor
    # row b: payg 1,500 x 0.05 + 2 x 5.00 = 85.00 > startup's 49.00 fee covering 2,500 MAA and 5 MAT
    assert list(rated.cheapest()) == ["payg", "startup", "payg"]


def test_long_table_sums_to_the_totals():
    table = pd.DataFrame({"maa": [50, 5000], "mac": [1200, 80000], "mat": [1, 9]})
    rated = rate(QUASR, table)
    long = rated.long()
    sums = long.groupby(["row", "plan"])["amount_minor"].sum().unstack()
    assert (sums[list(QUASR.plans)].to_numpy() == rated.totals().to_numpy()).all()


def test_text_and_decimal_columns_are_parsed_exactly():
    table = pd.DataFrame({"maa": ["50", "1_000"], "mac": [Decimal("1200"), Decimal("0")]})
    totals = rate(QUASR, table, ["payg"]).totals()["payg"]
    assert list(totals) == [80, 4500]  # 1,000 MAA: 900 x 0.05 = 45.00


@pytest.mark.parametrize(
    ("usage", "message"),
    [
        ({"maa": -1}, "maa=-1 is negative"),
        ({"maa": "ten"}, "maa='ten' is not a number"),
        ({"maa": "1.5"}, "maa=1.5 must be a whole number"),
        ({"nope": 1}, "unknown metric 'nope'"),
    ],
)
def test_bad_usage_is_named(usage, message):
    with pytest.raises(UsageError, match=message):
        rate_one(QUASR, "payg", usage)


def test_bad_table_row_is_named():
    with pytest.raises(UsageError, match="usage row 1: maa is negative"):
        rate(QUASR, pd.DataFrame({"maa": [1, -5]}))
    with pytest.raises(UsageError, match="usage row 0: maa is missing or not a number"):
        rate(QUASR, pd.DataFrame({"maa": [np.nan]}))
    with pytest.raises(UsageError, match="usage row 0: maa=2.5 is not an exact quantity"):
        rate(QUASR, pd.DataFrame({"maa": [2.5]}))


def test_unknown_plan_is_named():
    with pytest.raises(CatalogError, match="catalog 'quasr' has no plan 'gold'"):
        rate_one(QUASR, "gold", {})


def test_chunked_rating_matches_single_rows(monkeypatch):
    """Rows are rated in chunks; a table spanning several chunks still answers row by row."""
    from pricing.engine import rating

    monkeypatch.setattr(rating, "CHUNK_ROWS", 4)
    table = pd.DataFrame({"maa": range(0, 2000, 200), "mac": range(0, 50_000, 5000), "mat": [1, 5] * 5})
    rated = rate(QUASR, table)
    assert len(rated.plans["payg"].chunks) == 3  # 10 rows in chunks of 4
    for row in range(len(table)):
        usage = {k: int(table[k][row]) for k in ("maa", "mac", "mat")}
        for plan in QUASR.plans:
            single = rate_one(QUASR, plan, usage)
            assert rated.invoice(row, plan) == single
            assert rated.totals()[plan][row] == single.total_minor
    merged = rated.plans["payg"].lines[0]
    assert merged.line(9) == rate_one(QUASR, "payg", {"maa": 1800, "mac": 45_000, "mat": 5}).lines[0]
    sums = rated.long().groupby(["row", "plan"])["amount_minor"].sum().unstack()
    assert (sums[list(QUASR.plans)].to_numpy() == rated.totals().to_numpy()).all()


def test_an_empty_table_rates_to_nothing():
    rated = rate(QUASR, pd.DataFrame({"maa": pd.Series([], dtype="int64")}))
    assert rated.totals().shape == (0, 4)
    assert rated.long().empty


def test_sums_and_tax_stay_exact_past_int64():
    """Issue 12: three JPY lines of 4e18 summed to a negative total and a negative tax (int64 wrapped)."""
    import pandas as pd

    from pricing.engine.catalog import parse_catalog

    catalog = parse_catalog({
        "id": "j", "name": "J", "version": "1", "currency": "JPY", "tax_percent": "10",
        "metrics": {m: {"name": m} for m in "abc"},
        "plans": {"p": {"name": "P", "charges": [
            {"metric": m, "model": "per_unit", "unit_price": "1", "source": "assumption: test"} for m in "abc"]}}})
    table = rate(catalog, pd.DataFrame({"a": [4 * 10**18, 1], "b": [4 * 10**18, 2], "c": [4 * 10**18, 3]}))
    big = table.invoice(0, "p")
    # 3 x 4e18 = 1.2e19 (past 2**63 ~ 9.22e18); tax 10% = 1.2e18
    assert [l.amount_minor for l in big.lines] == [4 * 10**18] * 3 + [12 * 10**17]
    assert big.total_minor == int(table.plans["p"].total_minor[0]) == 132 * 10**17
    assert int(table.plans["p"].total_minor[1]) == 7  # 1 + 2 + 3 = 6, tax 0.6 -> 1


@given(scaled=st.integers(-(10**30), 10**30), scale=st.integers(0, 12))
def test_quantities_in_explanations_read_as_their_decimal_value(scaled, scale):
    """Whole quantities take a shortcut past Decimal in the explanations; the words must not change."""
    from types import SimpleNamespace

    from pricing.engine.charges.base import ChargeModel, plain, unscaled
    from pricing.engine.money import from_scaled
    from pricing.engine.formatting import grouped_number, grouped_scaled

    assert grouped_scaled(scaled, scale) == grouped_number(from_scaled(scaled, scale))
    assert ChargeModel.q(SimpleNamespace(qscale=scale), scaled) == plain(unscaled(scaled, scale))
