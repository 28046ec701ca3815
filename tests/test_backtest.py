"""Backtests: exact per customer-month deltas, cuts that add up, and the tornado."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pricing.analysis.backtest import backtest, sensitivity, synthetic_history
from pricing.analysis.candidates import apply_overrides, scale_parameter
from pricing.engine.catalog import load_catalog
from pricing.errors import CatalogError, UsageError
from pricing.engine.rating import rate_one


@pytest.fixture(scope="module")
def quasr():
    return load_catalog("quasr")


@pytest.fixture(scope="module")
def history(quasr):
    return synthetic_history(quasr, 300, 3, seed=5)


def small_history() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["a", "a", "b", "b", "c"],
        "month": ["2026-01", "2026-02", "2026-01", "2026-02", "2026-02"],
        "plan": ["payg", "payg", "startup", "startup", None],
        "maa": [1100, 1200, 3000, 3500, 100],
        "mac": [0, 0, 0, 0, 0],
        "mat": [1, 1, 2, 2, 1],
    })


def test_every_row_matches_rate_one(quasr):
    candidate = apply_overrides(quasr, {"payg.maa.unit_price": "0.06", "startup.recurring": "39.00"})
    result = backtest(quasr, candidate, small_history())
    for i, row in result.rows.iterrows():
        src = small_history().iloc[i]
        usage = {"maa": int(src["maa"]), "mac": 0, "mat": int(src["mat"])}
        assert row["current_minor"] == rate_one(quasr, row["plan"], usage).total_minor
        assert row["candidate_minor"] == rate_one(candidate, row["plan"], usage).total_minor
    # customer c has no plan: billed on the cheapest (payg, within the free tier)
    assert result.rows.loc[4, "plan"] == "payg" and result.rows.loc[4, "current_minor"] == 0
    assert result.rows["delta_minor"].tolist() == [1000, 1100, -1000, -1000, 0]


def test_cuts_add_up_exactly(quasr, history):
    candidate = scale_parameter(quasr, "payg.maa.unit_price", 20)
    result = backtest(quasr, candidate, history)
    totals = result.totals()
    assert int(result.by_month()["delta_minor"].sum()) == totals["delta_minor"]
    assert int(result.by_plan()["candidate_minor"].sum()) == totals["candidate_minor"]
    per = result.per_customer()
    assert len(per) == 300 and int(per["delta_minor"].sum()) == totals["delta_minor"]
    assert (per["delta_minor"] >= 0).all()  # a price rise never lowers a bill
    movement = result.movement().set_index("direction")
    assert movement.loc["pays less", "customers"] == 0
    assert movement["customers"].sum() == 300


def test_percentiles_are_observed_changes(quasr, history):
    result = backtest(quasr, scale_parameter(quasr, "payg.mat.unit_price", 10), history)
    p = result.percentiles()
    values = set(result.per_customer()["delta_minor"])
    assert p["p50"] in values and p["p95"] in values and p["p50"] <= p["p95"]
    top = result.top_movers(5)
    assert top["delta_minor"].abs().is_monotonic_decreasing


def test_identical_catalogs_change_nothing(quasr, history):
    result = backtest(quasr, quasr, history)
    assert result.totals()["delta_minor"] == 0 and result.switches().empty


def test_cheapest_switches_are_reported(quasr):
    history = small_history()
    candidate = apply_overrides(quasr, {"startup.recurring": "1.00"})
    result = backtest(quasr, candidate, history)
    switched = result.switched_customers()
    assert "a" in set(switched["customer_id"])
    assert set(switched["cheapest_candidate"]) == {"startup"}


def test_currency_and_columns_are_checked(quasr):
    with pytest.raises(CatalogError):
        backtest(quasr, load_catalog("logto"), small_history())
    with pytest.raises(UsageError):
        backtest(quasr, quasr, small_history().drop(columns="month"))


def test_sensitivity_matches_full_backtests(quasr, history):
    table = sensitivity(quasr, history, 10, keys=["payg.maa.unit_price", "startup.recurring", "payg.mat.included"])
    assert list(table["swing_minor"]) == sorted(table["swing_minor"], reverse=True)
    for _, row in table.iterrows():
        for side, pct in (("low", -10), ("high", 10)):
            full = backtest(quasr, scale_parameter(quasr, row["key"], pct), history)
            assert row[f"{side}_delta_minor"] == full.totals()["delta_minor"]


def test_synthetic_history_shape(quasr):
    history = synthetic_history(quasr, 50, 4, seed=1)
    assert len(history) == 200 and history["customer_id"].nunique() == 50
    assert history["month"].nunique() == 4
    assert np.issubdtype(history["maa"].dtype, np.integer)


def test_history_from_the_store_backtests(tmp_path, quasr):
    from pricing.analysis.backtest import history_from_store
    from pricing.metering.sample_data import generate_book, write_events
    from pricing.metering.store import Store

    book = generate_book(12, 2, seed=3)
    write_events(book, tmp_path / "events")
    with Store(tmp_path / "w.duckdb") as store:
        store.write_book(book)
        store.ingest([tmp_path / "events"])
        history = history_from_store(store, "quasr")
    on_quasr = (book.customers["catalog"] == "quasr").sum()
    assert len(history) == on_quasr * 2 and set(history["month"]) == set(book.months)
    assert {"customer_id", "month", "plan", "maa", "mac", "mat"} <= set(history.columns)
    result = backtest(quasr, scale_parameter(quasr, "payg.maa.unit_price", 10), history)
    assert len(result.per_customer()) == on_quasr
    assert result.totals()["delta_minor"] >= 0
