"""Flat: a feature fee for the period while the metric is switched on."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import numpy as np

from pricing.engine.catalog import FlatCharge
from pricing.engine.money import scaled_int
from pricing.engine.charges.base import Array, ChargeModel, ModelResult, exact


class Flat(ChargeModel[FlatCharge, ModelResult]):
    def prices(self) -> Iterable[Decimal]:
        return (self.charge.fee,)

    def price(self, billable: Array, pscale: int) -> ModelResult:
        # NOTE: any non-zero quantity switches the feature on; the fee is per period, not per unit
        fee = scaled_int(self.charge.fee, pscale) * 10**self.qscale
        on = exact(np.asarray(billable > 0, dtype=np.int64), fee)
        return ModelResult(on * fee, on * 10**self.qscale, self.qscale, self.charge.fee)

    def explain(self, result: ModelResult, row: int) -> str:
        if int(result.quantity[row]):
            return f"feature fee {self.charge.fee} per {self.interval}"
        return "no fee"
