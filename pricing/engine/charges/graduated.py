"""Graduated: each tier prices the units that fall in it, per unit or per block."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from pricing.engine.catalog import GraduatedCharge, Settings
from pricing.engine.money import scaled_int
from pricing.engine.formatting import plain_number
from pricing.engine.charges.base import (
    Array,
    ChargeModel,
    ModelResult,
    block_size,
    blocks,
    entered,
    exact,
    tier_bounds,
    tier_row,
    unscaled,
)


@dataclass(frozen=True)
class GraduatedResult(ModelResult):
    tier_units: tuple[Array, ...]  # units in each tier, scaled by the metric's decimals
    tier_entered: tuple[Array, ...]  # bool: usage entered the tier (its flat fee is due)
    tier_blocks: tuple[Array | None, ...]  # blocks billed in each block-priced tier, else None


@dataclass(frozen=True)
class Graduation:
    """Graduated arithmetic shared by graduated and graduated percentage charges."""

    amount: Array
    units: tuple[Array, ...]
    entered: tuple[Array, ...]
    blocks: tuple[Array | None, ...]


def graduate(billable: Array, bounds: Sequence[int | None], prices: Sequence[int], flats: Sequence[int],
             sizes: Sequence[int | None], settings: Settings) -> Graduation:
    """Sum over tiers of units (or blocks) x price, plus the flat fee of every tier entered.

    ``prices`` are already scaled to the amount scale of one unit (or of one
    block, for a tier with a size); ``flats`` to the amount scale.
    """
    # bounds and sizes are subtracted from and divide the quantities: past int64 they need Python ints too
    top = max((b for b in bounds if b is not None), default=0) + max((s for s in sizes if s is not None), default=0)
    billable = exact(billable, sum(prices), sum(flats) + top)
    amount = billable * 0
    units_per_tier: list[Array] = []
    entered_per_tier: list[Array] = []
    blocks_per_tier: list[Array | None] = []
    lower = 0
    for upper, price, flat, size in zip(bounds, prices, flats, sizes):
        above = np.maximum(billable - lower, 0)
        units = above if upper is None else np.minimum(above, upper - lower)
        count = None
        if size is not None:
            # NOTE: blocks are counted from the tier's own first unit (Kill Bill's tiered
            # blocks); a started block counts whole unless package_rounding is down
            count = blocks(units, size, settings.package_rounding)
            amount = amount + count * price
        else:
            amount = amount + units * price
        reached = entered(billable, lower, settings)
        if flat:
            amount = amount + reached.astype(billable.dtype) * flat
        units_per_tier.append(units)
        entered_per_tier.append(reached)
        blocks_per_tier.append(count)
        lower = upper if upper is not None else lower
    return Graduation(amount, tuple(units_per_tier), tuple(entered_per_tier), tuple(blocks_per_tier))


def tier_sentence(model: str, total: str, terms: Iterable[str]) -> str:
    """'graduated tiers on 1,500: tier 1: 100 x 0.10 + flat 5; ...'."""
    return f"{model} tiers on {total}: {'; '.join(terms) or 'nothing charged'}"


def tier_term(t: dict[str, Any], price: str) -> str:
    """One reached tier of an explanation, from its plain-data row."""
    if "blocks" in t:
        text = f"tier {t['tier']}: {t['units']} in {t['blocks']} block(s) of {t['block_size']} x {price}"
    else:
        text = f"tier {t['tier']}: {t['units']} x {price}"
    return text + (f" + flat {t['flat_fee']}" if t["flat_fee"] != "0" else "")


class Graduated(ChargeModel[GraduatedCharge, GraduatedResult]):
    tiered = True

    def prices(self) -> Iterable[Decimal]:
        for tier in self.charge.tiers:
            yield tier.unit_price
            yield tier.flat_fee

    def price(self, billable: Array, pscale: int) -> GraduatedResult:
        tiers = self.charge.tiers
        sizes = [block_size(t, self.qscale) for t in tiers]
        # a unit price applies to scaled units; a block price to whole blocks, so lift it by 10**qscale
        prices = [scaled_int(t.unit_price, pscale) * (1 if s is None else 10**self.qscale)
                  for t, s in zip(tiers, sizes)]
        flats = [scaled_int(t.flat_fee, pscale) * 10**self.qscale for t in tiers]
        g = graduate(billable, tier_bounds(tiers, self.qscale), prices, flats, sizes, self.settings)
        return GraduatedResult(g.amount, billable, self.qscale, None, g.units, g.entered, g.blocks)

    def tiers(self, result: GraduatedResult, row: int) -> tuple[dict[str, Any], ...]:
        out = []
        for i, tier in enumerate(self.charge.tiers):
            reached = bool(result.tier_entered[i][row])
            units = unscaled(result.tier_units[i][row], self.qscale)
            data = tier_row(i, tier, units, unit_price=plain_number(tier.unit_price),
                            flat_fee=plain_number(tier.flat_fee) if reached else "0")
            count = result.tier_blocks[i]
            if count is not None and tier.block_size is not None:
                data["block_size"] = plain_number(tier.block_size)
                data["blocks"] = str(int(count[row]))
            out.append(data)
        return tuple(out)

    def explain(self, result: GraduatedResult, row: int) -> str:
        terms = [tier_term(t, t["unit_price"]) for t in self.tiers(result, row)
                 if t["units"] != "0" or t["flat_fee"] != "0"]
        return tier_sentence("graduated", self.q(result.quantity[row]), terms)
