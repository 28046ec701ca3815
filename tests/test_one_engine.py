"""A quote and an invoice for the same holdings and usage are the same numbers: one engine (issue 10)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from pricing.engine.catalog import Catalog, DayCount, parse_catalog
from pricing.engine.invoice import LineType
from pricing.engine.rating import rate_one
from pricing.billing.segments import Recurring
from pricing.billing.subscriptions import bill_period, invoices_between, plan_invoices
from pricing.billing.timeline import parse_timeline

SRC = {"source": "assumption: test catalog"}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def make_catalog(seat_charge: dict, plan: dict | None = None, **top: object) -> Catalog:
    """A team plan: EUR 30.00 a month, seats charged by ``seat_charge``, calls at 0.01."""
    return parse_catalog({
        "id": "team", "name": "Team", "version": "1", "currency": "EUR",
        "settings": {"day_count": "actual_days"} if "settings" not in top else top.pop("settings"),
        "metrics": {"calls": {"name": "Calls"}, "seats": {"name": "Seats", "kind": "count"},
                    "admins": {"name": "Admins", "kind": "count"}},
        "plans": {"team": {"name": "Team", "recurring": {"amount": "30.00", **SRC}, "charges": [
            {"metric": "calls", "model": "per_unit", "unit_price": "0.01", **SRC},
            {"metric": "seats", **seat_charge, **SRC}], **(plan or {})}},
        **top,
    })


def make_timeline(events: list[dict], **top: object):
    return parse_timeline({"customer_id": "c1", "catalog": "team", "events": events, **top}, "t.yaml")


def start(day: str = "2026-04-01", **quantities: int) -> dict:
    return {"at": f"{day}T00:00:00Z", "type": "start", "plan": "team", "quantities": quantities}


def by_item(invoice) -> dict[str, int]:
    return {l.item: l.amount_minor for l in invoice.lines if l.amount_minor}


# --- the divergences the issue found ----------------------------------------------------------------

HALF_PER_ADMIN = {"kind": "addon", "model": "per_unit", "unit_price": "10.00",
                  "included": {"times": "0.5", "per_unit_of": "admins", **SRC}}


def test_included_per_unit_of_another_metric_bills_what_the_quote_charges():
    catalog = make_catalog(HALF_PER_ADMIN)
    # 3 admins x 0.5 = 1.5 free seats; a fraction of a free seat is not a seat: 1 free, 2 of 3 paid
    quote = rate_one(catalog, "team", {"seats": 3, "admins": 3})
    may = bill_period(catalog, make_timeline([start(seats=3, admins=3)]), utc(2026, 5, 1))
    assert by_item(quote) == by_item(may) == {"Team fee": 3000, "seats": 2000}


def test_volume_priced_add_on_bills_and_prorates_from_the_full_quantity():
    catalog = make_catalog({"kind": "addon", "model": "volume", "tiers": [
        {"up_to": 5, "unit_price": "10.00"}, {"unit_price": "8.00"}]})
    # 7 seats reach the second tier: 7 x 8.00 = 56.00 a month; started on 16 April, 15 of 30 days: 28.00
    opening = bill_period(catalog, make_timeline([start("2026-04-16", seats=7)]), utc(2026, 4, 16))
    assert by_item(opening) == {"Team fee": 1500, "seats": 2800}
    assert by_item(rate_one(catalog, "team", {"seats": 7})) == {"Team fee": 3000, "seats": 5600}


def test_graduated_add_on_change_bills_the_difference_of_the_two_holdings():
    catalog = make_catalog({"kind": "addon", "model": "graduated", "tiers": [
        {"up_to": 5, "unit_price": "10.00"}, {"unit_price": "8.00"}]})
    timeline = make_timeline([start(seats=4), {"at": "2026-04-16T00:00:00Z", "type": "add", "item": "seats", "quantity": 3}])
    may = bill_period(catalog, timeline, utc(2026, 5, 1))
    # 4 seats = 40.00; 7 seats = 5 x 10 + 2 x 8 = 66.00; the difference 26.00 for 15 of 30 days = 13.00
    assert [(l.line_type, l.amount_minor) for l in may.lines if l.line_type is LineType.PRORATION] == [
        (LineType.PRORATION, 1300)]
    assert [l.amount_minor for l in may.lines if l.item == "seats" and l.line_type is LineType.ADDON] == [6600]


def test_discounts_and_tax_reach_subscription_invoices_as_they_reach_quotes():
    catalog = make_catalog({"kind": "addon", "model": "per_unit", "unit_price": "5.00"},
                  {"discounts": [{"percent": "10", "name": "Launch offer"}]}, tax_percent="19")
    quote = rate_one(catalog, "team", {"seats": 2, "calls": 1000})
    timeline = make_timeline([start(seats=2)], usage={"2026-04": {"calls": 1000}})
    may = bill_period(catalog, timeline, utc(2026, 5, 1))
    # 30.00 fee + 2 x 5.00 seats + 1,000 calls x 0.01 = 50.00; 10% off = -5.00; 19% of 45.00 = 8.55
    assert by_item(quote) == by_item(may) == {
        "Team fee": 3000, "seats": 1000, "calls": 1000, "Launch offer": -500, "Tax 19%": 855}
    assert may.total_minor == quote.total_minor == 5355


def test_a_usage_charge_on_held_seats_is_billed_without_a_usage_entry():
    catalog = make_catalog({"kind": "usage", "model": "per_unit", "unit_price": "7.00"})
    may = bill_period(catalog, make_timeline([start(seats=4)]), utc(2026, 5, 1))
    assert by_item(may) == {"Team fee": 3000, "seats": 2800}  # 4 seats x 7.00, held, not metered


# --- properties ---------------------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(seats=st.integers(0, 40), admins=st.integers(0, 12), calls=st.integers(0, 10**7),
       model=st.sampled_from(["per_unit", "volume", "graduated", "package"]))
def test_a_full_period_invoice_without_changes_equals_the_quote_line_for_line(seats, admins, calls, model):
    charge = {"per_unit": {"model": "per_unit", "unit_price": "3.25"},
              "volume": {"model": "volume", "tiers": [{"up_to": 10, "unit_price": "4.00"}, {"unit_price": "2.50"}]},
              "graduated": {"model": "graduated", "tiers": [
                  {"up_to": 10, "unit_price": "4.00", "flat_fee": "1.00"}, {"unit_price": "2.50"}]},
              "package": {"model": "package", "package_size": 5, "package_price": "12.00"}}[model]
    catalog = make_catalog({"kind": "addon", **charge,
                   "included": {"quantity": 2, "times": "0.5", "per_unit_of": "admins", **SRC}})
    timeline = make_timeline([start("2026-01-01", seats=seats, admins=admins)], usage={"2026-03": {"calls": calls}})
    april = bill_period(catalog, timeline, utc(2026, 4, 1))
    quote = rate_one(catalog, "team", {"seats": seats, "admins": admins, "calls": calls})
    assert by_item(april) == by_item(quote)
    assert april.total_minor == quote.total_minor == sum(l.amount_minor for l in april.lines)


@settings(max_examples=30, deadline=None)
@given(moments=st.lists(st.integers(1, 30 * 86400 - 1), min_size=1, max_size=6, unique=True),
       convention=st.sampled_from(list(DayCount)))
def test_in_arrears_segment_shares_add_up_to_one_period(moments, convention):
    catalog = make_catalog({"kind": "addon", "model": "per_unit", "unit_price": "5.00"}, {"billing_timing": "in_arrears"},
                  settings={"day_count": convention.value})
    events = [start("2026-04-01")] + [
        {"at": (utc(2026, 4, 1) + timedelta(seconds=s)).isoformat(), "type": "add", "item": "seats", "quantity": 1}
        for s in sorted(moments)]
    drafts = plan_invoices(catalog, make_timeline(events), utc(2026, 5, 1), lambda period, closed: None)
    closing = drafts[-1]
    shares = [p.piece.share for p in closing.pieces if isinstance(p.piece, Recurring)]
    assert sum(shares, Fraction(0)) == 1


@settings(max_examples=30, deadline=None)
@given(offset=st.integers(0, 29 * 86400), percent=st.sampled_from(["0", "7.5", "19", "21"]),
       discount=st.sampled_from([None, {"percent": "12.5"}, {"amount": "4.99"}]))
def test_totals_equal_the_sum_of_lines_with_discounts_and_tax(offset, percent, discount):
    catalog = make_catalog({"kind": "addon", "model": "per_unit", "unit_price": "3.33"})
    moment = (utc(2026, 4, 1) + timedelta(seconds=offset)).isoformat()
    top: dict = {"tax_percent": percent}
    if discount:
        top["discounts"] = [{**discount, "periods": 2}]
    timeline = make_timeline([start(seats=1), {"at": moment, "type": "add", "item": "seats", "quantity": 2},
                   {"at": moment, "type": "remove", "item": "seats", "quantity": 1}],
                  usage={"2026-04": {"calls": 777}}, **top)
    for issued in invoices_between(catalog, timeline, end=utc(2026, 7, 1)):
        inv = issued.invoice
        assert inv.total_minor == sum(l.amount_minor for l in inv.lines)
        assert inv.total_minor == inv.net_minor + inv.tax_minor
        tax = Decimal(inv.net_minor) * Decimal(percent) / 100
        assert abs(inv.tax_minor - tax) <= Decimal("0.5")
