"""The causes reconciliation names for a differing pair of lines, each found by asking the engine.

The end-to-end comparison (store, vendor files, report) is tests/test_cli_interop.py; here each
cause is shown on one pair of lines, with the arithmetic.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from pricing.interop import stripe
from pricing.interop.common import read_json
from pricing.interop.reconcile import CustomerKey, _cause, _Context, _pair
from pricing.interop.vendor_invoice import VendorCustomer, VendorInvoice, VendorLine
from pricing.engine.invoice import Line, LineType

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "interop"
UTC = timezone.utc


@pytest.fixture(scope="module")
def catalog():
    return stripe.import_catalog(read_json(FIXTURES / "stripe_prices.json"), "typo", "prices")[0]


def engine_line(line_type: LineType, amount: int, exact: str, *, quantity: str = "1", unit: str | None = "20",
                metric: str | None = None, start: datetime | None = None, end: datetime | None = None) -> Line:
    return Line("Typographic Pro fee", line_type, Decimal(quantity), None if unit is None else Decimal(unit), amount,
                Decimal(exact), metric=metric, service_start=start, service_end=end)


def test_a_proration_on_another_day_count_is_named(catalog):
    start, end = datetime(2026, 3, 16, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    # the catalog (Stripe's) prorates to the second: 20.00 x 16/31 days = 10.3226 -> 10.32
    engine = engine_line(LineType.PRORATION, 1032, "10.32258064516129", start=start, end=end)
    # a vendor on a 30-day month: 16 March is day 15 of 30, so half the period is left: 20.00 x 1/2 = 10.00
    vendor = VendorLine("il_1", "proration", 1000, service_start=start, service_end=end)
    cause = _cause("proration", vendor, engine, _Context(catalog, "typographic_pro", {}), 2)
    assert cause == ("day count: the vendor's amount is the thirty_day_month share (1/2) of the period,"
                     " the catalog prorates by exact_seconds")


def test_a_proration_over_other_dates_is_a_proration_convention(catalog):
    start, end = datetime(2026, 3, 16, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    engine = engine_line(LineType.PRORATION, 1032, "10.32258064516129", start=start, end=end)
    vendor = VendorLine("il_1", "proration", 968, service_start=datetime(2026, 3, 17, tzinfo=UTC), service_end=end)
    assert _cause("proration", vendor, engine, _Context(catalog, "typographic_pro", {}), 2).startswith(
        "proration convention: the vendor prorates 2026-03-17 00:00 .. 2026-04-01 00:00, the engine 2026-03-16")


def test_rounding_the_exact_amount_the_other_way_is_a_rounding_rule(catalog):
    engine = engine_line(LineType.USAGE, 601, "6.005", quantity="1005", unit=None, metric="api_calls")
    vendor = VendorLine("il_2", "usage", 600, quantity=Decimal(1005))
    assert _cause("usage", vendor, engine, _Context(catalog, "typographic_pro", {"api_calls": 1005}), 2) == (
        "rounding rule: the exact amount is 6.005; the engine rounds half up to 6.01, the vendor 6.00")


def test_the_same_quantity_at_another_amount_is_a_price_difference(catalog):
    # 20 fonts: the catalog gives 127.50 (5 x 7 + 5 x 6.50 + 10 x 6); the vendor charged 130.00 for the same 20
    engine = engine_line(LineType.USAGE, 12750, "127.5", quantity="20", unit=None, metric="fonts")
    vendor = VendorLine("il_3", "usage", 13000, quantity=Decimal(20))
    cause = _cause("usage", vendor, engine, _Context(catalog, "typographic_pro", {"fonts": 20}), 2)
    assert cause == "price differs from the catalog: same quantity 20, the catalog's price gives 127.50"


def test_a_fee_at_another_unit_amount_names_both_prices(catalog):
    engine = engine_line(LineType.RECURRING, 2000, "20")
    vendor = VendorLine("il_4", "fee", 1800, quantity=Decimal(1), unit_amount=Decimal(18))
    assert _cause("fee", vendor, engine, _Context(catalog, "typographic_pro", {}), 2) == (
        "price differs from the catalog: the vendor's unit amount is 18, the catalog's 20")


def test_pairs_take_equal_amounts_first_then_charges_with_charges_and_credits_with_credits():
    v = [(VendorLine("a", "proration", -500), "in", "a"), (VendorLine("b", "proration", 700), "in", "b"),
         (VendorLine("c", "proration", 300), "in", "c")]
    e = [(engine_line(LineType.CREDIT, -480, "-4.8"), "e", "x"), (engine_line(LineType.PRORATION, 300, "3"), "e", "y")]
    pairs, vendor_only, engine_only = _pair(v, e)
    assert [(p[0][0].line_id, p[1][2]) for p in pairs] == [("c", "y"), ("a", "x")]
    assert [x[0].line_id for x in vendor_only] == ["b"] and engine_only == []


@pytest.mark.parametrize("key, expected", [
    ("id", "cus_1"), ("email", "acme"), ("metadata:crm", "acme-crm"), ("metadata:none", None)])
def test_customer_keys(key, expected):
    invoice = VendorInvoice("in_1", VendorCustomer("cus_1", "Billing@Acme.example", {"crm": "acme-crm"}), "USD",
                            datetime(2026, 4, 1, tzinfo=UTC), (), 0)
    assert CustomerKey.parse(key).resolve(invoice, {"billing@acme.example": "acme"}) == expected
