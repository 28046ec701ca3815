"""The month-end fast path: settled subscriptions billed from their cached state, exactly as replayed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pricing.billing.billing_run import (
    _settled_of, _settled_row, bill_month, catalog_fingerprint, settled_invoices, timeline_invoices,
)
from pricing.engine.catalog import BillingTiming, Catalog, DayCount, Discount, Interval, load_catalog
from pricing.apps.cli import main
from pricing.errors import PricingError
from pricing.engine.invoice import LineType
from pricing.engine.periods import Schedule
from pricing.billing.segments import Holding
from pricing.metering.store import Store
from pricing.billing.subscriptions import Ended, Settled, settle
from pricing.billing.timeline import parse_timeline

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "fast_path"
QUASR, LOGTO, LICENSE = load_catalog("quasr"), load_catalog("logto"), load_catalog("license_jp")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def make_timeline(catalog: str, events: list[dict[str, Any]], **top: Any):
    return parse_timeline({"customer_id": "c1", "catalog": catalog, "events": events, **top}, "test.yaml")


def _variant(catalog: Catalog, *, arrears: bool = False, plan_discount: bool = False, tax: str | None = None,
             interval: tuple[Interval, int] | None = None, day_count: DayCount | None = None) -> Catalog:
    """A bundled catalog bent to the semantics the bundled ones lack: plans billed in arrears, plan
    discounts, a catalog tax rate, other billing intervals and day counts."""
    plans = {}
    for plan_id, plan in catalog.plans.items():
        update: dict[str, Any] = {}
        if arrears:
            update["billing_timing"] = BillingTiming.IN_ARREARS
        if plan_discount:
            update["discounts"] = (Discount(percent=Decimal("10"), name="Partner discount"),)
        plans[plan_id] = plan.model_copy(update=update)
    update = {"plans": plans}
    if tax is not None:
        update["tax_percent"] = Decimal(tax)
    if interval is not None:
        update["interval"], update["interval_count"] = interval
    if day_count is not None:
        update["settings"] = catalog.settings.model_copy(update={"day_count": day_count})
    return catalog.model_copy(update=update)


# --- worked example ---------------------------------------------------------------------------------------


def test_a_settled_logto_renewal_is_billed_from_the_settled_state():
    # Pro from 2025-11-01 with 5 API resources; 2 more added on 2025-12-10: settled from 2026-01-01
    timeline = make_timeline("logto", [
        {"at": "2025-11-01T00:00:00Z", "type": "start", "plan": "pro", "quantities": {"api_resources": 5}},
        {"at": "2025-12-10T08:00:00Z", "type": "add", "item": "api_resources", "quantity": 2},
    ])
    settled = settle(LOGTO, timeline)
    assert settled is not None
    assert settled.settled_from == utc(2026, 1, 1)
    assert settled.holding == Holding.of("pro", {"api_resources": Decimal(7)})
    usage = {"2026-02": {"c1": {"tokens": 0}}}
    fast = settled_invoices(LOGTO, "c1", settled, "2026-02", usage)
    assert fast == timeline_invoices(LOGTO, timeline, "2026-02", usage)
    [invoice] = fast
    # renewal on 2026-03-01: Pro 16.00 + (7 - 3 included) x 4.00 = 32.00 for March, in advance
    assert invoice.issued_at == utc(2026, 3, 1)
    assert invoice.total_minor == 1600 + 4 * 400
    assert invoice.notes == ("renewal invoice issued 2026-03-01T00:00:00Z",)
    # the month the change was billed in is not settled yet: the replay bills it
    assert settled_invoices(LOGTO, "c1", settled, "2025-12", usage) is None


def test_a_minimum_counts_the_fee_billed_in_advance_on_the_previous_renewal():
    # Quasr enterprise: 990.00 a month in advance, minimum spend 2,000.00 a month
    timeline = make_timeline("quasr", [{"at": "2025-06-01T00:00:00Z", "type": "start", "plan": "enterprise",
                             "commitments": {"committed_maa": 100, "committed_mat": 10}}])
    settled = settle(QUASR, timeline)
    assert settled is not None and settled.settled_from == utc(2025, 6, 1)
    usage = {"2026-02": {"c1": {"maa": 0, "mac": 0, "mat": 0}}}
    fast = settled_invoices(QUASR, "c1", settled, "2026-02", usage)
    assert fast == timeline_invoices(QUASR, timeline, "2026-02", usage)
    [invoice] = fast
    [minimum] = [l for l in invoice.lines if l.line_type is LineType.MINIMUM]
    spent = sum(l.amount_minor for l in invoice.lines if l.service_start == utc(2026, 2, 1)
                and l.line_type is not LineType.MINIMUM)
    # February spent: the fee and commitments billed on 2026-02-01 plus February's usage lines
    fee_in_advance = sum(l.amount_minor for l in invoice.lines if l.service_start == utc(2026, 3, 1))
    assert minimum.amount_minor == 200000 - fee_in_advance - spent


@pytest.mark.parametrize("events, top", [
    ([{"at": "2026-01-10T00:00:00Z", "type": "cancel"}, {"at": "2026-01-12T00:00:00Z", "type": "withdraw_cancel"},
      {"at": "2026-01-13T00:00:00Z", "type": "cancel"}], {}),  # ends: see below
    ([{"at": "2026-01-10T00:00:00Z", "type": "suspend"}], {}),  # suspended
    ([], {"minimum_spend": "100.00"}),  # a contract minimum reads the whole history
    ([], {"discounts": [{"percent": "20", "periods": 3}]}),  # counts periods
    ([], {"usage_to_date": {"2026-01-15T00:00:00Z": {"tokens": 5}}}),  # progressive checkpoints
    ([{"at": "2026-01-10T00:00:00Z", "type": "remove", "item": "api_resources", "quantity": 9}], {}),  # refused
])
def test_what_is_never_settled(events, top):
    timeline = make_timeline("logto", [{"at": "2025-11-01T00:00:00Z", "type": "start", "plan": "pro",
                             "quantities": {"api_resources": 5}}, *events], **top)
    assert not isinstance(settle(LOGTO, timeline), Settled)


def test_an_ended_subscription_issues_nothing_after_its_final_invoice():
    timeline = make_timeline("logto", [{"at": "2025-11-01T00:00:00Z", "type": "start", "plan": "pro"},
                            {"at": "2026-01-10T00:00:00Z", "type": "cancel"}])  # at the end of the period
    ended = settle(LOGTO, timeline)
    assert ended == Ended(utc(2026, 2, 1))
    usage = {"2026-01": {"c1": {"tokens": 0}}, "2026-02": {"c1": {"tokens": 0}}}
    assert settled_invoices(LOGTO, "c1", ended, "2026-02", usage) == timeline_invoices(LOGTO, timeline, "2026-02", usage) == []
    assert settled_invoices(LOGTO, "c1", ended, "2026-01", usage) is None  # the final invoice: replayed
    assert [i.notes[0] for i in timeline_invoices(LOGTO, timeline, "2026-01", usage)] == [
        "final invoice issued 2026-02-01T00:00:00Z"]


def test_a_scheduled_downgrade_settles_when_it_happens():
    timeline = make_timeline("license_jp", [
        {"at": "2025-10-01T00:00:00Z", "type": "start", "plan": "business",
         "quantities": {"registered_users": 40, "registered_rps": 2}},
        {"at": "2026-01-20T00:00:00Z", "type": "downgrade", "plan": "starter"},  # at the period end
    ])
    settled = settle(LICENSE, timeline)
    assert settled is not None
    assert (settled.settled_from, settled.holding.plan) == (utc(2026, 2, 1), "starter")


# --- the property -------------------------------------------------------------------------------------------

_CATALOGS = {
    "quasr": [QUASR, _variant(QUASR, arrears=True, tax="19"), _variant(QUASR, plan_discount=True)],
    "logto": [LOGTO, _variant(LOGTO, arrears=True, plan_discount=True, day_count=DayCount.THIRTY_DAY_MONTH),
              _variant(LOGTO, interval=(Interval.WEEK, 2), tax="7.5"), _variant(LOGTO, interval=(Interval.QUARTER, 1))],
    "license_jp": [LICENSE, _variant(LICENSE, arrears=True), _variant(LICENSE, interval=(Interval.WEEK, 1))],
}
_PLANS = {"quasr": ["payg", "startup", "enterprise", "gravitate_and_save"], "logto": ["pro"],
          "license_jp": ["free", "starter", "business"]}
_ITEMS = {"quasr": [], "logto": ["api_resources", "m2m_apps", "enterprise_sso", "tenant_members"],
          "license_jp": ["registered_users", "registered_rps"]}
_METRICS = {"quasr": ["maa", "mac", "mat"], "logto": ["tokens"], "license_jp": ["mau"]}
_SINCE = datetime(2024, 9, 1, tzinfo=UTC)


@st.composite
def _event(draw: st.DrawFn, catalog: str, at: datetime) -> dict[str, Any]:
    kinds = ["upgrade", "downgrade", "change_plan", "cancel", "withdraw_cancel", "suspend", "reactivate",
             "trial", "set_billing_details", "withdraw_downgrade"]
    kinds += ["add", "remove"] * 3 if _ITEMS[catalog] else ["commit"] * 3
    kind = draw(st.sampled_from(kinds))
    event: dict[str, Any] = {"at": at.isoformat(), "type": kind}
    if kind in ("upgrade", "downgrade", "change_plan"):
        event["plan"] = draw(st.sampled_from(_PLANS[catalog]))
        event["effective"] = draw(st.sampled_from([None, "now", "end_of_period"]))
    elif kind == "cancel":
        event["effective"] = draw(st.sampled_from([None, "now"]))
    elif kind in ("add", "remove"):
        event["item"] = draw(st.sampled_from(_ITEMS[catalog]))
        event["quantity"] = draw(st.integers(1, 3))
    elif kind == "commit":
        event["commitments"] = {"committed_maa": draw(st.integers(1, 50)) * 100, "committed_mat": draw(st.integers(1, 12))}
    elif kind == "trial":
        event["until"] = (at + timedelta(days=draw(st.integers(1, 40)))).isoformat()
    elif kind == "set_billing_details":
        event["value"] = draw(st.booleans())
    return {k: v for k, v in event.items() if v is not None}


@st.composite
def _case(draw: st.DrawFn) -> tuple[Catalog, dict[str, Any], str, dict[str, Any]]:
    catalog_id = draw(st.sampled_from(sorted(_CATALOGS)))
    catalog = draw(st.sampled_from(_CATALOGS[catalog_id]))
    start = _SINCE + timedelta(minutes=draw(st.integers(0, 500 * 24 * 60)))
    start = start.replace(hour=0, minute=0) if draw(st.booleans()) else start
    first: dict[str, Any] = {"at": start.isoformat(), "type": "start", "plan": draw(st.sampled_from(_PLANS[catalog_id]))}
    if catalog_id == "quasr":
        first["commitments"] = {"committed_maa": draw(st.integers(1, 50)) * 100, "committed_mat": draw(st.integers(1, 12))}
    else:
        first["quantities"] = {item: draw(st.integers(0, 6)) for item in _ITEMS[catalog_id]
                               if not (catalog_id == "license_jp" and first["plan"] == "free" and item == "registered_users")}
    offsets = sorted(draw(st.lists(st.integers(0, 400 * 24 * 60), max_size=4)))
    events = [first] + [draw(_event(catalog_id, start + timedelta(minutes=m))) for m in offsets]
    top: dict[str, Any] = {
        "anchor": draw(st.sampled_from(["calendar", "start", 1, 15, 31, (start + timedelta(hours=5)).isoformat()])),
        "trial_days": draw(st.sampled_from([0, 0, 14])),
        "billing_details": catalog_id != "quasr" or first["plan"] == "payg" or draw(st.booleans()),
    }
    if draw(st.booleans()):
        top["discounts"] = [draw(st.sampled_from([{"percent": "15"}, {"amount": "5.00", "name": "Coupon"}]))]
    if draw(st.booleans()):
        top["tax_percent"] = draw(st.sampled_from(["0", "8", "21"]))
    month = f"{2025 + draw(st.integers(0, 1))}-{draw(st.integers(1, 12)):02d}"
    year, number = int(month[:4]), int(month[5:])
    months = [f"{y}-{m:02d}" for y, m in ((year, number - 1) if number > 1 else (year - 1, 12), (year, number))]
    usage = {m: {"c1": {metric: draw(st.integers(0, 200_000)) for metric in _METRICS[catalog_id]}}
             for m in months if draw(st.integers(0, 3))}
    return catalog, {"customer_id": "c1", "catalog": catalog_id, "events": events, **top}, month, usage


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_case())
def test_the_fast_path_bills_exactly_what_the_replay_bills(case):
    catalog, data, month, usage = case
    timeline = parse_timeline(data, "generated.yaml")
    settled = settle(catalog, timeline)
    try:
        slow = timeline_invoices(catalog, timeline, month, usage)
    except PricingError:
        assert settled is None  # a timeline the replay refuses is never settled
        return
    if settled is None:
        return
    fast = settled_invoices(catalog, "c1", settled, month, usage)
    if fast is not None:
        assert fast == slow  # every line, text, amount, date and note


def test_the_property_reaches_the_fast_path_often():
    """The generated cases must exercise the fast path, or the property above proves nothing."""
    used = []

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(case=_case())
    def count(case):
        catalog, data, month, usage = case
        timeline = parse_timeline(data, "generated.yaml")
        settled = settle(catalog, timeline)
        fast = None if settled is None else settled_invoices(catalog, "c1", settled, month, usage)
        used.append(bool(fast))

    count()
    assert sum(used) >= len(used) // 5


# --- the cache in the store ------------------------------------------------------------------------------

_LOGTO_TEXT = """customer_id: c1
catalog: logto
events:
  - {at: "2025-11-01T00:00:00Z", type: start, plan: pro, quantities: {api_resources: 5}}
"""


def _store(path: Path) -> Store:
    store = Store(path)
    store.import_book([{"customer_id": "c1", "name": "One", "catalog": "logto"}], {"c1": _LOGTO_TEXT}, {})
    store.ingest(FIXTURES / "events.csv")
    return store


def _cached(store: Store) -> dict[str, Any]:
    [row] = store.settled_subscriptions().to_dict("records")
    return row


def test_bill_month_fills_the_cache_and_reads_it_the_next_month(tmp_path):
    with _store(tmp_path / "s.duckdb") as store:
        assert store.settled_subscriptions().empty
        first = bill_month(store, "2026-01")
        row = _cached(store)
        assert (row["customer_id"], row["plan"], row["settled_from"]) == ("c1", "pro", datetime(2025, 11, 1))
        assert row["catalog_fingerprint"] == catalog_fingerprint(LOGTO)
        # a cached row is what the next run reads: make it say something else and the run follows it
        store.con.execute("UPDATE settled_subscriptions SET quantities = '{\"api_resources\": \"9\"}'")
        second = bill_month(store, "2026-02", write=False)
    # January: Pro 16.00 + (5 - 3) x 4.00; February from the (doctored) cache: 16.00 + (9 - 3) x 4.00
    assert [i.total_minor for i in first.invoices] == [1600 + 2 * 400]
    assert [i.total_minor for i in second.invoices] == [1600 + 6 * 400]


def test_an_edited_timeline_makes_its_cached_state_stale(tmp_path):
    with _store(tmp_path / "s.duckdb") as store:
        bill_month(store, "2025-12")
        edited = _LOGTO_TEXT + '  - {at: "2026-01-10T00:00:00Z", type: add, item: api_resources, quantity: 2}\n'
        store.import_book([{"customer_id": "c1", "name": "One", "catalog": "logto"}], {"c1": edited}, {})
        run = bill_month(store, "2026-01")
        row = _cached(store)
    assert row["settled_from"] == datetime(2026, 2, 1)
    assert json.loads(row["quantities"]) == {"api_resources": "7"}
    # 2026-02-01: January's proration for 2 resources from the 10th (22 of 31 days x 2 x 4.00 = 5.677 -> 5.68)
    # plus February in advance: 16.00 + (7 - 3) x 4.00 = 32.00
    [invoice] = run.invoices
    assert invoice.issued_at == utc(2026, 2, 1)
    assert invoice.total_minor == 568 + 3200


def test_an_edited_catalog_makes_every_cached_state_stale(tmp_path, monkeypatch):
    import pricing.billing.billing_run as billing_run

    with _store(tmp_path / "s.duckdb") as store:
        bill_month(store, "2026-01")
        pricier = LOGTO.model_copy(update={"plans": {"pro": LOGTO.plans["pro"].model_copy(update={
            "recurring": LOGTO.plans["pro"].recurring.model_copy(update={"amount": Decimal("20.00")})})}})
        monkeypatch.setattr(billing_run, "load_catalog", lambda catalog_id: pricier)
        run = bill_month(store, "2026-02")
        row = _cached(store)
    assert row["catalog_fingerprint"] == catalog_fingerprint(pricier) != catalog_fingerprint(LOGTO)
    assert [i.total_minor for i in run.invoices] == [2000 + 2 * 400]  # the new fee, 20.00


def test_invoices_run_twice_reports_everything_unchanged(tmp_path, capsys):
    store_path = tmp_path / "s.duckdb"
    _store(store_path).close()

    def run() -> dict[str, Any]:
        status = main(["invoices", "run", "--month", "2026-01", "--store", str(store_path), "--json"])
        out, err = capsys.readouterr()
        assert status == 0, err
        return json.loads(out)

    first, second = run(), run()  # the first fills the cache, the second bills from it
    assert (len(first["issued"]), first["unchanged"]) == (1, [])
    assert (second["issued"], second["unchanged"], second["differing"]) == ([], first["issued"], [])
    with Store(store_path, read_only=True) as store:
        assert len(store.settled_subscriptions()) == 1


def test_a_settled_row_round_trips_through_the_store(tmp_path):
    settled = Settled(utc(2026, 1, 15, 14, 5, 9), Holding.of("pro", {"api_resources": Decimal("7"), "mfa": Decimal(1)}),
                      Schedule(Interval.WEEK, 4, 1, 2, datetime(2026, 1, 15, 14, 5, 9).time(),
                               datetime(2026, 1, 12).date()),
                      (Discount(percent=Decimal("12.5"), name="Launch"), Discount(amount=Decimal("3.00"))),
                      Decimal("19"))
    with Store(tmp_path / "s.duckdb") as store:
        store.save_settled(pd.DataFrame([_settled_row("c1", "sha", LOGTO, "fp", settled),
                                         _settled_row("c2", "sha", LOGTO, "fp", Ended(utc(2026, 2, 3, 4, 5))),
                                         _settled_row("c3", "sha", LOGTO, "fp", None)]))
        rows = sorted(store.settled_subscriptions().itertuples(index=False), key=lambda r: r.customer_id)
    assert [_settled_of(row) for row in rows] == [settled, Ended(utc(2026, 2, 3, 4, 5)), None]
