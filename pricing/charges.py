"""Charge models, vectorized over many usage rows in exact integer arithmetic.

Each model turns an array of billable quantities (integers scaled by the
metric's decimals) into an array of exact amounts (integers scaled by
``10**amount_scale``). Nothing here rounds: rating rounds each line once.
A partial result keeps what a reviewer needs to explain the line (the units
and price of each tier, the number of packages).

Quantities and prices are scaled integers: 0.004 EUR per call becomes 4 at
price scale 3, so 200 calls cost 800 at amount scale 3 (EUR 0.800). When a
product could pass 2**62, the arrays switch to Python integers (object
dtype): slower, still exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from .catalog import (
    FlatCharge,
    GraduatedCharge,
    PackageCharge,
    PackageRounding,
    PercentageCharge,
    PerUnitCharge,
    Settings,
    TierBounds,
    VolumeCharge,
)
from .money import decimal_places, scaled_int

_SAFE = 2**62

Array = np.ndarray


@dataclass(frozen=True)
class ModelResult:
    """A charge model's exact amounts and what explains them."""

    amount: Array  # exact amount, scaled by 10**amount_scale
    quantity: Array  # the quantity shown on the line (scaled by quantity_scale)
    quantity_scale: int
    unit_price: Decimal | None  # constant unit price of the line, if it has one
    detail: dict[str, Any] = field(default_factory=dict)


def price_scale(charge: Any) -> int:
    """Decimal places needed to hold every price of a charge as an integer."""
    prices: list[Decimal] = []
    if isinstance(charge, PerUnitCharge):
        prices.append(charge.unit_price)
    elif isinstance(charge, (GraduatedCharge, VolumeCharge)):
        for tier in charge.tiers:
            prices += [tier.unit_price, tier.flat_fee]
    elif isinstance(charge, PackageCharge):
        prices.append(charge.package_price)
    elif isinstance(charge, PercentageCharge):
        prices += [charge.rate / 100, charge.fixed_fee]
    elif isinstance(charge, FlatCharge):
        prices.append(charge.fee)
    if charge.commitment is not None:
        prices.append(charge.commitment.unit_price)
    return max((decimal_places(p) for p in prices), default=0)


def exact(values: Array, bound: int) -> Array:
    """Switch to Python ints when ``max|values| * bound`` could overflow int64."""
    if values.dtype == object or len(values) == 0:
        return values
    top = int(np.abs(values).max())
    if top * max(bound, 1) >= _SAFE:
        return values.astype(object)
    return values


def _tier_bounds(charge: GraduatedCharge | VolumeCharge, qscale: int) -> list[int | None]:
    return [None if t.up_to is None else scaled_int(t.up_to, qscale) for t in charge.tiers]


def per_unit(charge: PerUnitCharge, billable: Array, qscale: int, pscale: int) -> ModelResult:
    price = scaled_int(charge.unit_price, pscale)
    billable = exact(billable, price)
    return ModelResult(billable * price, billable, qscale, charge.unit_price)


def graduated(
    charge: GraduatedCharge, billable: Array, qscale: int, pscale: int, settings: Settings
) -> ModelResult:
    """Each tier prices its own units; a tier's flat fee is due once usage enters it.

    NOTE: usage of zero lies in the first tier, so the first tier's flat fee is
    due even then (as in Stripe and Lago, whose first tier starts at 0). With
    ``up_to_inclusive`` a quantity exactly on a bound has not entered the next
    tier; with ``up_to_exclusive`` it has (and pays that tier's flat fee).
    """
    bounds = _tier_bounds(charge, qscale)
    flat_scale = 10 ** (qscale + pscale)
    top_price = max(scaled_int(t.unit_price, pscale) for t in charge.tiers)
    billable = exact(billable, top_price + flat_scale)
    amount = billable * 0
    units_per_tier: list[Array] = []
    entered_per_tier: list[Array] = []
    lower = 0
    for tier, upper in zip(charge.tiers, bounds):
        above = billable - lower
        units = np.maximum(above, 0) if upper is None else np.clip(above, 0, upper - lower)
        if lower == 0:
            entered = np.ones(len(billable), dtype=bool)
        elif settings.tier_bounds is TierBounds.UP_TO_INCLUSIVE:
            entered = billable > lower
        else:
            entered = billable >= lower
        amount = amount + units * scaled_int(tier.unit_price, pscale)
        if tier.flat_fee:
            amount = amount + entered * (scaled_int(tier.flat_fee, pscale) * 10**qscale)
        units_per_tier.append(units)
        entered_per_tier.append(entered)
        lower = upper if upper is not None else lower
    return ModelResult(
        amount, billable, qscale, None, {"tier_units": units_per_tier, "tier_entered": entered_per_tier}
    )


def volume(
    charge: VolumeCharge, billable: Array, qscale: int, pscale: int, settings: Settings
) -> ModelResult:
    """All units at the price of the tier the quantity reaches, plus its flat fee.

    NOTE: more usage can cost less here (crossing into a cheaper tier reprices
    every unit); that cliff is the model's nature, not a bug.
    """
    bounds = _tier_bounds(charge, qscale)
    finite = np.array([b for b in bounds if b is not None], dtype=np.int64)
    side = "left" if settings.tier_bounds is TierBounds.UP_TO_INCLUSIVE else "right"
    # index of the first tier whose bound holds the quantity
    tier_index = np.searchsorted(finite, billable.astype(np.int64) if billable.dtype != object
                                 else np.array([min(int(x), 2**62) for x in billable]), side=side)
    prices = np.array([scaled_int(t.unit_price, pscale) for t in charge.tiers], dtype=np.int64)
    flats = np.array([scaled_int(t.flat_fee, pscale) * 10**qscale for t in charge.tiers], dtype=np.int64)
    billable = exact(billable, int(prices.max()) + int(flats.max()) + 1)
    unit = prices[tier_index]
    flat = flats[tier_index]
    if billable.dtype == object:
        unit, flat = unit.astype(object), flat.astype(object)
    amount = billable * unit + flat
    return ModelResult(amount, billable, qscale, None, {"tier_index": tier_index})


def package(
    charge: PackageCharge, billable: Array, qscale: int, pscale: int, settings: Settings
) -> ModelResult:
    """A price per block of ``package_size`` units.

    NOTE: a started block is billed whole by default (``up``), because a block
    counts from its first unit; ``down`` bills only completed blocks.
    """
    size = scaled_int(charge.package_size, qscale)
    rounding = charge.rounding or settings.package_rounding
    if rounding is PackageRounding.UP:
        blocks = -((-billable) // size)
    else:
        blocks = billable // size
    price = scaled_int(charge.package_price, pscale)
    blocks = exact(blocks, price)
    # amount scale is qscale + pscale for every model, so lift the block count
    return ModelResult(blocks * price * 10**qscale, blocks, 0, charge.package_price,
                       {"package_size": charge.package_size, "units": billable})


def percentage(charge: PercentageCharge, billable: Array, qscale: int, pscale: int) -> ModelResult:
    """``rate`` percent of an amount, plus a fixed fee in any period with a non-zero amount."""
    rate = scaled_int(charge.rate / 100, pscale)
    fixed = scaled_int(charge.fixed_fee, pscale) * 10**qscale
    billable = exact(billable, rate + fixed)
    amount = billable * rate + (billable > 0) * fixed
    return ModelResult(amount, billable, qscale, charge.rate / 100, {"fixed_fee": charge.fixed_fee})


def flat(charge: FlatCharge, quantity: Array, qscale: int, pscale: int) -> ModelResult:
    """A feature fee for the period while the metric is non-zero."""
    on = (quantity > 0).astype(np.int64)
    fee = scaled_int(charge.fee, pscale) * 10**qscale
    return ModelResult(on * fee, on * 10**qscale, qscale, charge.fee)


def apply_model(charge: Any, billable: Array, qscale: int, pscale: int, settings: Settings) -> ModelResult:
    """Pick the model by the charge's ``model`` name."""
    if isinstance(charge, PerUnitCharge):
        return per_unit(charge, billable, qscale, pscale)
    if isinstance(charge, GraduatedCharge):
        return graduated(charge, billable, qscale, pscale, settings)
    if isinstance(charge, VolumeCharge):
        return volume(charge, billable, qscale, pscale, settings)
    if isinstance(charge, PackageCharge):
        return package(charge, billable, qscale, pscale, settings)
    if isinstance(charge, PercentageCharge):
        return percentage(charge, billable, qscale, pscale)
    if isinstance(charge, FlatCharge):
        return flat(charge, billable, qscale, pscale)
    raise TypeError(f"unknown charge model {charge!r}")  # pragma: no cover
