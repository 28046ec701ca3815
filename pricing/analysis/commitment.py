"""Which commitment to buy: the level that minimises expected cost over a usage range.

A plan with a commitment (Gravitate & Save, Enterprise) charges the committed
quantity whatever the usage; usage past it is billed at the overage price. Too
low and overage costs more; too high and the customer pays for units nobody
used. Usage is uncertain, so it is given as a range: ``low``, ``expected`` and
``high``, read either as three weighted scenarios (1/4, 1/2, 1/4) or as a
triangular distribution sampled by Monte Carlo.

Every (level, usage sample) pair is one row of a usage table rated in one
vectorized call, so each cost is exact. Choices (the best level, the cheapest
plan) are made on exact weighted sums of those costs with the one
cheapest-plan rule, :func:`pricing.engine.rating.cheapest_positions`; only the
figures shown (expectation, probabilities, percentiles) use floats. Counted
metrics (API calls, tokens) move in proportion to the charge's metric;
tenants, counts and flags stay as given.

A commitment is advice only if it beats every other plan: the same usage
samples are rated under each other plan (at its catalog default commitment,
as a quote prices it), and the advice names the cheapest overall.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any, Literal

import numpy as np
import pandas as pd

from pricing.engine.catalog import Catalog, MetricKind
from pricing.errors import UsageError
from pricing.engine.money import decimal_places, round_scaled, scaled_int, to_minor
from pricing.engine.formatting import format_money
from pricing.engine.rating import RateOptions, cheapest_positions, included_units, parse_quantity, rate, usage_columns

Method = Literal["scenarios", "triangular"]
SCENARIO_COUNTS = (1, 2, 1)  # low, expected, high: the expected scenario counts twice
SCENARIO_WEIGHTS = tuple(c / sum(SCENARIO_COUNTS) for c in SCENARIO_COUNTS)


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


def _sample_counts(method: Method, n_samples: int) -> np.ndarray:
    """Integer weights of the samples: exact weighted sums compare plans and levels without floats."""
    if method == "scenarios":
        return np.array(SCENARIO_COUNTS, dtype=np.int64)
    return np.ones(n_samples, dtype=np.int64)


def _weighted_sums(costs: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``costs @ counts`` per row, exact: Python ints once an int64 sum could wrap."""
    if costs.dtype != object and costs.size:
        bound = int(np.abs(costs).max()) * int(counts.sum())
        if bound < 2**63 - 1:
            return np.asarray(costs @ counts, dtype=np.int64)
    sums = [sum(int(c) * int(k) for c, k in zip(row, counts)) for row in costs]
    return np.array(sums, dtype=object)


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
class PlanExpectation:
    """One plan's expected cost over the usage samples (``weighted_total / weight`` minor units, exact)."""

    plan: str
    name: str
    weighted_total: int  # sum of sample costs x sample counts: exact
    weight: int  # sum of the sample counts
    eligible: bool  # eligible in every sample (a plan the customer outgrows in some month is no choice)
    reason: str | None  # why not, from the first sample it fails
    commitment: int | None = None  # units committed on the analysed commitment metric, if the plan sells it

    def expected_minor(self, catalog: Catalog) -> int:
        """The expected cost rounded to the minor unit with the catalog's rounding rule."""
        return _rounded_mean(catalog, self.weighted_total, self.weight)


@dataclass(frozen=True)
class CommitmentAnalysis:
    catalog: Catalog
    option: CommitmentOption
    samples: np.ndarray  # usage of option.metric
    weights: np.ndarray
    levels: pd.DataFrame  # one row per commitment level (see analyse_commitment)
    costs: np.ndarray  # exact totals, minor units, levels x samples
    counts: np.ndarray | None = None  # integer weights of the samples (weights = counts / counts.sum())
    others: tuple[PlanExpectation, ...] = ()  # every other plan over the same samples, catalog order

    @property
    def _best_row(self) -> int:
        # exact weighted sums through the one cheapest rule: ties go to the level listed first (the lowest)
        sums = self.levels["weighted_total"].to_numpy()
        return int(cheapest_positions([sums[i:i + 1] for i in range(len(sums))])[0])

    @property
    def best(self) -> pd.Series:
        """The level with the lowest expected cost (the lowest such level on a tie)."""
        return self.levels.iloc[self._best_row]

    @property
    def commitment(self) -> PlanExpectation:
        """The analysed plan at its best commitment level."""
        row = self._best_row
        counts = self.counts if self.counts is not None else np.ones(self.costs.shape[1], dtype=np.int64)
        return PlanExpectation(
            self.option.plan, self.catalog.plans[self.option.plan].name,
            int(self.levels["weighted_total"].iloc[row]), int(counts.sum()),
            bool(self.levels["eligible"].iloc[row]), self.levels["reason"].iloc[row],
            int(self.levels["level"].iloc[row]))

    def choices(self) -> list[PlanExpectation]:
        """Every plan over the same samples: the analysed plan at its best level, the others as quoted, in
        catalog order."""
        mine = self.commitment
        others = {o.plan: o for o in self.others}
        return [mine if plan_id == mine.plan else others[plan_id]
                for plan_id in self.catalog.plans if plan_id == mine.plan or plan_id in others]

    @property
    def recommended(self) -> PlanExpectation | None:
        """The cheapest eligible choice by expected cost (the one cheapest-plan rule, exact); None: none fits."""
        return _cheapest(self.choices())

    @property
    def commitment_is_cheapest(self) -> bool:
        found = self.recommended
        return found is not None and found.plan == self.option.plan

    def advice(self) -> str:
        """The advice in words, metrics and plans by their catalog names, amounts in the catalog's currency."""
        return advice_text(self)

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
    plans: Sequence[str] | None = None,
) -> CommitmentAnalysis:
    """Expected cost and unused-commitment risk of each commitment level over the usage range.

    ``usage`` fixes the other metrics (its value for the charge's metric is
    replaced by the samples). Columns of ``levels``: ``level``,
    ``expected_minor`` (probability-weighted mean cost), ``p5_minor``,
    ``p95_minor``, ``prob_unused`` (chance some committed units go unused),
    ``expected_unused_minor`` and ``p95_unused_minor`` (the money paid for
    unused commitment), ``weighted_total`` (the exact sum the choices are made
    on) and ``eligible`` (the plan fits every sample at that level).

    ``plans`` are the plans the commitment competes with (default: every plan
    of the catalog); each is rated on the same samples, and
    :attr:`CommitmentAnalysis.recommended` is the cheapest of them all.
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
    counts = _sample_counts(method, n_samples)

    # counted metrics (calls, tokens) scale with the charge's metric; tenants, counts, flags and commitments stay
    base_metric = Decimal(parse_quantity(option.metric, usage.get(option.metric, expected), 0))
    table: dict[str, Any] = {}
    for name, raw in usage.items():
        if name in (option.metric, option.commitment_metric):
            continue
        decimals = catalog.metrics[name].decimal_places
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
    rated = rate(catalog, frame, [plan_id], options).plans[plan_id]
    costs = rated.total_minor.reshape(n_levels, n_samples)
    level_eligible = np.asarray(rated.eligible.reshape(n_levels, n_samples).all(axis=1))
    reasons = rated.reason.reshape(n_levels, n_samples)
    level_reason = [None if ok else next(r for r in row if r is not None) for ok, row in zip(level_eligible, reasons)]
    others = _other_plans(catalog, option, frame.head(n_samples).drop(columns=[option.commitment_metric]),
                          counts, plans, options)

    # unused commitment: committed units the billable usage (after free units) did not reach
    charge = _commitment_charge(catalog, plan_id, option)
    columns = usage_columns(catalog, frame)
    included = included_units(catalog, charge, columns)
    usage_scaled = columns.values[option.metric]
    billable = usage_scaled if included is None else np.maximum(usage_scaled - included, 0)
    q_scale = catalog.metrics[option.metric].decimal_places
    c_scale = catalog.metrics[option.commitment_metric].decimal_places
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
        "weighted_total": _weighted_sums(costs, counts),
        "eligible": level_eligible,
        "reason": level_reason,
    })
    return CommitmentAnalysis(catalog, option, values, weights, result, costs, counts, others)


def _other_plans(catalog: Catalog, option: CommitmentOption, samples: pd.DataFrame, counts: np.ndarray,
                 plans: Sequence[str] | None, options: RateOptions | None) -> tuple[PlanExpectation, ...]:
    """Every other plan rated on the same usage samples, each at its catalog default commitment."""
    wanted = [p for p in (plans if plans is not None else catalog.plans) if p != option.plan]
    if not wanted:
        return ()
    rated = rate(catalog, samples, wanted, options)
    out = []
    for plan_id, rating in rated.plans.items():
        totals = np.asarray(rating.total_minor).reshape(1, -1)
        fails = np.flatnonzero(~rating.eligible)
        commitment = next((c.commitment.default_quantity for c in catalog.plans[plan_id].charges
                           if c.commitment is not None and c.commitment.quantity_metric == option.commitment_metric),
                          None)
        out.append(PlanExpectation(
            plan_id, catalog.plans[plan_id].name, int(_weighted_sums(totals, counts)[0]), int(counts.sum()),
            len(fails) == 0, None if len(fails) == 0 else rating.reason[fails[0]],
            None if commitment is None else int(commitment)))
    return tuple(out)


def _cheapest(choices: Sequence[PlanExpectation]) -> PlanExpectation | None:
    """The cheapest eligible choice by exact expected cost (:func:`pricing.engine.rating.cheapest_positions`)."""
    if not choices:
        return None
    best = cheapest_positions([np.array([c.weighted_total], dtype=object) for c in choices],
                              [np.array([c.eligible]) for c in choices])[0]
    return None if best < 0 else choices[int(best)]


def _rounded_mean(catalog: Catalog, weighted_total: int, weight: int) -> int:
    """``weighted_total / weight`` minor units, rounded once with the catalog's rule (money.to_minor)."""
    digits = len(str(abs(int(weighted_total)))) + 10
    with localcontext() as context:
        context.prec = digits
        mean = Decimal(int(weighted_total)) / Decimal(int(weight))
    return to_minor(mean, 0, catalog.settings.rounding)


def advice_text(analysis: CommitmentAnalysis) -> str:
    """What to buy, in a sentence or two a salesperson can read out.

    The commitment is recommended only when it is the cheapest eligible choice by
    expected cost; otherwise the cheaper plan is named, and by how much it beats the
    best commitment.
    """
    catalog = analysis.catalog
    cur, d = catalog.currency, catalog.decimals

    def money(minor: int) -> str:
        return format_money(minor, cur, d)

    metric_name = catalog.metrics[analysis.option.commitment_metric].name
    mine = analysis.commitment
    mine_minor = mine.expected_minor(catalog)
    commit = f"{mine.commitment:,} {metric_name} on {mine.name}"
    recommended = analysis.recommended
    if recommended is None:
        return (f"No plan fits this usage range: {mine.name} and every other plan are ineligible in some of the "
                f"usage samples.")
    rivals = [c for c in analysis.choices() if c.plan != mine.plan and c.eligible]
    if recommended.plan == mine.plan:
        text = f"Commit to {commit}: expected {money(mine_minor)} a month."
        runner = _cheapest(rivals)
        if runner is not None:
            gap = runner.expected_minor(catalog) - mine_minor
            text += (f" That is the cheapest plan for this usage: {money(gap)} a month less than "
                     f"{_described(catalog, analysis, runner)}, the cheapest other plan.")
        zero = analysis.levels[analysis.levels["level"] == 0]
        if not zero.empty and mine.commitment:
            none_minor = _rounded_mean(catalog, int(zero["weighted_total"].iloc[0]), mine.weight)
            text += f" Without a commitment {mine.name} would cost {money(none_minor)} expected."
        best = analysis.best
        text += (f" Risk of paying for unused commitment: {best['prob_unused']:.0%} of months, "
                 f"{money(int(round(best['expected_unused_minor'])))} expected, "
                 f"{money(int(best['p95_unused_minor']))} at the 95th percentile.")
        return text
    cheaper = recommended.expected_minor(catalog)
    if not mine.eligible:
        return (f"Choose {_described(catalog, analysis, recommended)}: expected {money(cheaper)} a month. "
                f"{mine.name} is not available for this usage: {mine.reason or 'not eligible'}.")
    return (f"Choose {_described(catalog, analysis, recommended)}: expected {money(cheaper)} a month, "
            f"{money(mine_minor - cheaper)} less than the best commitment on {mine.name} "
            f"({mine.commitment:,} {metric_name}, expected {money(mine_minor)}). "
            f"No commitment on {mine.name} beats it for this usage range.")


def _described(catalog: Catalog, analysis: CommitmentAnalysis, choice: PlanExpectation) -> str:
    """A plan's name, with the commitment it is priced at when it sells one on the analysed metric."""
    if choice.commitment is None or choice.plan == analysis.option.plan:
        return choice.name
    metric_name = catalog.metrics[analysis.option.commitment_metric].name
    return f"{choice.name} (at its default commitment of {choice.commitment:,} {metric_name})"


__all__ = [
    "CommitmentAnalysis", "CommitmentOption", "PlanExpectation", "advice_text", "analyse_commitment",
    "commitment_options", "find_option", "usage_samples",
]
