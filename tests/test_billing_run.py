"""Billing a month from the store: one register entry per invoice, numbers from the rating engine."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from _report_fixtures import MONTH, ReportStore, report_store  # noqa: F401

from pricing.billing.billing_run import bill_month, load_timelines, timeline_invoices, usage_by_month
from pricing.engine.catalog import load_catalog
from pricing.errors import ReportError
from pricing.engine.invoice import LineType
from pricing.engine.rating import RateOptions, rate_one
from pricing.metering.store import Store
from pricing.billing.subscriptions import state_at


def test_every_customer_billed_and_stored(report_store: ReportStore) -> None:
    with Store(report_store.path, read_only=True) as store:
        heads = store.invoices(MONTH)
        lines = store.invoice_lines(MONTH)
        customers = set(store.customers()["customer_id"])
    assert set(heads["customer_id"]) <= customers
    assert len(heads) >= 10
    # each stored invoice total is the sum of its stored lines
    sums = lines.groupby("invoice_id")["amount_minor"].sum()
    for _, head in heads.iterrows():
        assert int(sums.get(head["invoice_id"], 0)) == int(head["total_minor"])


def test_usage_lines_match_the_rating_engine(report_store: ReportStore) -> None:
    """Calendar-anchored invoices closing the month bill exactly what rate_one gives for the metered usage."""
    checked = 0
    with Store(report_store.path, read_only=True) as store:
        usage = usage_by_month(store, [MONTH])[MONTH]
        for customer_id, timeline in load_timelines(store).items():
            if timeline.anchor != "calendar":
                continue
            catalog = load_catalog(timeline.catalog)
            invoices = timeline_invoices(catalog, timeline, MONTH, {MONTH: usage})
            for invoice in invoices:
                if invoice.period_start != datetime(2026, 4, 1, tzinfo=timezone.utc):
                    continue
                billed = [l for l in invoice.lines if l.line_type is LineType.USAGE]
                if not billed:
                    continue
                state = state_at(catalog, timeline, datetime(2026, 3, 31, 23, 59, tzinfo=timezone.utc))
                row = {**state.quantities, **state.commitments}
                row.update({m: v for m, v in usage[customer_id].items() if m in catalog.metrics})
                # usage is rated on the plan held when the period closed: a downgrade reserved for the
                # period's end puts the new plan on the invoice, not on the usage it bills
                expected = rate_one(catalog, state.plan, row, RateOptions(
                    charge_kinds=frozenset({"usage"}), include_recurring=False, include_minimum=False,
                    billing_details=state.billing_details))
                want = [l for l in expected.lines if l.line_type is LineType.USAGE]
                assert [l.amount_minor for l in billed] == [l.amount_minor for l in want]
                checked += 1
    assert checked >= 3


def test_billing_again_replaces_the_month(report_store: ReportStore, tmp_path) -> None:
    import shutil

    copy = tmp_path / "copy.duckdb"
    shutil.copy(report_store.path, copy)
    with Store(copy) as store:
        before = store.invoices(MONTH)
        run = bill_month(store, MONTH)
        after = store.invoices(MONTH)
    assert len(run.invoices) == len(before) == len(after)
    assert after["total_minor"].tolist() == before["total_minor"].tolist()


def test_unknown_month_is_one_line(report_store: ReportStore) -> None:
    with Store(report_store.path, read_only=True) as store:
        with pytest.raises(ReportError) as info:
            bill_month(store, "2025-01", write=False)
    assert "\n" not in str(info.value) and "2025-01" in str(info.value)


def test_skipping_periods_before_the_month_changes_no_invoice(report_store: ReportStore) -> None:
    """Drafts of periods that end before the month are not needed to price the month's invoices."""
    from pricing.billing.billing_run import _price_many, _usage_lookup
    from pricing.engine.periods import month_bounds
    from pricing.billing.subscriptions import plan_invoices

    start, end = (m.replace(tzinfo=timezone.utc) for m in month_bounds(MONTH))
    compared = 0
    with Store(report_store.path, read_only=True) as store:
        usage = usage_by_month(store, [MONTH])
        for timeline in load_timelines(store).values():
            catalog = load_catalog(timeline.catalog)
            lookup = _usage_lookup(catalog, timeline.customer_id, usage)
            results = []
            for since in (None, start):
                drafts = plan_invoices(catalog, timeline, end, lookup, since=since)
                wanted = [i for i, d in enumerate(drafts) if start < d.issued_at <= end]
                results.append([(i.lines, i.total_minor) for i in _price_many(catalog, [(drafts, wanted)])])
            assert results[0] == results[1]
            compared += len(results[0])
    assert compared >= 10
