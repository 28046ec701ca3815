"""Event-level pricing: Lago's percentage model per transaction."""

from __future__ import annotations

import decimal
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pricing.engine.charges.transactions import TransactionTerms, percentage_per_transaction

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def cents(values: list[str]) -> np.ndarray:
    """Transaction amounts in cents (an amount metric with 2 decimals)."""
    return np.array([int(Decimal(v) * 100) for v in values], dtype=np.int64)


def fees_of(amounts: list[str], terms: TransactionTerms) -> list[Decimal]:
    result = percentage_per_transaction(cents(amounts), 2, terms)
    return [Decimal(int(f)).scaleb(-result.scale).normalize() for f in result.fees]


@pytest.mark.parametrize(
    ("terms", "amounts", "expected", "arithmetic"),
    [
        # Lago's Stripe template: card payments online at 2.9% + $0.30 per transaction
        (TransactionTerms(rate=Decimal("2.9"), fixed_fee=Decimal("0.30")), ["100", "0.50"], ["3.2", "0.3145"],
         "100 x 2.9% + 0.30 = 3.20; 0.50 x 2.9% + 0.30 = 0.3145"),
        # assumption: the first 3 transactions owe no fixed fee, the first $500 no rate (Lago's illustration)
        (TransactionTerms(rate=Decimal("1.2"), fixed_fee=Decimal("0.10"), free_transactions=3,
                          free_amount=Decimal("500")),
         ["100", "200", "300", "400", "50"], ["0", "0", "1.2", "4.9", "0.7"],
         "cumulative 100, 300 free; 600 crosses $500: (600 - 500) x 1.2% = 1.20, 3rd transaction owes no fixed fee;"
         " 400 x 1.2% + 0.10 = 4.90; 50 x 1.2% + 0.10 = 0.70"),
        (TransactionTerms(rate=Decimal("1"), fixed_fee=Decimal("0.10"), free_amount=Decimal("300")),
         ["100", "200", "50"], ["0.1", "0.1", "0.6"],
         "assumption: 100 and 200 reach exactly $300: no rate, each pays its fixed fee; 50 x 1% + 0.10"),
        # assumption: minimum 0.50 and maximum 5.00 per transaction
        (TransactionTerms(rate=Decimal("2.9"), fixed_fee=Decimal("0.30"), free_transactions=1,
                          free_amount=Decimal("5"), min_fee=Decimal("0.50"), max_fee=Decimal("5.00")),
         ["5", "5", "100", "1000"], ["0", "0.5", "3.2", "5"],
         "1st free of both rate and fixed fee (no minimum on a free transaction); 5 x 2.9% + 0.30 = 0.445"
         " -> min 0.50; 100 -> 3.20; 1,000 x 2.9% + 0.30 = 29.30 -> max 5.00"),
        (TransactionTerms(rate=Decimal("2.9"), free_transactions=1, min_fee=Decimal("0.50")),
         ["5"], ["0.5"],
         "assumption: a free transaction still owes the rate: 5 x 2.9% = 0.145 -> min 0.50"),
    ],
)
def test_percentage_per_transaction(terms, amounts, expected, arithmetic):
    assert fees_of(amounts, terms) == [Decimal(e) for e in expected], arithmetic


def test_fees_are_rounded_one_by_one():
    fees = percentage_per_transaction(cents(["0.50", "0.50"]), 2, TransactionTerms(rate=Decimal("1")))
    # each 0.005 rounds half up to 0.01: 0.02 for the pair, where their exact sum 0.01 rounds once to 0.01
    assert fees.rounded(2).tolist() == [1, 1]
    assert (fees.total, fees.scale) == (100, 4)  # 0.0100: rate 0.01 (2 places) x cents (2 places)


def test_terms_are_checked():
    with pytest.raises(ValueError, match="min_fee 2 is above max_fee 1"):
        TransactionTerms(rate=Decimal(1), min_fee=Decimal(2), max_fee=Decimal(1))
    with pytest.raises(ValueError, match="must not be negative"):
        TransactionTerms(rate=Decimal(-1))




@SETTINGS
@given(amounts=st.lists(st.one_of(st.integers(0, 10**6), st.integers(2**62, 2**66)), max_size=6),
       rate=st.decimals(0, 100, places=3), fixed=st.decimals(0, 10**6, places=2),
       free_n=st.integers(0, 4), free_amount=st.integers(0, 2**64),
       low=st.none() | st.decimals(0, 10, places=2), high=st.none() | st.decimals(10, 10**20, places=2))
def test_percentage_per_transaction_is_exact(amounts, rate, fixed, free_n, free_amount, low, high):
    terms = TransactionTerms(rate=rate, fixed_fee=fixed, free_transactions=free_n,
                             free_amount=Decimal(free_amount).scaleb(-2), min_fee=low, max_fee=high)
    array = np.array(amounts, dtype=np.int64 if all(a < 2**63 for a in amounts) else object)
    result = percentage_per_transaction(array, 2, terms)
    with decimal.localcontext(decimal.Context(prec=200)):
        done, free_left = Decimal(0), Decimal(free_amount).scaleb(-2)
        for i, scaled in enumerate(amounts):  # the rule written out transaction by transaction
            amount = Decimal(scaled).scaleb(-2)
            base = max(done + amount - max(done, free_left), Decimal(0))
            fee = base * rate / 100 + (fixed if i >= free_n else 0)
            if base > 0 or i >= free_n:
                fee = max(fee, low) if low is not None else fee
                fee = min(fee, high) if high is not None else fee
            done += amount
            assert Decimal(int(result.fees[i])).scaleb(-result.scale) == fee
            assert int(result.rounded(2)[i]) == int(fee.scaleb(2).quantize(Decimal(1), rounding=ROUND_HALF_UP))


