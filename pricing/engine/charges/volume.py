"""Volume: every unit at the price of the tier the quantity reaches, plus that tier's flat fee."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import numpy as np

from pricing.engine.catalog import TierBounds, VolumeCharge
from pricing.engine.money import scaled_int
from pricing.engine.formatting import plain_number
from pricing.engine.charges.base import (Array, ChargeModel, ModelResult, block_size, blocks, exact, tier_bounds,
                                         tier_row, unscaled)
from pricing.engine.charges.graduated import tier_sentence, tier_term


@dataclass(frozen=True)
class VolumeResult(ModelResult):
    tier_index: Array  # the tier each row reached (0-based)
    blocks: Array  # blocks billed at that tier (the scaled units for a tier priced per unit)


class Volume(ChargeModel[VolumeCharge, VolumeResult]):
    """NOTE: more usage can cost less here (crossing into a cheaper tier reprices
    every unit); that cliff is the model's nature, not a bug."""

    tiered = True

    def prices(self) -> Iterable[Decimal]:
        for tier in self.charge.tiers:
            yield tier.unit_price
            yield tier.flat_fee

    def price(self, billable: Array, pscale: int) -> VolumeResult:
        tiers = self.charge.tiers
        finite = [b for b in tier_bounds(tiers, self.qscale) if b is not None]
        # a tier priced per unit is a tier of one-scaled-unit blocks at the scaled unit price;
        # a block price applies to whole blocks, so it is lifted by 10**qscale
        sizes = [block_size(t, self.qscale) for t in tiers]
        prices = [scaled_int(t.unit_price, pscale) * (1 if s is None else 10**self.qscale)
                  for t, s in zip(tiers, sizes)]
        flats = [scaled_int(t.flat_fee, pscale) * 10**self.qscale for t in tiers]
        # bounds and sizes are compared with and divide the quantities: past int64 they need Python ints too
        billable = exact(billable, max(prices), max(flats) + max(finite, default=0) + max(s or 0 for s in sizes))
        dtype = billable.dtype
        inclusive = self.settings.tier_bounds is TierBounds.UP_TO_INCLUSIVE
        side: Literal["left", "right"] = "left" if inclusive else "right"
        # index of the first tier whose bound holds the quantity
        tier_index = np.searchsorted(np.array(finite, dtype=dtype), billable, side=side)
        size = np.array([1 if s is None else s for s in sizes], dtype=dtype)[tier_index]
        # NOTE: at a block-priced tier every unit is counted in blocks from zero (Kill Bill's
        # TOP_TIER policy); a started block counts whole unless package_rounding is down
        count = blocks(billable, size, self.settings.package_rounding)
        amount = count * np.array(prices, dtype=dtype)[tier_index] + np.array(flats, dtype=dtype)[tier_index]
        return VolumeResult(amount, billable, self.qscale, None, tier_index, count)

    def tiers(self, result: VolumeResult, row: int) -> tuple[dict[str, Any], ...]:
        index = int(result.tier_index[row])
        tier = self.charge.tiers[index]
        units = unscaled(result.quantity[row], self.qscale)
        data = tier_row(index, tier, units, unit_price=plain_number(tier.unit_price),
                        flat_fee=plain_number(tier.flat_fee))
        if tier.block_size is not None:
            data["block_size"] = plain_number(tier.block_size)
            data["blocks"] = str(int(result.blocks[row]))
        return (data,)

    def explain(self, result: VolumeResult, row: int) -> str:
        terms = [tier_term(t, t["unit_price"]) for t in self.tiers(result, row)
                 if t["units"] != "0" or t["flat_fee"] != "0"]
        return tier_sentence("volume", self.q(result.quantity[row]), terms)
