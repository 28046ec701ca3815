"""Proration: the share of a billing period an interval covers, exactly.

One function, :func:`share`, serves every part of the workbench that splits a
period's price: add-ons added or removed, upgrades, partial first periods,
minimum true-ups and prepaid daily debits. It returns a :class:`Fraction`, so
a share of 1/3 stays 1/3 until rating rounds the line once
(:mod:`pricing.billing.rating_segments`). No money is computed here.

Day-count conventions (``catalog.settings.day_count``):

- ``exact_seconds``: elapsed time over the actual period length, to the
  microsecond (Stripe; Logto bills "to the second").
- ``actual_days``: whole calendar days over the days in the actual period.
  NOTE: an instant counts from its day's 00:00 UTC, so the day something is
  added is paid for and the day it is removed is not (Logto's example: added
  on the 20th, removed on the 30th = 10 days).
- ``thirty_day_month``: the 30/360 day count: every month has 30 days and the
  31st counts as the 30th, so a month is always 30 days and a quarter 90 (the
  arithmetic in Logto's worked examples: added on the 20th, renewal on the 5th
  = 15 days whatever the month). NOTE: a position inside a period is capped at
  the period's full length, and the period's end is always at the full length,
  so the shares of any partition of a period add up to exactly 1 even where
  clamped anchors make February odd.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal, localcontext
from fractions import Fraction

from pricing.engine.catalog import DayCount
from pricing.engine.periods import Period, as_utc

_MICRO = timedelta(microseconds=1)


def _micros(delta: timedelta) -> int:
    return delta // _MICRO


def _day30(day: date) -> int:
    """Day number on the 30/360 calendar."""
    return day.year * 360 + (day.month - 1) * 30 + min(day.day, 30)


def _position(moment: datetime, period: Period, convention: DayCount) -> Fraction:
    """How far into ``period`` an instant is, as a share (0 at the start, 1 at the end)."""
    if moment <= period.start:
        return Fraction(0)
    if moment >= period.end:
        return Fraction(1)
    if convention is DayCount.EXACT_SECONDS:
        return Fraction(_micros(moment - period.start), _micros(period.length))
    if convention is DayCount.ACTUAL_DAYS:
        return Fraction((moment.date() - period.start.date()).days, period.days)
    nominal = _nominal_days(period)
    if period.days < 28:  # weekly billing: a week has its 7 actual days
        used = (moment.date() - period.start.date()).days
    else:
        used = _day30(moment.date()) - _day30(period.start.date())
    return Fraction(min(max(used, 0), nominal), nominal)


def share(start: date | datetime, end: date | datetime, period: Period, convention: DayCount) -> Fraction:
    """The share of ``period`` that ``[start, end)`` covers, in ``[0, 1]``.

    Parts of the interval outside the period are ignored. Shares are
    differences of positions, so they add up exactly over any partition.
    """
    start, end = as_utc(start), as_utc(end)
    if end <= start:
        return Fraction(0)
    return _position(end, period, convention) - _position(start, period, convention)


def remaining_share(moment: date | datetime, period: Period, convention: DayCount) -> Fraction:
    """The share of ``period`` left from ``moment`` to its end."""
    return share(moment, period.end, period, convention)


def exact_decimal(value: Fraction) -> Decimal:
    """A Fraction as a Decimal with enough digits that rounding it to cents is exact."""
    with localcontext() as ctx:
        ctx.prec = 60  # far beyond any tie: denominators here are < 10**20
        return Decimal(value.numerator) / Decimal(value.denominator)


def describe(part: Fraction, convention: DayCount, period: Period) -> str:
    """Human words for a share: '15/30 of a month' style."""
    if convention is DayCount.EXACT_SECONDS:
        seconds = part * _micros(period.length) / 1_000_000
        total = _micros(period.length) // 1_000_000
        if seconds.denominator == 1 and seconds.numerator % 86400 == 0 and total % 86400 == 0:
            return f"{seconds.numerator // 86400} of {total // 86400} days (to the second)"
        return f"{_num(seconds)} of {total} seconds"
    if convention is DayCount.ACTUAL_DAYS:
        return f"{_num(part * period.days)} of {period.days} days"
    nominal = _nominal_days(period)
    return f"{_num(part * nominal)} of {nominal} days (30-day months)"


def _nominal_days(period: Period) -> int:
    """A period's length on the 30/360 calendar: 30 per month (a clamped anchor
    can make Jan 29 -> Feb 28 count 31, so round to whole months)."""
    if period.days < 28:
        return period.days
    full = _day30(period.end.date()) - _day30(period.start.date())
    return 30 * max(1, (full + 15) // 30)


def _num(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    shown = exact_decimal(value).quantize(Decimal("0.0001"))
    return format(shown.normalize(), "f")
