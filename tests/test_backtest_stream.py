"""The streamed backtest: the in-memory backtest's answers from running sums, however history is chunked;
exact past int64; the store read a month at a time equals the store's own customer usage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _report_fixtures import MONTH, PREVIOUS, ReportStore, report_store  # noqa: F401
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing.analysis.backtest import backtest, history_from_store, sensitivity, synthetic_history
from pricing.analysis.backtest_stream import backtest_streamed, store_history
from pricing.analysis.candidates import scale_parameter
from pricing.engine.catalog import load_catalog
from pricing.errors import UsageError
from pricing.engine.rating import rate_one
from pricing.metering.store import Store


@pytest.fixture(scope="module")
def quasr():
    return load_catalog("quasr")


@pytest.fixture(scope="module")
def history(quasr):
    frame = synthetic_history(quasr, 400, 3, 5)
    frame.loc[frame.index % 7 == 0, "plan"] = None  # some customers on no plan: billed on the cheapest
    return frame


def assert_same(full, streamed) -> None:
    for cut in ("per_customer", "by_month", "by_plan", "movement", "switched_customers"):
        pd.testing.assert_frame_equal(getattr(full, cut)(), getattr(streamed, cut)(), check_dtype=False,
                                      check_categorical=False)
    assert full.totals() == streamed.totals()
    for per in ("customer", "month"):
        assert full.percentiles((5, 50, 95), per) == streamed.percentiles((5, 50, 95), per)
    assert (full.customer_count, full.customer_months) == (streamed.customer_count, streamed.customer_months)


def chunkings(history: pd.DataFrame) -> dict[str, list[pd.DataFrame]]:
    return {
        "whole": [history],
        "by month, latest first": [g for _, g in history.groupby("month")][::-1],
        "by 97 rows": [history.iloc[i:i + 97] for i in range(0, len(history), 97)],
    }


@pytest.mark.parametrize("how", ["whole", "by month, latest first", "by 97 rows"])
def test_streamed_cuts_equal_the_in_memory_backtest(quasr, history, how):
    # a Startup fee cut of 60% (49.00 -> 19.60) moves some customers' cheapest plan
    candidate = scale_parameter(quasr, "startup.recurring", -60)
    full = backtest(quasr, candidate, history)
    assert len(full.switched_customers()) > 0  # the cut exercises the latest-month rule
    streamed = backtest_streamed(quasr, candidate, chunkings(history)[how], block_rows=50)
    assert_same(full, streamed)


def test_streamed_tornado_equals_the_in_memory_tornado(quasr, history):
    candidate = scale_parameter(quasr, "payg.maa.unit_price", 10)
    streamed = backtest_streamed(quasr, candidate, chunkings(history)["by 97 rows"], block_rows=64,
                                 sensitivity_percent=10)
    pd.testing.assert_frame_equal(sensitivity(quasr, history, 10), streamed.sensitivity(), check_dtype=False)


def test_a_customers_sums_are_its_rated_months(quasr):
    # two customers, two months, on Pay As You Go; the candidate raises the MAA price 0.05 -> 0.06.
    # C1: 1,100 then 2,100 MAA: (1,000 + 2,000) x 0.05 = 150.00 today, x 0.06 = 180.00 with the candidate
    history = pd.DataFrame({"customer_id": ["C1", "C2", "C1", "C2"], "month": ["2026-01", "2026-01", "2026-02",
                                                                               "2026-02"],
                            "plan": "payg", "maa": [1100, 100, 2100, 600], "mac": 0, "mat": 1})
    candidate = scale_parameter(quasr, "payg.maa.unit_price", 20)
    streamed = backtest_streamed(quasr, candidate, [history.iloc[[2, 3]], history.iloc[[0, 1]]])
    per = streamed.per_customer().set_index("customer_id")
    assert per.loc["C1", "current_minor"] == 15000 and per.loc["C1", "candidate_minor"] == 18000
    # C2: 0 + 500 x 0.05 = 25.00 today, 500 x 0.06 = 30.00
    assert per.loc["C2", "current_minor"] == 2500 and per.loc["C2", "candidate_minor"] == 3000
    for cid in ("C1", "C2"):
        rows = history[history["customer_id"] == cid]
        assert per.loc[cid, "current_minor"] == sum(
            rate_one(quasr, "payg", {"maa": m, "mac": 0, "mat": 1}).total_minor for m in rows["maa"])
    assert streamed.by_month()["current_minor"].tolist() == [5000, 12500]  # 50.00 + 0; 100.00 + 25.00


def test_sums_past_int64_stay_exact(quasr):
    # 4e16 MAA at 0.05 = 2e15 EUR = 2e17 cents a month; 60 customer-months = 1.2e19 cents, past int64 (9.2e18)
    big = 40_000_000_000_000_100
    history = pd.DataFrame({"customer_id": [f"C{i % 5}" for i in range(60)],
                            "month": [f"2026-{1 + i // 5:02d}" for i in range(60)],
                            "plan": "payg", "maa": big, "mac": 0, "mat": 0})
    month_bill = rate_one(quasr, "payg", {"maa": big, "mac": 0, "mat": 0}).total_minor
    assert month_bill == 200_000_000_000_000_000  # (4e16 + 100 - 100) x 0.05 EUR in cents
    candidate = scale_parameter(quasr, "payg.maa.unit_price", 10)
    streamed = backtest_streamed(quasr, candidate, [history], block_rows=7)
    totals = streamed.totals()
    assert totals["current_minor"] == 60 * month_bill == 12 * 10**18
    assert totals["candidate_minor"] == 60 * 220_000_000_000_000_000  # 0.055 per account
    assert streamed.per_customer()["current_minor"].tolist() == [12 * month_bill] * 5
    assert streamed.percentiles((50,), "month") == {"p50": 20_000_000_000_000_000}


def test_an_empty_history_is_an_error(quasr, history):
    with pytest.raises(UsageError, match="holds no customer-month"):
        backtest_streamed(quasr, quasr, [history.iloc[:0]])


@settings(max_examples=20, deadline=None)
@given(blocks=st.integers(1, 400), seed=st.integers(0, 1000))
def test_any_chunking_gives_the_same_answer(quasr, history, blocks, seed):
    order = np.random.default_rng(seed).permutation(len(history))
    shuffled = history.iloc[order]
    cuts = sorted(set(np.random.default_rng(seed + 1).integers(0, len(history), 5).tolist()))
    chunks = [shuffled.iloc[a:b] for a, b in zip([0, *cuts], [*cuts, len(history)])]
    candidate = scale_parameter(quasr, "payg.mat.unit_price", 10)
    streamed = backtest_streamed(quasr, candidate, chunks, block_rows=blocks)
    full = backtest(quasr, candidate, history)
    assert streamed.totals() == full.totals()
    pd.testing.assert_frame_equal(full.per_customer(), streamed.per_customer(), check_dtype=False,
                                  check_categorical=False)


def test_store_months_equal_the_stores_customer_usage(report_store: ReportStore) -> None:
    quasr = load_catalog("quasr")
    with Store(report_store.path, read_only=True) as store:
        expected = history_from_store(store, "quasr", [PREVIOUS, MONTH])
        reader = store_history(store, quasr, [PREVIOUS, MONTH])
        got = pd.concat([chunk.astype({"customer_id": object, "month": object}) for chunk in reader.chunks()],
                        ignore_index=True)
    columns = ["customer_id", "month", "plan", *reader.metrics]
    expected = expected.sort_values(["month", "customer_id"]).reset_index(drop=True)
    assert len(got) == len(reader) == len(expected) > 0
    pd.testing.assert_frame_equal(expected[columns], got[columns], check_dtype=False, check_categorical=False)


def test_a_metered_sum_past_int64_is_one_line(report_store: ReportStore, tmp_path: Path) -> None:
    import shutil

    path = tmp_path / "huge.duckdb"
    shutil.copy(report_store.path, path)
    with Store(path) as store:
        customer = store.con.execute("SELECT customer_id FROM customers WHERE catalog = 'quasr' LIMIT 1").fetchone()[0]
        store.con.execute("INSERT INTO customer_metrics VALUES (?, ?, 'maa', 9000000000000000000),"
                          " (?, ?, 'maa', 9000000000000000000)", [MONTH, customer, MONTH, customer])
    with Store(path, read_only=True) as store:
        reader = store_history(store, load_catalog("quasr"), [MONTH])
        with pytest.raises(UsageError, match=f"metered usage of {MONTH} cannot be read exactly"):
            list(reader.chunks())


def test_the_csv_holds_the_tables_exact_values(quasr, history):
    import csv
    import io
    from decimal import Decimal

    from pricing.reporting.backtest_report import BacktestReport, customers_csv

    candidate = scale_parameter(quasr, "startup.recurring", -60)
    result = backtest_streamed(quasr, candidate, [history])
    names = {"C000000": "=HYPERLINK(\"http://x\")", "C000001": "Müller, \"Ltd\"", "C000002": "-5"}
    report = BacktestReport(result, None, names, ["2025-01"])
    table = report.customer_table()
    text = "".join(customers_csv(report, start, start + 150, header=start == 0) for start in range(0, 400, 150))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(table) == 400
    for row, (_, expected) in zip(rows, table.iterrows()):
        for column in ("Bill today (EUR)", "Bill with candidate (EUR)", "Change (EUR)"):
            assert Decimal(row[column]) == expected[column]
        percent = expected["Change %"]
        assert (row["Change %"] == "") if percent is None else Decimal(row["Change %"]) == percent * 100
        for column in ("Customer", "Plan", "Cheapest plan today", "Cheapest plan with candidate"):
            assert row[column] == str(expected[column])
        assert int(row["Months"]) == expected["Months"]
    by_id = {r["Customer"]: r["Name"] for r in rows}
    # formula-like names get a leading quote (OWASP); the rest is exact
    assert by_id["C000000"] == "'=HYPERLINK(\"http://x\")" and by_id["C000002"] == "'-5"
    assert by_id["C000001"] == "Müller, \"Ltd\""


def test_unchanged_plans_are_rated_once(quasr):
    from decimal import Decimal

    from pricing.analysis.backtest import unchanged_plans

    moved = scale_parameter(quasr, "payg.maa.unit_price", 10)
    assert unchanged_plans(quasr, moved) == {"gravitate_and_save", "startup", "enterprise"}
    # a tax rate changes every plan's bill: nothing is reused
    assert unchanged_plans(quasr, quasr.model_copy(update={"tax_percent": Decimal(21)})) == frozenset()
    assert unchanged_plans(quasr, quasr) == set(quasr.plans)
