"""Which plan is cheaper: every plan priced for one usage, and break-even points.

Both answers come from :func:`pricing.engine.rating.rate`: a comparison is a table of
one row, a cost curve or a break-even search is a table of many candidate
quantities, so they can never disagree with an invoice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from pricing.engine.catalog import Catalog
from pricing.errors import UsageError
from pricing.engine.invoice import Invoice
from pricing.engine.rating import RateOptions, cheapest_positions, rate

if TYPE_CHECKING:  # imported by the functions that make tables: a comparison never needs pandas
    import pandas as pd


@dataclass(frozen=True)
class Comparison:
    """Every plan's invoice for one usage, cheapest eligible first, ineligible last."""

    catalog: Catalog
    usage: Mapping[str, Any]
    invoices: tuple[Invoice, ...]

    @property
    def cheapest(self) -> Invoice | None:
        first = self.invoices[0] if self.invoices else None
        return first if first is not None and first.eligible else None

    def saving(self, plan_id: str) -> int | None:
        """How much cheaper the cheapest plan is than ``plan_id``, in minor units."""
        best = self.cheapest
        other = next((inv for inv in self.invoices if inv.plan == plan_id), None)
        if best is None or other is None:
            return None
        return other.total_minor - best.total_minor

    def to_json(self) -> dict[str, Any]:
        best = self.cheapest
        return {
            "catalog": self.catalog.id,
            "catalog_version": self.catalog.version,
            "currency": self.catalog.currency,
            "usage": {k: [str(x) for x in v] if isinstance(v, (list, tuple)) else str(v)
                      for k, v in self.usage.items()},
            "cheapest": best.plan if best else None,
            "quotes": [inv.to_json() for inv in self.invoices],
        }


def _order(invoice: Invoice, position: int) -> tuple[int, int, int]:
    return (0 if invoice.eligible else 1, invoice.total_minor, position)


def compare(
    catalog: Catalog,
    usage: Mapping[str, Any],
    plans: Sequence[str] | None = None,
    options: RateOptions | None = None,
) -> Comparison:
    """Price ``usage`` under every plan (or ``plans``); cheapest eligible first."""
    table = rate(catalog, usage, plans, options)
    invoices = [table.invoice(0, plan_id) for plan_id in table.plans]
    ordered = sorted(enumerate(invoices), key=lambda pair: _order(pair[1], pair[0]))
    return Comparison(catalog, dict(usage), tuple(inv for _, inv in ordered))


def cost_curve(
    catalog: Catalog,
    metric: str,
    quantities: Sequence[int] | np.ndarray,
    usage: Mapping[str, Any] | None = None,
    plans: Sequence[str] | None = None,
    options: RateOptions | None = None,
) -> pd.DataFrame:
    """Total per plan (minor units) as ``metric`` runs over ``quantities``, other usage fixed.

    Columns: the metric, one per plan, and ``<plan>_eligible``. For charts;
    the totals are exact integers.
    """
    import pandas as pd

    if metric not in catalog.metrics:
        raise UsageError(f"unknown metric {metric!r} for catalog {catalog.id!r}")
    base = {k: v for k, v in (usage or {}).items() if k != metric}
    table = pd.DataFrame({metric: np.asarray(quantities, dtype=np.int64)})
    for name, value in base.items():
        table[name] = str(value) if isinstance(value, Decimal) else value
    rated = rate(catalog, table, plans, options)
    out = rated.totals()
    out.insert(0, metric, table[metric].to_numpy())
    for plan_id, rating in rated.plans.items():
        out[f"{plan_id}_eligible"] = rating.eligible
    return out


@dataclass(frozen=True)
class BreakEven:
    """At ``quantity`` of ``metric`` the cheaper of two plans changes.

    ``quantity`` is the first quantity where ``cheaper_below`` is no longer cheaper: the
    plans cost the same there (``total_a_minor == total_b_minor``) or the order flips.
    ``strictly_from`` is the first quantity where ``cheaper_from`` is cheaper, with the two
    totals there; it equals ``quantity`` when the plans are never equal in between.
    """

    metric: str
    quantity: int
    cheaper_below: str
    cheaper_from: str
    total_a_minor: int
    total_b_minor: int
    strictly_from: int | None = None
    strict_a_minor: int | None = None
    strict_b_minor: int | None = None

    @property
    def equal(self) -> bool:
        """Whether the two plans cost the same at ``quantity``."""
        return self.total_a_minor == self.total_b_minor


def break_even(
    catalog: Catalog,
    plan_a: str,
    plan_b: str,
    metric: str,
    usage: Mapping[str, Any] | None = None,
    low: int = 0,
    high: int = 10_000_000,
    options: RateOptions | None = None,
    grid: int = 2048,
) -> list[BreakEven]:
    """Quantities of ``metric`` in ``[low, high]`` where the cheaper of two plans changes.

    Where the two totals are equal over a stretch, the switch is reported at
    the first quantity where the order actually flips. The search rates a
    geometric grid in one vectorized call, then narrows each sign change by
    bisection, so a step (a package, a volume tier) is found to the unit.
    """
    if low < 0 or high <= low:
        raise UsageError(f"break-even range must satisfy 0 <= low < high, got [{low}, {high}]")
    # NOTE: the grid is spaced in floats, which round past 2**53 (and to 2**63 near the int64
    # limit), so each point is brought back into [low, high] as a Python int before the cast.
    spaced = np.concatenate([np.linspace(low, high, grid // 2), np.geomspace(1, high - low + 1, grid // 2) - 1 + low])
    points = np.unique(np.array([min(max(int(x), low), high) for x in spaced] + [low, high], dtype=np.int64))

    def diff(quantities: np.ndarray) -> np.ndarray:
        curve = cost_curve(catalog, metric, quantities, usage, [plan_a, plan_b], options)
        return np.sign(curve[plan_a].to_numpy() - curve[plan_b].to_numpy())

    signs = diff(points)
    found: list[BreakEven] = []
    last_sign, last_q = 0, None
    for q, s in zip(points, signs):
        if s == 0:
            continue
        if last_sign != 0 and last_q is not None and s != last_sign:
            # the flip lies in (last_q, q]; bisect on integers
            lo, hi = int(last_q), int(q)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if diff(np.array([mid]))[0] == last_sign:
                    lo = mid
                else:
                    hi = mid
            curve = cost_curve(catalog, metric, [hi], usage, [plan_a, plan_b], options)
            a, b = int(curve[plan_a].iloc[0]), int(curve[plan_b].iloc[0])
            strict = hi
            if a == b:  # equal from hi on: the order flips strictly somewhere in (hi, q]
                lo, top = hi, int(q)
                while top - lo > 1:
                    mid = (lo + top) // 2
                    if diff(np.array([mid]))[0] == s:
                        top = mid
                    else:
                        lo = mid
                strict = top
            strict_curve = curve if strict == hi else cost_curve(catalog, metric, [strict], usage, [plan_a, plan_b],
                                                                  options)
            below = plan_a if last_sign < 0 else plan_b
            found.append(BreakEven(metric, hi, below, plan_b if below == plan_a else plan_a, a, b, strict,
                                   int(strict_curve[plan_a].iloc[0]), int(strict_curve[plan_b].iloc[0])))
        last_sign, last_q = int(s), q
    return found


# --- where the cheapest eligible plan changes along one metric ---------------------------------

# NOTE: :func:`break_even` follows two plans by bisection of single-row calls; a chart needs every plan and
# their eligibility at once, fast enough for a slider (benchmarks/bench_widgets.py): the search below narrows
# every change of one curve together, each round one vectorized engine call.
CURVE_POINTS = 241
# NOTE: a change between two curve points is narrowed on a grid this fine per round (2 rounds for gaps up to ~4,000)
REFINE_POINTS = 64


@dataclass(frozen=True)
class Switch:
    """Where the cheapest eligible plan changes along the chart's metric."""

    quantity: int
    before: str
    after: str
    total_minor: int  # the new cheapest plan's total at ``quantity``


def cheapest_along(curve: pd.DataFrame, plans: list[str]) -> list[str | None]:
    """The cheapest eligible plan at each row of a cost curve (ties: first listed)."""
    best = cheapest_positions([curve[p].to_numpy() for p in plans],
                              [curve[f"{p}_eligible"].to_numpy(dtype=bool) for p in plans])
    names = [*plans, None]
    return [names[i] for i in best]


def cheapest_switches(catalog: Catalog, metric: str, usage: Mapping[str, Any], high: int,
                      options: RateOptions | None = None,
                      points: int = CURVE_POINTS) -> tuple[pd.DataFrame, list[Switch]]:
    """The cost curve of every plan over ``[0, high]`` and the exact quantities where the cheapest changes.

    Each change seen between two grid points is narrowed to the unit on finer
    grids, every grid of every pending change rated in one vectorized engine
    call per round, so a switch at ``q`` means: at ``q - 1`` the old plan is
    the cheapest eligible one, at ``q`` it is not (the first such ``q`` in that
    stretch of the grid).
    """
    quantities = np.unique(np.linspace(0, max(high, 1), points).round().astype(np.int64))
    curve = cost_curve(catalog, metric, quantities, usage, None, options)
    plans = list(catalog.plans)
    best = cheapest_along(curve, plans)
    # quantity -> (cheapest plan, row of totals) for every quantity rated so far
    known: dict[int, tuple[str | None, dict[str, int]]] = {}

    def remember(table: pd.DataFrame, cheapest: list[str | None]) -> None:
        totals = {p: table[p].tolist() for p in plans}
        for i, q in enumerate(table[metric].tolist()):
            known[int(q)] = (cheapest[i], {p: int(totals[p][i]) for p in plans})

    remember(curve, best)
    # (lo, hi, before, after): ``before`` is cheapest at lo, something else at hi
    pending = [(int(lo), int(hi), before, after)
               for lo, hi, before, after in zip(quantities[:-1], quantities[1:], best[:-1], best[1:])
               if before is not None and after is not None and before != after]
    done: list[tuple[int, str, str]] = []
    while pending:
        probes = {lo: _probe_grid(lo, hi) for lo, hi, _, _ in pending if hi - lo > 1}
        if probes:
            grid = np.concatenate(list(probes.values()))
            finer = cost_curve(catalog, metric, grid, usage, None, options)
            remember(finer, cheapest_along(finer, plans))
        narrowed = []
        for lo, hi, before, after in pending:
            if hi - lo <= 1:
                done.append((hi, before, after))
                continue
            # the first probe where ``before`` is no longer the cheapest; the one before it still is
            for q in probes[lo].tolist():
                if known[q][0] != before:
                    hi = q
                    break
                lo = q
            narrowed.append((lo, hi, before, after))
        pending = narrowed
    switches = []
    for q, before, after in sorted(done):  # intervals finish in different rounds
        cheapest, totals = known[q]
        new = cheapest or after
        switches.append(Switch(q, before, new, totals[new]))
    return curve, switches


def _probe_grid(lo: int, hi: int) -> np.ndarray:
    """Quantities strictly between ``lo`` and ``hi``: all of them when few, else an even grid."""
    inside = hi - lo - 1
    if inside <= REFINE_POINTS:
        return np.arange(lo + 1, hi, dtype=np.int64)
    return np.unique(np.linspace(lo + 1, hi - 1, REFINE_POINTS).round().astype(np.int64))
