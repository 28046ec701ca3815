"""Backtests: what a candidate catalog would have billed on the metered history.

A *history* is a DataFrame with one row per customer and month: ``customer_id``,
``month``, optionally ``plan`` (the plan the customer is on), and one column
per metric. It comes from the store (:func:`history_from_store`) or, for
tests and benchmarks, from :func:`synthetic_history`.

Both catalogs rate the whole history in one vectorized call each
(:func:`pricing.rating.rate`); every amount is an integer of the minor unit
and every aggregate is an exact integer sum. A customer keeps the plan they
are on; a customer without one (or on a plan the candidate removes) is billed
on the cheapest eligible plan. Percentages and percentiles are for charts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .candidates import price_parameters, scale_parameter
from .catalog import Catalog, MetricKind
from .errors import CatalogError, UsageError
from .periods import shift_month
from .rating import RateOptions, RatedTable, cheapest_positions, rate

if TYPE_CHECKING:
    from .store import Store

KEYS = ("customer_id", "month")


def _check_history(catalog: Catalog, history: pd.DataFrame) -> None:
    missing = [k for k in KEYS if k not in history.columns]
    if missing:
        raise UsageError(f"usage history needs columns {', '.join(KEYS)}; missing {', '.join(missing)}")
    if not any(m in history.columns for m in catalog.metrics):
        raise UsageError(f"usage history has no metric of catalog {catalog.id!r} ({', '.join(catalog.metrics)})")


def _plan_codes(plan_ids: Sequence[str], requested: pd.Series | None, n: int) -> np.ndarray:
    """Each row's requested plan as a position in ``plan_ids`` (-1: none, or not a plan of this catalog)."""
    if requested is None:
        return np.full(n, -1, dtype=np.int64)
    categorical = pd.Categorical(requested)
    position = {p: i for i, p in enumerate(plan_ids)}
    lookup = np.array([position.get(str(c), -1) for c in categorical.categories] + [-1], dtype=np.int64)
    return lookup[categorical.codes]  # code -1 (missing) picks the trailing -1


def _cheapest_index(rated: RatedTable) -> tuple[np.ndarray, np.ndarray]:
    """Position of each row's cheapest eligible plan (-1 when none is eligible), and of its cheapest plan."""
    totals = [r.total_minor for r in rated.plans.values()]
    return rated.cheapest_positions(), cheapest_positions(totals)


def _assigned(rated: RatedTable, requested: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's billed plan: the requested one, else the cheapest eligible, else the cheapest outright."""
    cheapest, outright = _cheapest_index(rated)
    fallback = np.where(cheapest >= 0, cheapest, outright)
    return np.where(requested >= 0, requested, fallback), cheapest


def _take(rated: RatedTable, index: np.ndarray) -> np.ndarray:
    totals = np.stack([r.total_minor for r in rated.plans.values()], axis=1)
    return np.take_along_axis(totals, index[:, None], axis=1)[:, 0]


def _names(codes: np.ndarray, plan_ids: Sequence[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=list(plan_ids))


@dataclass(frozen=True)
class Backtest:
    """Current and candidate bills for every customer-month, with the usual cuts."""

    current: Catalog
    candidate: Catalog
    rows: pd.DataFrame  # one per customer-month; amounts in integer minor units

    # --- cuts -----------------------------------------------------------------

    def _revenue(self, by: str) -> pd.DataFrame:
        out = self.rows.groupby(by, sort=True, observed=True)[["current_minor", "candidate_minor", "delta_minor"]].sum()
        out["customers"] = self.rows.groupby(by, sort=True, observed=True)["customer_id"].nunique()
        out["delta_percent"] = _percent(out["delta_minor"], out["current_minor"])
        return out.reset_index()

    def by_month(self) -> pd.DataFrame:
        """Revenue today and under the candidate per month (exact integer sums)."""
        return self._revenue("month")

    def by_plan(self) -> pd.DataFrame:
        """Revenue today and under the candidate per plan the customers are on."""
        return self._revenue("plan")

    def totals(self) -> dict[str, int]:
        current = int(self.rows["current_minor"].sum())
        candidate = int(self.rows["candidate_minor"].sum())
        return {"current_minor": current, "candidate_minor": candidate, "delta_minor": candidate - current}

    def per_customer(self) -> pd.DataFrame:
        """One row per customer over the whole history: the per-customer delta table to export."""
        rows = self.rows.sort_values(["customer_id", "month"])
        grouped = rows.groupby("customer_id", sort=True)
        out = grouped[["current_minor", "candidate_minor", "delta_minor"]].sum()
        out["months"] = grouped.size()
        out["plan"] = grouped["plan"].last()
        out["cheapest_current"] = grouped["cheapest_current"].last()
        out["cheapest_candidate"] = grouped["cheapest_candidate"].last()
        out["switched_months"] = grouped["switched"].sum().astype(np.int64)
        out["delta_percent"] = _percent(out["delta_minor"], out["current_minor"])
        return out.reset_index()[[
            "customer_id", "plan", "months", "current_minor", "candidate_minor", "delta_minor", "delta_percent",
            "cheapest_current", "cheapest_candidate", "switched_months",
        ]]

    def percentiles(self, levels: Sequence[int] = (50, 95), per: str = "customer") -> dict[str, int]:
        """Percentiles of the bill change, each an actual observed change (exact minor units).

        ``per``: ``customer`` (change over the whole history) or ``month``
        (change of each customer-month). Uses the inverted CDF, so p50 is a
        real customer's change, not an average of two.
        """
        if per not in ("customer", "month"):
            raise UsageError(f"percentiles per {per!r}: choose 'customer' or 'month'")
        values = (self.per_customer() if per == "customer" else self.rows)["delta_minor"].to_numpy()
        if len(values) == 0:
            return {f"p{q}": 0 for q in levels}
        return {f"p{q}": int(np.percentile(values, q, method="inverted_cdf")) for q in levels}

    def movement(self) -> pd.DataFrame:
        """Who pays more, who pays less, who pays the same: customers and total change (exact)."""
        per = self.per_customer()
        side = np.sign(per["delta_minor"].to_numpy())
        labels = {1: "pays more", -1: "pays less", 0: "no change"}
        frame = pd.DataFrame({"direction": [labels[int(s)] for s in side], "delta_minor": per["delta_minor"]})
        out = frame.groupby("direction")["delta_minor"].agg(customers="size", total_delta_minor="sum")
        out["largest_change_minor"] = frame.groupby("direction")["delta_minor"].agg(
            lambda s: int(s.abs().max()) * (1 if s.sum() >= 0 else -1))
        return out.reindex(["pays more", "pays less", "no change"]).fillna(0).astype(np.int64).reset_index()

    def top_movers(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` customers whose bill changes most in absolute terms (ties by customer id)."""
        per = self.per_customer()
        per = per.assign(_abs=per["delta_minor"].abs()).sort_values(["_abs", "customer_id"],
                                                                    ascending=[False, True])
        return per.drop(columns="_abs").head(n).reset_index(drop=True)

    def switches(self) -> pd.DataFrame:
        """Customer-months whose cheapest plan under the candidate differs from today's."""
        cols = ["customer_id", "month", "plan", "cheapest_current", "cheapest_candidate", "current_minor",
                "candidate_minor"]
        return self.rows.loc[self.rows["switched"], cols].reset_index(drop=True)

    def switched_customers(self) -> pd.DataFrame:
        """Customers whose cheapest plan changes in their latest month."""
        per = self.per_customer()
        changed = per["cheapest_current"].astype(object).fillna("") != per["cheapest_candidate"].astype(object).fillna("")
        return per.loc[changed, ["customer_id", "plan", "cheapest_current", "cheapest_candidate",
                                 "delta_minor"]].reset_index(drop=True)

    def histogram(self, bins: int = 30) -> pd.DataFrame:
        """Counts of per-customer changes in ``bins`` equal-width bins (float edges, for charts)."""
        values = self.per_customer()["delta_minor"].to_numpy(dtype=np.float64)
        if len(values) == 0:
            return pd.DataFrame({"low": [], "high": [], "customers": []})
        counts, edges = np.histogram(values, bins=bins)
        return pd.DataFrame({"low": edges[:-1], "high": edges[1:], "customers": counts})


def _percent(delta: pd.Series, base: pd.Series) -> pd.Series:
    base_f = base.astype(np.float64)
    return (delta.astype(np.float64) / base_f.where(base_f != 0) * 100).round(2)


def backtest(
    current: Catalog,
    candidate: Catalog,
    history: pd.DataFrame,
    plan_column: str = "plan",
    options: RateOptions | None = None,
) -> Backtest:
    """Rate ``history`` under both catalogs and line up each customer-month's two bills.

    Rows whose ``catalog`` column (if any) names another catalog are left out.
    """
    if current.currency != candidate.currency:
        raise CatalogError(f"cannot compare {current.currency} with {candidate.currency}:"
                           " a candidate must keep the currency")
    _check_history(current, history)
    if "catalog" in history.columns:
        history = history[history["catalog"] == current.id]
    history = history.reset_index(drop=True)
    requested = history[plan_column] if plan_column in history.columns else None
    now = rate(current, history, options=options)
    new = rate(candidate, history, options=options)
    now_ids, new_ids = list(now.plans), list(new.plans)
    now_index, cheapest_now = _assigned(now, _plan_codes(now_ids, requested, len(history)))
    plan_names = _names(now_index, now_ids)
    # the candidate bills the same plan; a plan it removed falls back to its cheapest
    new_index, cheapest_new = _assigned(new, _plan_codes(new_ids, pd.Series(plan_names), len(history)))
    current_minor = _take(now, now_index)
    candidate_minor = _take(new, new_index)
    rows = pd.DataFrame({
        "customer_id": history["customer_id"].array,
        "month": history["month"].astype(str).array,
        "plan": plan_names,
        "current_minor": current_minor.astype(np.int64),
        "candidate_minor": candidate_minor.astype(np.int64),
    })
    rows["delta_minor"] = rows["candidate_minor"] - rows["current_minor"]
    rows["cheapest_current"] = _names(cheapest_now, now_ids)
    rows["cheapest_candidate"] = _names(cheapest_new, new_ids)
    names_now = np.array(now_ids + [""], dtype=object)[cheapest_now]
    names_new = np.array(new_ids + [""], dtype=object)[cheapest_new]
    rows["switched"] = names_now != names_new
    return Backtest(current, candidate, rows)


# --- sensitivity -----------------------------------------------------------------


def sensitivity(
    catalog: Catalog,
    history: pd.DataFrame,
    percent: Decimal | int | str = 10,
    keys: Iterable[str] | None = None,
    plan_column: str = "plan",
    options: RateOptions | None = None,
) -> pd.DataFrame:
    """Revenue change for -``percent``% and +``percent``% on each price parameter (a tornado).

    Customers stay on their plans, so a parameter of plan P only moves the
    bills of P's customers: only those rows are rated again, and only under P.
    Sorted by swing, largest first; a change the catalog rejects (a tier
    bound pushed past the next) is reported in ``note`` with no figures.
    """
    _check_history(catalog, history)
    if "catalog" in history.columns:
        history = history[history["catalog"] == catalog.id]
    history = history.reset_index(drop=True)
    pct = Decimal(str(percent))
    if pct <= 0 or pct >= 100:
        raise UsageError(f"sensitivity percent must be between 0 and 100, got {percent}")
    requested = history[plan_column] if plan_column in history.columns else None
    base = rate(catalog, history, options=options)
    index, _ = _assigned(base, _plan_codes(list(base.plans), requested, len(history)))
    plan_names = np.array(list(base.plans), dtype=object)[index]
    base_minor = _take(base, index)
    revenue = int(base_minor.sum())
    wanted = set(keys) if keys is not None else None
    records: list[dict[str, Any]] = []
    for param in price_parameters(catalog):
        if wanted is not None and param.key not in wanted:
            continue
        rows = plan_names == param.plan
        subset = history.loc[rows]
        plan_base = int(base_minor[rows].sum())
        record: dict[str, Any] = {
            "key": param.key, "plan": param.plan, "kind": param.kind, "value": param.value,
            "customers_on_plan": int(subset["customer_id"].nunique()), "note": "",
        }
        for side, signed in (("low", -pct), ("high", pct)):
            try:
                moved = scale_parameter(catalog, param.key, signed)
            except CatalogError as exc:
                record[f"{side}_delta_minor"] = None
                record["note"] = str(exc)
                continue
            if subset.empty:
                record[f"{side}_delta_minor"] = 0
                continue
            totals = rate(moved, subset, [param.plan], options).plans[param.plan].total_minor
            record[f"{side}_delta_minor"] = int(totals.sum()) - plan_base
        records.append(record)
    out = pd.DataFrame.from_records(records, columns=[
        "key", "plan", "kind", "value", "customers_on_plan", "low_delta_minor", "high_delta_minor", "note"])
    low = pd.to_numeric(out["low_delta_minor"], errors="coerce").fillna(0)
    high = pd.to_numeric(out["high_delta_minor"], errors="coerce").fillna(0)
    out["swing_minor"] = (high - low).abs().astype(np.int64)
    out["revenue_minor"] = revenue
    out["percent"] = pct
    return out.sort_values(["swing_minor", "key"], ascending=[False, True]).reset_index(drop=True)


# --- histories -------------------------------------------------------------------


def history_from_store(store: Store, catalog_id: str, months: Sequence[str] | None = None) -> pd.DataFrame:
    """The metered history of one catalog's customers: one row per customer-month, with their plan."""
    chosen = list(months) if months is not None else store.months()
    if not chosen:
        raise UsageError("the store holds no metered months; ingest events first")
    frames = []
    for month in chosen:
        usage = store.customer_usage(month, catalog_id)
        usage.insert(1, "month", month)
        frames.append(usage)
    history = pd.concat(frames, ignore_index=True)
    customers = store.customers()
    if "plan" in customers.columns:
        history = history.merge(customers[["customer_id", "plan"]], on="customer_id", how="left")
    return history


def synthetic_history(catalog: Catalog, customers: int, months: int, seed: int,
                      monthly_growth: float = 0.02) -> pd.DataFrame:
    """A made-up history: ``customers`` x ``months`` rows, each customer growing month on month.

    Month one comes from :func:`pricing.sample_data.generate_usage_table`;
    metered metrics then grow by a per-customer rate with noise (floats for
    simulation, rounded to whole units). Each customer is on the plan that was
    cheapest for them in month one.
    """
    from .sample_data import generate_usage_table

    if customers < 1 or months < 1:
        raise UsageError(f"synthetic history needs customers >= 1 and months >= 1, got {customers} x {months}")
    first = generate_usage_table(catalog, customers, seed)
    rng = np.random.default_rng([seed, 0xB4C7])
    growth = rng.normal(monthly_growth, 0.03, customers)
    ids = np.array([f"C{i:06d}" for i in range(customers)], dtype=object)
    month_names = [shift_month(date(2025, 1, 1), m) for m in range(months)]
    frames = []
    metered = [m for m in first.columns if catalog.metrics[m].kind is MetricKind.METERED]
    for m, name in enumerate(month_names):
        frame = first.copy()
        factor = (1 + growth) ** m * rng.lognormal(0, 0.08, customers)
        for metric in metered:
            frame[metric] = np.round(first[metric].to_numpy() * factor).astype(np.int64).clip(0)
        frame.insert(0, "month", name)
        frame.insert(0, "customer_id", ids)
        frames.append(frame)
    history = pd.concat(frames, ignore_index=True)
    plans = rate(catalog, first).cheapest().fillna(next(iter(catalog.plans))).to_numpy(dtype=object)
    history.insert(2, "plan", np.tile(plans, months))
    return history


__all__ = ["Backtest", "backtest", "history_from_store", "sensitivity", "synthetic_history"]
