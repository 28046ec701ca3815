"""Sample data: deterministic, realistic in shape, in the YAML shapes the subscription engine reads."""

from __future__ import annotations

import time

import pyarrow.parquet as pq
import pytest
import yaml

from pricing.catalog import load_catalog
from pricing.events import ARROW_SCHEMA
from pricing.sample_data import generate_book, generate_usage_table, month_events, write_events


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
    weekday = january["timestamp"].dt.weekday
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


def test_the_subscription_engine_replays_every_timeline_and_ledger():
    from datetime import date

    from pricing.balances import parse_ledger, simulate_ledger
    from pricing.subscriptions import invoices_between, parse_timeline

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
