"""Percentage: a percent of an amount metric, plus a fixed fee in a period with any amount."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from pricing.engine.catalog import PercentageCharge
from pricing.engine.money import scaled_int
from pricing.engine.charges.base import Array, ChargeModel, ModelResult, exact, plain


class Percentage(ChargeModel[PercentageCharge, ModelResult]):
    def prices(self) -> Iterable[Decimal]:
        # the rate is a price per unit of amount: 2.9% is 0.029 per euro
        return (self.charge.rate / 100, self.charge.fixed_fee)

    def price(self, billable: Array, pscale: int) -> ModelResult:
        rate = scaled_int(self.charge.rate / 100, pscale)
        fixed = scaled_int(self.charge.fixed_fee, pscale) * 10**self.qscale
        billable = exact(billable, rate, fixed)
        # NOTE: the fixed fee is due once per period with a non-zero amount (per-transaction
        # fees need the transactions themselves: see pricing.engine.charges.transactions)
        amount = billable * rate + (billable > 0).astype(billable.dtype) * fixed
        return ModelResult(amount, billable, self.qscale, self.charge.rate / 100)

    def explain(self, result: ModelResult, row: int) -> str:
        fixed = f" plus a fixed {self.charge.fixed_fee}" if self.charge.fixed_fee else ""
        return f"{plain(self.charge.rate)}% of {self.q(result.quantity[row])}{fixed}"
