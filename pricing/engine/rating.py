"""Rating: catalog x usage table -> invoice lines and totals, for every row at once.

There is one engine. A single quote is a table of one row; a month-end run
or a backtest is a table of a million rows. Amounts are scaled integers all
the way (see :mod:`pricing.engine.charges`); each line is rounded once, here, with
the catalog's rounding rule, and totals are sums of rounded lines.

Order of lines on an invoice: recurring fee, each charge (a commitment line
first, then the usage past it), minimum-spend true-up, discounts, tax.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from datetime import datetime
from decimal import Decimal, InvalidOperation
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from pricing.engine.catalog import Catalog, Charge, Discount, MetricKind, Plan, RoundingScope
from pricing.engine.charges import ChargeModel, ModelResult, exact, model_in
from pricing.engine.charges.percentage_per_transaction import PercentagePerTransaction
from pricing.errors import UsageError
from pricing.engine.formatting import grouped_number, grouped_scaled
from pricing.engine.invoice import Invoice, Line, LineType
from pricing.engine.money import decimal_places, from_minor, from_scaled, round_scaled, scaled_int, to_minor

if TYPE_CHECKING:  # pandas is imported where a table is read or made: a single quote never needs it
    import pandas as pd

Array = np.ndarray

CHUNK_ROWS = 32_768  # rows rated together; small enough for each temporary to stay in cache
_HELD = (MetricKind.COUNT, MetricKind.FLAG)  # metrics a customer holds: billed per period, prorated
_INT64_SAFE = 2**63 - 1


@dataclass(frozen=True)
class RateOptions:
    """What to include when rating, beyond the catalog itself.

    ``charge_kinds`` limits the charges rated (``usage``, ``addon``,
    ``feature``); subscriptions rate usage alone and prorate the rest.
    ``tax_percent`` overrides the catalog's (bundled catalogs carry none: tax
    belongs to the customer). ``period_index`` counts billing periods from the
    start, for discounts limited to the first N periods.
    """

    charge_kinds: frozenset[str] | None = None
    include_recurring: bool = True
    include_minimum: bool = True
    include_plan_discounts: bool = True
    discounts: tuple[Discount, ...] = ()
    tax_percent: Decimal | None = None
    billing_details: bool = True
    period_index: int = 0
    # settings.rounding_scope 'invoice' adds a rounding line; subscriptions add their own after proration
    invoice_rounding: bool = True


DEFAULT_OPTIONS = RateOptions()


# --- usage input ---------------------------------------------------------------


@dataclass(frozen=True)
class UsageColumns:
    """Usage as exact integer arrays, one per metric, scaled by the metric's decimals."""

    index: pd.Index | range  # a table's index, or range(1) for one mapping
    values: dict[str, Array]
    given: frozenset[str]  # metrics present in the input (others are zero or defaulted)
    # a metric given as lists of transaction amounts: each row's list, in order (values holds the sums)
    transactions: dict[str, tuple[Array | None, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.index)

    def rows(self, start: int, stop: int) -> UsageColumns:
        """A slice of rows (views, no copies)."""
        return UsageColumns(self.index[start:stop], {k: v[start:stop] for k, v in self.values.items()}, self.given,
                            {k: v[start:stop] for k, v in self.transactions.items()})


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def _transaction_list(name: str, raw: Sequence[Any], decimals: int, where: str) -> Array:
    """One row's transaction amounts as scaled integers (each checked like a quantity)."""
    return np.array([parse_quantity(name, item, decimals, where=f"{where}transaction {i + 1} of ")
                     for i, item in enumerate(raw)], dtype=np.int64)


def _sum_transactions(name: str, rows: Sequence[Array], decimals: int) -> Array:
    from pricing.engine.money import MAX_SCALED_QUANTITY  # local: this module's imports belong to the engine

    sums = [int(sum(int(a) for a in row)) for row in rows]
    if any(total > MAX_SCALED_QUANTITY for total in sums):
        largest = Decimal(MAX_SCALED_QUANTITY).scaleb(-decimals)
        raise UsageError(f"{name}: the transactions of a period add up to more than {largest:,f}")
    return np.array(sums, dtype=np.int64)


def _column_to_scaled(name: str, column: pd.Series, decimals: int) -> Array:
    """Exact scaled integers from an int, float or text/Decimal column, or a clear error.

    NOTE: every value is checked against MAX_SCALED_QUANTITY *before* it is scaled:
    an int64 of 10**13 on a 6-decimal metric would wrap when multiplied, and a
    float 1e19 would become INT64_MIN when cast.
    """
    import pandas as pd

    from pricing.engine.money import MAX_SCALED_QUANTITY  # local: this module's imports belong to the engine

    scale = 10**decimals
    limit = MAX_SCALED_QUANTITY // scale

    def too_large(row: Any) -> UsageError:
        largest = Decimal(MAX_SCALED_QUANTITY).scaleb(-decimals)
        return UsageError(f"usage row {row!r}: {name}={column[row]} is too large (at most {largest:,f})")

    if pd.api.types.is_integer_dtype(column.dtype) and not pd.api.types.is_extension_array_dtype(column.dtype):
        raw = column.to_numpy()  # in its own dtype: a uint64 above 2**63 must not wrap on the way in
        if raw.dtype.kind == "i" and (raw < 0).any():
            row = column.index[int(np.argmax(raw < 0))]
            raise UsageError(f"usage row {row!r}: {name} is negative ({column[row]}); quantities must be >= 0")
        if len(raw) and raw.max() > limit:
            raise too_large(column.index[int(np.argmax(raw > limit))])
        values = raw.astype(np.int64)
        return values * scale if scale != 1 else values
    if pd.api.types.is_float_dtype(column.dtype):
        values = column.to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            bad = ~np.isfinite(values) | (values < 0) | (values * scale != np.round(values * scale))
        if bad.any():
            row = column.index[int(np.argmax(bad))]
            value = float(column[row])
            if not np.isfinite(value):
                raise UsageError(f"usage row {row!r}: {name} is missing or not a number ({value})")
            raise UsageError(
                f"usage row {row!r}: {name}={value} is not an exact quantity"
                f" (>= 0, at most {decimals} decimal places; give fractions as text)"
            )
        if len(values) and values.max() > limit:
            raise too_large(column.index[int(np.argmax(values > limit))])
        return np.round(values * scale).astype(np.int64)
    # text, Decimal or mixed objects: parse each exactly
    out = np.empty(len(column), dtype=np.int64)
    for i, (row, raw_value) in enumerate(column.items()):
        out[i] = parse_quantity(name, raw_value, decimals, where=f"usage row {row!r}: ")
    return out


def parse_quantity(name: str, raw: Any, decimals: int, where: str = "") -> int:
    """One quantity as a scaled integer; rejects negatives, non-numbers, excess precision and size.

    The scaled result is at most MAX_SCALED_QUANTITY (18 digits), so it always fits int64.
    """
    from pricing.engine.money import MAX_SCALED_QUANTITY  # local: this module's imports belong to the engine

    if isinstance(raw, bool) or raw is None or (isinstance(raw, float) and not np.isfinite(raw)):
        raise UsageError(f"{where}{name}={raw!r} is not a number")
    shown = str(raw).strip()
    if len(shown) > 60:
        shown = shown[:20] + "..." + shown[-10:] + f" ({len(shown)} characters)"
    try:
        value = Decimal(str(raw).strip().replace("_", "")) if not isinstance(raw, Decimal) else raw
    except (InvalidOperation, ValueError):
        raise UsageError(f"{where}{name}={shown!r} is not a number") from None
    if not value.is_finite():
        raise UsageError(f"{where}{name}={shown!r} is not a number")
    if value < 0:
        raise UsageError(f"{where}{name}={shown} is negative; quantities must be >= 0")
    limit = Decimal(MAX_SCALED_QUANTITY).scaleb(-decimals)
    # NOTE: Decimal comparison is exact and cheap, even for "1e99999999"
    if value > limit:
        raise UsageError(f"{where}{name}={shown} is too large (at most {limit:,f})")
    # NOTE: places are counted from the digits, not with scaleb, which rounds to 28 digits
    # and would take 1.000...0001 (37 places) for a whole number.
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if any(digits) and max(0, -(exponent + trailing)) > decimals:
        unit = "a whole number" if decimals == 0 else f"at most {decimals} decimal places"
        raise UsageError(f"{where}{name}={shown} must be {unit}")
    return scaled_int(value, decimals)


def usage_columns(catalog: Catalog, usage: pd.DataFrame | Mapping[str, Any]) -> UsageColumns:
    """Normalise a usage table (or one mapping) into exact scaled arrays.

    In a table, columns that are not metrics (customer ids, months) are left
    alone; in a single mapping every key must be a metric of the catalog.
    """
    if isinstance(usage, Mapping):
        unknown = [key for key in usage if key not in catalog.metrics]
        if unknown:
            raise UsageError(
                f"unknown metric {unknown[0]!r} for catalog {catalog.id!r}"
                f" (metrics: {', '.join(catalog.metrics)})"
            )
        values: dict[str, Array] = {}
        lists: dict[str, tuple[Array | None, ...]] = {}
        for name, raw in usage.items():
            decimals = catalog.metrics[name].decimal_places
            if _is_list(raw):
                amounts = _transaction_list(name, raw, decimals, "")
                lists[name] = (amounts,)
                values[name] = _sum_transactions(name, (amounts,), decimals)
            else:
                values[name] = np.array([parse_quantity(name, raw, decimals)], dtype=np.int64)
        return UsageColumns(range(1), values, frozenset(values), lists)
    values, lists = {}, {}
    for name in usage.columns:
        if name not in catalog.metrics:
            continue
        column, decimals = usage[name], catalog.metrics[name].decimal_places
        if column.dtype == object and any(_is_list(v) for v in column):
            # a row given as a total (not a list) keeps None: a per-transaction charge cannot price it
            lists[name] = tuple(
                _transaction_list(name, v, decimals, f"usage row {row!r}: ") if _is_list(v) else None
                for row, v in column.items())
            totals = [_transaction_list(name, [v], decimals, f"usage row {row!r}: ") if r is None else r
                      for (row, v), r in zip(column.items(), lists[name])]
            values[name] = _sum_transactions(name, totals, decimals)
        else:
            values[name] = _column_to_scaled(name, column, decimals)
    return UsageColumns(usage.index, values, frozenset(values), lists)


def _metric(usage: UsageColumns, name: str, default: int = 0) -> Array:
    found = usage.values.get(name)
    if found is None:
        return _constant(default, len(usage))
    return found


# --- rated lines ------------------------------------------------------------------


@dataclass(frozen=True)
class LineColumns:
    """One invoice line for every row: rounded and exact amounts plus its explanation."""

    item: str
    line_type: LineType
    amount_minor: Array  # int64 (or Python ints)
    exact_amount: Array  # scaled by 10**exact_scale
    exact_scale: int
    quantity: Array  # scaled by 10**quantity_scale
    quantity_scale: int
    unit_price: Decimal | None
    metric: str | None = None
    explain: Callable[[int], str] | None = None
    tiers: Callable[[int], tuple[dict[str, Any], ...]] | None = None
    prorated: bool = True  # a recurring line billed for part of a period is prorated
    recurring: bool = False  # held, not metered: billed per period whatever the usage
    charge_minimum: Decimal | None = None  # on a charge's minimum line: the full-period minimum it tops up to
    in_advance: bool = False  # a charge paid in advance: invoiced per event, not at the period's end

    def line(self, row: int, service_start: datetime | None = None, service_end: datetime | None = None) -> Line:
        return Line(
            item=self.item,
            line_type=self.line_type,
            quantity=from_scaled(self.quantity[row], self.quantity_scale),
            unit_price=self.unit_price,
            amount_minor=int(self.amount_minor[row]),
            exact_amount=from_scaled(self.exact_amount[row], self.exact_scale),
            explanation=self.explain(row) if self.explain else "",
            metric=self.metric,
            service_start=service_start,
            service_end=service_end,
            tiers=self.tiers(row) if self.tiers else (),
        )


@dataclass(frozen=True)
class ChunkRating:
    """One plan rated for one chunk of rows."""

    lines: tuple[LineColumns, ...]
    total_minor: Array
    eligible: Array
    reason: Array  # object: str or None


@dataclass(frozen=True)
class PlanRating:
    """One plan rated for every row, held as chunks and joined only when asked.

    Rows are rated in chunks of :data:`CHUNK_ROWS` so each chunk's temporaries
    stay in the CPU cache; that keeps time linear in the number of rows and
    peak memory low. A single invoice reads its own chunk directly.
    """

    plan_id: str
    chunks: tuple[ChunkRating, ...]

    def _join(self, name: str) -> Array:
        parts = [getattr(chunk, name) for chunk in self.chunks]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    @cached_property
    def total_minor(self) -> Array:
        return self._join("total_minor")

    @cached_property
    def eligible(self) -> Array:
        return self._join("eligible")

    @cached_property
    def reason(self) -> Array:
        return self._join("reason")

    @cached_property
    def lines(self) -> tuple[LineColumns, ...]:
        if len(self.chunks) == 1:
            return self.chunks[0].lines
        return tuple(_join_lines([chunk.lines[k] for chunk in self.chunks])
                     for k in range(len(self.chunks[0].lines)))

    def chunk_of(self, row: int) -> tuple[ChunkRating, int]:
        return self.chunks[row // CHUNK_ROWS], row % CHUNK_ROWS


def _join_lines(parts: list[LineColumns]) -> LineColumns:
    """The same line of every chunk as one column; explanations ask the row's own chunk."""
    first = parts[0]
    return replace(
        first,
        amount_minor=np.concatenate([p.amount_minor for p in parts]),
        exact_amount=np.concatenate([p.exact_amount for p in parts]),
        quantity=np.concatenate([p.quantity for p in parts]),
        # the ignores: each part's explain/tiers is set when the first one's is (all come from one rating)
        explain=None if first.explain is None else
        (lambda row: parts[row // CHUNK_ROWS].explain(row % CHUNK_ROWS)),  # type: ignore[misc]
        tiers=None if first.tiers is None else
        (lambda row: parts[row // CHUNK_ROWS].tiers(row % CHUNK_ROWS)),  # type: ignore[misc]
    )


@dataclass(frozen=True)
class RatedTable:
    """Every requested plan rated for every usage row."""

    catalog: Catalog
    index: pd.Index | range
    plans: dict[str, PlanRating]
    options: RateOptions = field(default=DEFAULT_OPTIONS)

    def __len__(self) -> int:
        return len(self.index)

    def totals(self) -> pd.DataFrame:
        """Total due per row (columns: plans), in integer minor units."""
        import pandas as pd

        return pd.DataFrame({p: r.total_minor for p, r in self.plans.items()}, index=self.index)

    def eligibility(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame({p: r.eligible for p, r in self.plans.items()}, index=self.index)

    def cheapest_positions(self) -> Array:
        """Per row, the position of the cheapest eligible plan in ``self.plans`` (-1: none eligible)."""
        return cheapest_positions([r.total_minor for r in self.plans.values()],
                                  [r.eligible for r in self.plans.values()])

    def cheapest(self) -> pd.Series:
        """The cheapest eligible plan per row (ties go to the plan listed first), or None."""
        import pandas as pd

        best = self.cheapest_positions()
        names = np.array(list(self.plans) + [None], dtype=object)[best]
        return pd.Series(names, index=self.index, name="cheapest")

    def line_amounts(self, plan_id: str) -> pd.DataFrame:
        """Wide table of one plan's rounded line amounts (columns: line items)."""
        import pandas as pd

        rating = self.plans[plan_id]
        data = {line.item: line.amount_minor for line in rating.lines}
        data["total"] = rating.total_minor
        return pd.DataFrame(data, index=self.index)

    def long(self) -> pd.DataFrame:
        """One row per usage row x plan x line, for exports and group-bys."""
        import pandas as pd

        frames = []
        for plan_id, rating in self.plans.items():
            for position, line in enumerate(rating.lines):
                frames.append(
                    pd.DataFrame(
                        {
                            "row": self.index,
                            "plan": plan_id,
                            "line_no": position,
                            "item": line.item,
                            "line_type": line.line_type.value,
                            "amount_minor": line.amount_minor,
                        }
                    )
                )
        if not frames:
            return pd.DataFrame(columns=["row", "plan", "line_no", "item", "line_type", "amount_minor"])
        return pd.concat(frames, ignore_index=True)

    def invoice(self, row: int, plan_id: str) -> Invoice:
        """The invoice of one row and plan, with Decimal lines and explanations."""
        chunk, local = self.plans[plan_id].chunk_of(row)
        lines = tuple(col.line(local) for col in chunk.lines)
        return Invoice(
            catalog=self.catalog.id,
            plan=plan_id,
            currency=self.catalog.currency,
            decimals=self.catalog.decimals,
            lines=lines,
            eligible=bool(chunk.eligible[local]),
            reason=chunk.reason[local],
        )


def cheapest_positions(totals: Sequence[Array], eligible: Sequence[Array] | None = None) -> Array:
    """The one "cheapest plan" rule: per row, the position of the lowest total among eligible
    plans, ties to the plan listed first; -1 where no plan is eligible. Exact at any size
    (object arrays compare as Python ints)."""
    stacked = np.stack([np.asarray(t) for t in totals], axis=1)
    ok = np.ones(stacked.shape, dtype=bool) if eligible is None else np.stack(eligible, axis=1)
    if stacked.dtype == object:
        best = np.array([min((int(t), i) for i, (t, good) in enumerate(zip(row, row_ok)) if good)[1]
                         if row_ok.any() else -1 for row, row_ok in zip(stacked, ok)], dtype=np.int64)
        return best
    best = np.argmin(np.where(ok, stacked, np.iinfo(np.int64).max), axis=1)
    return np.where(ok.any(axis=1), best, -1)


# --- the engine -----------------------------------------------------------------


def rate(
    catalog: Catalog,
    usage: pd.DataFrame | Mapping[str, Any],
    plans: Iterable[str] | None = None,
    options: RateOptions | None = None,
) -> RatedTable:
    """Rate every row of ``usage`` under each plan (default: every plan)."""
    options = options or DEFAULT_OPTIONS
    columns = usage_columns(catalog, usage)
    plan_ids = list(plans) if plans is not None else list(catalog.plans)
    for plan_id in plan_ids:
        catalog.plan(plan_id)  # a clear error for an unknown plan
    pieces = [columns.rows(start, start + CHUNK_ROWS) for start in range(0, max(len(columns), 1), CHUNK_ROWS)]
    rated = {
        plan_id: PlanRating(plan_id, tuple(_rate_plan(catalog, plan_id, piece, options) for piece in pieces))
        for plan_id in plan_ids
    }
    return RatedTable(catalog, columns.index, rated, options)


def rate_one(
    catalog: Catalog,
    plan_id: str,
    usage: Mapping[str, Any],
    options: RateOptions | None = None,
) -> Invoice:
    """One plan, one period's usage: a table of one row through the same engine."""
    return rate(catalog, usage, [plan_id], options).invoice(0, plan_id)


def _constant_line(item: str, line_type: LineType, amount: Decimal, n: int, catalog: Catalog,
                   explanation: str, prorated: bool = True) -> LineColumns:
    minor = to_minor(amount, catalog.decimals, catalog.settings.rounding)
    scale = max(catalog.decimals, decimal_places(amount))
    exact_value = scaled_int(amount, scale)
    return LineColumns(
        item=item,
        line_type=line_type,
        amount_minor=_constant(minor, n),
        exact_amount=_constant(exact_value, n),
        exact_scale=scale,
        quantity=_constant(1, n),
        quantity_scale=0,
        unit_price=amount,
        explain=lambda row: explanation,
        prorated=prorated,
        recurring=True,
    )


def _rate_plan(catalog: Catalog, plan_id: str, usage: UsageColumns, options: RateOptions) -> ChunkRating:
    plan = catalog.plans[plan_id]
    n = len(usage)
    lines: list[LineColumns] = []
    blocked_rule = (not options.billing_details) and catalog.account_rules is not None \
        and catalog.account_rules.cap_usage_at_included
    if options.include_recurring and plan.recurring is not None:
        lines.append(_constant_line(
            f"{plan.name} fee", LineType.RECURRING, plan.recurring.amount, n, catalog,
            f"recurring {plan.name} fee per {catalog.interval.value}", plan.recurring.prorated))
    for charge in plan.charges:
        if options.charge_kinds is not None and charge.kind not in options.charge_kinds:
            continue
        lines.extend(_charge_lines(catalog, charge, usage, blocked_rule))
    subtotal = _sum_minor(lines, n)
    if options.include_minimum and plan.minimum_spend is not None:
        minimum = to_minor(plan.minimum_spend.amount, catalog.decimals, catalog.settings.rounding)
        shortfall = np.maximum(_add(np.broadcast_to(np.int64(minimum), subtotal.shape), -subtotal), 0)
        lines.append(LineColumns(
            item="Minimum spend true-up", line_type=LineType.MINIMUM, amount_minor=shortfall,
            exact_amount=shortfall, exact_scale=catalog.decimals, quantity=(shortfall > 0).astype(np.int64),
            quantity_scale=0, unit_price=None,
            explain=lambda row, m=minimum, s=subtotal: (  # type: ignore[misc]  # mypy cannot infer a lambda whose defaults bind values
                _explain_minimum(catalog, m, int(s[row]))),
        ))
        subtotal = _add(subtotal, shortfall)
    if options.invoice_rounding and catalog.settings.rounding_scope is RoundingScope.INVOICE and lines:
        lines.append(_rounding_line(catalog, lines, subtotal))
        subtotal = _add(subtotal, lines[-1].amount_minor)
    for discount in _active_discounts(plan, options):
        line = discount_line(catalog, discount, subtotal)
        lines.append(line)
        subtotal = _add(subtotal, line.amount_minor)
    tax_percent = catalog.tax_percent if options.tax_percent is None else options.tax_percent
    if tax_percent:
        lines.append(tax_line(catalog, tax_percent, subtotal))
    total = _sum_minor(lines, n)
    eligible, reason = _eligibility(catalog, plan_id, plan, usage, options)
    return ChunkRating(tuple(lines), total, eligible, reason)


def _constant(value: int, n: int) -> Array:
    """A read-only array of one value, costing no memory per row."""
    return np.broadcast_to(np.int64(value), (n,))


def _sum_minor(lines: Sequence[LineColumns], n: int) -> Array:
    if not lines:
        return np.zeros(n, dtype=np.int64)
    total = lines[0].amount_minor + 0  # a writable copy, even of a broadcast constant
    for line in lines[1:]:
        total = _add(total, line.amount_minor)
    return total


def _add(left: Array, right: Array) -> Array:
    """``left + right`` exactly: Python ints from the moment an int64 sum could wrap."""
    if left.dtype != object and right.dtype != object and len(left):
        bound = int(np.abs(left).max()) + int(np.abs(right).max())
        if bound < _INT64_SAFE:
            return left + right
    return left.astype(object) + right.astype(object)


def _included(catalog: Catalog, charge: Charge, usage: UsageColumns) -> Array | None:
    """Free units per row: max(at_least, quantity + times x other metric), in the charge metric's scale."""
    inc = charge.included
    if inc is None:
        return None
    d = catalog.metrics[charge.metric].decimal_places
    n = len(usage)
    if inc.unlimited:
        return _constant(np.iinfo(np.int64).max // 4, n)
    base = _constant(scaled_int(inc.quantity, d), n)
    if inc.per_unit_of is not None:
        other = _metric(usage, inc.per_unit_of)
        d_other = catalog.metrics[inc.per_unit_of].decimal_places
        t_scale = decimal_places(inc.times)
        times = scaled_int(inc.times, t_scale)
        # floor: a fraction of a free unit is not a free unit
        base = base + exact(other, times * 10**d) * times * 10**d // 10 ** (t_scale + d_other)
    return np.maximum(base, scaled_int(inc.at_least, d))


def _charge_lines(catalog: Catalog, charge: Charge, usage: UsageColumns, blocked_rule: bool) -> list[LineColumns]:
    metric = catalog.metrics[charge.metric]
    qscale = metric.decimal_places
    model = model_in(catalog, charge)
    pscale = model.price_scale()
    amount_scale = qscale + pscale
    shift = amount_scale - catalog.decimals
    rounding = catalog.settings.rounding
    quantity = _metric(usage, charge.metric)
    included = _included(catalog, charge, usage)
    billable = quantity if included is None else np.maximum(quantity - included, 0)
    blocked = None
    if blocked_rule and charge.kind == "usage":
        blocked, billable = billable, billable * 0
    lines: list[LineColumns] = []
    committed = None
    if charge.commitment is not None:
        commitment = charge.commitment
        default = scaled_int(commitment.default_quantity, catalog.metrics[commitment.quantity_metric].decimal_places)
        committed = _metric(usage, commitment.quantity_metric, default)
        c_scale = catalog.metrics[commitment.quantity_metric].decimal_places
        c_price = scaled_int(commitment.unit_price, pscale)
        c_exact = exact(committed, c_price) * c_price
        c_amount_scale = c_scale + pscale
        covered = np.minimum(billable, committed * 10**qscale // 10**c_scale)
        lines.append(LineColumns(
            item=f"{charge.label} (committed)", line_type=LineType.COMMITMENT,
            amount_minor=round_scaled(c_exact, c_amount_scale - catalog.decimals, rounding),
            exact_amount=c_exact, exact_scale=c_amount_scale, quantity=committed, quantity_scale=c_scale,
            unit_price=commitment.unit_price, metric=charge.metric,
            explain=lambda row, cov=covered: (  # type: ignore[misc]  # mypy cannot infer a lambda whose defaults bind values
                f"{grouped_scaled(committed[row], c_scale)} committed at {commitment.unit_price},"
                " charged whatever the usage;"
                f" {grouped_scaled(cov[row], qscale)} of the usage fell within it"),
            prorated=charge.prorated, recurring=True,
        ))
        billable = np.maximum(billable - committed * 10**qscale // 10**c_scale, 0)
    if isinstance(model, PercentagePerTransaction):
        result = model.price_transactions(_transactions_of(usage, charge.metric, quantity), pscale)
    else:
        result = model.price(billable, pscale)
    line_type = {"usage": LineType.USAGE, "addon": LineType.ADDON, "feature": LineType.FEATURE}[charge.kind]
    item = (charge.label if committed is None else f"{charge.label} (over commitment)") + model.item_suffix()
    lines.append(LineColumns(
        item=item, line_type=line_type,
        amount_minor=round_scaled(result.amount, shift, rounding),
        exact_amount=result.amount, exact_scale=amount_scale,
        quantity=result.quantity, quantity_scale=result.quantity_scale, unit_price=result.unit_price,
        metric=charge.metric,
        explain=lambda row: _explain_charge(catalog, charge, row, quantity, included, committed, blocked, result,
                                            model),
        tiers=(lambda row: model.tiers(result, row)) if model.tiered else None,
        prorated=charge.prorated, recurring=metric.kind in _HELD, in_advance=charge.pay_in_advance,
    ))
    if charge.min_amount is not None:
        lines.append(_charge_minimum_line(catalog, charge, lines[-1], metric.kind in _HELD))
    return lines


def _transactions_of(usage: UsageColumns, metric: str, totals: Array) -> tuple[Array, ...]:
    """Each row's transactions of ``metric``; a row given only as a total (not a list) must be zero."""
    given = usage.transactions.get(metric) or (None,) * len(totals)
    out = []
    for position, (rows, total) in enumerate(zip(given, totals)):
        if rows is None:
            if int(total) != 0:
                raise UsageError(f"usage row {usage.index[position]!r}: {metric} is priced per transaction:"
                                 " give the period's transaction amounts (a list), not only their total")
            rows = np.zeros(0, dtype=np.int64)
        out.append(rows)
    return tuple(out)


def _charge_minimum_line(catalog: Catalog, charge: Charge, charged: LineColumns, recurring: bool) -> LineColumns:
    """A charge's spending minimum (Lago): the shortfall of the charge's line below it."""
    assert charge.min_amount is not None, "called only for a charge with a min_amount"
    minimum = to_minor(charge.min_amount, catalog.decimals, catalog.settings.rounding)
    shortfall = np.maximum(minimum - charged.amount_minor, 0)
    return LineColumns(
        item=f"{charge.label} minimum", line_type=LineType.MINIMUM, amount_minor=shortfall,
        exact_amount=shortfall, exact_scale=catalog.decimals, quantity=(shortfall > 0).astype(np.int64),
        quantity_scale=0, unit_price=None, metric=charge.metric,
        explain=lambda row: _explain_minimum(catalog, minimum, int(charged.amount_minor[row])),
        prorated=charge.prorated, recurring=recurring, charge_minimum=charge.min_amount,
    )


def _rounding_line(catalog: Catalog, lines: Sequence[LineColumns], subtotal: Array) -> LineColumns:
    """Invoice-level rounding: the lines' exact total rounded once, less the sum of the rounded lines."""
    scale = max(max(line.exact_scale for line in lines), catalog.decimals)
    total = np.zeros(len(subtotal), dtype=np.int64)
    for line in lines:
        factor = 10 ** (scale - line.exact_scale)
        total = _add(total, exact(np.asarray(line.exact_amount), factor) * factor)
    rounded = round_scaled(total, scale - catalog.decimals, catalog.settings.rounding)
    adjustment = _add(rounded, -subtotal)
    d = catalog.decimals
    return LineColumns(
        item="Rounding", line_type=LineType.ROUNDING, amount_minor=adjustment, exact_amount=adjustment,
        exact_scale=d, quantity=(adjustment != 0).astype(np.int64), quantity_scale=0, unit_price=None,
        explain=lambda row: (f"exact total {from_scaled(total[row], scale).normalize():f} rounded once to"
                             f" {from_minor(int(rounded[row]), d)}; the lines rounded one by one add up to"
                             f" {from_minor(int(subtotal[row]), d)}"),
    )


def _active_discounts(plan: Plan, options: RateOptions) -> list[Discount]:
    chosen = [d for d in plan.discounts if options.include_plan_discounts
              and (d.periods is None or options.period_index < d.periods)]
    chosen += [d for d in options.discounts if d.periods is None or options.period_index < d.periods]
    return chosen


def discount_line(catalog: Catalog, discount: Discount, subtotal: Array) -> LineColumns:
    """The discount line of every row (a percentage of, or an amount off, ``subtotal``), rounded once."""
    d = catalog.decimals
    percent = discount.percent
    if percent is not None:
        p_scale = decimal_places(percent) + 2
        rate = scaled_int(percent / 100, p_scale)
        exact_amount = -(exact(subtotal, rate) * rate)
        amount = round_scaled(exact_amount, p_scale, catalog.settings.rounding)
        return LineColumns(
            item=discount.name, line_type=LineType.DISCOUNT, amount_minor=amount, exact_amount=exact_amount,
            exact_scale=d + p_scale, quantity=_constant(1, len(subtotal)), quantity_scale=0,
            unit_price=None, explain=lambda row: f"{grouped_number(percent)}% off "
            f"{catalog.currency} {from_minor(int(subtotal[row]), d)}")
    off = to_minor(discount.amount or Decimal(0), d, catalog.settings.rounding)
    amount = -np.minimum(np.maximum(subtotal, 0), off)
    return LineColumns(
        item=discount.name, line_type=LineType.DISCOUNT, amount_minor=amount, exact_amount=amount,
        exact_scale=d, quantity=_constant(1, len(subtotal)), quantity_scale=0, unit_price=None,
        explain=lambda row: f"{catalog.currency} {discount.amount} off, never more than the subtotal")


def tax_line(catalog: Catalog, percent: Decimal, net: Array) -> LineColumns:
    """The tax line of every row: ``percent`` of ``net``, rounded once."""
    p_scale = decimal_places(percent) + 2
    rate = scaled_int(percent / 100, p_scale)
    exact_amount = exact(net, rate) * rate
    return LineColumns(
        item=f"Tax {grouped_number(percent)}%", line_type=LineType.TAX,
        amount_minor=round_scaled(exact_amount, p_scale, catalog.settings.rounding),
        exact_amount=exact_amount, exact_scale=catalog.decimals + p_scale,
        quantity=_constant(1, len(net)), quantity_scale=0, unit_price=percent / 100,
        explain=lambda row: (f"{grouped_number(percent)}% of the net {catalog.currency}"
                             f" {from_minor(int(net[row]), catalog.decimals)}"))


def _eligibility(catalog: Catalog, plan_id: str, plan: Plan, usage: UsageColumns,
                 options: RateOptions) -> tuple[Array, Array]:
    """Which rows may use the plan, and why not; the first failed rule is the reason."""
    n = len(usage)
    failures: list[tuple[Array, Callable[[int], str]]] = []
    if not options.billing_details:
        rules = catalog.account_rules
        if plan.requires_billing_details or (rules and rules.plans_without_billing_details
                                             and plan_id not in rules.plans_without_billing_details):
            failures.append((np.ones(n, dtype=bool),
                             lambda row: f"{plan.name} needs billing details (address and payment method)"))
        if rules and rules.max_tenants_without_billing_details is not None and "mat" in usage.given:
            cap = rules.max_tenants_without_billing_details
            failures.append((usage.values["mat"] > cap,
                             lambda row: f"without billing details an account may have at most {cap} tenants"))
    failures.extend(_limit_failures(catalog, plan, usage))
    eligible = np.ones(n, dtype=bool)
    reason = np.full(n, None, dtype=object)
    for over, describe in failures:
        fresh = over & eligible
        for row in np.flatnonzero(fresh):  # only the ineligible rows pay for a message
            reason[row] = describe(int(row))
        eligible &= ~over
    return eligible, reason


def _limit_failures(catalog: Catalog, plan: Plan, usage: UsageColumns) -> list[tuple[Array, Callable[[int], str]]]:
    """Rows past each of the plan's hard limits, and the words for them."""
    out: list[tuple[Array, Callable[[int], str]]] = []
    for limit in plan.limits:
        d = catalog.metrics[limit.metric].decimal_places
        values = _metric(usage, limit.metric)
        out.append((values > scaled_int(limit.maximum, d),
                    lambda row, lim=limit, v=values, d=d: (  # type: ignore[misc]  # mypy cannot infer a lambda whose defaults bind values
                        f"{lim.metric} {grouped_scaled(v[row], d)} exceeds"
                        f" {plan.name}'s maximum of {grouped_number(lim.maximum)}")))
    return out


def limit_problem(catalog: Catalog, plan_id: str, quantities: Mapping[str, Any]) -> str | None:
    """Why the objects held do not fit a plan's limits (seeds 002, 003), or None: the quote's own rule."""
    plan = catalog.plan(plan_id)
    if not plan.limits:
        return None
    held = {name: value for name, value in quantities.items() if name in catalog.metrics}
    for over, describe in _limit_failures(catalog, plan, usage_columns(catalog, held)):
        if bool(over[0]):
            return describe(0)
    return None


def included_units(catalog: Catalog, charge: Charge,
                   usage: UsageColumns | pd.DataFrame | Mapping[str, Any]) -> Array | None:
    """Free units of a charge per usage row (scaled by the metric's decimals); None without an allowance.

    The one included-units rule: quotes, invoices, commitment advice and tenant reports all ask here.
    """
    columns = usage if isinstance(usage, UsageColumns) else usage_columns(catalog, usage)
    return _included(catalog, charge, columns)


# --- explanations ---------------------------------------------------------------


def _explain_charge(catalog: Catalog, charge: Any, row: int, quantity: Array, included: Array | None,
                    committed: Array | None, blocked: Array | None, result: ModelResult,
                    model: ChargeModel[Any, Any]) -> str:
    metric = catalog.metrics[charge.metric]
    d, unit = metric.decimal_places, metric.unit
    if metric.kind is MetricKind.FLAG:
        parts = ["switched on" if int(quantity[row]) else "switched off"]
    else:
        parts = [f"{grouped_scaled(quantity[row], d)} {unit}{'s' if quantity[row] != 10**d else ''} used"]
    if included is not None:
        inc = charge.included
        if inc.unlimited:
            parts.append("all included")
        elif inc.per_unit_of:
            parts.append(
                f"{grouped_scaled(min(int(included[row]), int(quantity[row])), d)} of"
                f" {grouped_scaled(included[row], d)} included free"
                f" (max({grouped_number(inc.at_least)}, {grouped_number(inc.quantity) + ' + ' if inc.quantity else ''}"
                f"{grouped_number(inc.times)} x {inc.per_unit_of}))")
        else:
            parts.append(f"{grouped_scaled(min(int(included[row]), int(quantity[row])), d)} of"
                         f" {grouped_scaled(included[row], d)} included free")
    if blocked is not None and int(blocked[row]) > 0:
        parts.append(f"{grouped_scaled(blocked[row], d)} past the free tier blocked, not charged (no billing details)")
    if committed is not None:
        parts.append("the commitment covers the first units")
    parts.append(model.explain(result, row))
    return "; ".join(parts)


def _explain_minimum(catalog: Catalog, minimum: int, subtotal: int) -> str:
    d = catalog.decimals
    if subtotal >= minimum:
        return f"charges of {from_minor(subtotal, d)} meet the minimum spend of {from_minor(minimum, d)}"
    return (f"charges of {from_minor(subtotal, d)} fall short of the minimum spend of "
            f"{from_minor(minimum, d)}; the difference is charged")
