"""Subscription semantics billing engines offer, with their documented worked examples (issue 10)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pricing.engine.catalog import Catalog, parse_catalog
from pricing.errors import SubscriptionError
from pricing.engine.invoice import LineType
from pricing.billing.subscriptions import bill_period, invoices_between
from pricing.billing.timeline import parse_timeline

SRC = {"source": "assumption: test catalog"}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def make_catalog(settings: dict | None = None, **plans: dict) -> Catalog:
    """USD plans at 10.00 (basic) and 20.00 (pro) a month with seats at 5.00; ``plans`` override or add."""
    base = {
        "basic": {"name": "Basic", "recurring": {"amount": "10.00", **SRC}, "charges": [
            {"metric": "seats", "kind": "addon", "model": "per_unit", "unit_price": "5.00", **SRC}]},
        "pro": {"name": "Pro", "recurring": {"amount": "20.00", **SRC}, "charges": [
            {"metric": "seats", "kind": "addon", "model": "per_unit", "unit_price": "5.00", **SRC}]},
    }
    for plan_id, plan in plans.items():
        base[plan_id] = {**base.get(plan_id, {}), **plan}
    return parse_catalog({
        "id": "saas", "name": "SaaS", "version": "1", "currency": "USD", "settings": settings or {},
        "metrics": {"seats": {"name": "Seats", "kind": "count"}}, "plans": base})


def make_timeline(events: list[dict], **top: object):
    return parse_timeline({"customer_id": "c1", "catalog": "saas", "events": events, **top}, "t.yaml")


def at(day: str, kind: str, **more: object) -> dict:
    return {"at": day if "T" in day else f"{day}T00:00:00Z", "type": kind, **more}


def lines(invoice, *types: LineType) -> list[tuple[str, int]]:
    return [(l.item, l.amount_minor) for l in invoice.lines if not types or l.line_type in types]


CHANGES = (LineType.CREDIT, LineType.PRORATION)


# --- 1. plan changes in either direction, when the user says ---------------------------------------

def test_stripe_upgrade_halfway_credits_5_and_charges_10():
    # docs.stripe.com/billing/subscriptions/prorations: 10 USD -> 20 USD halfway: -5 unused, +10 remaining
    timeline = make_timeline([at("2026-04-01", "start", plan="basic"), at("2026-04-16", "upgrade", plan="pro")])
    may = bill_period(make_catalog(), timeline, utc(2026, 5, 1))
    assert lines(may, *CHANGES) == [("Basic fee", -500), ("Pro fee", 1000)]
    assert lines(may, LineType.RECURRING) == [("Pro fee", 2000)]


def test_a_downgrade_now_is_prorated_the_other_way():
    timeline = make_timeline([at("2026-04-01", "start", plan="pro"),
                   at("2026-04-16", "downgrade", plan="basic", effective="now")])
    may = bill_period(make_catalog(), timeline, utc(2026, 5, 1))
    assert lines(may, *CHANGES) == [("Pro fee", -1000), ("Basic fee", 500)]  # 20 x 1/2 back, 10 x 1/2
    assert may.plan == "basic" and lines(may, LineType.RECURRING) == [("Basic fee", 1000)]


def test_the_catalog_says_when_downgrades_take_effect():
    events = [at("2026-04-01", "start", plan="pro"), at("2026-04-16", "change_plan", plan="basic")]
    lago = bill_period(make_catalog(), make_timeline(events), utc(2026, 5, 1))  # default: downgrades at period end
    assert lines(lago) == [("Basic fee", 1000)]
    stripe = bill_period(make_catalog({"downgrade_effective": "now"}), make_timeline(events), utc(2026, 5, 1))
    assert lines(stripe, *CHANGES) == [("Pro fee", -1000), ("Basic fee", 500)]


def test_an_upgrade_can_wait_for_the_end_of_the_period_and_be_withdrawn():
    events = [at("2026-04-01", "start", plan="basic"),
              at("2026-04-16", "upgrade", plan="pro", effective="end_of_period")]
    may = bill_period(make_catalog(), make_timeline(events), utc(2026, 5, 1))
    assert may.plan == "pro" and lines(may) == [("Pro fee", 2000)]
    withdrawn = make_timeline(events + [at("2026-04-20", "withdraw_downgrade")])
    assert lines(bill_period(make_catalog(), withdrawn, utc(2026, 5, 1))) == [("Basic fee", 1000)]


def test_a_change_now_without_proration_costs_nothing_until_the_next_period():
    timeline = make_timeline([at("2026-04-01", "start", plan="basic"),
                   at("2026-04-16", "upgrade", plan="pro", prorate=False)])
    may = bill_period(make_catalog(), timeline, utc(2026, 5, 1))
    assert lines(may) == [("Pro fee", 2000)]


def test_a_change_and_its_reversal_at_the_same_instant_net_to_zero():
    timeline = make_timeline([at("2026-04-01", "start", plan="basic", quantities={"seats": 2}),
                   at("2026-04-11T13:14:15Z", "upgrade", plan="pro"),
                   at("2026-04-11T13:14:15Z", "downgrade", plan="basic", effective="now")])
    may = bill_period(make_catalog(), timeline, utc(2026, 5, 1))
    assert sum(a for _, a in lines(may, *CHANGES)) == 0


# --- 2. invoice at the change ---------------------------------------------------------------------

def test_lago_in_arrears_upgrade_invoices_the_old_plans_days_at_once():
    # getlago.com/docs/guide/subscriptions/upgrades-downgrades: Plan A 100/month in arrears, upgraded to
    # Plan B 200/month on 15 January: an invoice that day for 14/31 x 100 = 45.16, and at the period end
    # one for B's 17 days: 17/31 x 200 = 109.677 -> 109.68
    catalog = make_catalog({"day_count": "actual_days", "change_invoice": "immediately"},
                  a={"name": "Plan A", "billing_timing": "in_arrears", "recurring": {"amount": "100.00", **SRC}},
                  b={"name": "Plan B", "billing_timing": "in_arrears", "recurring": {"amount": "200.00", **SRC}})
    timeline = make_timeline([at("2026-01-01", "start", plan="a"), at("2026-01-15", "upgrade", plan="b")])
    issued = invoices_between(catalog, timeline, end=utc(2026, 2, 1))
    assert [(i.kind, i.issued_at, i.invoice.total_minor) for i in issued] == [
        ("opening", utc(2026, 1, 1), 0), ("change", utc(2026, 1, 15), 4516), ("renewal", utc(2026, 2, 1), 10968)]


def test_an_add_on_can_be_invoiced_the_day_it_is_added():
    # Kill Bill invoices an add-on when it is added; here with the event's own 'invoice: now'
    timeline = make_timeline([at("2026-04-01", "start", plan="basic"),
                   at("2026-04-21", "add", item="seats", quantity=3, invoice="now")])
    issued = invoices_between(make_catalog({"day_count": "actual_days"}), timeline, end=utc(2026, 5, 1))
    change = [i for i in issued if i.kind == "change"]
    assert [(i.issued_at, lines(i.invoice)) for i in change] == [(utc(2026, 4, 21), [("seats", 500)])]  # 15 x 10/30
    may = [i for i in issued if i.issued_at == utc(2026, 5, 1)][0]
    assert lines(may.invoice) == [("Basic fee", 1000), ("seats", 1500)]  # nothing carried over twice


# --- 3. recurring charges prorated or not ------------------------------------------------------------

def test_a_charge_billed_in_full_in_a_partial_period_and_not_refunded():
    catalog = make_catalog({"day_count": "actual_days"}, basic={"charges": [
        {"metric": "seats", "kind": "addon", "model": "per_unit", "unit_price": "5.00", "prorated": False, **SRC}]})
    timeline = make_timeline([at("2026-04-16", "start", plan="basic", quantities={"seats": 2}),
                   at("2026-04-20", "remove", item="seats", quantity=1)])
    opening = bill_period(catalog, timeline, utc(2026, 4, 16))
    assert lines(opening) == [("Basic fee", 500), ("seats", 1000)]  # fee 15/30; 2 seats in full
    may = bill_period(catalog, timeline, utc(2026, 5, 1))
    assert [l.amount_minor for l in may.lines if l.line_type is LineType.CREDIT] == [0]


# --- 4. billing periods as users define them ----------------------------------------------------------

def test_an_anchor_with_a_time_of_day_renews_at_that_time():
    # Stripe's billing_cycle_anchor is a timestamp: created 14:05:09 UTC, renews at 14:05:09 UTC
    timeline = make_timeline([at("2026-03-10T14:05:09Z", "start", plan="basic")], anchor="2026-03-10T14:05:09Z")
    issued = invoices_between(make_catalog(), timeline, end=utc(2026, 6, 1))
    assert [i.issued_at for i in issued] == [utc(2026, 3, 10, 14, 5, 9), utc(2026, 4, 10, 14, 5, 9),
                                             utc(2026, 5, 10, 14, 5, 9)]
    assert {i.invoice.total_minor for i in issued} == {1000}


def test_periods_of_two_months():
    catalog = parse_catalog({**make_catalog().model_dump(mode="json", exclude_defaults=True), "interval_count": 2})
    timeline = make_timeline([at("2026-01-01", "start", plan="basic")])
    issued = invoices_between(catalog, timeline, end=utc(2026, 7, 1))
    assert [i.issued_at.date().isoformat() for i in issued] == ["2026-01-01", "2026-03-01", "2026-05-01",
                                                                "2026-07-01"]


def test_a_change_from_a_monthly_to_a_yearly_plan_starts_a_yearly_period_at_the_change():
    catalog = make_catalog({"day_count": "actual_days"},
                  annual={"name": "Annual", "interval": "year", "recurring": {"amount": "100.00", **SRC}})
    timeline = make_timeline([at("2026-04-01", "start", plan="basic"), at("2026-04-16", "upgrade", plan="annual")])
    issued = invoices_between(catalog, timeline, end=utc(2027, 4, 16))
    change = [i for i in issued if i.issued_at == utc(2026, 4, 16)][0]
    # the month's unused 15 of 30 days credited; the year from 16 April billed in full
    assert lines(change.invoice) == [("Basic fee", -500), ("Annual fee", 10000)]
    assert change.period.end == utc(2027, 4, 16)
    assert [i.issued_at for i in issued][-1] == utc(2027, 4, 16)


# --- 5. discounts, coupons and tax ----------------------------------------------------------------------

def test_a_coupon_for_two_periods_and_the_customers_tax_rate():
    timeline = make_timeline([at("2026-04-01", "start", plan="pro", quantities={"seats": 1})],
                  discounts=[{"percent": "25", "periods": 2, "name": "Welcome"}], tax_percent="20")
    issued = invoices_between(make_catalog(), timeline, end=utc(2026, 6, 1))
    # 20.00 + 5.00 = 25.00; 25% off = -6.25; 20% tax on 18.75 = 3.75; from the third period no coupon
    assert [lines(i.invoice, LineType.DISCOUNT, LineType.TAX) for i in issued] == [
        [("Welcome", -625), ("Tax 20%", 375)], [("Welcome", -625), ("Tax 20%", 375)], [("Tax 20%", 500)]]
    assert [i.invoice.total_minor for i in issued] == [2250, 2250, 3000]


# --- 6. termination ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("refund", "expected"), [
    ("add_ons", [("seats", -250)]),  # Logto: unused add-ons back, the plan fee kept
    ("all", [("Pro fee", -1000), ("seats", -250)]),  # Lago's termination credit note
    ("none", []),
])
def test_termination_now_credits_what_the_user_says(refund, expected):
    timeline = make_timeline([at("2026-04-01", "start", plan="pro", quantities={"seats": 1}),
                   at("2026-04-16", "cancel", effective="now", refund=refund)])
    final = bill_period(make_catalog(), timeline, utc(2026, 4, 20))
    assert lines(final, *CHANGES) == expected


# --- 7. trials --------------------------------------------------------------------------------------------

def test_a_trial_added_to_a_running_subscription_moves_the_anchor_to_its_end():
    # Stripe: trial_end set on an active subscription; the rest of the period is credited, nothing is
    # billed during the trial, and the cycle restarts at the trial's end
    timeline = make_timeline([at("2026-04-01", "start", plan="basic"),
                   at("2026-04-11", "trial", until="2026-05-21T00:00:00Z")])
    issued = invoices_between(make_catalog({"day_count": "actual_days"}), timeline, end=utc(2026, 7, 1))
    assert [(i.issued_at.date().isoformat(), i.invoice.total_minor) for i in issued] == [
        ("2026-04-01", 1000), ("2026-05-01", -667), ("2026-05-21", 1000), ("2026-06-21", 1000)]


def test_a_second_trial_while_one_runs_is_refused():
    timeline = make_timeline([at("2026-04-01", "start", plan="basic"), at("2026-04-11", "trial", until="2026-05-21T00:00:00Z"),
                   at("2026-04-12", "trial", until="2026-05-30T00:00:00Z")])
    with pytest.raises(SubscriptionError, match=r"events\[2\] \(trial at .*already in a trial"):
        invoices_between(make_catalog(), timeline)


# --- 6. minimums ------------------------------------------------------------------------------------------

def usage_catalog(**charge: object) -> Catalog:
    return parse_catalog({
        "id": "saas", "name": "SaaS", "version": "1", "currency": "USD", "settings": {"day_count": "actual_days"},
        "metrics": {"calls": {"name": "Calls"}},
        "plans": {"basic": {"name": "Basic", "charges": [
            {"metric": "calls", "model": "per_unit", "unit_price": "0.01", **charge, **SRC}]}}})


def test_a_charges_spending_minimum_in_a_quote_and_prorated_in_a_partial_period():
    from pricing.engine.rating import rate_one

    catalog = usage_catalog(min_amount="30.00")
    # Lago's charge spending minimum: 1,000 calls x 0.01 = 10.00, topped up to 30.00
    assert [(l.item, l.amount_minor) for l in rate_one(catalog, "basic", {"calls": 1000}).lines] == [
        ("calls", 1000), ("calls minimum", 2000)]
    timeline = make_timeline([at("2026-04-16", "start", plan="basic")], usage={"2026-04": {"calls": 500}})
    may = bill_period(catalog, timeline, utc(2026, 5, 1))
    # 15 of 30 days: minimum 15.00; charged 5.00; shortfall 10.00
    assert lines(may) == [("calls", 500), ("calls minimum", 1000)]


@pytest.mark.parametrize(("bill_day", "credit"), [
    (False, -1000),  # 16 April to 1 May: 15 of 30 days of 20.00 back
    (True, -933),  # the 16th is billed: 14 of 30 days = 9.333 back
])
def test_the_termination_day_can_count_as_billed(bill_day, credit):
    catalog = make_catalog({"day_count": "actual_days", "bill_termination_day": bill_day})
    timeline = make_timeline([at("2026-04-01", "start", plan="pro"),
                   at("2026-04-16T09:00:00Z", "cancel", effective="now", refund="all")])
    assert lines(bill_period(catalog, timeline, utc(2026, 4, 20)), *CHANGES) == [("Pro fee", credit)]


# --- 8. progressive billing ---------------------------------------------------------------------------

def test_progressive_billing_invoices_at_each_threshold_and_the_period_end_deducts():
    catalog = parse_catalog({
        "id": "saas", "name": "SaaS", "version": "1", "currency": "USD",
        "metrics": {"calls": {"name": "Calls"}},
        "plans": {"basic": {"name": "Basic", "recurring": {"amount": "10.00", **SRC},
                            "progressive_billing": {"thresholds": ["50.00", "100.00"], **SRC},
                            "charges": [{"metric": "calls", "model": "per_unit", "unit_price": "0.01", **SRC}]}}})
    timeline = make_timeline([at("2026-04-01", "start", plan="basic")], usage={"2026-04": {"calls": 15000}}, usage_to_date={
        "2026-04-10T00:00:00Z": {"calls": 3000},   # 30.00: below 50
        "2026-04-20T00:00:00Z": {"calls": 6000},   # 60.00: crosses 50 -> invoice 60.00
        "2026-04-25T00:00:00Z": {"calls": 8000},   # 80.00: no new threshold
        "2026-04-28T00:00:00Z": {"calls": 12000},  # 120.00: crosses 100 -> invoice 120.00 - 60.00
    })
    issued = invoices_between(catalog, timeline, end=utc(2026, 5, 1))
    assert [(i.kind, i.issued_at.day, i.invoice.total_minor) for i in issued] == [
        ("opening", 1, 1000), ("threshold", 20, 6000), ("threshold", 28, 6000), ("renewal", 1, 1000 + 3000)]
    # at the period end: 15,000 calls = 150.00, less the 120.00 already invoiced, plus May's fee
    assert lines(issued[-1].invoice) == [
        ("calls", 15000), ("Usage invoiced earlier this period", -12000), ("Basic fee", 1000)]
