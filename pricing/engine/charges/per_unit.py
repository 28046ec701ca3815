"""Per unit: every billable unit at one price."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from pricing.engine.catalog import PerUnitCharge
from pricing.engine.money import scaled_int
from pricing.engine.charges.base import Array, ChargeModel, ModelResult, exact


class PerUnit(ChargeModel[PerUnitCharge, ModelResult]):
    def prices(self) -> Iterable[Decimal]:
        return (self.charge.unit_price,)

    def price(self, billable: Array, pscale: int) -> ModelResult:
        # NOTE: a sub-cent price (0.004) is kept exactly at its own scale; only the line rounds
        price = scaled_int(self.charge.unit_price, pscale)
        billable = exact(billable, price)
        return ModelResult(billable * price, billable, self.qscale, self.charge.unit_price)

    def explain(self, result: ModelResult, row: int) -> str:
        return f"{self.q(result.quantity[row])} charged at {self.charge.unit_price} each"
