"""Percentage per transaction: Lago's percentage model applied to each transaction of a period.

The arithmetic of one period's transactions is
:func:`pricing.engine.charges.transactions.percentage_per_transaction`; this model
binds a catalog charge to it and prices every usage row (each row holding its
period's transaction amounts, in the order they happened). The line's exact
amount is the sum of the transactions' exact fees, rounded once by rating.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

import numpy as np

from pricing.engine.catalog import PercentagePerTransactionCharge
from pricing.errors import UsageError
from pricing.engine.charges.base import Array, ChargeModel, ModelResult, plain
from pricing.engine.charges.transactions import TransactionTerms, percentage_per_transaction


@dataclass(frozen=True)
class PerTransactionResult(ModelResult):
    """Also how many transactions each row had."""

    transactions: Array


class PercentagePerTransaction(ChargeModel[PercentagePerTransactionCharge, PerTransactionResult]):
    needs_transactions: ClassVar[bool] = True

    @property
    def terms(self) -> TransactionTerms:
        c = self.charge
        return TransactionTerms(rate=c.rate, fixed_fee=c.fixed_fee, free_transactions=c.free_transactions,
                                free_amount=c.free_amount, min_fee=c.min_fee, max_fee=c.max_fee)

    def prices(self) -> Iterable[Decimal]:
        c = self.charge
        return (c.rate / 100, c.fixed_fee, c.min_fee or Decimal(0), c.max_fee or Decimal(0))

    def price(self, billable: Array, pscale: int) -> PerTransactionResult:
        """Totals alone: only a period without any amount can be priced (it owes nothing)."""
        if len(billable) and (np.asarray(billable) != 0).any():
            raise UsageError(
                f"charge {self.charge.label!r} is priced per transaction: give the period's transaction"
                f" amounts of {self.charge.metric!r} (a list), not only their total")
        return self.price_transactions([np.zeros(0, dtype=np.int64)] * len(billable), pscale)

    def price_transactions(self, rows: Sequence[Array], pscale: int) -> PerTransactionResult:
        """Each row's transactions (amounts scaled by ``qscale``) priced one by one and summed exactly."""
        terms = self.terms
        shift = 10 ** (pscale - terms.price_scale())  # the terms' own scale up to the line's price scale
        amounts, totals, counts = [], [], []
        for row in rows:
            fees = percentage_per_transaction(row, self.qscale, terms)
            amounts.append(fees.total * shift)
            totals.append(int(sum(int(a) for a in row)))
            counts.append(len(row))
        return PerTransactionResult(_array(amounts), _array(totals), self.qscale, None,
                                    np.array(counts, dtype=np.int64))

    def explain(self, result: PerTransactionResult, row: int) -> str:
        c = self.charge
        parts = [f"{int(result.transactions[row]):,} transaction(s): {plain(c.rate)}% of each"
                 + (f" plus {c.fixed_fee} per transaction" if c.fixed_fee else "")]
        if c.free_transactions:
            parts.append(f"the first {c.free_transactions:,} owe no fixed fee")
        if c.free_amount:
            parts.append(f"the first {plain(c.free_amount)} of the period's amount owes no rate")
        if c.min_fee is not None:
            parts.append(f"each charged transaction at least {c.min_fee}")
        if c.max_fee is not None:
            parts.append(f"each at most {c.max_fee}")
        return "; ".join(parts)


def _array(values: list[int]) -> Array:
    """int64 when every value fits with room for sums, else Python ints (exact at any size)."""
    if all(abs(v) < 2**62 for v in values):
        return np.array(values, dtype=np.int64)
    return np.array(values, dtype=object)
