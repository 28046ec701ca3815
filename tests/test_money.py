"""The one rounding rule, and exact conversions."""

from __future__ import annotations

from decimal import Context, Decimal

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from pricing.engine.money import Rounding, from_scaled, round_scaled, to_minor
from pricing.engine.formatting import format_minor


def test_half_up_rounds_credits_away_from_zero():
    assert to_minor(Decimal("2.345"), 2) == 235
    assert to_minor(Decimal("-2.345"), 2) == -235
    assert to_minor(Decimal("2.345"), 2, Rounding.HALF_EVEN) == 234


def test_format_minor_keeps_the_currency_places():
    assert format_minor(80, 2) == "0.80"
    assert format_minor(-5, 2) == "-0.05"
    assert format_minor(54000, 0) == "54000"
    assert format_minor(38, 3) == "0.038"


@given(st.integers(-10**15, 10**15), st.integers(0, 6), st.sampled_from(list(Rounding)))
def test_integer_rounding_matches_decimal_rounding(numerator, shift, rounding):
    expected = to_minor(Decimal(numerator).scaleb(-(2 + shift)), 2, rounding)
    assert int(round_scaled(np.array([numerator], dtype=np.int64), shift, rounding)[0]) == expected
    assert int(round_scaled(np.array([numerator], dtype=object), shift, rounding)[0]) == expected


@given(value=st.integers(-(10**40), 10**40), scale=st.integers(0, 30))
def test_from_scaled_is_the_exact_scaleb_with_the_same_digits_and_exponent(value, scale):
    # the old formula, kept here as the reference: scaleb in a context as wide as the number
    reference = Decimal(value).scaleb(-scale, Context(prec=max(28, len(str(abs(value))) + scale)))
    fast = from_scaled(value, scale)
    assert fast.as_tuple() == reference.as_tuple() and str(fast) == str(reference)
