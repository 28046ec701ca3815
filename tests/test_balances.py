"""Prepaid ledgers (seed 002): daily debits, deactivation, credit, notice, suspension, runway."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing.billing.balances import load_ledger, parse_ledger, simulate_ledger
from pricing.engine.catalog import load_catalog
from pricing.errors import SubscriptionError

PREPAID = load_catalog("prepaid_auth")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "ledgers"


def ledger(events: list[dict], **top: object):
    data = {"customer_id": "c-test", "catalog": "prepaid_auth", "start": "2026-01-01", "plan": "standard",
            "objects": {"users": 800, "applications": 2}, "events": events, **top}
    return parse_ledger(data, "test.yaml")


def test_daily_debit_is_the_plan_price_over_the_days_of_the_month():
    result = simulate_ledger(PREPAID, ledger([{"date": "2026-01-01", "type": "top_up", "amount": "100.00"}]),
                             date(2026, 3, 31))
    by_day = {r.day: r.debit for r in result.rows}
    assert by_day[date(2026, 1, 10)] == 129  # 40.00 / 31 = 1.290
    assert by_day[date(2026, 2, 10)] == 143  # 40.00 / 28 = 1.429
    january = sum(r.debit for r in result.rows if r.day.month == 1)
    assert abs(january - 4000) <= 31  # within one cent per day of the month's price


def test_example_ledger_change_of_plan_and_deactivation_debits_the_day():
    result = simulate_ledger(PREPAID, load_ledger(EXAMPLES / "prepaid_standard.yaml"), date(2026, 3, 31))
    rows = {r.day: r for r in result.rows}
    assert rows[date(2026, 2, 10)].plan == "mini" and rows[date(2026, 2, 10)].debit == 36  # 10.00 / 28
    assert rows[date(2026, 3, 1)].status == "inactive" and rows[date(2026, 3, 1)].debit == 32
    assert [rows[date(2026, 3, d)].debit for d in (2, 3, 4)] == [0, 0, 0]
    assert rows[date(2026, 3, 5)].debit == 32 and rows[date(2026, 3, 5)].status == "active"
    assert result.balance == 10000 - result.debits


def test_deactivate_and_activate_on_one_day_debit_once():
    result = simulate_ledger(PREPAID, ledger([
        {"date": "2026-01-01", "type": "top_up", "amount": "50.00"},
        {"date": "2026-01-03", "type": "deactivate"},
        {"date": "2026-01-03", "type": "activate"},
    ]), date(2026, 1, 3))
    assert [r.debit for r in result.rows] == [129, 129, 129]


def test_credit_notice_suspension_and_resumption():
    result = simulate_ledger(PREPAID, ledger([
        {"date": "2026-01-01", "type": "top_up", "amount": "10.00"},
        {"date": "2026-01-20", "type": "top_up", "amount": "20.00"},
    ]), date(2026, 1, 31))
    rows = {r.day: r for r in result.rows}
    assert result.notices[0] == date(2026, 1, 1)  # 10.00 covers fewer than 7 days of 1.29
    # 7 days paid (9.03), then credit: 10% of what was bought in 12 months
    suspended = result.suspensions[0]
    before = rows[suspended - timedelta(days=1)]
    assert before.balance < 0 and -before.balance <= before.credit_limit
    assert rows[suspended].debit == 0 and rows[suspended].status == "suspended"
    assert rows[date(2026, 1, 20)].status == "active" and rows[date(2026, 1, 20)].debit == 129
    assert all(r.balance >= -r.credit_limit for r in result.rows)


def test_credit_can_be_switched_off_and_is_capped():
    off = simulate_ledger(PREPAID, ledger([{"date": "2026-01-01", "type": "top_up", "amount": "2.00"}],
                                          credit_enabled=False), date(2026, 1, 5))
    assert off.suspensions == (date(2026, 1, 2),)
    rich = simulate_ledger(PREPAID, ledger([], prior_purchases={"2025-06-01": "9000.00"},
                                           opening_balance="0"), date(2026, 1, 1))
    assert rich.rows[0].credit_limit == 50000  # 10% of 9,000 capped at 500.00


def test_runway_projects_notice_and_suspension():
    result = simulate_ledger(PREPAID, ledger([{"date": "2026-01-01", "type": "top_up", "amount": "100.00"}]),
                             date(2026, 1, 10))
    run = result.runway
    assert run.daily_debit == 129 and run.suspended_on is not None and run.notice_on is not None
    assert run.notice_on < run.suspended_on
    assert run.days == (run.suspended_on - date(2026, 1, 11)).days
    idle = simulate_ledger(PREPAID, ledger([{"date": "2026-01-02", "type": "deactivate"}], opening_balance="5.00"),
                           date(2026, 1, 10))
    assert idle.runway.days is None and idle.runway.suspended_on is None


@pytest.mark.parametrize(("events", "expected"), [
    ([{"date": "2026-01-05", "type": "change_plan", "plan": "platinum"}], r"events\[0\] \(change_plan on 2026-01-05\): unknown plan"),
    ([{"date": "2026-01-05", "type": "set_objects", "objects": {"users": 5000}},
      {"date": "2026-01-06", "type": "change_plan", "plan": "mini"}],
     r"events\[1\] \(change_plan on 2026-01-06\): cannot move to 'mini': users 5,000 exceeds .*maximum of 1,000"),
    ([{"date": "2026-01-05", "type": "top_up", "amount": "1.00"}, {"date": "2026-01-04", "type": "top_up", "amount": "1.00"}],
     r"events\[1\] .*date order"),
    ([{"date": "2026-01-05", "type": "activate"}], r"events\[0\] .*not deactivated"),
    ([{"date": "2026-01-05", "type": "top_up", "amount": 5.5}], r"events\[0\] \(top_up on 2026-01-05\): amount: must be a quoted"),
])
def test_bad_ledger_events_name_the_event(events, expected):
    with pytest.raises(SubscriptionError, match=expected) as err:
        simulate_ledger(PREPAID, ledger(events), date(2026, 2, 1))
    assert str(err.value).startswith("test.yaml: ") and "\n" not in str(err.value)


events = st.lists(st.one_of(
    st.builds(lambda d, a: {"date": d, "type": "top_up", "amount": f"{a}.00"}, st.integers(0, 80), st.integers(1, 60)),
    st.builds(lambda d, p: {"date": d, "type": "change_plan", "plan": p}, st.integers(0, 80),
              st.sampled_from(["mini", "standard", "business", "custom"])),
    st.builds(lambda d: {"date": d, "type": "deactivate"}, st.integers(0, 80)),
    st.builds(lambda d: {"date": d, "type": "activate"}, st.integers(0, 80)),
), max_size=12)


@settings(max_examples=60, deadline=None)
@given(raw=events, opening=st.integers(0, 20000))
def test_balance_is_top_ups_minus_debits(raw, opening):
    ordered = sorted(raw, key=lambda e: e["date"])
    status, plan, kept = "active", "standard", []
    for event in ordered:  # keep a valid sequence: no double deactivation, no change to the same plan
        if event["type"] == "deactivate" and status == "active":
            status = "inactive"
        elif event["type"] == "activate" and status == "inactive":
            status = "active"
        elif event["type"] == "change_plan" and event["plan"] != plan:
            plan = event["plan"]
        elif event["type"] != "top_up":
            continue
        kept.append({**event, "date": (date(2026, 1, 1) + timedelta(days=event["date"])).isoformat()})
    result = simulate_ledger(PREPAID, ledger(kept, opening_balance=str(Decimal(opening) / 100)), date(2026, 3, 31))
    assert result.balance == opening + result.top_ups - result.debits
    assert all(r.balance >= -r.credit_limit for r in result.rows)
