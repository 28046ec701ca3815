"""Backtests: what a candidate catalog would have billed on the metered history.

A *history* is a DataFrame with one row per customer and month: ``customer_id``,
``month``, optionally ``plan`` (the plan the customer is on), and one column
per metric. It comes from the store (:func:`history_from_store`) or, for
tests and benchmarks, from :func:`synthetic_history`.

Both catalogs rate the whole history in one vectorized call each
(:func:`pricing.engine.rating.rate`); every amount is an integer of the minor unit
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

from pricing.analysis.candidates import price_parameters, scale_parameter
from pricing.engine.catalog import Catalog, MetricKind
from pricing.errors import CatalogError, UsageError
from pricing.engine.periods import shift_month
from pricing.engine.rating import RateOptions, RatedTable, cheapest_positions, rate

if TYPE_CHECKING:
    from pricing.metering.store import Store

KEYS = ("customer_id", "month")


def check_history(catalog: Catalog, history: pd.DataFrame) -> None:
    """One UsageError line unless ``history`` has the columns and metrics a backtest of ``catalog`` reads."""
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


@dataclass(frozen=True)
class _PlanTotals:
    """Every plan's bill and eligibility per row, in the catalog's plan order."""

    ids: list[str]
    totals: list[np.ndarray]
    eligible: list[np.ndarray]

    @classmethod
    def of(cls, rated: RatedTable) -> _PlanTotals:
        return cls(list(rated.plans), [r.total_minor for r in rated.plans.values()],
                   [r.eligible for r in rated.plans.values()])


def _assigned(plans: _PlanTotals, requested: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's billed plan: the requested one, else the cheapest eligible, else the cheapest outright;
    and each row's cheapest eligible plan (-1: none)."""
    cheapest = cheapest_positions(plans.totals, plans.eligible)
    index = np.where(requested >= 0, requested, cheapest)
    unplaced = index < 0
    if unplaced.any():  # no plan asked for and none eligible: only these rows need the outright cheapest
        index[unplaced] = cheapest_positions([t[unplaced] for t in plans.totals])
    return index, cheapest


def _take(plans: _PlanTotals, index: np.ndarray) -> np.ndarray:
    totals = np.stack(plans.totals, axis=1)
    return np.take_along_axis(totals, index[:, None], axis=1)[:, 0]


_COSMETIC = {"name", "version", "vendor", "description", "sources", "sample_usage"}


def unchanged_plans(current: Catalog, candidate: Catalog) -> frozenset[str]:
    """Plans the candidate leaves exactly as they are, in a catalog whose rating rules are the same.

    Their bills are the same under both catalogs (rating is a pure function of catalog and usage),
    so a backtest rates them once; a price change on one plan costs one plan's rating, not a catalog's.
    """
    if current.model_dump(exclude=_COSMETIC | {"plans"}) != candidate.model_dump(exclude=_COSMETIC | {"plans"}):
        return frozenset()
    return frozenset(p for p, plan in candidate.plans.items() if p in current.plans and current.plans[p] == plan)


def _names(codes: np.ndarray, plan_ids: Sequence[str]) -> pd.Categorical[str]:
    return pd.Categorical.from_codes(codes, categories=pd.Index(list(plan_ids)))


class CustomerCuts:
    """The cuts made from one row per customer (:meth:`per_customer`): shared by the in-memory and the
    streamed backtest, so both answer the same way."""

    current: Catalog
    candidate: Catalog

    def per_customer(self) -> pd.DataFrame:
        raise NotImplementedError

    def _month_deltas(self) -> np.ndarray:
        """Every customer-month's change (exact minor units), for percentiles per month."""
        raise NotImplementedError

    def percentiles(self, levels: Sequence[int] = (50, 95), per: str = "customer") -> dict[str, int]:
        """Percentiles of the bill change, each an actual observed change (exact minor units).

        ``per``: ``customer`` (change over the whole history) or ``month``
        (change of each customer-month). Uses the inverted CDF, so p50 is a
        real customer's change, not an average of two.
        """
        if per not in ("customer", "month"):
            raise UsageError(f"percentiles per {per!r}: choose 'customer' or 'month'")
        values = self.per_customer()["delta_minor"].to_numpy() if per == "customer" else self._month_deltas()
        if len(values) == 0:
            return {f"p{q}": 0 for q in levels}
        if values.dtype == object:  # past int64: pick the observed value by rank, as Python ints
            ordered = sorted(int(v) for v in values)
            return {f"p{q}": ordered[max(int(np.ceil(q / 100 * len(ordered))) - 1, 0)] for q in levels}
        found = np.percentile(values, list(levels), method="inverted_cdf")  # one sort for every level
        return {f"p{q}": int(v) for q, v in zip(levels, found)}

    def movement(self) -> pd.DataFrame:
        """Who pays more, who pays less, who pays the same: customers and total change (exact)."""
        delta = self.per_customer()["delta_minor"].to_numpy()
        side = np.sign(delta)
        rows = []
        for direction, sign in (("pays more", 1), ("pays less", -1), ("no change", 0)):
            chosen = delta[side == sign]
            total = exact_sum(chosen) if len(chosen) else 0
            largest = max(abs(int(chosen.max())), abs(int(chosen.min()))) if len(chosen) else 0
            rows.append((direction, len(chosen), total, largest if total >= 0 else -largest))
        return pd.DataFrame({
            "direction": [r[0] for r in rows],
            "customers": np.array([r[1] for r in rows], dtype=np.int64),
            "total_delta_minor": exact_column([r[2] for r in rows]),
            "largest_change_minor": exact_column([r[3] for r in rows]),
        })

    def top_movers(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` customers whose bill changes most in absolute terms (ties by customer id)."""
        per = self.per_customer()
        per = per.assign(_abs=per["delta_minor"].abs()).sort_values(["_abs", "customer_id"],
                                                                    ascending=[False, True])
        return per.drop(columns="_abs").head(n).reset_index(drop=True)

    def switched_customers(self) -> pd.DataFrame:
        """Customers whose cheapest plan changes in their latest month."""
        per = self.per_customer()
        changed = _plan_ids(per["cheapest_current"]) != _plan_ids(per["cheapest_candidate"])
        return per.loc[changed, ["customer_id", "plan", "cheapest_current", "cheapest_candidate",
                                 "delta_minor"]].reset_index(drop=True)

    def histogram(self, bins: int = 30) -> pd.DataFrame:
        """Counts of per-customer changes in ``bins`` equal-width bins (float edges, for charts)."""
        values = self.per_customer()["delta_minor"].to_numpy(dtype=np.float64)
        if len(values) == 0:
            return pd.DataFrame({"low": [], "high": [], "customers": []})
        counts, edges = np.histogram(values, bins=bins)
        return pd.DataFrame({"low": edges[:-1], "high": edges[1:], "customers": counts})


@dataclass(frozen=True)
class Backtest(CustomerCuts):
    """Current and candidate bills for every customer-month, with the usual cuts."""

    current: Catalog
    candidate: Catalog
    rows: pd.DataFrame  # one per customer-month; amounts in integer minor units

    # --- cuts -----------------------------------------------------------------

    def _revenue(self, by: str) -> pd.DataFrame:
        out = self.rows.groupby(by, sort=True, observed=True)[["current_minor", "candidate_minor", "delta_minor"]].sum()
        out["customers"] = self.rows.groupby(by, sort=True, observed=True)["customer_id"].nunique()
        out["delta_percent"] = percent_change(out["delta_minor"], out["current_minor"])
        return out.reset_index()

    @property
    def customer_count(self) -> int:
        return int(self.rows["customer_id"].nunique())

    @property
    def customer_months(self) -> int:
        return len(self.rows)

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
        out["delta_percent"] = percent_change(out["delta_minor"], out["current_minor"])
        return out.reset_index()[PER_CUSTOMER_COLUMNS]

    def _month_deltas(self) -> np.ndarray:
        return self.rows["delta_minor"].to_numpy()

    def switches(self) -> pd.DataFrame:
        """Customer-months whose cheapest plan under the candidate differs from today's."""
        cols = ["customer_id", "month", "plan", "cheapest_current", "cheapest_candidate", "current_minor",
                "candidate_minor"]
        return self.rows.loc[self.rows["switched"], cols].reset_index(drop=True)


PER_CUSTOMER_COLUMNS = [
    "customer_id", "plan", "months", "current_minor", "candidate_minor", "delta_minor", "delta_percent",
    "cheapest_current", "cheapest_candidate", "switched_months",
]


def exact_column(values: list[int]) -> np.ndarray:
    """Exact integers as int64 when they fit, Python ints otherwise."""
    if all(-(2**63) <= v < 2**63 for v in values):
        return np.array(values, dtype=np.int64)
    return np.array(values, dtype=object)


def _plan_ids(column: pd.Series) -> np.ndarray:
    """Plan ids as plain strings, '' for none (categorical columns by their codes: no string compare per row)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        names = np.append(np.asarray(column.cat.categories, dtype=object), "")
        return names[column.cat.codes.to_numpy()]
    return column.astype(object).fillna("").to_numpy(dtype=object)


def percent_change(delta: pd.Series, base: pd.Series) -> pd.Series:
    """``delta`` as a percentage of ``base`` (2 places; empty where the base is 0), for charts and tables."""
    base_f = base.astype(np.float64)
    return (delta.astype(np.float64) / base_f.where(base_f != 0) * 100).round(2)


@dataclass(frozen=True)
class RatedHistoryRows:
    """One block of customer-months rated under both catalogs: plan codes and exact bills per row."""

    now_ids: list[str]
    new_ids: list[str]
    plan: np.ndarray  # position in now_ids of the plan billed today
    cheapest_now: np.ndarray  # position in now_ids of the cheapest eligible plan today (-1: none)
    cheapest_new: np.ndarray  # position in new_ids, with the candidate (-1: none)
    current_minor: np.ndarray  # int64, or Python ints past int64
    candidate_minor: np.ndarray
    switched: np.ndarray  # bool: the cheapest plan's id differs


def rate_rows(current: Catalog, candidate: Catalog, history: pd.DataFrame, plan_column: str,
               options: RateOptions | None, unchanged: frozenset[str] = frozenset()) -> RatedHistoryRows:
    """Rate a block of history under both catalogs: the one per-row rule of plain and streamed backtests.

    A customer keeps the plan they are on; a customer without one (or on a plan the
    candidate removes) is billed on the cheapest eligible plan, else the cheapest outright.
    Plans in ``unchanged`` (:func:`unchanged_plans`) are rated once, under the current catalog.
    """
    requested = history[plan_column] if plan_column in history.columns else None
    rated_now = rate(current, history, options=options)
    changed = [p for p in candidate.plans if p not in unchanged]
    rated_new = rate(candidate, history, changed, options) if changed else None
    now = _PlanTotals.of(rated_now)
    new = _PlanTotals(list(candidate.plans), [], [])
    for plan_id in new.ids:
        source = rated_now if plan_id in unchanged else rated_new
        assert source is not None
        new.totals.append(source.plans[plan_id].total_minor)
        new.eligible.append(source.plans[plan_id].eligible)
    now_ids, new_ids = now.ids, new.ids
    now_index, cheapest_now = _assigned(now, _plan_codes(now_ids, requested, len(history)))
    # the candidate bills the same plan; a plan it removed falls back to its cheapest
    new_position = {p: i for i, p in enumerate(new_ids)}
    same_plan = np.array([new_position.get(p, -1) for p in now_ids] + [-1], dtype=np.int64)
    new_index, cheapest_new = _assigned(new, same_plan[now_index])
    # compare the cheapest plans by id: -1 (none eligible) only equals -1, a plan new in the candidate never
    # equals one of today's
    now_position = {p: i for i, p in enumerate(now_ids)}
    as_now = np.array([now_position.get(p, -2) for p in new_ids] + [-1], dtype=np.int64)
    return RatedHistoryRows(now_ids, new_ids, now_index, cheapest_now, cheapest_new, _take(now, now_index),
                      _take(new, new_index), cheapest_now != as_now[cheapest_new])


def backtest(
    current: Catalog,
    candidate: Catalog,
    history: pd.DataFrame,
    plan_column: str = "plan",
    options: RateOptions | None = None,
) -> Backtest:
    """Rate ``history`` under both catalogs and line up each customer-month's two bills.

    Rows whose ``catalog`` column (if any) names another catalog are left out. The
    whole history is held in memory (about 1.4 KB per customer-month); a store's
    history of millions of customer-months goes through :func:`backtest_streamed`.
    """
    check_catalogs(current, candidate)
    check_history(current, history)
    if "catalog" in history.columns:
        history = history[history["catalog"] == current.id]
    history = history.reset_index(drop=True)
    rated = rate_rows(current, candidate, history, plan_column, options, unchanged_plans(current, candidate))
    rows = pd.DataFrame({
        "customer_id": history["customer_id"].array,
        "month": history["month"].astype(str).array,
        "plan": _names(rated.plan, rated.now_ids),
        "current_minor": _int64(rated.current_minor),
        "candidate_minor": _int64(rated.candidate_minor),
    })
    rows["delta_minor"] = rows["candidate_minor"] - rows["current_minor"]
    rows["cheapest_current"] = _names(rated.cheapest_now, rated.now_ids)
    rows["cheapest_candidate"] = _names(rated.cheapest_new, rated.new_ids)
    rows["switched"] = rated.switched
    return Backtest(current, candidate, rows)


def check_catalogs(current: Catalog, candidate: Catalog) -> None:
    """One CatalogError line unless a candidate can be compared with the current catalog."""
    if current.currency != candidate.currency:
        raise CatalogError(f"cannot compare {current.currency} with {candidate.currency}:"
                           " a candidate must keep the currency")


def _int64(values: np.ndarray) -> np.ndarray:
    """Bills as int64 for the in-memory table, or one line when one is past int64 (the streamed backtest
    keeps such sums exact)."""
    if values.dtype == object:
        if len(values) and max(abs(int(v)) for v in values) >= 2**63:
            raise UsageError("a bill is past 9.2e18 minor units; the in-memory backtest holds int64 amounts"
                             " (pricing backtest streams and keeps such sums exact)")
        return values.astype(np.int64)
    return values.astype(np.int64, copy=False)


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
    check_history(catalog, history)
    if "catalog" in history.columns:
        history = history[history["catalog"] == catalog.id]
    history = history.reset_index(drop=True)
    tornado = Tornado.of(catalog, percent, keys, options)
    requested = history[plan_column] if plan_column in history.columns else None
    base = rate(catalog, history, options=options)
    plans = _PlanTotals.of(base)
    index, _ = _assigned(plans, _plan_codes(plans.ids, requested, len(history)))
    tornado.add(history, index, _take(plans, index))
    plan_names = np.array(list(base.plans), dtype=object)[index]
    customers = {plan: int(history.loc[plan_names == plan, "customer_id"].nunique()) for plan in base.plans}
    return tornado.frame(customers)


@dataclass
class Tornado:
    """Running sums of a tornado: each price parameter moved by -/+ percent, on each block of history."""

    catalog: Catalog
    percent: Decimal
    options: RateOptions | None
    moves: list[tuple[Any, dict[str, Catalog | str]]]  # (parameter, side -> moved catalog or why not)
    deltas: dict[str, dict[str, int]]  # parameter key -> side -> revenue change so far
    revenue: int = 0

    @classmethod
    def of(cls, catalog: Catalog, percent: Decimal | int | str, keys: Iterable[str] | None = None,
           options: RateOptions | None = None) -> Tornado:
        pct = Decimal(str(percent))
        if pct <= 0 or pct >= 100:
            raise UsageError(f"sensitivity percent must be between 0 and 100, got {percent}")
        wanted = set(keys) if keys is not None else None
        moves: list[tuple[Any, dict[str, Catalog | str]]] = []
        for param in price_parameters(catalog):
            if wanted is not None and param.key not in wanted:
                continue
            sides: dict[str, Catalog | str] = {}
            for side, signed in (("low", -pct), ("high", pct)):
                try:
                    sides[side] = scale_parameter(catalog, param.key, signed)
                except CatalogError as exc:
                    sides[side] = str(exc)
            moves.append((param, sides))
        return cls(catalog, pct, options, moves, {param.key: {"low": 0, "high": 0} for param, _ in moves})

    def add(self, history: pd.DataFrame, plan_index: np.ndarray, base_minor: np.ndarray) -> None:
        """Add one block: ``plan_index`` is each row's billed plan (a position in the catalog's plans),
        ``base_minor`` its bill today."""
        plan_ids = list(self.catalog.plans)
        self.revenue += exact_sum(base_minor)
        for param, sides in self.moves:
            rows = plan_index == plan_ids.index(param.plan)
            if not rows.any():
                continue
            subset = history.loc[rows]
            plan_base = exact_sum(base_minor[rows])
            for side, moved in sides.items():
                if isinstance(moved, Catalog):
                    totals = rate(moved, subset, [param.plan], self.options).plans[param.plan].total_minor
                    self.deltas[param.key][side] += exact_sum(totals) - plan_base

    def frame(self, customers_on_plan: dict[str, int]) -> pd.DataFrame:
        """The tornado table, largest swing first (``customers_on_plan``: distinct customers billed on each plan)."""
        records: list[dict[str, Any]] = []
        for param, sides in self.moves:
            record: dict[str, Any] = {
                "key": param.key, "plan": param.plan, "kind": param.kind, "value": param.value,
                "customers_on_plan": customers_on_plan.get(param.plan, 0), "note": "",
            }
            for side, moved in sides.items():
                if isinstance(moved, Catalog):
                    record[f"{side}_delta_minor"] = self.deltas[param.key][side]
                else:
                    record[f"{side}_delta_minor"] = None
                    record["note"] = moved
            records.append(record)
        out = pd.DataFrame.from_records(records, columns=[
            "key", "plan", "kind", "value", "customers_on_plan", "low_delta_minor", "high_delta_minor", "note"])
        low = pd.to_numeric(out["low_delta_minor"], errors="coerce").fillna(0)
        high = pd.to_numeric(out["high_delta_minor"], errors="coerce").fillna(0)
        out["swing_minor"] = (high - low).abs().astype(np.int64)
        out["revenue_minor"] = self.revenue
        out["percent"] = pd.Series(self.percent, index=out.index, dtype=object)
        return out.sort_values(["swing_minor", "key"], ascending=[False, True]).reset_index(drop=True)


def exact_sum(amounts: np.ndarray) -> int:
    """The exact sum of bills: int64 while it cannot wrap, Python ints past that."""
    if amounts.dtype != object and len(amounts) and int(np.abs(amounts).max()) * len(amounts) < 2**62:
        return int(amounts.sum())
    return sum(int(a) for a in amounts)


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

    Month one comes from :func:`pricing.metering.sample_data.generate_usage_table`;
    metered metrics then grow by a per-customer rate with noise (floats for
    simulation, rounded to whole units). Each customer is on the plan that was
    cheapest for them in month one.
    """
    from pricing.metering.sample_data import generate_usage_table

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
