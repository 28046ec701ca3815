"""Sample data: deterministic, realistic in shape, in the YAML shapes the subscription engine reads."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from pricing.engine.catalog import load_catalog
from pricing.metering.events import ARROW_SCHEMA
from pricing.metering.sample_data import generate_book, generate_usage_table, month_events, write_events


@pytest.fixture(scope="module")
def book():
    return generate_book(120, 3, seed=42)


@pytest.fixture(scope="module")
def january(book):
    import pyarrow as pa

    return pa.concat_tables(list(month_events(book, 0))).to_pandas()


def test_the_same_seed_gives_the_same_data(book, tmp_path):
    again = generate_book(120, 3, seed=42)
    assert again.customers.equals(book.customers)
    assert again.timelines == book.timelines and again.ledgers == book.ledgers
    a = write_events(book, tmp_path / "a")
    b = write_events(again, tmp_path / "b")
    assert [pq.read_table(p).equals(pq.read_table(q)) for p, q in zip(a, b)] == [True] * 3
    other = generate_book(120, 3, seed=43)
    assert not other.customers.equals(book.customers)


def test_months_end_with_the_default_or_given_month(book):
    assert book.months == ("2026-01", "2026-02", "2026-03")
    assert generate_book(5, 2, seed=1, end_month="2025-01").months == ("2024-12", "2025-01")


def test_customers_use_every_catalog_mostly_quasr(book):
    counts = book.customers["catalog"].value_counts()
    assert set(counts.index) == {"quasr", "logto", "license_jp", "prepaid_auth"}
    assert counts.idxmax() == "quasr"
    assert set(book.timelines) | set(book.ledgers) == set(book.customers["customer_id"])
    assert set(book.ledgers) == set(book.customers.query("catalog == 'prepaid_auth'")["customer_id"])


def test_timelines_have_the_agreed_shape(book):
    kinds = set()
    for customer_id, text in book.timelines.items():
        data = yaml.safe_load(text)
        assert list(data) == ["customer_id", "catalog", "billing_details", "anchor", "trial_days", "events"]
        assert data["customer_id"] == customer_id
        assert data["anchor"] in {"calendar", "start"} or 1 <= int(data["anchor"]) <= 31
        start = data["events"][0]
        assert start["type"] == "start" and start["plan"] in load_catalog(data["catalog"]).plans
        assert isinstance(start["quantities"], dict) and isinstance(start["commitments"], dict)
        metrics = load_catalog(data["catalog"]).metrics
        assert set(start["quantities"]) | set(start["commitments"]) <= set(metrics)
        times = [e["at"] for e in data["events"]]
        assert times == sorted(times) and all(t.endswith("Z") for t in times)
        kinds |= {e["type"] for e in data["events"]}
    assert {"start", "add", "cancel"} <= kinds


def test_ledgers_have_the_agreed_shape(book):
    for customer_id, text in book.ledgers.items():
        data = yaml.safe_load(text)
        assert list(data) == ["customer_id", "catalog", "start", "plan", "objects", "events"]
        assert data["catalog"] == "prepaid_auth" and data["plan"] in load_catalog("prepaid_auth").plans
        assert isinstance(data["start"], str) and set(data["objects"]) == {"users", "applications"}
        first = data["events"][0]
        assert first["type"] == "top_up" and isinstance(first["amount"], str)  # money is quoted


def test_events_have_the_event_schema_and_stay_in_their_month(book, tmp_path):
    [path, *_] = write_events(book, tmp_path)
    table = pq.read_table(path)
    assert table.schema.equals(ARROW_SCHEMA)
    ts = table.column("timestamp").to_pandas()
    assert ts.min().strftime("%Y-%m") == "2026-01" and ts.max().strftime("%Y-%m") == "2026-01"


def test_events_have_a_realistic_shape(book, january):
    per_customer = january.groupby("customer_id").size()
    assert per_customer.max() > 10 * per_customer.median()  # heavy tail
    tenants = january.groupby("customer_id")["tenant_id"].nunique()
    assert tenants.median() >= 3  # dev, test, prod
    assert (january["status"] != 200).mean() > 0.01  # failed calls
    assert (january["account_kind"] == "client").any()
    weekday = january["timestamp"].dt.day_of_week
    assert (weekday < 5).mean() > 0.8  # fewer calls at weekends
    assert book.expected_events() > 0


def test_churned_customers_stop_calling(book, tmp_path):
    churned = book.customers.dropna(subset=["churn"])
    assert len(churned) > 0
    paths = write_events(book, tmp_path)
    import pandas as pd

    events = pd.concat(pq.read_table(p, columns=["timestamp", "customer_id"]).to_pandas() for p in paths)
    last = events.groupby("customer_id")["timestamp"].max()
    for row in churned.itertuples():
        if row.customer_id in last:
            assert last[row.customer_id].date() < row.churn


def test_usage_table_is_fast_heavy_tailed_and_integer():
    quasr = load_catalog("quasr")
    started = time.perf_counter()
    usage = generate_usage_table(quasr, 1_000_000, seed=1)
    assert time.perf_counter() - started < 5
    assert list(usage.columns) == quasr.charged_metrics()
    assert all(str(t) == "int64" for t in usage.dtypes)
    assert (usage.to_numpy() >= 0).all()
    assert usage["maa"].max() > 100 * usage["maa"].median()
    assert generate_usage_table("quasr", 1000, seed=1).equals(generate_usage_table("quasr", 1000, seed=1))
    for catalog in ("logto", "license_jp", "prepaid_auth"):
        table = generate_usage_table(catalog, 1000, seed=2)
        assert list(table.columns) == load_catalog(catalog).charged_metrics()


def test_the_default_demo_is_generated_in_seconds(tmp_path):
    started = time.perf_counter()
    demo = generate_book(200, 3, seed=7)
    paths = write_events(demo, tmp_path)
    assert time.perf_counter() - started < 30
    rows = sum(pq.read_metadata(p).num_rows for p in paths)
    assert 200_000 < rows < 5_000_000
    assert abs(rows - demo.expected_events()) < 0.2 * rows


def test_every_block_of_customers_holds_every_role_once():
    import numpy as np

    from pricing.metering.sample_data import ROLES, role_indices

    roles = role_indices(5 * len(ROLES) + 7, np.random.default_rng(1))
    for block in range(5):
        assert sorted(roles[block * len(ROLES):(block + 1) * len(ROLES)]) == list(range(len(ROLES)))
    assert len(roles) == 5 * len(ROLES) + 7 and len(set(roles[-7:])) == 7
    assert len(ROLES) == 24  # the demo's 24 customers hold every role
    shares = {c: sum(r.catalog == c for r in ROLES) for c in ("quasr", "logto", "license_jp", "prepaid_auth")}
    assert shares == {"quasr": 11, "logto": 5, "license_jp": 4, "prepaid_auth": 4}


def test_the_subscription_engine_replays_every_timeline_and_ledger():
    from datetime import date

    from pricing.billing.balances import parse_ledger, simulate_ledger
    from pricing.billing.subscriptions import invoices_between
    from pricing.billing.timeline import parse_timeline

    for seed in (1, 2):
        book = generate_book(150, 3, seed=seed)
        for customer_id, text in book.timelines.items():
            timeline = parse_timeline(yaml.safe_load(text), customer_id)
            issued = invoices_between(load_catalog(timeline.catalog), timeline)
            assert issued, f"{customer_id}: a timeline that replays bills at least once"
            for item in issued:
                assert item.invoice.total_minor == sum(line.amount_minor for line in item.invoice.lines)
        for customer_id, text in book.ledgers.items():
            ledger = parse_ledger(yaml.safe_load(text), customer_id)
            result = simulate_ledger(load_catalog("prepaid_auth"), ledger, date(2026, 4, 1))
            assert result.rows, f"{customer_id}: a ledger simulates day by day"


# --- the demo book: what the reports are for --------------------------------------


@dataclass(frozen=True)
class DemoMonth:
    book: Any
    store: Path
    month: str
    previous: str
    invoices: tuple[Any, ...]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> DemoMonth:
    """The book ``pricing demo`` makes, through the same chain: ingested, metered, its last two months billed."""
    from pricing.billing.billing_run import bill_month
    from pricing.reporting.demo_run import DEFAULT_CUSTOMERS, DEFAULT_MONTHS, DEFAULT_SEED
    from pricing.metering.store import Store

    root = tmp_path_factory.mktemp("demo_book")
    book = generate_book(DEFAULT_CUSTOMERS, DEFAULT_MONTHS, DEFAULT_SEED)
    paths = write_events(book, root / "events")
    month, previous = book.months[-1], book.months[-2]
    with Store(root / "demo.duckdb") as store:
        store.write_book(book)
        store.ingest(paths)
        for m in book.months:
            store.meter(m)
        bill_month(store, previous)
        run = bill_month(store, month)
    return DemoMonth(book, root / "demo.duckdb", month, previous, run.invoices)


def _read(demo: DemoMonth, report: Any, *args: Any) -> Any:
    from pricing.metering.store import Store

    with Store(demo.store, read_only=True) as store:
        return report(store, demo.month, *args)


def test_the_demo_bills_nearly_every_customer_something(demo):
    invoices = demo.invoices
    assert {i.customer_id for i in invoices} == set(demo.book.customers["customer_id"])  # 24 customers
    zero = [i for i in invoices if i.total_minor == 0]
    assert len(invoices) >= 24 and len(zero) <= 2  # 26 invoices here, 24 of them non-zero
    assert (len(invoices) - len(zero)) / len(invoices) >= 0.9
    # only Quasr's free tier is free: one customer inside it, one blocked at it
    assert {(i.catalog, i.plan) for i in zero} <= {("quasr", "payg")}


def test_every_catalog_and_every_priced_plan_has_a_non_zero_invoice(demo):
    billed = {(i.catalog, i.plan) for i in demo.invoices if i.total_minor != 0}
    for catalog_id in ("quasr", "logto", "license_jp", "prepaid_auth"):
        catalog = load_catalog(catalog_id)
        priced = {p for p, plan in catalog.plans.items() if plan.recurring is not None or plan.charges}
        assert priced, catalog_id
        # license_jp's free license prices nothing: its customer upgrades to Starter in the month
        assert {(catalog_id, p) for p in priced} <= billed, catalog_id
    assert len(billed) == 11  # 4 Quasr, 1 Logto, 2 licence and 4 prepaid plans


def test_commitments_are_both_under_used_and_over_used(demo):
    from pricing.reporting import report_tables
    from pricing.engine.invoice import LineType

    used = _read(demo, report_tables.commitment_utilisation)
    maa = used[used["metric"] == "maa"]
    for plan in ("gravitate_and_save", "enterprise"):
        mine = maa[maa["plan"] == plan]
        assert (mine["overuse"] > 0).sum() == 1 and (mine["unused"] > 0).sum() == 1, plan
    # overuse is charged at the end of the cycle, on the invoice of the month
    for customer_id in maa[maa["overuse"] > 0]["customer_id"]:
        lines = [l for i in demo.invoices if i.customer_id == customer_id for l in i.lines]
        assert any(l.line_type is LineType.USAGE and l.metric == "maa" and l.amount_minor > 0 for l in lines)


def test_the_mrr_bridge_moves_every_way(demo):
    from pricing.reporting import report_tables

    bridge = _read(demo, report_tables.mrr_bridge, demo.previous).set_index("currency")
    moves = ["new", "expansion", "contraction", "churn"]
    for currency in ("EUR", "USD"):  # Quasr and Logto: sign-ups, upgrades and add-ons, downgrades, cancellations
        assert (bridge.loc[currency, moves] > 0).all(), currency
    assert bridge.loc["JPY", "new"] > 0 and bridge.loc["JPY", "contraction"] > 0  # free to Starter; Business down
    movements = _read(demo, report_tables.mrr_movements, demo.previous)["movement"].value_counts()
    assert all(movements.get(m, 0) >= 2 for m in moves)


def test_the_demo_book_uses_every_kind_of_change(demo):
    kinds = {e["type"] for text in demo.book.timelines.values() for e in yaml.safe_load(text)["events"]}
    assert {"upgrade", "downgrade", "add", "remove", "commit", "cancel", "set_billing_details"} <= kinds
    ledger_kinds = {e["type"] for text in demo.book.ledgers.values() for e in yaml.safe_load(text)["events"]}
    assert {"top_up", "change_plan"} <= ledger_kinds


def test_a_customer_is_blocked_at_the_free_tier(demo):
    from pricing.reporting import report_tables

    blocked = _read(demo, report_tables.blocked_at_free_tier)
    assert len(blocked) == 1
    row = blocked.iloc[0]
    assert row["catalog"] == "quasr" and row["foregone_minor"] > 0 and row["maa"] > 100
    customer = demo.book.customers.set_index("customer_id").loc[row["customer_id"]]
    assert not customer["billing_details"]
    assert [i.total_minor for i in demo.invoices if i.customer_id == row["customer_id"]] == [0]


def test_a_prepaid_customer_is_near_its_low_balance_notice(demo):
    from pricing.reporting import report_tables

    balances = _read(demo, report_tables.prepaid_balances)
    near = balances[balances["near"]]
    assert len(near) == 1 and len(balances) == 4
    row = near.iloc[0]
    assert row["status"] == "active" and row["balance_minor"] > 0
    assert 0 < row["days_left"] < 2 * row["notice_threshold_days"]
    statement = [i for i in demo.invoices if i.customer_id == row["customer_id"]]
    assert len(statement) == 1 and statement[0].total_minor > 0
    assert any("low-balance notice" in note for note in statement[0].notes)
