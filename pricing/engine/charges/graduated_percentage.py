"""Graduated percentage (Lago): each tier takes a percent of the amount in it, plus a flat fee."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pricing.engine.catalog import GraduatedPercentageCharge
from pricing.engine.money import scaled_int
from pricing.engine.formatting import plain_number
from pricing.engine.charges.base import Array, ChargeModel, ModelResult, tier_bounds, tier_row, unscaled
from pricing.engine.charges.graduated import graduate, tier_sentence, tier_term


@dataclass(frozen=True)
class GraduatedPercentageResult(ModelResult):
    tier_units: tuple[Array, ...]  # amount in each tier, scaled by the metric's decimals
    tier_entered: tuple[Array, ...]  # bool: the amount entered the tier (its flat fee is due)


class GraduatedPercentage(ChargeModel[GraduatedPercentageCharge, GraduatedPercentageResult]):
    """Graduated tiers over an amount metric, each priced at ``rate`` percent.

    NOTE: a tier's flat fee is due once for the tier, not per transaction: Lago
    charges "the flat fee ... to the entire tier". As in graduated charges an
    amount of zero lies in the first tier, so the first flat fee is due even
    then (Lago's range service charges the flat amount of every range it
    reaches, the first included).
    """

    tiered = True

    def prices(self) -> Iterable[Decimal]:
        for tier in self.charge.tiers:
            yield tier.rate / 100  # 1% is 0.01 per unit of amount
            yield tier.flat_fee

    def price(self, billable: Array, pscale: int) -> GraduatedPercentageResult:
        tiers = self.charge.tiers
        rates = [scaled_int(t.rate / 100, pscale) for t in tiers]
        flats = [scaled_int(t.flat_fee, pscale) * 10**self.qscale for t in tiers]
        g = graduate(billable, tier_bounds(tiers, self.qscale), rates, flats, [None] * len(tiers), self.settings)
        return GraduatedPercentageResult(g.amount, billable, self.qscale, None, g.units, g.entered)

    def tiers(self, result: GraduatedPercentageResult, row: int) -> tuple[dict[str, Any], ...]:
        out = []
        for i, tier in enumerate(self.charge.tiers):
            units = unscaled(result.tier_units[i][row], self.qscale)
            reached = bool(result.tier_entered[i][row])
            out.append(tier_row(i, tier, units, rate=plain_number(tier.rate),
                                flat_fee=plain_number(tier.flat_fee) if reached else "0"))
        return tuple(out)

    def explain(self, result: GraduatedPercentageResult, row: int) -> str:
        terms = [tier_term(t, f"{t['rate']}%") for t in self.tiers(result, row)
                 if t["units"] != "0" or t["flat_fee"] != "0"]
        return tier_sentence("graduated percentage", self.q(result.quantity[row]), terms)
