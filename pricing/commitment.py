"""Which commitment to buy: the level that minimises expected cost over a usage range.

A plan with a commitment (Gravitate & Save, Enterprise) charges the committed
quantity whatever the usage; usage past it is billed at the overage price. Too
low and overage costs more; too high and the customer pays for units nobody
used. Usage is uncertain, so it is given as a range: ``low``, ``expected`` and
``high``, read either as three weighted scenarios (1/4, 1/2, 1/4) or as a
triangular distribution sampled by Monte Carlo.

Every (level, usage sample) pair is one row of a usage table rated in one
vectorized call, so each cost is exact; only the weighting (expectation,
probabilities, percentiles) uses floats. Counted metrics (API calls,
tokens) move in proportion to the charge's metric; tenants, counts and flags
stay as given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd

from .catalog import Catalog, MetricKind
from .errors import UsageError
from .money import decimal_places, round_scaled, scaled_int
from .rating import RateOptions, included_units, parse_quantity, rate, usage_columns

Method = Literal["scenarios", "triangular"]
SCENARIO_WEIGHTS = (0.25, 0.5, 0.25)


@dataclass(frozen=True)
class CommitmentOption:
    """A commitment a plan sells: ``commitment_metric`` units of ``metric`` bought upfront."""

    plan: str
    metric: str
    commitment_metric: str
    unit_price: Decimal
    default_quantity: Decimal

    @property
    def key(self) -> str:
        return f"{self.plan}.{self.commitment_metric}"


def commitment_options(catalog: Catalog) -> list[CommitmentOption]:
    out = []
    for plan_id, plan in catalog.plans.items():
        for charge in plan.charges:
            if charge.commitment is not None:
                c = charge.commitment
                out.append(CommitmentOption(plan_id, charge.metric, c.quantity_metric, c.unit_price,
                                            c.default_quantity))
    return out


def find_option(catalog: Catalog, plan_id: str, commitment_metric: str | None = None) -> CommitmentOption:
    options = [o for o in commitment_options(catalog) if o.plan == plan_id
               and (commitment_metric is None or o.commitment_metric == commitment_metric)]
    if not options:
        sold = ", ".join(o.key for o in commitment_options(catalog)) or "none"
        raise UsageError(f"plan {plan_id!r} of catalog {catalog.id!r} sells no commitment"
                         f"{'' if commitment_metric is None else ' on ' + repr(commitment_metric)} (sold: {sold})")
    return options[0]


def usage_samples(low: int, expected: int, high: int, method: Method = "triangular",
                  samples: int = 1000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Usage quantities and their probabilities (summing to 1)."""
    if not 0 <= low <= expected <= high:
        raise UsageError(f"usage range must satisfy 0 <= low <= expected <= high, got {low}, {expected}, {high}")
    if method == "scenarios":
        return np.array([low, expected, high], dtype=np.int64), np.array(SCENARIO_WEIGHTS)
    if method != "triangular":
        raise UsageError(f"unknown usage distribution {method!r}: choose 'scenarios' or 'triangular'")
    if samples < 10:
        raise UsageError(f"a Monte Carlo needs at least 10 samples, got {samples}")
    if high == low:
        values = np.full(samples, low, dtype=np.int64)
    else:
        values = np.round(np.random.default_rng(seed).triangular(low, expected, high, samples)).astype(np.int64)
    return values, np.full(samples, 1.0 / samples)


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> np.ndarray:
    """Per row of ``values`` (levels x samples): the smallest value whose cumulative weight reaches q."""
    order = np.argsort(values, axis=1, kind="stable")
    sorted_values = np.take_along_axis(values, order, axis=1)
    cumulative = np.cumsum(weights[order], axis=1)
    pick = np.argmax(cumulative >= q - 1e-12, axis=1)
    return sorted_values[np.arange(len(values)), pick]


def _commitment_charge(catalog: Catalog, plan_id: str, option: CommitmentOption) -> Any:
    return next(c for c in catalog.plans[plan_id].charges
                if c.commitment is not None and c.commitment.quantity_metric == option.commitment_metric)


@dataclass(frozen=True)
class CommitmentAnalysis:
    catalog: Catalog
    option: CommitmentOption
    samples: np.ndarray  # usage of option.metric
    weights: np.ndarray
    levels: pd.DataFrame  # one row per commitment level (see analyse_commitment)
    costs: np.ndarray  # exact totals, minor units, levels x samples

    @property
    def best(self) -> pd.Series:
        """The level with the lowest expected cost (the lowest such level on a tie)."""
        return self.levels.loc[self.levels["expected_minor"].idxmin()]

    @property
    def best_level(self) -> int:
        return int(self.best["level"])

    def at(self, level: int) -> pd.Series:
        found = self.levels[self.levels["level"] == level]
        if found.empty:
            raise UsageError(f"commitment level {level} was not analysed")
        return found.iloc[0]


def analyse_commitment(
    catalog: Catalog,
    plan_id: str,
    usage: Mapping[str, Any],
    low: int,
    expected: int,
    high: int,
    commitment_metric: str | None = None,
    method: Method = "triangular",
    samples: int = 1000,
    seed: int = 0,
    levels: Sequence[int] | None = None,
    options: RateOptions | None = None,
) -> CommitmentAnalysis:
    """Expected cost and unused-commitment risk of each commitment level over the usage range.

    ``usage`` fixes the other metrics (its value for the charge's metric is
    replaced by the samples). Columns of ``levels``: ``level``,
    ``expected_minor`` (probability-weighted mean cost), ``p5_minor``,
    ``p95_minor``, ``prob_unused`` (chance some committed units go unused),
    ``expected_unused_minor`` and ``p95_unused_minor`` (the money paid for
    unused commitment).
    """
    option = find_option(catalog, plan_id, commitment_metric)
    unknown = [k for k in usage if k not in catalog.metrics]
    if unknown:
        raise UsageError(f"unknown metric {unknown[0]!r} for catalog {catalog.id!r}")
    values, weights = usage_samples(low, expected, high, method, samples, seed)
    if levels is None:
        grid = np.linspace(0, max(high, 1), 41)
        quantiles = np.quantile(values, np.linspace(0, 1, 21)) if len(values) > 3 else values
        # the optimum sits where billable usage (usage less the free units) meets a sample
        charge = _commitment_charge(catalog, plan_id, option)
        free = float(charge.included.quantity) if charge.included is not None and not charge.included.unlimited else 0.0
        points = np.asarray(quantiles, dtype=np.float64)
        candidates = np.concatenate([grid, points, np.maximum(points - free, 0), [float(option.default_quantity)]])
        level_values = np.unique(np.round(candidates).astype(np.int64))
    else:
        level_values = np.unique(np.asarray(levels, dtype=np.int64))
        if (level_values < 0).any():
            raise UsageError("commitment levels must be >= 0")
    n_levels, n_samples = len(level_values), len(values)

    # counted metrics (calls, tokens) scale with the charge's metric; tenants, counts, flags and commitments stay
    base_metric = Decimal(parse_quantity(option.metric, usage.get(option.metric, expected), 0))
    table: dict[str, Any] = {}
    for name, raw in usage.items():
        if name in (option.metric, option.commitment_metric):
            continue
        decimals = catalog.metrics[name].decimals
        quantity = parse_quantity(name, raw, decimals)
        spec = catalog.metrics[name]
        calls = spec.kind is MetricKind.METERED and spec.meter is not None and spec.meter.aggregate == "count"
        if calls and base_metric > 0 and decimals == 0:
            column = np.round(quantity * values / float(base_metric)).astype(np.int64)
        else:
            column = np.full(n_samples, quantity, dtype=np.int64)
            if decimals:
                column = np.array([str(Decimal(quantity).scaleb(-decimals))] * n_samples, dtype=object)
        table[name] = np.tile(column, n_levels)
    table[option.metric] = np.tile(values, n_levels)
    table[option.commitment_metric] = np.repeat(level_values, n_samples)
    frame = pd.DataFrame(table)
    costs = rate(catalog, frame, [plan_id], options).plans[plan_id].total_minor.reshape(n_levels, n_samples)

    # unused commitment: committed units the billable usage (after free units) did not reach
    charge = _commitment_charge(catalog, plan_id, option)
    columns = usage_columns(catalog, frame)
    included = included_units(catalog, charge, columns)
    usage_scaled = columns.values[option.metric]
    billable = usage_scaled if included is None else np.maximum(usage_scaled - included, 0)
    q_scale = catalog.metrics[option.metric].decimals
    c_scale = catalog.metrics[option.commitment_metric].decimals
    committed = columns.values[option.commitment_metric] * 10**q_scale // 10**c_scale
    unused_units = np.maximum(committed - billable, 0)
    p_scale = decimal_places(option.unit_price)
    price = scaled_int(option.unit_price, p_scale)
    unused_minor = round_scaled(unused_units * price, q_scale + p_scale - catalog.decimals,
                                catalog.settings.rounding).reshape(n_levels, n_samples)

    costs_f = costs.astype(np.float64)
    unused_f = unused_minor.astype(np.float64)
    result = pd.DataFrame({
        "level": level_values,
        "expected_minor": np.round(costs_f @ weights, 2),
        "p5_minor": _weighted_quantile(costs, weights, 0.05),
        "p95_minor": _weighted_quantile(costs, weights, 0.95),
        "prob_unused": np.round((unused_minor > 0).astype(np.float64) @ weights, 4),
        "expected_unused_minor": np.round(unused_f @ weights, 2),
        "p95_unused_minor": _weighted_quantile(unused_minor, weights, 0.95),
    })
    return CommitmentAnalysis(catalog, option, values, weights, result, costs)


__all__ = [
    "CommitmentAnalysis", "CommitmentOption", "analyse_commitment", "commitment_options", "find_option",
    "usage_samples",
]
