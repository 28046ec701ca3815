"""What every charge model shares: the typed result, the model interface, exact arithmetic.

A model turns an array of billable quantities (integers scaled by the
metric's decimals, ``qscale``) into an array of exact amounts scaled by
``10**(qscale + pscale)``, where ``pscale`` is the price scale of the charge
(:meth:`ChargeModel.price_scale`). Nothing here rounds: rating rounds each
line once.

Quantities and prices are scaled integers: 0.004 EUR per call becomes 4 at
price scale 3, so 200 calls cost 800 at amount scale 3 (EUR 0.800). Before
a product or a sum could leave int64, the arrays switch to Python integers
(object dtype): slower, still exact (:func:`exact`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from pricing.engine.catalog import PackageRounding, PercentageTier, Settings, Tier, TierBounds
from pricing.engine.formatting import grouped_number, grouped_scaled
from pricing.engine.money import decimal_places, from_scaled, scaled_int
from pricing.engine.formatting import plain_number

Array = np.ndarray

SAFE = 2**62
"""Largest magnitude kept in int64: half of int64's range, so one more sum of two safe values still fits."""


@dataclass(frozen=True)
class ModelResult:
    """A charge model's exact amounts per row and the quantity its line shows."""

    amount: Array  # exact amount, scaled by 10**(qscale + pscale)
    quantity: Array  # the quantity shown on the line (scaled by quantity_scale)
    quantity_scale: int
    unit_price: Decimal | None  # constant unit price of the line, if it has one


R = TypeVar("R", bound=ModelResult)
C = TypeVar("C")


@dataclass(frozen=True)
class ChargeModel(ABC, Generic[C, R]):
    """One charge model bound to one charge of the catalog.

    ``qscale`` is the number of decimals of the charge's metric; ``settings``
    and ``interval`` are the catalog's, read by models whose rule depends on
    them (tier bounds, package rounding) or whose explanation names them.
    """

    charge: C
    qscale: int
    settings: Settings = Settings()
    interval: str = "month"

    tiered: ClassVar[bool] = False  # whether :meth:`tiers` describes the tiers a row reached

    @abstractmethod
    def prices(self) -> Iterable[Decimal]:
        """Every price of the charge, before scaling (for :meth:`price_scale`)."""

    @abstractmethod
    def price(self, billable: Array, pscale: int) -> R:
        """Exact amounts of every row; ``pscale`` is :meth:`price_scale` or larger."""

    @abstractmethod
    def explain(self, result: R, row: int) -> str:
        """How the model priced one row, in words (rating adds the usage and what was free)."""

    def tiers(self, result: R, row: int) -> tuple[dict[str, Any], ...]:
        """The tiers one row reached, as plain data for the invoice (tiered models only)."""
        return ()

    def item_suffix(self) -> str:
        """Text appended to the line's item, where the model changes what a quantity means."""
        return ""

    def price_scale(self) -> int:
        """Decimal places needed to hold every price of the charge (and its commitment) as integers."""
        prices = list(self.prices())
        commitment = getattr(self.charge, "commitment", None)
        if commitment is not None:
            prices.append(commitment.unit_price)
        return max((decimal_places(p) for p in prices), default=0)

    # --- small helpers the models share ---------------------------------------

    def q(self, scaled: Any) -> str:
        """A quantity of the charge's metric for an explanation: '1,500', '2.5'."""
        return grouped_scaled(scaled, self.qscale)


def unscaled(scaled: Any, scale: int) -> Decimal:
    """The exact Decimal of a scaled integer, whatever its digits (the default context keeps 28)."""
    return from_scaled(scaled, scale)


# A number for an explanation, as every explanation writes it: thousands separators, no trailing zeros.
plain = grouped_number


def exact(values: Array, bound: int, offset: int = 0) -> Array:
    """``values`` as Python ints when ``max|values| * bound + offset`` could leave int64.

    ``bound`` is the largest factor the caller will multiply by and ``offset``
    the largest constant it will add. A factor or offset that is itself past
    the safe range switches too, even over zeros: numpy refuses to multiply
    an int64 array by a Python int beyond int64.
    """
    if values.dtype == object:
        return values
    if bound >= SAFE or offset >= SAFE:
        return values.astype(object)
    if len(values) == 0:
        return values
    top = int(np.abs(values).max())
    if top * max(bound, 1) + offset >= SAFE:
        return values.astype(object)
    return values


def blocks(units: Array, size: int | Array, rounding: PackageRounding) -> Array:
    """Whole blocks of ``size`` in ``units`` (both scaled alike).

    NOTE: ``up`` counts a started block whole, because a block counts from its
    first unit; ``down`` counts only completed blocks.
    """
    if rounding is PackageRounding.UP:
        return -((-units) // size)
    return units // size


def tier_bounds(tiers: Sequence[Any], qscale: int) -> list[int | None]:
    """Each tier's ``up_to`` scaled to the metric (``None`` for the open last tier)."""
    return [None if t.up_to is None else scaled_int(t.up_to, qscale) for t in tiers]


def entered(billable: Array, lower: int, settings: Settings) -> Array:
    """Rows whose usage has entered a tier starting at ``lower`` (a bool array).

    NOTE: usage of zero lies in the first tier, so the first tier is always
    entered (as in Stripe and Lago, whose first tier starts at 0). With
    ``up_to_inclusive`` a quantity exactly on a bound has not entered the next
    tier; with ``up_to_exclusive`` it has.
    """
    if lower == 0:
        return np.ones(len(billable), dtype=bool)
    if settings.tier_bounds is TierBounds.UP_TO_INCLUSIVE:
        return np.asarray(billable > lower, dtype=bool)
    return np.asarray(billable >= lower, dtype=bool)


def block_size(tier: Tier, qscale: int) -> int | None:
    """A tier's block size scaled to the metric, or ``None`` when it prices units."""
    return None if tier.block_size is None else scaled_int(tier.block_size, qscale)


def tier_row(index: int, tier: Tier | PercentageTier, units: Decimal, **prices: str) -> dict[str, Any]:
    """One reached tier as plain data for an invoice line."""
    return {"tier": index + 1, "up_to": None if tier.up_to is None else plain_number(tier.up_to),
            "units": plain_number(units), **prices}
