"""Report tables: totals are sums of rows, the MRR bridge adds up, tenant numbers agree with metering."""

from __future__ import annotations

from decimal import Decimal

import pytest
from _report_fixtures import HOSTILE_NAME, HOSTILE_TENANT, MONTH, PREVIOUS, ReportStore, report_store  # noqa: F401

from pricing.reporting import report_tables
from pricing.engine.catalog import iter_bundled
from pricing.errors import ReportError
from pricing.metering.store import Store


@pytest.fixture()
def store(report_store: ReportStore):
    with Store(report_store.path, read_only=True) as db:
        yield db


def test_register_totals_are_sums_of_invoices(store: Store) -> None:
    reg = report_tables.register(store, MONTH)
    totals = report_tables.register_totals(reg)
    for _, row in totals.iterrows():
        mine = reg[reg["currency"] == row["currency"]]
        assert row["gross_minor"] == mine["gross_minor"].sum()
        assert row["gross"] == sum(mine["gross"], Decimal(0))
        assert row["net"] + row["tax"] == row["gross"]
    assert all(isinstance(v, Decimal) for v in reg["gross"])


def test_revenue_by_line_type_adds_up_to_the_register(store: Store) -> None:
    reg = report_tables.register(store, MONTH)
    lines = report_tables.register_lines(store, MONTH)
    by = report_tables.revenue_by(lines)
    matrix = report_tables.revenue_matrix(lines)
    for currency, group in reg.groupby("currency"):
        assert by[by["currency"] == currency]["amount_minor"].sum() == group["gross_minor"].sum()
        assert matrix[matrix["currency"] == currency]["total"].sum() == group["gross_minor"].sum()
    assert set(by["category"]) <= set(report_tables.CATEGORY_ORDER)


def test_metric_totals_match_customer_usage(store: Store) -> None:
    totals = report_tables.metric_totals(store, MONTH)
    usage = store.customer_usage(MONTH)
    for _, row in totals.iterrows():
        mine = usage[usage["catalog"] == row["catalog"]]
        assert row["total"] == mine[row["metric"]].sum()
    assert {"maa", "mac", "mat"} <= set(totals[totals["catalog"] == "quasr"]["metric"])


def test_mrr_bridge_adds_up(store: Store) -> None:
    bridge = report_tables.mrr_bridge(store, MONTH, PREVIOUS)
    assert not bridge.empty
    for _, b in bridge.iterrows():
        assert b.opening + b.new + b.expansion - b.contraction - b.churn == b.closing
        assert min(b.new, b.expansion, b.contraction, b.churn) >= 0
    moves = report_tables.mrr_movements(store, MONTH, PREVIOUS)
    assert set(moves["movement"]) <= {"new", "expansion", "contraction", "churn", "flat"}


def test_top_customers_sorted_within_currency(store: Store) -> None:
    top = report_tables.top_customers(report_tables.register(store, MONTH), 3)
    for _, group in top.groupby("currency"):
        assert list(group["gross_minor"]) == sorted(group["gross_minor"], reverse=True)
        assert len(group) <= 3


def test_customer_lists_have_their_columns(store: Store) -> None:
    commit = report_tables.commitment_utilisation(store, MONTH)
    assert {"committed", "used", "utilisation"} <= set(commit.columns)
    blocked = report_tables.blocked_at_free_tier(store, MONTH)
    assert (blocked["foregone_minor"] > 0).all()
    prepaid = report_tables.prepaid_balances(store, MONTH)
    assert {"balance", "days_left", "notice_threshold_days", "near"} <= set(prepaid.columns)


def test_tenant_daily_usage_ends_at_the_metered_value(store: Store) -> None:
    tenants = report_tables.tenants_of(store, MONTH)
    checked = 0
    for customer, tenant in list(zip(tenants["customer_id"], tenants["tenant_id"]))[:6]:
        daily = report_tables.tenant_daily_usage(store, MONTH, customer, tenant)
        metered = report_tables.tenant_metrics(store, MONTH, customer, tenant)
        for metric, part in daily.groupby("metric"):
            assert len(part) == 31
            assert int(part["to_date"].iloc[-1]) == metered.get(metric, 0)
            checked += 1
    assert checked


def test_included_use_and_top_accounts(store: Store) -> None:
    included = report_tables.included_use(store, MONTH, "c0001", HOSTILE_TENANT)
    assert not included.empty
    assert (included["tenant_used"] <= included["customer_used"]).all()
    top = report_tables.top_accounts(store, MONTH, "c0001", HOSTILE_TENANT, "user", 5)
    assert len(top) <= 5 and list(top["calls"]) == sorted(top["calls"], reverse=True)


def test_checks_are_one_line(store: Store) -> None:
    for call in (lambda: report_tables.check_month(store, "2026-13"), lambda: report_tables.check_month(store, "2024-01"),
                 lambda: report_tables.check_customer(store, "nobody"), lambda: report_tables.check_tenant(store, MONTH, "c0001", "x")):
        with pytest.raises(ReportError) as info:
            call()
        assert "\n" not in str(info.value)


def test_plan_rules_one_sentence_each() -> None:
    for catalog in iter_bundled():
        for plan_id in catalog.plans:
            rules = report_tables.plan_rules(catalog, plan_id)
            assert len(rules) >= 2 and all(r.endswith(".") and "\n" not in r for r in rules)
    quasr = next(c for c in iter_bundled() if c.id == "quasr")
    assert any("EUR 0.004 per call" in r for r in report_tables.plan_rules(quasr, "payg"))


def test_tables_escape_names(store: Store) -> None:
    reg = report_tables.register(store, MONTH)
    html = report_tables.table_html(reg, {"customer_id": "Customer", "name": "Name"})
    assert HOSTILE_NAME not in html and "&lt;script&gt;" in html
    assert "<script>" not in report_tables.heading_html(HOSTILE_NAME)


def test_meta_states_catalogs_range_and_time(store: Store) -> None:
    meta = report_tables.report_meta(store, MONTH)
    text = "\n".join(meta.lines())
    assert "quasr (Quasr) version" in text and "2026-03-" in text and "Made:" in text
    assert meta.first_event is not None and meta.first_event.month == 3


def test_inputs_are_stable(store: Store) -> None:
    from pricing.reporting.notebook_runner import fingerprint

    a = fingerprint(None, {"m": MONTH}, report_tables.report_inputs(store, MONTH))
    b = fingerprint(None, {"m": MONTH}, report_tables.report_inputs(store, MONTH))
    c = fingerprint(None, {"m": MONTH}, report_tables.report_inputs(store, MONTH, "c0001", HOSTILE_TENANT))
    assert a == b != c
