"""The month's tenant tables: every tenant's rows equal the per-tenant report functions, through Parquet too."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from _report_fixtures import HOSTILE_TENANT, MONTH, ReportStore, report_store  # noqa: F401

from pricing.reporting import month_tables
from pricing.reporting import report_tables
from pricing.errors import ReportError
from pricing.metering.store import Store


def _same(left: pd.DataFrame, right: pd.DataFrame) -> None:
    left = left.reset_index(drop=True).astype(object).where(left.notna(), None)
    right = right.reset_index(drop=True).astype(object).where(right.notna(), None)
    assert list(left.columns) == list(right.columns)
    assert left.to_dict(orient="records") == right.to_dict(orient="records")


@pytest.fixture(scope="module")
def written(report_store: ReportStore, tmp_path_factory: pytest.TempPathFactory) -> tuple[month_tables.MonthTables, Path]:
    folder = tmp_path_factory.mktemp("tables")
    with Store(report_store.path, read_only=True) as store:
        tables = month_tables.build(store, MONTH)
    month_tables.write(tables, folder)
    return tables, folder


@pytest.mark.parametrize("through_parquet", [False, True])
def test_every_tenant_matches_the_per_tenant_functions(report_store: ReportStore, written, through_parquet) -> None:
    built, folder = written
    tables = month_tables.read(folder) if through_parquet else built
    with Store(report_store.path, read_only=True) as store:
        expected = [tuple(r) for r in report_tables.tenants_of(store, MONTH)[["customer_id", "tenant_id"]].itertuples(index=False)]
        assert tables.tenants() == expected and HOSTILE_TENANT in {t for _, t in expected}
        for customer, tenant in expected:
            view = tables.view(customer, tenant)
            _same(view.daily, report_tables.tenant_daily_usage(store, MONTH, customer, tenant))
            assert dict(zip(view.metrics["metric"], view.metrics["value"])) == report_tables.tenant_metrics(store, MONTH, customer, tenant)
            _same(view.included, report_tables.included_use(store, MONTH, customer, tenant))
            for kind in ("user", "client"):
                _same(view.top_accounts(kind), report_tables.top_accounts(store, MONTH, customer, tenant, kind, 10))
            _same(view.lines, report_tables.customer_invoice_lines(store, MONTH, customer))
            catalog, plan = report_tables.customer_plan(store, MONTH, customer)
            assert (view.catalog_id, view.plan) == (catalog.id, plan)
            assert view.plan_rules() == report_tables.plan_rules(catalog, plan)
            meta = report_tables.report_meta(store, MONTH, customer=customer, tenant=tenant)
            assert view.meta(meta.made_at) == meta
            assert view.name == report_tables.customer_row(store, customer)["name"]


def test_digest_changes_only_for_the_tenant_whose_rows_change(written) -> None:
    tables, _ = written
    (c1, t1), (c2, t2) = tables.tenants()[:2]
    before = {key: tables.digest(*key) for key in tables.tenants()}
    assert len(set(before.values())) == len(before)
    frames = dict(tables.frames)
    daily = frames["daily"].copy()
    hit = (daily["customer_id"] == c1) & (daily["tenant_id"] == t1)
    daily.loc[hit[hit].index[0], "daily"] += 1
    frames["daily"] = daily
    changed = month_tables.MonthTables(tables.month, frames)
    assert changed.digest(c1, t1) != before[(c1, t1)]
    assert changed.digest(c2, t2) == before[(c2, t2)]


def test_unknown_tenant_is_one_line(written) -> None:
    tables, _ = written
    with pytest.raises(ReportError, match="has no events in 2026-03"):
        tables.view("c0001", "nope")


def test_without_tables_a_page_reads_the_store(report_store: ReportStore, written) -> None:
    tables, folder = written
    customer, tenant = tables.tenants()[-1]
    direct = month_tables.tenant_page(str(report_store.path), MONTH, customer, tenant)
    via_files = month_tables.tenant_page(str(report_store.path), MONTH, customer, tenant, str(folder))
    for name in ("daily", "metrics", "included", "accounts", "lines"):
        _same(getattr(direct, name), getattr(via_files, name))
    assert (direct.name, direct.plan, direct.events) == (via_files.name, via_files.plan, via_files.events)
    with pytest.raises(ReportError, match="not 2026-02"):
        month_tables.tenant_page(str(report_store.path), "2026-02", customer, tenant, str(folder))
