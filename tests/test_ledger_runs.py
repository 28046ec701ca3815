"""The skip-ahead ledger engine equals the day-by-day one (tests/ledger_reference.py), row for row.

Ledgers are generated with top-ups, plan changes, deactivation and
reactivation, object changes (some past a plan's limits, so errors are
compared too), balances run low and into credit, prior purchases that age
out of the 12-month window, and catalog terms varied: actual days and 30/360,
monthly, weekly, quarterly and yearly periods, credit capped, uncapped or off,
notice thresholds from 0 to 40 days, half-up and half-even rounding.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from importlib import resources

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ledger_reference import simulate_day_by_day, statement_day_by_day
from pricing.billing.balances import Purchases, parse_ledger, daily_prices, simulate_ledger
from pricing.billing.billing_run import prepaid_statement
from pricing.engine.catalog import read_catalog_text
from pricing.errors import SubscriptionError
from pricing.engine.periods import add_months, month_name
from pricing.billing.rating_segments import recurring_amount
from pricing.billing.segments import Holding

BUNDLED = resources.files("pricing.catalogs").joinpath("prepaid_auth.yaml").read_text(encoding="utf-8")


def variant(**swaps: str) -> object:
    """The bundled prepaid catalog with some of its terms' lines replaced."""
    text = BUNDLED
    for old, new in swaps.items():
        old_line = {"daily_price": "daily_price: interval_price_over_days_in_period",
                    "interval": "interval: month",
                    "credit_percent": 'credit_percent_of_last_12_months: "10"',
                    "credit_cap": 'credit_cap: "500.00"',
                    "low_balance_days": "low_balance_days: 7",
                    "rounding": "rounding: half_up"}[old]
        assert old_line in text
        text = text.replace(old_line, new)
    return read_catalog_text(text, f"<prepaid variant {swaps}>")


CATALOGS = [
    variant(),
    variant(daily_price="daily_price: interval_price_over_30"),
    variant(daily_price="daily_price: interval_price_over_30", interval="interval: quarter", low_balance_days="low_balance_days: 1"),
    variant(interval="interval: week", credit_cap="credit_cap: null", rounding="rounding: half_even"),
    variant(interval="interval: year", credit_percent='credit_percent_of_last_12_months: "35"'),
    variant(daily_price="daily_price: interval_price_over_30", credit_percent='credit_percent_of_last_12_months: "0"',
            low_balance_days="low_balance_days: 0"),
    variant(credit_cap='credit_cap: "3.00"', low_balance_days="low_balance_days: 40"),
    variant(credit_cap='credit_cap: "10.00"', low_balance_days="low_balance_days: 0"),
]

PLANS = ["mini", "standard", "business", "custom"]

day_offsets = st.integers(0, 420)
ledger_event = st.one_of(
    st.builds(lambda d, a: {"date": d, "type": "top_up", "amount": f"{a // 100}.{a % 100:02d}"},
              day_offsets, st.integers(1, 12_000)),
    st.builds(lambda d, p: {"date": d, "type": "change_plan", "plan": p}, day_offsets, st.sampled_from(PLANS)),
    st.builds(lambda d: {"date": d, "type": "deactivate"}, day_offsets),
    st.builds(lambda d: {"date": d, "type": "activate"}, day_offsets),
    st.builds(lambda d, u, a: {"date": d, "type": "set_objects", "objects": {"users": u, "applications": a}},
              day_offsets, st.integers(0, 1_200), st.integers(0, 3)),
)


@st.composite
def ledgers(draw: st.DrawFn) -> tuple[dict, date]:
    start = date(2023, 6, 1) + timedelta(days=draw(st.integers(0, 700)))  # across the 2024 leap day
    raw = sorted(draw(st.lists(ledger_event, max_size=14)), key=lambda e: e["date"])
    keep_valid = draw(st.booleans())  # otherwise errors are compared as well
    status, plan, events = "active", "standard", []
    for item in raw:
        if keep_valid:  # no double deactivation, no change to the same plan
            if item["type"] == "deactivate":
                if status != "active":
                    continue
                status = "inactive"
            elif item["type"] == "activate":
                if status != "inactive":
                    continue
                status = "active"
            elif item["type"] == "change_plan":
                if item["plan"] == plan or item["plan"] == "mini":
                    continue
                plan = item["plan"]
            elif item["type"] == "set_objects" and plan == "mini":
                continue
        events.append({**item, "date": (start + timedelta(days=item["date"])).isoformat()})
    prior = draw(st.dictionaries(st.integers(1, 500), st.integers(0, 400_00), max_size=4))
    data = {
        "customer_id": "c-prop", "catalog": "prepaid_auth", "start": start.isoformat(), "plan": "standard",
        "objects": {"users": draw(st.integers(0, 900)), "applications": draw(st.integers(0, 2))},
        "opening_balance": f"{draw(st.integers(0, 300_00)) / 100:.2f}",
        "credit_enabled": draw(st.booleans()),
        "prior_purchases": {(start - timedelta(days=back)).isoformat(): f"{minor / 100:.2f}"
                            for back, minor in prior.items()},
        "events": events,
    }
    until = start + timedelta(days=draw(st.integers(0, 500)))
    return data, until


def outcome(run, *args):
    try:
        return run(*args)
    except SubscriptionError as exc:
        return str(exc)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=ledgers(), catalog=st.sampled_from(CATALOGS), runway=st.booleans())
def test_skipping_ahead_equals_the_day_by_day_ledger(case, catalog, runway):
    data, until = case
    ledger = parse_ledger(data, "prop.yaml")
    fast = outcome(simulate_ledger, catalog, ledger, until, runway, daily_prices(catalog, [ledger]))
    slow = outcome(simulate_day_by_day, catalog, ledger, until, runway)
    if isinstance(slow, str) or isinstance(fast, str):
        event("refused")
        assert fast == slow
        return
    event(f"days {min((until - ledger.start).days // 100 * 100, 400)}+")
    event(f"suspensions: {min(len(slow.suspensions), 2)}")
    event(f"notices: {min(len(slow.notices), 2)}")
    event("into credit" if any(r.balance < 0 for r in slow.rows) else "never in credit")
    event("runway suspends" if slow.runway.suspended_on else "runway without suspension")
    assert fast.rows == slow.rows
    assert (fast.notices, fast.suspensions, fast.runway) == (slow.notices, slow.suspensions, slow.runway)
    assert fast.opening_balance == slow.opening_balance
    assert fast.balance == slow.rows[-1].balance and fast.last_row == slow.rows[-1]
    assert fast.debits == sum(r.debit for r in slow.rows) and fast.top_ups == sum(r.top_up for r in slow.rows)
    # the runs cover every day once, in order
    assert sum(r.days for r in fast.runs) == (until - ledger.start).days + 1
    month = ledger.start.replace(day=1)
    while month <= until:
        name = month_name(month)
        assert prepaid_statement(catalog, fast, name) == statement_day_by_day(catalog, slow, name), name
        month = add_months(month, 1)


def test_a_quiet_month_is_a_few_runs_not_thirty_days():
    ledger = parse_ledger({"customer_id": "c", "catalog": "prepaid_auth", "start": "2026-01-01", "plan": "standard",
                           "objects": {"users": 800, "applications": 2},
                           "events": [{"date": "2026-01-01", "type": "top_up", "amount": "500.00"}]}, "t.yaml")
    result = simulate_ledger(CATALOGS[0], ledger, date(2026, 3, 31))
    # Jan 1 (top-up, its own row), then one run per month: 30 + 28 + 31 days at 40.00/31, 40.00/28, 40.00/31
    assert [(r.first.isoformat(), r.days, r.debit) for r in result.runs] == [
        ("2026-01-01", 1, 129), ("2026-01-02", 30, 129), ("2026-02-01", 28, 143), ("2026-03-01", 31, 129)]
    assert result.balance == 50000 - 31 * 129 - 28 * 143 - 31 * 129  # = 38002
    thirty = simulate_ledger(CATALOGS[1], ledger, date(2026, 3, 31))
    # 30/360: Jan 1-29 and Jan 31 are 1/30 of 40.00 (133), Jan 30 is 0 (the 31st counts as the 30th),
    # Feb 28 is 3/30 (400): runs break there
    assert [(r.first.day, r.days, r.debit) for r in thirty.runs[:6]] == [
        (1, 1, 133), (2, 28, 133), (30, 1, 0), (31, 1, 133), (1, 27, 133), (28, 1, 400)]


def test_a_run_stops_where_the_notice_comes():
    # 10.00 at 1.29 a day: the balance is under 7 x 1.29 = 9.03 after the first day (8.71)
    ledger = parse_ledger({"customer_id": "c", "catalog": "prepaid_auth", "start": "2026-01-01", "plan": "standard",
                           "objects": {"users": 800, "applications": 2}, "opening_balance": "30.00"}, "t.yaml")
    result = simulate_ledger(CATALOGS[0], ledger, date(2026, 1, 31))
    # 30.00 - 16 x 1.29 = 9.36 >= 9.03 (clear); day 17 leaves 8.07 < 9.03: the notice, on its own row
    assert [(r.first.day, r.days) for r in result.runs[:2]] == [(1, 16), (17, 1)]
    assert result.notices == (date(2026, 1, 17),)
    assert "low balance" in result.runs[1].note


def test_credit_that_ages_out_of_the_window_suspends_on_the_day_it_goes():
    # 300.00 bought on 2025-01-15 gives 30.00 of credit until 2026-01-15, when it leaves the 12 months
    ledger = parse_ledger({"customer_id": "c", "catalog": "prepaid_auth", "start": "2026-01-01", "plan": "standard",
                           "objects": {"users": 800, "applications": 2},
                           "prior_purchases": {"2025-01-15": "300.00"}}, "t.yaml")
    result = simulate_ledger(CATALOGS[0], ledger, date(2026, 1, 31))
    rows = {r.day: r for r in result.rows}
    # Jan 14: 14 days of 1.29 on credit = -18.06, limit 10% of (300.00 + 18.06) = 31.81
    assert (rows[date(2026, 1, 14)].balance, rows[date(2026, 1, 14)].credit_limit) == (-1806, 3181)
    # Jan 15: limit 10% of 18.06 = 1.81; -18.06 - 1.29 = -19.35 < -1.81
    assert result.suspensions == (date(2026, 1, 15),)
    assert rows[date(2026, 1, 15)].credit_limit == 181 and rows[date(2026, 1, 15)].debit == 0
    assert simulate_day_by_day(CATALOGS[0], ledger, date(2026, 1, 31)).rows == result.rows


def test_a_run_on_credit_stops_on_the_last_day_the_credit_covers():
    capped = CATALOGS[-1]  # credit capped at 10.00, no notices
    # 9,000.00 bought in the window: 10% is 900.00, capped at 10.00 all month
    ledger = parse_ledger({"customer_id": "c", "catalog": "prepaid_auth", "start": "2026-01-01", "plan": "standard",
                           "objects": {"users": 800, "applications": 2}, "opening_balance": "2.89",
                           "prior_purchases": {"2025-06-01": "9000.00"}}, "t.yaml")
    result = simulate_ledger(capped, ledger, date(2026, 1, 31))
    # 2.89 - 9 x 1.29 = -8.72 >= -10.00; the 10th day would leave -10.01
    assert [(r.first.day, r.days, r.debit, r.status) for r in result.runs[:2]] == [
        (1, 9, 129, "active"), (10, 1, 0, "suspended")]
    assert result.runs[0].balance == 289 - 9 * 129 == -872 and result.suspensions == (date(2026, 1, 10),)


def test_one_cent_short_without_credit_is_suspended_between_events():
    ledger = parse_ledger({"customer_id": "c", "catalog": "prepaid_auth", "start": "2026-01-01", "plan": "standard",
                           "objects": {"users": 800, "applications": 2}, "opening_balance": "2.57",
                           "credit_enabled": False,
                           "events": [{"date": "2026-01-03", "type": "top_up", "amount": "5.00"}]}, "t.yaml")
    result = simulate_ledger(CATALOGS[0], ledger, date(2026, 1, 4))
    # Jan 1: 2.57 - 1.29 = 1.28 (notice: under 7 x 1.29); Jan 2 alone before the top-up: 1.28 - 1.29 = -0.01 < 0
    assert [(r.day.day, r.status, r.debit, r.balance) for r in result.rows] == [
        (1, "active", 129, 128), (2, "suspended", 0, 128), (3, "active", 129, 499), (4, "active", 129, 370)]
    assert result.suspensions == (date(2026, 1, 2),)


def test_purchase_history_windows_are_sums_over_runs():
    history = Purchases()
    history.add(date(2025, 1, 10), 1, 500)
    history.add(date(2025, 12, 1), 31, 129)
    history.add(date(2026, 1, 1), 31, 129)  # continues the run: one run of 62 days
    assert len(history.firsts) == 2
    assert history.through(date(2025, 12, 31)) == 500 + 31 * 129
    # 12 months up to 2026-01-10: after 2025-01-10 (that purchase falls out), 41 days of 1.29
    assert history.in_window(date(2026, 1, 10)) == 41 * 129
    assert history.in_window(date(2026, 1, 9)) == 500 + 40 * 129


def test_ledgers_rated_together_price_like_one_at_a_time():
    catalog = CATALOGS[0]
    holdings = [Holding.of(plan, {"users": Decimal(users), "applications": Decimal(2)})
                for plan in ("standard", "custom") for users in (0, 150, 999)]
    ledger = parse_ledger({"customer_id": "c", "catalog": "prepaid_auth", "start": "2026-01-01", "plan": "custom",
                           "objects": {"users": 150, "applications": 2},
                           "events": [{"date": "2026-01-05", "type": "set_objects", "objects": {"users": 999}},
                                      {"date": "2026-01-06", "type": "change_plan", "plan": "standard"}]}, "t.yaml")
    known = daily_prices(catalog, [ledger]).known
    assert set(known) == {holdings[5], holdings[4], holdings[2]}  # custom 150, custom 999, standard 999
    for holding, full in known.items():
        assert full == recurring_amount(catalog, holding)
    # custom: 0.60 per started 100 users (2 blocks for 150) + 3.00 per application (2) = 7.20
    assert known[holdings[4]] == Fraction(720, 100)


def test_prior_purchases_must_be_before_the_start():
    with pytest.raises(SubscriptionError, match=r"^t\.yaml: \(top level\): prior_purchases: 2026-01-01 is not before"
                                                r" the start 2026-01-01$"):
        parse_ledger({"customer_id": "c", "catalog": "prepaid_auth", "start": "2026-01-01", "plan": "mini",
                      "prior_purchases": {"2026-01-01": "5.00"}}, "t.yaml")


