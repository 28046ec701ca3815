"""A backtest of millions of customer-months, streamed: rated in blocks, kept as running sums.

:func:`pricing.analysis.backtest.backtest` holds every customer-month (about 1.4 KB each);
here history arrives in chunks (a month of the store, or a block of customers),
each chunk is rated in blocks of :data:`BLOCK_ROWS` rows under both catalogs by
the same per-row rule (:func:`pricing.analysis.backtest.rate_rows`), and only these are kept:

- per customer: the two sums, months seen, the plan and the cheapest plans of the
  latest month, months whose cheapest plan differs (about 60 bytes a customer);
- per month and per plan: the two sums and which customers were seen;
- every customer-month's change as one int64 (8 bytes), for exact percentiles.

Sums stay exact at any size: they are int64 while an upper bound of every sum
(the running sum of absolute bills) stays below 2**62, and Python integers from
the first block that could pass it. The cuts are the in-memory backtest's own
(:class:`pricing.analysis.backtest.CustomerCuts`), on the same columns, so a report cannot
tell the two apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pricing.analysis.backtest import (PER_CUSTOMER_COLUMNS, CustomerCuts, Tornado, check_catalogs, check_history,
                                       exact_column, exact_sum, percent_change, rate_rows, unchanged_plans)
from pricing.engine.catalog import Catalog
from pricing.errors import UsageError
from pricing.engine.periods import month_number
from pricing.engine.rating import RateOptions

if TYPE_CHECKING:
    from pricing.metering.store import Store

BLOCK_ROWS = 65_536  # customer-months rated together: two catalogs' lines for a block stay well under 100 MB
_SAFE = 2**62  # below this bound every running sum fits int64 with room for one more block


class _Sums:
    """Exact running sums indexed by position: int64 while safe, Python ints after."""

    def __init__(self, size: int) -> None:
        self.values = np.zeros(size, dtype=np.int64)

    def grow(self, size: int) -> None:
        if size > len(self.values):
            grown = np.zeros(max(size, 2 * len(self.values)), dtype=self.values.dtype)
            if self.values.dtype == object:
                grown[:] = 0
            grown[: len(self.values)] = self.values
            self.values = grown

    def exact(self) -> None:
        if self.values.dtype != object:
            self.values = self.values.astype(object)

    def add(self, positions: np.ndarray, amounts: np.ndarray, unique: bool) -> None:
        if self.values.dtype == object and amounts.dtype != object:
            amounts = amounts.astype(object)
        _add_at(self.values, positions, amounts, unique)


def _add_at(values: np.ndarray, positions: np.ndarray, amounts: np.ndarray, unique: bool) -> None:
    """``values[positions] += amounts``, also where a position repeats (``np.add.at``, slower)."""
    if unique:
        values[positions] += amounts
    else:
        np.add.at(values, positions, amounts)


class StreamedBacktest(CustomerCuts):
    """Running sums of a backtest, fed chunk by chunk (:meth:`add`), with the in-memory backtest's cuts."""

    def __init__(self, current: Catalog, candidate: Catalog, plan_column: str = "plan",
                 options: RateOptions | None = None, customer_ids: Sequence[str] | pd.Index | None = None,
                 block_rows: int = BLOCK_ROWS, tornado: Tornado | None = None) -> None:
        check_catalogs(current, candidate)
        if tornado is not None and tornado.catalog is not current:
            raise UsageError("the tornado must move the current catalog's prices")
        self.tornado = tornado
        self._unchanged = unchanged_plans(current, candidate)
        self.current, self.candidate = current, candidate
        self.plan_column, self.options, self.block_rows = plan_column, options, block_rows
        self.now_ids, self.new_ids = list(current.plans), list(candidate.plans)
        ids = pd.Index([] if customer_ids is None else customer_ids, dtype=object)
        self._given = ids  # the book, when known: categorical ids over it map without a lookup
        self._ids: list[Any] = list(ids)
        self._index_built: dict[Any, int] | None = None  # id -> position, built when a lookup needs it
        self._mapped: tuple[pd.Index, np.ndarray] | None = None  # the last categories mapped to positions
        size = max(len(self._ids), 1024)
        self._current, self._candidate = _Sums(size), _Sums(size)
        self._months_seen = np.zeros(size, dtype=np.int32)
        self._switched = np.zeros(size, dtype=np.int32)
        # the latest month each column was set in (0: never), and its value (plan positions, -1: none)
        self._plan = np.full(size, -1, dtype=np.int16)
        self._plan_month = np.zeros(size, dtype=np.int32)
        self._cheap_now = np.full(size, -1, dtype=np.int16)
        self._cheap_now_month = np.zeros(size, dtype=np.int32)
        self._cheap_new = np.full(size, -1, dtype=np.int16)
        self._cheap_new_month = np.zeros(size, dtype=np.int32)
        self._on_plan = np.zeros((size, len(self.now_ids)), dtype=bool)
        self._months: dict[str, dict[str, Any]] = {}  # month -> sums and the customers seen
        self._plans: dict[int, list[int]] = {}  # plan position -> [current, candidate]
        self._deltas: list[np.ndarray] = []
        self._bound = 0  # the running sum of absolute bills: an upper bound of every sum
        self.customer_months = 0
        self._frozen = False

    # --- feeding ------------------------------------------------------------------------------

    def _positions(self, column: pd.Series) -> np.ndarray:
        """Each row's customer as a position, new customers appended (categorical ids map their categories)."""
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = column.cat.codes.to_numpy()
            if (codes < 0).any():
                raise UsageError("usage history: a row has no customer_id")
            categories = column.cat.categories
            # NOTE: every block of a month shares its categories (a million ids): map them once, and
            # not at all when they are the book the backtest was opened with
            if self._mapped is None or self._mapped[0] is not categories:
                same = len(categories) == len(self._given) and (categories is self._given
                                                                 or categories.equals(self._given))
                self._mapped = (categories, np.arange(len(categories)) if same else self._lookup(categories))
            return self._mapped[1][codes]
        values = column.to_numpy(dtype=object)
        if pd.isna(values).any():
            raise UsageError("usage history: a row has no customer_id")
        return self._lookup(values)

    @property
    def _index(self) -> dict[Any, int]:
        if self._index_built is None:
            self._index_built = {c: i for i, c in enumerate(self._ids)}
        return self._index_built

    def _lookup(self, ids: Any) -> np.ndarray:
        index = self._index
        out = np.empty(len(ids), dtype=np.int64)
        for i, customer in enumerate(ids):
            found = index.get(customer)
            if found is None:
                found = index[customer] = len(self._ids)
                self._ids.append(customer)
            out[i] = found
        self._grow(len(self._ids))
        return out

    def _grow(self, size: int) -> None:
        if size <= len(self._months_seen):
            return
        new = max(size, 2 * len(self._months_seen))
        self._current.grow(new)
        self._candidate.grow(new)
        for name in ("_months_seen", "_switched", "_plan_month", "_cheap_now_month", "_cheap_new_month"):
            setattr(self, name, np.concatenate([getattr(self, name), np.zeros(new - len(getattr(self, name)),
                                                                                 dtype=np.int32)]))
        for name in ("_plan", "_cheap_now", "_cheap_new"):
            setattr(self, name, np.concatenate([getattr(self, name), np.full(new - len(getattr(self, name)), -1,
                                                                               dtype=np.int16)]))
        self._on_plan = np.vstack([self._on_plan, np.zeros((new - len(self._on_plan), len(self.now_ids)), bool)])
        for month in self._months.values():
            month["seen"] = np.concatenate([month["seen"], np.zeros(new - len(month["seen"]), dtype=bool)])

    def add(self, history: pd.DataFrame) -> None:
        """Rate one chunk of history (``customer_id``, ``month``, metrics, optionally the plan) and add it."""
        if self._frozen:
            raise UsageError("a streamed backtest cannot take more history once its cuts were read")
        check_history(self.current, history)
        if "catalog" in history.columns:
            history = history[history["catalog"] == self.current.id]
        for start in range(0, len(history), self.block_rows):
            self._add_block(history.iloc[start:start + self.block_rows].reset_index(drop=True))

    def _add_block(self, block: pd.DataFrame) -> None:
        positions = self._positions(block["customer_id"])
        column = block["month"]
        months = column.array if isinstance(column.dtype, pd.CategoricalDtype) else pd.Categorical(column.astype(str))
        numbers = [month_number(str(m)[:7], UsageError, "usage history: month") for m in months.categories]
        month_numbers = np.array(numbers, dtype=np.int32)[months.codes]
        rated = rate_rows(self.current, self.candidate, block, self.plan_column, self.options, self._unchanged)
        current, candidate = rated.current_minor, rated.candidate_minor
        for amounts in (current, candidate):
            if amounts.dtype == object:
                self._bound = _SAFE
            elif len(amounts):
                self._bound += int(np.abs(amounts).max()) * len(amounts)
        if self._bound >= _SAFE:
            self._current.exact()
            self._candidate.exact()
        # a month of the store names each customer once: plain fancy indexing, no np.*.at
        unique = len(positions) < 2 or bool(np.all(positions[1:] > positions[:-1]))
        self._current.add(positions, current, unique)
        self._candidate.add(positions, candidate, unique)
        if current.dtype == object or candidate.dtype == object:
            delta = np.array([int(b) - int(a) for a, b in zip(current, candidate)], dtype=object)
        else:
            delta = candidate - current  # each bill is below 2**62 here, so the difference fits int64
        self._deltas.append(delta)
        _add_at(self._months_seen, positions, np.ones(len(positions), dtype=np.int32), unique)
        _add_at(self._switched, positions, rated.switched.astype(np.int32), unique)
        self._latest(self._plan, self._plan_month, positions, month_numbers, rated.plan, unique)
        self._latest(self._cheap_now, self._cheap_now_month, positions, month_numbers, rated.cheapest_now, unique)
        self._latest(self._cheap_new, self._cheap_new_month, positions, month_numbers, rated.cheapest_new, unique)
        self._on_plan[positions, rated.plan] = True
        for code, month in enumerate(months.categories):
            rows = months.codes == code
            every = bool(rows.all())
            entry = self._months.get(str(month))
            if entry is None:
                entry = self._months[str(month)] = {"current": 0, "candidate": 0,
                                                    "seen": np.zeros(len(self._months_seen), dtype=bool)}
            entry["current"] += exact_sum(current if every else current[rows])
            entry["candidate"] += exact_sum(candidate if every else candidate[rows])
            entry["seen"][positions if every else positions[rows]] = True
        for code in range(len(self.now_ids)):
            rows = rated.plan == code
            if not rows.any():
                continue
            sums = self._plans.setdefault(code, [0, 0])
            sums[0] += exact_sum(current[rows])
            sums[1] += exact_sum(candidate[rows])
        if self.tornado is not None:
            self.tornado.add(block, rated.plan, current)
        self.customer_months += len(block)

    @staticmethod
    def _latest(values: np.ndarray, months: np.ndarray, positions: np.ndarray, month_numbers: np.ndarray,
                codes: np.ndarray, unique: bool) -> None:
        """Keep, per customer, the value of the latest month that has one (a later row of a month wins;
        -1, no plan, never replaces a plan: the in-memory table's ``last()`` skips it too)."""
        present = codes >= 0
        if not present.all():
            positions, month_numbers, codes = positions[present], month_numbers[present], codes[present]
        if unique:
            months[positions] = np.maximum(months[positions], month_numbers)
        else:
            np.maximum.at(months, positions, month_numbers)
        latest = month_numbers == months[positions]
        values[positions[latest]] = codes[latest]

    # --- cuts -----------------------------------------------------------------------------------

    @property
    def customer_count(self) -> int:
        return len(self._ids)

    def totals(self) -> dict[str, int]:
        current = sum(m["current"] for m in self._months.values())
        candidate = sum(m["candidate"] for m in self._months.values())
        return {"current_minor": current, "candidate_minor": candidate, "delta_minor": candidate - current}

    def _revenue(self, keys: list[Any], sums: list[tuple[int, int]], customers: list[int], label: str) -> pd.DataFrame:
        current = [a for a, _ in sums]
        candidate = [b for _, b in sums]
        out = pd.DataFrame({
            label: keys,
            "current_minor": exact_column(current), "candidate_minor": exact_column(candidate),
            "delta_minor": exact_column([b - a for a, b in zip(current, candidate)]),
            "customers": np.array(customers, dtype=np.int64),
        })
        out["delta_percent"] = percent_change(out["delta_minor"], out["current_minor"])
        return out

    def by_month(self) -> pd.DataFrame:
        """Revenue today and under the candidate per month (exact sums)."""
        months = sorted(self._months)
        entries = [self._months[m] for m in months]
        return self._revenue(months, [(e["current"], e["candidate"]) for e in entries],
                             [int(e["seen"].sum()) for e in entries], "month")

    def by_plan(self) -> pd.DataFrame:
        """Revenue today and under the candidate per plan the customers are billed on."""
        codes = sorted(self._plans)
        n = len(self._ids)
        plans = pd.Categorical.from_codes(codes, categories=pd.Index(self.now_ids))
        # the ignore: each value is a [current, candidate] pair, which mypy cannot count
        return self._revenue(list(plans), [tuple(self._plans[c]) for c in codes],  # type: ignore[misc]
                             [int(self._on_plan[:n, c].sum()) for c in codes], "plan")

    @cached_property
    def _per_customer(self) -> pd.DataFrame:
        self._frozen = True
        n = len(self._ids)
        ids = np.array(self._ids, dtype=object)
        order = np.argsort(ids, kind="stable") if n else np.zeros(0, dtype=np.int64)
        current = self._current.values[:n][order]
        candidate = self._candidate.values[:n][order]
        delta = candidate - current
        out = pd.DataFrame({
            "customer_id": ids[order],
            "plan": pd.Categorical.from_codes(self._plan[:n][order].astype(np.int64),
                                              categories=pd.Index(self.now_ids)),
            "months": self._months_seen[:n][order].astype(np.int64),
            "current_minor": current, "candidate_minor": candidate, "delta_minor": delta,
            "cheapest_current": pd.Categorical.from_codes(self._cheap_now[:n][order].astype(np.int64),
                                                          categories=pd.Index(self.now_ids)),
            "cheapest_candidate": pd.Categorical.from_codes(self._cheap_new[:n][order].astype(np.int64),
                                                            categories=pd.Index(self.new_ids)),
            "switched_months": self._switched[:n][order].astype(np.int64),
        })
        out["delta_percent"] = percent_change(out["delta_minor"], out["current_minor"])
        return out[PER_CUSTOMER_COLUMNS]

    def per_customer(self) -> pd.DataFrame:
        """One row per customer over the whole history, sorted by customer id (amounts exact)."""
        return self._per_customer

    def sensitivity(self) -> pd.DataFrame | None:
        """The tornado of the current catalog's prices over the same history (None: not asked for)."""
        if self.tornado is None:
            return None
        n = len(self._ids)
        return self.tornado.frame({plan: int(self._on_plan[:n, code].sum()) for code, plan in enumerate(self.now_ids)})

    def _month_deltas(self) -> np.ndarray:
        if not self._deltas:
            return np.zeros(0, dtype=np.int64)
        if any(d.dtype == object for d in self._deltas):
            return np.concatenate([d.astype(object) for d in self._deltas])
        return np.concatenate(self._deltas)


def backtest_streamed(current: Catalog, candidate: Catalog, chunks: Iterable[pd.DataFrame],
                      plan_column: str = "plan", options: RateOptions | None = None,
                      customer_ids: Sequence[str] | pd.Index | None = None,
                      block_rows: int = BLOCK_ROWS, sensitivity_percent: Any = None) -> StreamedBacktest:
    """Rate each chunk of history under both catalogs and keep running sums (see the module docstring).

    With ``sensitivity_percent``, the tornado of the current catalog's prices
    (:func:`pricing.analysis.backtest.sensitivity`) is summed over the same blocks. An empty
    history is an error, not an empty report.
    """
    tornado = None if sensitivity_percent is None else Tornado.of(current, sensitivity_percent, options=options)
    result = StreamedBacktest(current, candidate, plan_column, options, customer_ids, block_rows, tornado)
    for chunk in chunks:
        result.add(chunk)
    if result.customer_months == 0:
        raise UsageError(f"the usage history holds no customer-month of catalog {current.id!r}")
    return result


# --- the store, a month at a time ---------------------------------------------------------------


@dataclass(frozen=True)
class StoreHistory:
    """A catalog's customers in the store, and their metered months read one at a time."""

    store: Store
    catalog: Catalog
    months: tuple[str, ...]
    customer_ids: pd.Index  # sorted; a month's rows come in this order
    plans: pd.Categorical  # each customer's plan in the customers table (missing: none)
    metrics: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.customer_ids) * len(self.months)

    def chunks(self) -> Iterator[pd.DataFrame]:
        """One frame per month, in :attr:`customer_ids` order: customer_id (categorical over them), month, plan,
        metrics.

        The sums per metric are done by DuckDB and cast to BIGINT, so a metered total past int64 stops the
        run with one line instead of arriving as a rounded float.
        """
        import duckdb

        sums = ", ".join(f"sum(value) FILTER (WHERE metric = ?) AS \"{name}\"" for name in self.metrics)
        zeros = ", ".join(f"CAST(coalesce(g.\"{name}\", 0) AS BIGINT) AS \"{name}\"" for name in self.metrics)
        # NOTE: summing a month's rows by customer first and joining the book afterwards costs about a third
        # less CPU than joining every metric row to the book
        query = (f"WITH g AS (SELECT customer_id, {sums} FROM customer_metrics WHERE month = ? GROUP BY customer_id)"
                 f" SELECT b.position, {zeros} FROM _backtest_book b LEFT JOIN g USING (customer_id)")
        id_dtype = pd.CategoricalDtype(self.customer_ids, ordered=False)
        n = len(self.customer_ids)
        for month in self.months:
            try:
                arrays = self.store.con.execute(query, [*self.metrics, month]).fetchnumpy()
            except duckdb.Error as exc:
                raise UsageError(f"{self.store.path}: metered usage of {month} cannot be read exactly: "
                                 f"{str(exc).splitlines()[0]}") from None
            positions = np.asarray(arrays["position"], dtype=np.int64)
            frame = pd.DataFrame({
                "customer_id": pd.Categorical.from_codes(np.arange(n), dtype=id_dtype),
                "month": pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=pd.Index([month])),
                "plan": self.plans,
            })
            for name in self.metrics:
                column = np.zeros(n, dtype=np.int64)
                column[positions] = np.asarray(arrays[name], dtype=np.int64)  # rows come in any order
                frame[name] = column
            yield frame


def store_history(store: Store, catalog: Catalog, months: Sequence[str]) -> StoreHistory:
    """The customers of ``catalog`` in the store (with their plans), ready to be read month by month.

    Registers a numbered customer table in the connection, so each month's query returns
    positions instead of repeating a million customer ids.
    """
    from pricing.metering.meters import metered_metrics

    book = store.con.execute(
        "SELECT customer_id, plan FROM customers WHERE catalog = ? ORDER BY customer_id", [catalog.id]).df()
    if book.empty:
        raise UsageError(f"no customer of the store is on catalog {catalog.id!r}")
    ids = pd.Index(book["customer_id"].astype(object), dtype=object)
    if ids.has_duplicates:
        raise UsageError(f"{store.path}: customer {ids[ids.duplicated()][0]!r} appears twice in the customers table")
    numbered = pd.DataFrame({"position": np.arange(len(ids), dtype=np.int64), "customer_id": ids.to_numpy()})
    store.con.register("_backtest_book", numbered)
    plans = pd.Categorical(book["plan"].where(book["plan"].notna(), None))
    return StoreHistory(store, catalog, tuple(months), ids, plans, tuple(metered_metrics(catalog)))


__all__ = ["BLOCK_ROWS", "StoreHistory", "StreamedBacktest", "backtest_streamed", "store_history"]
