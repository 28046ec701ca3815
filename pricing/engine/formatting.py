"""How numbers, amounts and moments are written for people, once.

Two kinds of text, both from exact values (Decimal or integers, never floats):

* locale-free text for explanations, tables and summaries: :func:`grouped_number` ("1,500", "2.5"),
  :func:`price_text` ("EUR 0.0035"), :func:`iso_utc` ("2026-04-01T00:00:00Z") and :func:`utc_stamp`
  ("2026-04-01 10:00:00 UTC"), and the data forms :func:`format_minor` ("0.80"), :func:`format_money`
  ("EUR 1,234.50") and :func:`plain_number` ("1200", "0.004");
* documents a customer reads (quotes, invoices): :class:`LocaleFormat`, which delegates to Babel (CLDR)
  for the seller's locale: ``€1,250.00`` in en_US, ``1.250,00 €`` in de_DE, ``¥1,235`` for yen.

Babel is imported inside the methods that use it: the engine imports this module for its explanations,
and a quote or an explanation must not pay for locale data it does not print.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pricing.engine.money import decimal_places, from_minor, from_scaled, minor_unit_of
from pricing.errors import PricingError


def grouped_number(value: Decimal | int) -> str:
    """A quantity for words: a whole number with thousands separators ('1,500'), a fraction written out
    in full without trailing zeros ('2.5', '0.0035')."""
    if isinstance(value, int):
        return f"{value:,}"
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return _written_out(value)


def _written_out(value: Decimal) -> str:
    """A fraction without exponent or trailing zeros, every digit kept."""
    # NOTE: normalize() rounds to the context's 28 digits; a context as wide as the number keeps them all
    return f"{value.normalize(decimal.Context(prec=max(28, len(value.as_tuple().digits)))):f}"


def grouped_scaled(scaled: Any, scale: int) -> str:
    """:func:`grouped_number` of ``scaled / 10**scale`` (a metered quantity held as a scaled integer)."""
    whole, rest = divmod(int(scaled), 10**scale)
    if rest == 0:
        return f"{whole:,}"  # the common case, without building a Decimal
    return grouped_number(from_scaled(scaled, scale))


def price_text(value: Decimal, currency: str) -> str:
    """A unit price with its currency code and every digit it has, at least the currency's minor unit:
    'EUR 4.00', 'USD 0.0035'."""
    try:
        places = max(minor_unit_of(currency), decimal_places(value))
    except PricingError:
        places = decimal_places(value)
    return f"{currency} {value:,.{places}f}"


def iso_utc(moment: datetime) -> str:
    """A moment as UTC ISO 8601 with a 'Z': '2026-04-01T00:00:00Z' (a naive moment is taken as UTC)."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.isoformat().replace("+00:00", "Z")


def utc_stamp(moment: datetime | None) -> str:
    """A moment for a report's footer, to the second: '2026-04-01 10:00:00 UTC'; '-' when there is none."""
    if moment is None:
        return "-"
    # NOTE: a store's moments are UTC (naive or not): they are written, not converted
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class LocaleFormat:
    """Amounts, prices, quantities and dates of one currency for one locale, as CLDR writes them."""

    locale: str
    currency: str
    minor_unit: int

    def money(self, minor: int) -> str:
        """An amount of minor units: '€1,234.50'."""
        from babel.numbers import format_currency

        # NOTE: no quantization by Babel: the amount already has the catalog's minor unit, which may
        # differ from CLDR's digits for the currency (a catalog's minor_unit); rounding would change it.
        return format_currency(from_minor(minor, self.minor_unit), self.currency, locale=self.locale,
                               decimal_quantization=False)

    def price(self, value: Decimal) -> str:
        """A unit price, keeping its sub-minor digits: '$0.0035'."""
        from babel.numbers import format_currency

        return format_currency(value, self.currency, locale=self.locale, decimal_quantization=False)

    def quantity(self, value: Decimal) -> str:
        """A quantity with the locale's separators: '1,500.5' (en_US), '1.500,5' (de_DE)."""
        from babel.numbers import format_decimal

        return format_decimal(value, locale=self.locale, decimal_quantization=False)

    def day(self, value: date) -> str:
        """A date in the locale's medium form: 'Apr 1, 2026'."""
        from babel.dates import format_date

        return format_date(value, format="medium", locale=self.locale)

    def period(self, start: datetime | None, end: datetime | None) -> str:
        """A service window ``[start, end)`` as the dates it covers, in the locale's interval form; '' without one."""
        from babel.dates import format_interval

        if start is None or end is None:
            return ""
        first, last = covered_days(start, end)
        if first == last:
            return self.day(first)
        return format_interval(first, last, skeleton="yMMMd", locale=self.locale)


def covered_days(start: datetime, end: datetime) -> tuple[date, date]:
    """First and last day of ``[start, end)``: an end at midnight belongs to the day before."""
    last = end - timedelta(microseconds=1) if end > start else end
    return start.date(), last.date()


def format_minor(minor: int, minor_unit: int) -> str:
    """A decimal string with exactly ``minor_unit`` places: 80 cents -> '0.80'."""
    value = from_minor(minor, minor_unit)
    return f"{value:.{minor_unit}f}"


def format_money(minor: int, currency: str, minor_unit: int) -> str:
    """Human-readable amount with thousands separators: 'EUR 1,234.50'."""
    value = from_minor(minor, minor_unit)
    return f"{currency} {value:,.{minor_unit}f}"


def plain_number(value: Decimal) -> str:
    """A Decimal for data: no exponent, no trailing zeros, no separators ('1200', '0.004')."""
    return str(int(value)) if value == value.to_integral_value() else _written_out(value)


__all__ = ["LocaleFormat", "covered_days", "format_minor", "format_money", "grouped_number", "grouped_scaled",
           "iso_utc", "plain_number", "price_text", "utc_stamp"]
