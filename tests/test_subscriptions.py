"""Subscription timelines replayed into invoices: the seed's worked examples and the rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing.engine.catalog import Catalog, DayCount, load_catalog, parse_catalog
from pricing.errors import SubscriptionError
from pricing.engine.invoice import LineType
from pricing.billing.timeline import Timeline, load_timeline, parse_timeline
from pricing.billing.subscriptions import bill_period, invoices_between, issued_in_period, state_at

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "subscriptions"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def with_day_count(catalog: Catalog, convention: DayCount, **more: object) -> Catalog:
    return catalog.model_copy(update={"settings": catalog.settings.model_copy(
        update={"day_count": convention, **more})})


def make_timeline(catalog: str, events: list[dict], **top: object) -> Timeline:
    return parse_timeline({"customer_id": "c-test", "catalog": catalog, "events": events, **top}, "test.yaml")


def amounts(invoice, *types: LineType) -> list[int]:
    return [l.amount_minor for l in invoice.lines if not types or l.line_type in types]


LOGTO = load_catalog("logto")
LICENSE = load_catalog("license_jp")
QUASR = load_catalog("quasr")


# --- seed 004, Logto case 1: renewal on the 5th, SSO added on the 20th, removed on the 30th -------

SSO_EVENTS = [
    {"at": "2026-01-05T00:00:00Z", "type": "start", "plan": "pro"},
    {"at": "2026-01-20T00:00:00Z", "type": "add", "item": "enterprise_sso", "quantity": 1},
    {"at": "2026-01-30T00:00:00Z", "type": "remove", "item": "enterprise_sso", "quantity": 1},
]


@pytest.mark.parametrize(
    ("convention", "charged", "credited"),
    [
        # 30-day month (Logto's arithmetic): 48 x 15/30 = 24.00, 48 x 5/30 = 8.00; 10 days = 16.00
        (DayCount.THIRTY_DAY_MONTH, 2400, -800),
        # Jan 5 -> Feb 5 is 31 days: 48 x 16/31 = 24.774 -> 24.77, 48 x 6/31 = 9.290 -> 9.29
        (DayCount.ACTUAL_DAYS, 2477, -929),
        (DayCount.EXACT_SECONDS, 2477, -929),
    ],
)
def test_logto_sso_tried_for_ten_days(convention, charged, credited):
    catalog = with_day_count(LOGTO, convention)
    feb = bill_period(catalog, make_timeline("logto", SSO_EVENTS, anchor="start"), utc(2026, 2, 5))
    assert amounts(feb, LineType.PRORATION) == [charged]
    assert amounts(feb, LineType.CREDIT) == [credited]
    sso = [l for l in feb.lines if l.item == "Enterprise SSO"]
    assert [(l.service_start, l.service_end) for l in sso] == [
        (utc(2026, 1, 20), utc(2026, 2, 5)), (utc(2026, 1, 30), utc(2026, 2, 5))]
    assert amounts(feb, LineType.RECURRING) == [1600]  # the coming period: Pro only
    assert feb.total_minor == 1600 + charged + credited


# --- seed 004, Logto case 2: cycle on the 1st, 4 API resources added on the 5th, 2 removed on the 15th ---

@pytest.mark.parametrize(
    ("convention", "month", "added", "removed"),
    [
        # April, 30 days: every convention agrees. 4 x 4 x 26/30 = 13.8667; 2 x 4 x 16/30 = 4.2667
        (DayCount.THIRTY_DAY_MONTH, 4, 1387, -427),
        (DayCount.ACTUAL_DAYS, 4, 1387, -427),
        (DayCount.EXACT_SECONDS, 4, 1387, -427),
        # March, 31 days: 4 x 4 x 27/31 = 13.935 -> 13.94; 2 x 4 x 17/31 = 4.387 -> 4.39
        (DayCount.THIRTY_DAY_MONTH, 3, 1387, -427),
        (DayCount.ACTUAL_DAYS, 3, 1394, -439),
        (DayCount.EXACT_SECONDS, 3, 1394, -439),
    ],
)
def test_logto_api_resources_added_and_removed(convention, month, added, removed):
    catalog = with_day_count(LOGTO, convention)
    timeline = make_timeline("logto", [
        {"at": "2026-01-01T00:00:00Z", "type": "start", "plan": "pro", "quantities": {"api_resources": 3}},
        {"at": f"2026-{month:02d}-05T00:00:00Z", "type": "add", "item": "api_resources", "quantity": 4},
        {"at": f"2026-{month:02d}-15T00:00:00Z", "type": "remove", "item": "api_resources", "quantity": 2},
    ])
    nxt = bill_period(catalog, timeline, utc(2026, month + 1, 1))
    assert amounts(nxt, LineType.PRORATION) == [added]
    assert amounts(nxt, LineType.CREDIT) == [removed]
    # the next cycle: $16 base plus 2 paid API resources (5 held, 3 included)
    assert amounts(nxt, LineType.RECURRING) == [1600]
    assert amounts(nxt, LineType.ADDON) == [800]
    assert nxt.total_minor == 1600 + 800 + added + removed


def test_the_example_file_bills_tokens_in_arrears():
    timeline = load_timeline(EXAMPLES / "logto_api_resources.yaml")
    may = issued_in_period(LOGTO, timeline, utc(2026, 5, 1))
    assert may.kind == "renewal" and may.closes == (utc(2026, 4, 1), utc(2026, 5, 1))
    tokens = [l for l in may.invoice.lines if l.metric == "tokens"]
    assert tokens[0].amount_minor == 4000 and tokens[0].service_start == utc(2026, 4, 1)
    assert may.invoice.total_minor == 1387 - 427 + 4000 + 1600 + 800


def test_every_example_file_loads_and_bills():
    for path in sorted(EXAMPLES.glob("*.yaml")):
        timeline = load_timeline(path)
        issued = invoices_between(load_catalog(timeline.catalog), timeline)
        assert issued, path.name
        for inv in issued:
            assert inv.invoice.total_minor == sum(l.amount_minor for l in inv.invoice.lines)
            assert all(l.service_start is not None and l.service_end is not None for l in inv.invoice.lines)


# --- periods, anchors, trials, boundaries -----------------------------------------------------------

def test_anchor_on_the_31st_through_a_leap_february():
    timeline = make_timeline("logto", [{"at": "2024-01-31T00:00:00Z", "type": "start", "plan": "pro"}], anchor=31)
    issued = invoices_between(LOGTO, timeline, end=utc(2024, 5, 1))
    assert [i.issued_at.date().isoformat() for i in issued] == ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"]
    assert {i.invoice.total_minor for i in issued} == {1600}


def test_mid_period_start_prorates_the_first_period():
    catalog = with_day_count(LOGTO, DayCount.ACTUAL_DAYS)
    timeline = make_timeline("logto", [{"at": "2026-03-21T10:00:00Z", "type": "start", "plan": "pro"}])
    opening = issued_in_period(catalog, timeline, utc(2026, 3, 21))
    assert opening.kind == "opening"
    line = opening.invoice.lines[0]
    assert (line.service_start, line.service_end) == (utc(2026, 3, 21, 10), utc(2026, 4, 1))
    assert line.amount_minor == 568  # 16 x 11/31 = 5.677
    assert bill_period(catalog, timeline, utc(2026, 4, 1)).total_minor == 1600


def test_trial_ending_mid_month_is_free_then_prorated():
    catalog = with_day_count(LOGTO, DayCount.ACTUAL_DAYS)
    timeline = make_timeline("logto", [
        {"at": "2026-03-01T00:00:00Z", "type": "start", "plan": "pro"},
        {"at": "2026-03-05T00:00:00Z", "type": "add", "item": "enterprise_sso", "quantity": 1},
    ], trial_days=14)
    issued = invoices_between(catalog, timeline, end=utc(2026, 4, 1))
    opening = issued[0]
    assert opening.issued_at == utc(2026, 3, 15) and opening.kind == "opening"
    # 17 of 31 days: Pro 16 x 17/31 = 8.774, SSO 48 x 17/31 = 26.32; the trial's change cost nothing
    assert amounts(opening.invoice) == [877, 2632]
    assert amounts(issued[1].invoice) == [1600, 4800]
    assert state_at(catalog, timeline, utc(2026, 3, 10)).trial


def test_trial_with_start_anchor_moves_the_anchor_to_the_trial_end():
    timeline = make_timeline("logto", [{"at": "2026-03-01T00:00:00Z", "type": "start", "plan": "pro"}],
                  trial_days=14, anchor="start")
    issued = invoices_between(LOGTO, timeline, end=utc(2026, 5, 1))
    assert [i.issued_at.date().isoformat() for i in issued] == ["2026-03-15", "2026-04-15"]
    assert amounts(issued[0].invoice) == [1600]


def test_a_change_at_the_exact_boundary_belongs_to_the_new_period():
    timeline = make_timeline("logto", [
        {"at": "2026-01-01T00:00:00Z", "type": "start", "plan": "pro", "quantities": {"api_resources": 3}},
        {"at": "2026-02-01T00:00:00Z", "type": "add", "item": "api_resources", "quantity": 2},
    ])
    feb = bill_period(LOGTO, timeline, utc(2026, 2, 1))
    assert not amounts(feb, LineType.PRORATION, LineType.CREDIT)
    assert amounts(feb) == [1600, 800]
    assert bill_period(LOGTO, timeline, utc(2026, 1, 15)).total_minor == 1600


@pytest.mark.parametrize(("convention", "credit", "charge"), [
    (DayCount.EXACT_SECONDS, 0, 0),  # 1 second of 2,678,400: yen 0.011 and 0.045
    (DayCount.ACTUAL_DAYS, -968, 3871),  # the last day counts whole: 30,000/31, 120,000/31
])
def test_upgrade_in_the_last_second_of_a_period(convention, credit, charge):
    catalog = with_day_count(LICENSE, convention)
    timeline = make_timeline("license_jp", [
        {"at": "2026-03-01T00:00:00Z", "type": "start", "plan": "starter"},
        {"at": "2026-03-31T23:59:59Z", "type": "upgrade", "plan": "business"},
    ])
    april = bill_period(catalog, timeline, utc(2026, 4, 1))
    assert amounts(april, LineType.CREDIT) == [credit]
    assert amounts(april, LineType.PRORATION) == [charge]
    assert amounts(april, LineType.RECURRING) == [120000]
    assert april.plan == "business"


def test_upgrade_credits_the_old_plan_and_charges_the_new():
    timeline = make_timeline("license_jp", [
        {"at": "2026-04-01T00:00:00Z", "type": "start", "plan": "starter"},
        {"at": "2026-04-11T00:00:00Z", "type": "upgrade", "plan": "business"},
    ])
    may = bill_period(LICENSE, timeline, utc(2026, 5, 1))
    assert amounts(may, LineType.CREDIT) == [-20000]  # 20 of 30 days of 30,000
    assert amounts(may, LineType.PRORATION) == [80000]
    mau = bill_period(LICENSE, timeline, utc(2026, 5, 1), usage={"mau": 10500})
    assert [l.amount_minor for l in mau.lines if l.metric == "mau"] == [10000]  # 500 past 10,000 at 20


# --- downgrades, cancellation, deletion ---------------------------------------------------------------

DOWNGRADE = [
    {"at": "2026-01-01T00:00:00Z", "type": "start", "plan": "business"},
    {"at": "2026-01-10T00:00:00Z", "type": "downgrade", "plan": "starter"},
]


def test_downgrade_takes_effect_next_period_and_can_be_withdrawn():
    timeline = make_timeline("license_jp", DOWNGRADE)
    assert bill_period(LICENSE, timeline, utc(2026, 1, 20)).total_minor == 120000
    feb = bill_period(LICENSE, timeline, utc(2026, 2, 1))
    assert feb.plan == "starter" and feb.total_minor == 30000
    assert state_at(LICENSE, timeline, utc(2026, 1, 15)).downgrade_to == "starter"
    withdrawn = make_timeline("license_jp", DOWNGRADE + [{"at": "2026-01-11T00:00:00Z", "type": "withdraw_downgrade"}])
    assert bill_period(LICENSE, withdrawn, utc(2026, 2, 1)).total_minor == 120000


def test_downgrade_refused_while_objects_exceed_the_target_plan():
    timeline = make_timeline("license_jp", [
        {"at": "2026-01-01T00:00:00Z", "type": "start", "plan": "starter", "quantities": {"registered_users": 250}},
        {"at": "2026-01-10T00:00:00Z", "type": "downgrade", "plan": "free"},
    ])
    with pytest.raises(SubscriptionError) as err:
        bill_period(LICENSE, timeline, utc(2026, 2, 1))
    message = str(err.value)
    assert message.startswith("test.yaml: events[1] (downgrade at 2026-01-10T00:00:00Z): ")
    assert "250" in message and "maximum of 100" in message and "\n" not in message


def test_cancel_at_period_end_issues_a_final_invoice_without_a_new_fee():
    timeline = make_timeline("logto", [
        {"at": "2026-01-01T00:00:00Z", "type": "start", "plan": "pro"},
        {"at": "2026-02-10T00:00:00Z", "type": "cancel"},
    ], usage={"2026-02": {"tokens": 100100}})
    issued = invoices_between(LOGTO, timeline)
    final = issued[-1]
    assert final.kind == "final" and final.issued_at == utc(2026, 3, 1)
    assert amounts(final.invoice) == [8]  # one block of 100 tokens, in arrears; no fee
    with pytest.raises(SubscriptionError, match="no invoice is issued"):
        bill_period(LOGTO, timeline, utc(2026, 4, 1))


def test_cancelling_now_refunds_the_unused_add_ons_on_the_final_invoice():
    timeline = make_timeline("logto", [
        {"at": "2026-04-01T00:00:00Z", "type": "start", "plan": "pro", "quantities": {"enterprise_sso": 1}},
        {"at": "2026-04-16T00:00:00Z", "type": "cancel", "effective": "now"},
    ])
    final = bill_period(LOGTO, timeline, utc(2026, 4, 20))
    assert final.notes[0].startswith("final invoice issued 2026-04-16")
    assert amounts(final) == [-2400]  # SSO: 15 of 30 days refunded; the Pro fee is not


def test_pay_as_you_go_cannot_be_cancelled():
    timeline = make_timeline("quasr", [
        {"at": "2026-01-01T00:00:00Z", "type": "start", "plan": "payg"},
        {"at": "2026-01-03T00:00:00Z", "type": "cancel"},
    ])
    with pytest.raises(SubscriptionError, match=r"events\[1\] \(cancel at .*cannot be cancelled"):
        invoices_between(QUASR, timeline)


def test_delete_account_ends_everything_and_no_event_may_follow():
    events = [
        {"at": "2026-01-01T00:00:00Z", "type": "start", "plan": "payg"},
        {"at": "2026-01-20T00:00:00Z", "type": "delete_account"},
    ]
    final = issued_in_period(QUASR, make_timeline("quasr", events), utc(2026, 1, 25))
    assert final.kind == "final" and final.closes == (utc(2026, 1, 1), utc(2026, 1, 20))
    with pytest.raises(SubscriptionError, match=r"events\[2\].*ended"):
        invoices_between(QUASR, make_timeline("quasr", events + [
            {"at": "2026-02-01T00:00:00Z", "type": "add", "item": "committed_maa", "quantity": 1}]))


def test_suspension_credits_the_rest_of_the_period_and_reactivation_charges_it():
    catalog = with_day_count(LOGTO, DayCount.ACTUAL_DAYS)
    timeline = make_timeline("logto", [
        {"at": "2026-04-01T00:00:00Z", "type": "start", "plan": "pro"},
        {"at": "2026-04-11T00:00:00Z", "type": "suspend"},
        {"at": "2026-04-21T00:00:00Z", "type": "reactivate"},
    ])
    may = bill_period(catalog, timeline, utc(2026, 5, 1))
    assert amounts(may, LineType.CREDIT, LineType.PRORATION) == [-1067, 533]  # 20/30 back, 10/30 again


# --- Quasr: commitments, free tier without billing details ---------------------------------------------

def test_gravitate_commitment_in_advance_and_overuse_in_arrears():
    timeline = make_timeline("quasr", [{"at": "2026-01-01T00:00:00Z", "type": "start", "plan": "gravitate_and_save",
                              "commitments": {"committed_maa": 2000}}])
    feb = bill_period(QUASR, timeline, utc(2026, 2, 1), usage={"maa": 2500, "mat": 2, "mac": 1000})
    committed = [l for l in feb.lines if l.line_type is LineType.COMMITMENT]
    assert [(l.amount_minor, l.service_start) for l in committed] == [(7000, utc(2026, 2, 1))]
    overuse = [l for l in feb.lines if l.line_type is LineType.USAGE and l.metric == "maa"]
    assert [(l.amount_minor, l.service_end) for l in overuse] == [(2000, utc(2026, 2, 1))]  # 400 x 0.05


def test_without_billing_details_usage_past_the_free_tier_is_blocked_not_charged():
    timeline = make_timeline("quasr", [{"at": "2026-01-01T00:00:00Z", "type": "start", "plan": "payg"}],
                  billing_details=False)
    feb = bill_period(QUASR, timeline, utc(2026, 2, 1), usage={"maa": 500, "mat": 2, "mac": 0})
    assert feb.total_minor == 0
    assert any("block" in l.explanation for l in feb.lines if l.metric == "maa")
    with pytest.raises(SubscriptionError, match="needs billing details"):
        invoices_between(QUASR, make_timeline("quasr", [
            {"at": "2026-01-01T00:00:00Z", "type": "start", "plan": "payg"},
            {"at": "2026-01-05T00:00:00Z", "type": "upgrade", "plan": "startup"}], billing_details=False))


# --- minimums -------------------------------------------------------------------------------------------

def small_catalog(**plan: object) -> Catalog:
    return parse_catalog({
        "id": "tiny", "name": "Tiny", "version": "1", "currency": "EUR",
        "settings": {"day_count": "actual_days"},
        "metrics": {"calls": {"name": "Calls"}, "seats": {"name": "Seats", "kind": "count"}},
        "plans": {"basic": {"name": "Basic", "recurring": {"amount": "10.00", "source": "assumption: test"},
                            "charges": [
                                {"metric": "calls", "model": "per_unit", "unit_price": "0.01", "source": "assumption: t"},
                                {"metric": "seats", "kind": "addon", "model": "per_unit", "unit_price": "5.00",
                                 "source": "assumption: t"}],
                            **plan}},
    })


def test_minimum_true_up_is_prorated_for_a_partial_first_period():
    catalog = small_catalog(minimum_spend={"amount": "31.00", "source": "assumption: test"})
    timeline = make_timeline("tiny", [{"at": "2026-03-22T00:00:00Z", "type": "start", "plan": "basic"}],
                  usage={"2026-03": {"calls": 100}})
    april = bill_period(catalog, timeline, utc(2026, 4, 1))
    minimum = [l for l in april.lines if l.line_type is LineType.MINIMUM]
    # 10 of 31 days: minimum 10.00; spent 3.23 fee + 1.00 calls
    assert [(l.amount_minor, l.service_start) for l in minimum] == [(577, utc(2026, 3, 22))]


def test_contract_minimum_is_checked_at_termination():
    catalog = small_catalog()
    timeline = make_timeline("tiny", [
        {"at": "2026-01-01T00:00:00Z", "type": "start", "plan": "basic"},
        {"at": "2026-02-10T00:00:00Z", "type": "cancel"},
    ], minimum_spend="50.00")
    final = bill_period(catalog, timeline, utc(2026, 3, 1))
    assert amounts(final, LineType.MINIMUM) == [3000]  # 2 x 10.00 invoiced


def test_in_arrears_fee_follows_how_long_each_state_lasted():
    catalog = small_catalog(billing_timing="in_arrears")
    timeline = make_timeline("tiny", [
        {"at": "2026-04-01T00:00:00Z", "type": "start", "plan": "basic"},
        {"at": "2026-04-16T00:00:00Z", "type": "add", "item": "seats", "quantity": 2},
    ])
    assert bill_period(catalog, timeline, utc(2026, 4, 1)).total_minor == 0
    may = bill_period(catalog, timeline, utc(2026, 5, 1))
    assert amounts(may) == [500, 500, 500]  # fee half + fee half + 2 seats for 15/30


def test_credit_basis_amount_paid_credits_what_was_invoiced():
    catalog = small_catalog()
    catalog = with_day_count(catalog, DayCount.ACTUAL_DAYS, credit_basis="amount_paid")
    timeline = make_timeline("tiny", [
        {"at": "2026-03-01T00:00:00Z", "type": "start", "plan": "basic", "quantities": {"seats": 3}},
        {"at": "2026-03-11T00:00:00Z", "type": "remove", "item": "seats", "quantity": 1},
    ])
    april = bill_period(catalog, timeline, utc(2026, 4, 1))
    # paid 15.00 for 3 seats over 31 days; 21 of 31 days unused of 5.00 = 3.387
    assert amounts(april, LineType.CREDIT) == [-339]


# --- bad input: one line naming the file and the event ---------------------------------------------------

@pytest.mark.parametrize(("events", "expected"), [
    ([{"at": "2026-01-05T00:00:00Z", "type": "start", "plan": "pro"},
      {"at": "2026-01-04T00:00:00Z", "type": "add", "item": "api_resources", "quantity": 1}],
     r"events\[1\] \(add at 2026-01-04T00:00:00Z\): is earlier than events\[0\]"),
    ([{"at": "2026-01-05T00:00:00Z", "type": "start", "plan": "pro"},
      {"at": "2026-01-06T00:00:00Z", "type": "remove", "item": "api_resources", "quantity": 1}],
     r"events\[1\] \(remove at .*\): cannot remove 1 api_resources: only 0 held"),
    ([{"at": "2026-01-05T00:00:00Z", "type": "start", "plan": "platinum"}],
     r"events\[0\] \(start at .*\): unknown plan 'platinum'"),
    ([{"at": "2026-01-05T00:00:00Z", "type": "start", "plan": "pro"},
      {"at": "2026-01-06T00:00:00Z", "type": "start", "plan": "pro"}],
     r"events\[1\].*already started"),
    ([{"at": "2026-01-05T00:00:00Z", "type": "start", "plan": "pro"},
      {"at": "2026-01-06T00:00:00Z", "type": "add", "item": "rockets", "quantity": 1}],
     r"events\[1\].*unknown item 'rockets'"),
])
def test_bad_events_name_the_event(events, expected):
    with pytest.raises(SubscriptionError, match=expected) as err:
        invoices_between(LOGTO, make_timeline("logto", events))
    assert str(err.value).startswith("test.yaml: ") and "\n" not in str(err.value)


@pytest.mark.parametrize(("data", "expected"), [
    ({"events": [{"at": "2026-01-05T00:00:00Z", "type": "launch"}]}, r"events\[0\] \(launch at 2026-01-05"),
    ({"events": [{"at": "2026-01-05T00:00:00Z", "type": "add", "item": "x"}]}, r"events\[0\] \(add at .*needs 'quantity'"),
    ({"events": [{"at": "2026-01-05T00:00:00Z", "type": "start", "plan": "pro", "colour": 1}]}, r"colour"),
    ({"events": []}, r"events: .*at least 1 item"),
    ({"events": [{"at": "2026-01-05T00:00:00Z", "type": "start", "plan": "pro"}], "anchor": 0},
     r"anchor: must be 'calendar', 'start', a day number 1-31 or an instant, got 0"),
])
def test_malformed_timelines_fail_in_one_line(data, expected):
    with pytest.raises(SubscriptionError, match=expected) as err:
        parse_timeline({"customer_id": "c", "catalog": "logto", **data}, "bad.yaml")
    assert str(err.value).startswith("bad.yaml: ") and "\n" not in str(err.value)


def test_downgrade_while_one_is_reserved_overlaps():
    timeline = make_timeline("license_jp", DOWNGRADE + [{"at": "2026-01-12T00:00:00Z", "type": "downgrade", "plan": "free"}])
    with pytest.raises(SubscriptionError, match=r"events\[2\].*already reserved \(events\[1\]\)"):
        invoices_between(LICENSE, timeline)


# --- properties -------------------------------------------------------------------------------------------

conventions = st.sampled_from(list(DayCount))
instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                        timezones=st.just(UTC))


@settings(max_examples=40, deadline=None)
@given(convention=conventions, start=instants, anchor=st.sampled_from(["calendar", "start", 1, 15, 29, 31]),
       resources=st.integers(0, 9), sso=st.integers(0, 2))
def test_a_plan_without_changes_bills_the_same_every_period(convention, start, anchor, resources, sso):
    catalog = with_day_count(LOGTO, convention)
    timeline = make_timeline("logto", [{"at": start.isoformat(), "type": "start", "plan": "pro",
                             "quantities": {"api_resources": resources, "enterprise_sso": sso}}], anchor=anchor)
    renewals = [i for i in invoices_between(catalog, timeline, end=start + timedelta(days=200)) if i.kind == "renewal"]
    assert len(renewals) >= 5
    expected = 1600 + 400 * max(0, resources - 3) + 4800 * sso
    assert {i.invoice.total_minor for i in renewals} == {expected}


@settings(max_examples=40, deadline=None)
@given(convention=conventions, start=instants, offset=st.integers(0, 40 * 86400), qty=st.integers(1, 5))
def test_adding_then_immediately_removing_nets_zero(convention, start, offset, qty):
    catalog = with_day_count(LOGTO, convention)
    moment = (start + timedelta(seconds=offset)).isoformat()
    timeline = make_timeline("logto", [
        {"at": start.isoformat(), "type": "start", "plan": "pro"},
        {"at": moment, "type": "add", "item": "enterprise_sso", "quantity": qty},
        {"at": moment, "type": "remove", "item": "enterprise_sso", "quantity": qty},
    ])
    issued = invoices_between(catalog, timeline, end=start + timedelta(days=80))
    changes = [l.amount_minor for i in issued for l in i.invoice.lines
               if l.line_type in (LineType.PRORATION, LineType.CREDIT)]
    assert sum(changes) == 0


def test_recurring_lines_charge_only_units_past_the_included_quantity():
    timeline = make_timeline("logto", [{"at": "2026-01-01T00:00:00Z", "type": "start", "plan": "pro",
                             "quantities": {"api_resources": 7, "m2m_apps": 1, "mfa": 1}}])
    feb = bill_period(LOGTO, timeline, utc(2026, 2, 1))
    # Pro 16.00; API resources: 7 held, 3 included = 4 x 4.00; one M2M app is included; MFA 48.00
    assert {(l.item, l.quantity, l.amount_minor) for l in feb.lines} == {
        ("Pro fee", 1, 1600), ("API resources", 4, 1600), ("Multi-factor authentication", 1, 4800)}


def test_a_pending_cancellation_can_be_withdrawn():
    events = [
        {"at": "2026-01-01T00:00:00Z", "type": "start", "plan": "pro"},
        {"at": "2026-01-10T00:00:00Z", "type": "cancel"},
    ]
    assert state_at(LOGTO, make_timeline("logto", events), utc(2026, 1, 15)).cancel_at == utc(2026, 2, 1)
    kept = make_timeline("logto", events + [{"at": "2026-01-12T00:00:00Z", "type": "withdraw_cancel"}])
    assert issued_in_period(LOGTO, kept, utc(2026, 2, 1)).kind == "renewal"


def test_billing_details_removed_while_on_a_plan_that_needs_them_is_refused():
    timeline = make_timeline("quasr", [
        {"at": "2026-01-01T00:00:00Z", "type": "start", "plan": "startup"},
        {"at": "2026-01-08T00:00:00Z", "type": "set_billing_details", "value": False},
    ])
    with pytest.raises(SubscriptionError, match=r"events\[1\] \(set_billing_details .*needs billing details"):
        invoices_between(QUASR, timeline)


def test_upgrade_with_new_commitments_prorates_both_contingents():
    timeline = load_timeline(EXAMPLES / "quasr_gravitate.yaml")
    april = bill_period(QUASR, timeline, utc(2026, 4, 1))
    maa = [l.amount_minor for l in april.lines if l.item == "Monthly Active Accounts (committed)"]
    # 16 of 31 days: gravitate 2,000 x 0.035 credited; enterprise 50,000 x 0.025 charged; then April in full
    assert maa == [-3613, 64516, 125000]
    assert april.plan == "enterprise"


def test_more_than_three_tenants_without_billing_details_is_reported_on_the_invoice():
    timeline = make_timeline("quasr", [{"at": "2026-01-01T00:00:00Z", "type": "start", "plan": "payg"}],
                  billing_details=False)
    feb = bill_period(QUASR, timeline, utc(2026, 2, 1), usage={"maa": 50, "mat": 4, "mac": 0})
    assert not feb.eligible and "at most 3 tenants" in (feb.reason or "")
