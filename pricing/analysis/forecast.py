"""Growth projections: a usage growing by a fixed percent a month, every month rated exactly.

Month ``i`` (0-based) has ``q x (1 + g)^i`` of each growing metric, computed in
Decimal and rounded half-up to the metric's decimals. The months form one
usage table rated in one call; a term total is the exact integer sum of the
monthly totals, so it always equals the sum of the invoices it stands for.
Discounts limited to the first N periods are applied month by month.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd

from pricing.engine.catalog import Catalog, MetricKind
from pricing.errors import UsageError
from pricing.engine.rating import RateOptions, parse_quantity, rate

MAX_MONTHS = 120
GROWING_KINDS = frozenset({MetricKind.METERED, MetricKind.AMOUNT})


def growth_percent(raw: Any) -> Decimal:
    """A monthly growth rate in percent, from a Decimal, an int or text (a float goes through str())."""
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except InvalidOperation:
        raise UsageError(f"growth rate {raw!r} is not a number (percent per month, e.g. '3')") from None
    if not value.is_finite() or value <= -100 or value > 1000:
        raise UsageError(f"growth rate {raw!r} must be above -100 and at most 1000 percent per month")
    return value


def project_usage(
    catalog: Catalog,
    usage: Mapping[str, Any],
    growth: Decimal | int | str,
    months: int,
    metrics: Iterable[str] | None = None,
) -> pd.DataFrame:
    """``months`` rows of usage (column ``month`` = 1..months); ``metrics`` grow (default: metered ones).

    Counts, flags and commitments stay as given unless named in ``metrics``.
    """
    if not 1 <= months <= MAX_MONTHS:
        raise UsageError(f"months must be between 1 and {MAX_MONTHS}, got {months}")
    rate_ = growth_percent(growth)
    unknown = [k for k in usage if k not in catalog.metrics]
    if unknown:
        raise UsageError(f"unknown metric {unknown[0]!r} for catalog {catalog.id!r}")
    growing = set(metrics) if metrics is not None else {
        name for name in usage if catalog.metrics[name].kind in GROWING_KINDS}
    factor = Decimal(1) + rate_ / Decimal(100)
    table: dict[str, list[Any]] = {"month": list(range(1, months + 1))}
    for name, raw in usage.items():
        decimals = catalog.metrics[name].decimal_places
        base = Decimal(parse_quantity(name, raw, decimals)).scaleb(-decimals)
        step = Decimal(1).scaleb(-decimals)
        if name in growing:
            values = [(base * factor**i).quantize(step, rounding=ROUND_HALF_UP) for i in range(months)]
        else:
            values = [base] * months
        # whole numbers as int64 (fast path); fractions as exact text
        table[name] = [int(v) for v in values] if decimals == 0 else [str(v) for v in values]
    return pd.DataFrame(table)


@dataclass(frozen=True)
class Forecast:
    """Every plan rated for each projected month."""

    catalog: Catalog
    usage: pd.DataFrame  # month, then one column per metric
    monthly: pd.DataFrame  # month, then one int column (minor units) per plan
    eligible: pd.DataFrame  # month, then one bool column per plan

    @property
    def plans(self) -> list[str]:
        return [c for c in self.monthly.columns if c != "month"]

    def total(self, plan_id: str) -> int:
        """The exact term total of one plan, in minor units."""
        return int(self.monthly[plan_id].sum())

    def totals(self) -> dict[str, int]:
        return {p: self.total(p) for p in self.plans}

    def months_ineligible(self) -> dict[str, int]:
        return {p: int((~self.eligible[p]).sum()) for p in self.plans}

    def cheapest(self) -> str | None:
        """The plan with the lowest term total among plans eligible every month (ties: first listed)."""
        ok = [p for p in self.plans if bool(self.eligible[p].all())]
        if not ok:
            return None
        return min(ok, key=lambda p: (self.total(p), self.plans.index(p)))

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame({
            "plan": self.plans,
            "term_total_minor": [self.total(p) for p in self.plans],
            "first_month_minor": [int(self.monthly[p].iloc[0]) for p in self.plans],
            "last_month_minor": [int(self.monthly[p].iloc[-1]) for p in self.plans],
            "months_ineligible": [self.months_ineligible()[p] for p in self.plans],
        })


def forecast(
    catalog: Catalog,
    usage: Mapping[str, Any],
    growth: Decimal | int | str,
    months: int,
    plans: Sequence[str] | None = None,
    options: RateOptions | None = None,
    metrics: Iterable[str] | None = None,
) -> Forecast:
    """Rate ``months`` months of usage growing by ``growth`` percent a month under every plan."""
    options = options or RateOptions()
    table = project_usage(catalog, usage, growth, months, metrics)
    metric_columns = table.drop(columns="month")
    plan_ids = list(plans) if plans is not None else list(catalog.plans)
    limited = any(d.periods is not None for d in options.discounts) or any(
        d.periods is not None for p in plan_ids for d in catalog.plan(p).discounts)
    if not limited:
        rated = rate(catalog, metric_columns, plan_ids, options)
        totals, eligible = rated.totals(), rated.eligibility()
    else:
        # a first-N-periods discount depends on the month: rate each month with its period index
        parts = [rate(catalog, metric_columns.iloc[[i]], plan_ids, replace(options, period_index=i))
                 for i in range(months)]
        totals = pd.concat([p.totals() for p in parts])
        eligible = pd.concat([p.eligibility() for p in parts])
    monthly = totals.reset_index(drop=True).astype(np.int64)
    monthly.insert(0, "month", table["month"])
    eligible = eligible.reset_index(drop=True)
    eligible.insert(0, "month", table["month"])
    return Forecast(catalog, table, monthly, eligible)


__all__ = ["Forecast", "forecast", "growth_percent", "project_usage"]
