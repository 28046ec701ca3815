"""Event-level pricing: Lago's percentage model over the individual transactions of a period.

:func:`percentage_per_transaction` prices each transaction with a fixed fee
per transaction, free transactions, a free amount, and a minimum and maximum
fee per transaction; the ``percentage_per_transaction`` charge model
(:mod:`pricing.engine.charges.percentage_per_transaction`) binds a catalog charge to
it. It is a pure function over an array of scaled integers, exact like the
models (Python ints before int64 could wrap), and keeps each fee exact.

(Charges paid in advance need no function here: each event is priced as the
period's charge after it less the charge before it, by rating two usage rows;
see :meth:`pricing.billing.rating_segments._Pricer.event`.)
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from pricing.engine.money import Rounding, decimal_places, round_scaled, scaled_int
from pricing.engine.charges.base import Array, exact


@dataclass(frozen=True)
class EventFees:
    """The exact fee of each event, scaled by ``10**scale``."""

    fees: Array
    scale: int

    @property
    def total(self) -> int:
        """The exact sum of the fees (scaled by ``10**scale``)."""
        return int(sum(int(f) for f in self.fees))

    def rounded(self, minor_unit: int, rounding: Rounding = Rounding.HALF_UP) -> Array:
        """Each fee rounded to whole minor units on its own, as an invoice per event does."""
        return round_scaled(self.fees, self.scale - minor_unit, rounding)


@dataclass(frozen=True)
class TransactionTerms:
    """Lago's percentage model applied per transaction.

    ``rate`` is a percent of each transaction's amount; ``fixed_fee`` is due
    per transaction. ``free_transactions``: the first N transactions owe no
    fixed fee; ``free_amount``: the first part of the period's cumulative
    amount owes no rate. ``min_fee``/``max_fee`` bound each charged
    transaction's fee.
    """

    rate: Decimal
    fixed_fee: Decimal = Decimal(0)
    free_transactions: int = 0
    free_amount: Decimal = Decimal(0)
    min_fee: Decimal | None = None
    max_fee: Decimal | None = None

    def __post_init__(self) -> None:
        money = [self.rate, self.fixed_fee, self.free_amount, self.min_fee, self.max_fee]
        if any(v is not None and v < 0 for v in money) or self.free_transactions < 0:
            raise ValueError("transaction terms must not be negative")
        if self.min_fee is not None and self.max_fee is not None and self.min_fee > self.max_fee:
            raise ValueError(f"min_fee {self.min_fee} is above max_fee {self.max_fee}")

    def price_scale(self) -> int:
        prices = [self.rate / 100, self.fixed_fee, self.min_fee or Decimal(0), self.max_fee or Decimal(0)]
        return max(decimal_places(p) for p in prices)


def percentage_per_transaction(amounts: Array, qscale: int, terms: TransactionTerms) -> EventFees:
    """The fee of each transaction, in the order given (scaled amounts with ``qscale`` decimals).

    NOTE: each allowance exempts what Lago's documentation says it exempts:
    the first ``free_transactions`` transactions owe no fixed fee, and the
    first ``free_amount`` of the cumulative amount owes no rate, so the
    transaction that crosses the free amount pays the rate on its excess only.

    NOTE: a transaction that owes nothing (free of both) stays free; any other
    transaction's fee is raised to ``min_fee`` and capped at ``max_fee``, as
    Lago applies its per-transaction minimum and maximum to charged
    transactions. Lago's own code computes free units differently depending
    on whether a minimum or maximum is set; this follows its documentation.
    """
    pscale = terms.price_scale()
    lift = 10**qscale  # a fee is scaled like an amount x rate: qscale + pscale
    rate = scaled_int(terms.rate / 100, pscale)
    fixed = scaled_int(terms.fixed_fee, pscale) * lift
    low = None if terms.min_fee is None else scaled_int(terms.min_fee, pscale) * lift
    high = None if terms.max_fee is None else scaled_int(terms.max_fee, pscale) * lift
    free = scaled_int(terms.free_amount, qscale)
    n = len(amounts)
    amounts = exact(np.asarray(amounts), max(n, 1) * max(rate, 1), fixed + (low or 0) + (high or 0) + free)
    after = np.cumsum(amounts)
    before = after - amounts
    # the part of each transaction past the free amount
    base = np.maximum(after - np.maximum(before, free), 0)
    owes_fixed = (np.arange(n) >= terms.free_transactions).astype(amounts.dtype)
    fees = base * rate + owes_fixed * fixed
    charged = (base > 0) | (owes_fixed > 0)
    if low is not None:
        fees = np.where(charged, np.maximum(fees, low), fees)
    if high is not None:
        fees = np.minimum(fees, high)
    return EventFees(fees, qscale + pscale)
