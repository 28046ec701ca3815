"""Candidate catalogs: a catalog plus frozen overrides of its price parameters.

A *price parameter* is one published number of a plan: a recurring fee, a
unit price, a package price, a feature fee, an included quantity, a tier
bound or price, a commitment price, a minimum spend. Each has a stable key
such as ``payg.maa.unit_price`` or ``enterprise.maa.tiers.1.up_to``.

:func:`apply_overrides` never mutates anything: it turns the catalog into
plain data (:func:`pricing.engine.catalog.catalog_to_data`), writes the new numbers
and validates the result again (:func:`pricing.engine.catalog.parse_catalog`), so a
candidate is exactly as trustworthy as a catalog read from YAML.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from pricing.engine.catalog import (
    Catalog,
    FlatCharge,
    GraduatedPercentageCharge,
    PackageCharge,
    PercentageCharge,
    PercentagePerTransactionCharge,
    PerUnitCharge,
    Plan,
    catalog_to_data,
    parse_catalog,
)
from pricing.errors import CatalogError

PARAMETER_KINDS = (
    "recurring", "minimum_spend", "unit_price", "package_price", "package_size", "fee", "rate",
    "fixed_fee", "included", "included_times", "tier_up_to", "tier_unit_price", "tier_flat_fee",
    "commitment_price", "tier_rate", "tier_block_size",
)
QUANTITY_KINDS = frozenset({"included", "included_times", "tier_up_to", "package_size", "tier_block_size"})


@dataclass(frozen=True)
class PriceParameter:
    """One number of a catalog a candidate may change."""

    key: str  # 'payg.maa.unit_price'
    plan: str
    kind: str  # one of PARAMETER_KINDS
    value: Decimal
    path: tuple[str | int, ...]  # where it sits in catalog_to_data()
    metric: str | None = None  # the charge's metric; None for plan-level fees
    decimals: int | None = None  # places a quantity parameter may have (None: a price, any precision)

    @property
    def is_quantity(self) -> bool:
        return self.kind in QUANTITY_KINDS

    @property
    def label(self) -> str:
        return self.key.replace("_", " ")


def _charge_ids(plan: Plan) -> list[str]:
    """A charge's id within its plan: its metric, or ``metric#i`` when a plan charges a metric twice."""
    metrics = [c.metric for c in plan.charges]
    return [m if metrics.count(m) == 1 else f"{m}#{i}" for i, m in enumerate(metrics)]


def price_parameters(catalog: Catalog, plans: Iterable[str] | None = None) -> list[PriceParameter]:
    """Every price parameter of the catalog (or of ``plans``), in catalog order."""
    wanted = set(plans) if plans is not None else None
    out: list[PriceParameter] = []
    for plan_id, plan in catalog.plans.items():
        if wanted is not None and plan_id not in wanted:
            continue

        def add(key: str, kind: str, value: Decimal, path: tuple[str | int, ...], metric: str | None = None,
                decimals: int | None = None, plan_id: str = plan_id) -> None:
            out.append(PriceParameter(f"{plan_id}.{key}", plan_id, kind, value, ("plans", plan_id) + path,
                                      metric, decimals))

        if plan.recurring is not None:
            add("recurring", "recurring", plan.recurring.amount, ("recurring", "amount"))
        if plan.minimum_spend is not None:
            add("minimum_spend", "minimum_spend", plan.minimum_spend.amount, ("minimum_spend", "amount"))
        for i, (cid, charge) in enumerate(zip(_charge_ids(plan), plan.charges)):
            base: tuple[str | int, ...] = ("charges", i)
            d = catalog.metrics[charge.metric].decimal_places
            m = charge.metric
            if isinstance(charge, PerUnitCharge):
                add(f"{cid}.unit_price", "unit_price", charge.unit_price, base + ("unit_price",), m)
            elif isinstance(charge, PackageCharge):
                add(f"{cid}.package_price", "package_price", charge.package_price, base + ("package_price",), m)
                add(f"{cid}.package_size", "package_size", charge.package_size, base + ("package_size",), m, d)
            elif isinstance(charge, FlatCharge):
                add(f"{cid}.fee", "fee", charge.fee, base + ("fee",), m)
            elif isinstance(charge, PercentageCharge | PercentagePerTransactionCharge):
                # NOTE: a per-transaction charge has the same two levers (it had none here: it fell
                # through to the tiered branch and failed on a missing .tiers, found by mypy).
                add(f"{cid}.rate", "rate", charge.rate, base + ("rate",), m)
                if charge.fixed_fee:
                    add(f"{cid}.fixed_fee", "fixed_fee", charge.fixed_fee, base + ("fixed_fee",), m)
            elif isinstance(charge, GraduatedPercentageCharge):
                for t, percentage_tier in enumerate(charge.tiers):
                    tp = base + ("tiers", t)
                    if percentage_tier.up_to is not None:
                        add(f"{cid}.tiers.{t}.up_to", "tier_up_to", percentage_tier.up_to, tp + ("up_to",), m, d)
                    add(f"{cid}.tiers.{t}.rate", "tier_rate", percentage_tier.rate, tp + ("rate",), m)
                    if percentage_tier.flat_fee:
                        add(f"{cid}.tiers.{t}.flat_fee", "tier_flat_fee", percentage_tier.flat_fee,
                            tp + ("flat_fee",), m)
            else:  # graduated, volume
                for t, tier in enumerate(charge.tiers):
                    tp = base + ("tiers", t)
                    if tier.up_to is not None:
                        add(f"{cid}.tiers.{t}.up_to", "tier_up_to", tier.up_to, tp + ("up_to",), m, d)
                    add(f"{cid}.tiers.{t}.unit_price", "tier_unit_price", tier.unit_price, tp + ("unit_price",), m)
                    if tier.block_size is not None:
                        add(f"{cid}.tiers.{t}.block_size", "tier_block_size", tier.block_size,
                            tp + ("block_size",), m, d)
                    if tier.flat_fee:
                        add(f"{cid}.tiers.{t}.flat_fee", "tier_flat_fee", tier.flat_fee, tp + ("flat_fee",), m)
            inc = charge.included
            if inc is not None and not inc.unlimited:
                if inc.quantity or inc.per_unit_of is None:
                    add(f"{cid}.included", "included", inc.quantity, base + ("included", "quantity"), m, d)
                if inc.per_unit_of is not None:
                    add(f"{cid}.included.times", "included_times", inc.times, base + ("included", "times"), m, 6)
                if inc.at_least:
                    add(f"{cid}.included.at_least", "included", inc.at_least, base + ("included", "at_least"), m, d)
            if charge.commitment is not None:
                add(f"{cid}.commitment.unit_price", "commitment_price", charge.commitment.unit_price,
                    base + ("commitment", "unit_price"), m)
    return out


def parameter_map(catalog: Catalog) -> dict[str, PriceParameter]:
    return {p.key: p for p in price_parameters(catalog)}


def _as_decimal(key: str, raw: Any) -> Decimal:
    if isinstance(raw, bool) or isinstance(raw, float):
        raise CatalogError(f"override {key}: give {raw!r} as a decimal string, not a {type(raw).__name__}")
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except InvalidOperation:
        raise CatalogError(f"override {key}: {raw!r} is not a decimal number") from None
    if not value.is_finite() or value < 0:
        raise CatalogError(f"override {key}: {raw!r} must be a finite number >= 0")
    return value


def _text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def apply_overrides(catalog: Catalog, overrides: Mapping[str, Any], version: str | None = None) -> Catalog:
    """A new, validated catalog with each parameter key set to its new value.

    Values are Decimals, ints or decimal strings (never floats). The
    candidate's version is ``version`` or the original's with ``+candidate``.
    """
    params = parameter_map(catalog)
    data = catalog_to_data(catalog)
    for key, raw in overrides.items():
        param = params.get(key)
        if param is None:
            raise CatalogError(f"catalog {catalog.id!r} has no price parameter {key!r}"
                               f" (see price_parameters(); e.g. {next(iter(params), 'none')})")
        value = _as_decimal(key, raw)
        if param.decimals is not None and value != round(value, param.decimals):
            raise CatalogError(f"override {key}: {value} has more than {param.decimals} decimal places")
        node: Any = data
        for part in param.path[:-1]:
            if isinstance(part, str) and part not in node:
                node[part] = {}
            node = node[part]
        # quantities may be plain ints in catalog data; prices stay quoted strings
        node[param.path[-1]] = int(value) if param.is_quantity and value == value.to_integral_value() \
            else _text(value)
    data["version"] = version or f"{catalog.version}+candidate"
    return parse_catalog(data, f"candidate of {catalog.id}")


def scaled_value(param: PriceParameter, percent: Decimal) -> Decimal:
    """``param``'s value changed by ``percent`` (quantities rounded half-up to what the metric allows)."""
    value = param.value * (Decimal(100) + Decimal(percent)) / Decimal(100)
    if param.is_quantity and param.decimals is not None:
        value = value.quantize(Decimal(1).scaleb(-param.decimals), rounding=ROUND_HALF_UP)
    return max(value, Decimal(0))


def scale_parameter(catalog: Catalog, key: str, percent: Decimal | int | str) -> Catalog:
    """The catalog with one parameter moved by ``percent`` (e.g. ``-10``)."""
    params = parameter_map(catalog)
    if key not in params:
        raise CatalogError(f"catalog {catalog.id!r} has no price parameter {key!r}")
    pct = _signed_percent(percent)
    return apply_overrides(catalog, {key: scaled_value(params[key], pct)}, f"{catalog.version}{pct:+}%{key}")


def _signed_percent(percent: Decimal | int | str) -> Decimal:
    if isinstance(percent, float):
        raise CatalogError(f"percent {percent!r}: give a Decimal, int or string, not a float")
    try:
        value = Decimal(str(percent))
    except InvalidOperation:
        raise CatalogError(f"percent {percent!r} is not a number") from None
    if not value.is_finite() or value <= -100:
        raise CatalogError(f"percent {percent!r} must be greater than -100")
    return value


def diff_parameters(current: Catalog, candidate: Catalog) -> list[tuple[str, Decimal, Decimal]]:
    """(key, current value, candidate value) for every parameter the two catalogs hold differently."""
    before = parameter_map(current)
    after = parameter_map(candidate)
    out = []
    for key, param in before.items():
        if key in after and after[key].value != param.value:
            out.append((key, param.value, after[key].value))
    for key in after:
        if key not in before:
            out.append((key, Decimal(0), after[key].value))
    return out


__all__ = [
    "PARAMETER_KINDS", "PriceParameter", "apply_overrides", "diff_parameters", "parameter_map",
    "price_parameters", "scale_parameter", "scaled_value",
]
