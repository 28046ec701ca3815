"""Numbers, prices, moments and a locale's money as text (pricing.engine.formatting), and minor units
from CLDR (pricing.engine.money.minor_unit_of)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Context, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pricing.engine.formatting import (LocaleFormat, grouped_number, grouped_scaled, iso_utc, plain_number, price_text,
                                      utc_stamp)
from pricing.engine.money import minor_unit_of
from pricing.errors import PricingError


@pytest.mark.parametrize("currency, digits", [
    ("USD", 2), ("EUR", 2), ("GBP", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3),
    ("IQD", 0),  # CLDR's digits; ISO 4217 says 3 (the difference money.py names)
])
def test_minor_units_are_cldr_currency_digits(currency, digits):
    assert minor_unit_of(currency) == digits


@pytest.mark.parametrize("code", ["XYZ", "usd", "EURO", ""])
def test_an_unknown_currency_is_refused_not_taken_as_cents(code):
    # Babel answers 2 for any code it does not know; minor_unit_of must not
    with pytest.raises(PricingError, match="has no known minor unit; set 'minor_unit'"):
        minor_unit_of(code)


@pytest.mark.parametrize("value, text", [
    (Decimal("1500"), "1,500"), (Decimal("1500.00"), "1,500"), (1234567, "1,234,567"),
    (Decimal("2.50"), "2.5"), (Decimal("0.0035"), "0.0035"), (Decimal("-12000"), "-12,000"),
])
def test_grouped_number(value, text):
    assert grouped_number(value) == text


@given(st.integers(-(10**40), 10**40), st.integers(0, 12))
def test_grouped_scaled_reads_back_as_the_exact_value(scaled, scale):
    text = grouped_scaled(scaled, scale)
    # the text is the exact value: separators out, it parses back to scaled / 10**scale (a context wide
    # enough for the reference, whose default 28 digits would round it)
    assert Decimal(text.replace(",", "")) == Decimal(scaled).scaleb(-scale, Context(prec=60))


@pytest.mark.parametrize("value, currency, text", [
    (Decimal("4"), "EUR", "EUR 4.00"), (Decimal("0.0035"), "USD", "USD 0.0035"),
    (Decimal("1200"), "JPY", "JPY 1,200"), (Decimal("1.5"), "XYZ", "XYZ 1.5"),  # unknown: its own places
])
def test_price_text_has_at_least_the_minor_unit(value, currency, text):
    assert price_text(value, currency) == text


def test_moments():
    moment = datetime(2026, 4, 1, 10, 30, tzinfo=UTC)
    assert iso_utc(moment) == "2026-04-01T10:30:00Z"
    assert utc_stamp(moment) == "2026-04-01 10:30:00 UTC" and utc_stamp(None) == "-"


@pytest.mark.parametrize("locale, currency, minor_unit, minor, text", [
    ("en_US", "EUR", 2, 123450, "€1,234.50"),
    ("de_DE", "EUR", 2, 123450, "1.234,50\xa0€"),
    ("en_US", "JPY", 0, 1235, "¥1,235"),
    ("en_US", "USD", 2, -5, "-$0.05"),
    ("en_US", "KWD", 3, 1000, "KWD1.000"),  # 1000 fils = 1.000 dinar, three places kept
])
def test_locale_money_is_exact(locale, currency, minor_unit, minor, text):
    assert LocaleFormat(locale, currency, minor_unit).money(minor) == text


def test_locale_prices_quantities_dates():
    fmt = LocaleFormat("en_US", "USD", 2)
    assert fmt.price(Decimal("0.0035")) == "$0.0035"  # sub-cent digits kept, not rounded
    assert fmt.quantity(Decimal("1500.5")) == "1,500.5"
    assert fmt.day(date(2026, 5, 1)) == "May 1, 2026"
    # [Apr 1, May 1) covers April 1 to 30: an end at midnight belongs to the day before
    assert fmt.period(datetime(2026, 4, 1), datetime(2026, 5, 1)) == "Apr 1\u2009\u2013\u200930, 2026"
    assert fmt.period(None, None) == ""


def test_plain_number_keeps_every_digit_past_28():
    # 32 significant digits: a 28-digit normalize() would round the tail to ...890.12345679
    assert plain_number(Decimal("12345678901234567890.123456789012")) == "12345678901234567890.123456789012"
    assert plain_number(Decimal("1200.000")) == "1200"
