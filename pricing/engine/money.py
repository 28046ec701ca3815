"""Exact money: currencies, minor units and the one rounding rule.

Every amount that reaches an invoice is an integer count of the currency's
minor unit (cents, yen, fils). Unit prices keep sub-minor precision as
``Decimal``. The engine multiplies scaled integers and rounds each line once,
here, with :func:`round_scaled`.

Rounding rule (the default, ``half_up``): halves round away from zero, so
EUR 2.345 -> 2.35 and a credit of -2.345 -> -2.35. This is Python's
``ROUND_HALF_UP`` and billing engines' usual per-line rule; it keeps a credit
the exact mirror of the charge it reverses. ``half_even`` (banker's rounding)
is available as a catalog setting.
"""

from __future__ import annotations

import functools
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from enum import Enum
from typing import Final

import numpy as np

from pricing.errors import PricingError

# The largest scaled integer taken from input (a quantity times 10**decimals): usage
# columns are int64, and the engine switches to Python integers for the products.
MAX_SCALED_QUANTITY: Final[int] = 2**63 - 1

class Rounding(str, Enum):
    """How a line's exact amount becomes a whole number of minor units."""

    HALF_UP = "half_up"  # halves away from zero (default; -2.345 -> -2.35)
    HALF_EVEN = "half_even"  # banker's rounding (2.345 -> 2.34, 2.355 -> 2.36)

    @property
    def decimal_mode(self) -> str:
        return ROUND_HALF_UP if self is Rounding.HALF_UP else ROUND_HALF_EVEN


@functools.cache
def minor_unit_of(currency: str) -> int:
    """The currency's minor unit as CLDR's currency digits (Babel): USD and EUR 2, JPY 0, KWD 3.

    NOTE: CLDR's digits are those currencies are written with, which is what an invoice prints; they agree
    with ISO 4217 for every currency the bundled catalogs and the interop formats use (USD, EUR, JPY,
    GBP, CHF, the Nordic crowns, KRW, the 3-digit dinars...) but not everywhere: CLDR writes IQD with 0
    digits (ISO 3) and ALL, IRR, LAK, LBP, MGA, MMK, RSD, SOS, SYP, YER with 0 (ISO 2). A catalog billing
    in one of those by ISO's unit sets ``minor_unit``.
    """
    from babel.numbers import get_currency_precision, is_currency

    # NOTE: Babel answers 2 (CLDR's DEFAULT) for a code it does not know; a typo must not pass as cents
    if not is_currency(currency):
        raise PricingError(f"currency {currency!r} has no known minor unit; set 'minor_unit' in the catalog")
    return int(get_currency_precision(currency))


def to_minor(amount: Decimal, minor_unit: int, rounding: Rounding = Rounding.HALF_UP) -> int:
    """Round a Decimal amount to an integer count of minor units."""
    return int(amount.scaleb(minor_unit).quantize(Decimal(1), rounding=rounding.decimal_mode))


def from_scaled(value: int, scale: int) -> Decimal:
    """``value / 10**scale`` as a Decimal, exact at any size.

    NOTE: ``Decimal.scaleb`` rounds to the context's 28 digits; a context as
    wide as the number keeps every digit.
    """
    value = int(value)
    if scale >= 0:
        # NOTE: a Decimal read from text is exact whatever its length (no context rounding) and, with the
        # exponent written out, has the same digits and exponent as scaleb gives: half the cost
        return Decimal(f"{value}e-{scale}")
    return Decimal(value).scaleb(-scale, Context(prec=max(28, len(str(abs(value))) + abs(scale))))


def from_minor(minor: int, minor_unit: int) -> Decimal:
    """The Decimal value of an integer count of minor units (exact)."""
    return from_scaled(minor, minor_unit)


def decimal_places(value: Decimal) -> int:
    """Number of digits after the point needed to hold ``value`` exactly."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def scaled_int(value: Decimal, scale: int) -> int:
    """``value * 10**scale`` as an int; the caller guarantees it is whole."""
    scaled = value.scaleb(scale)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {scale} decimal places")
    return int(scaled)


def round_scaled(numerator: np.ndarray, shift: int, rounding: Rounding = Rounding.HALF_UP) -> np.ndarray:
    """Round integers held at ``10**-(minor+shift)`` to the minor unit.

    ``shift`` is how many more decimal places the numerator carries than the
    minor unit. Works on int64 and on object (Python int) arrays alike, so the
    exact fallback for huge numbers shares the rule.
    """
    if shift == 0:
        return numerator
    low = int(numerator.min()) if len(numerator) else 0
    if numerator.dtype != object and len(numerator):
        # NOTE: int64 would wrap silently past 2**63: scale shifts and the added half switch
        # to Python ints first (2**62 leaves room for one more sum of lines)
        top = max(-low, int(numerator.max()))
        factor = 10 ** abs(shift)
        if (top * factor if shift < 0 else top + factor) >= 2**62:
            numerator = numerator.astype(object)
    if shift < 0:
        return numerator * (10 ** (-shift))
    divisor = 10**shift
    half = divisor // 2
    non_negative = low >= 0
    if rounding is Rounding.HALF_UP:
        # NOTE: charges are almost always >= 0; skipping abs/sign there halves the work
        if non_negative:
            return (numerator + half) // divisor
        magnitude = np.abs(numerator)
        rounded = (magnitude + half) // divisor
        return np.where(numerator < 0, -rounded, rounded)
    magnitude = numerator if non_negative else np.abs(numerator)
    quotient, remainder = magnitude // divisor, magnitude % divisor  # divmod has no object loop
    twice = remainder * 2
    up = (twice > divisor) | ((twice == divisor) & (quotient % 2 == 1))
    rounded = quotient + up
    return rounded if non_negative else np.where(numerator < 0, -rounded, rounded)
