"""The one proration share: every day-count convention, exact fractions, rounding once per line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pricing.engine.catalog import DayCount, Interval
from pricing.engine.money import Rounding, to_minor
from pricing.engine.periods import Period, Schedule
from pricing.billing.proration import exact_decimal, remaining_share, share
from pricing.billing.rating_segments import round_ratio


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


APRIL_FROM_5TH = Period(utc(2026, 4, 5), utc(2026, 5, 5))  # 30 days
JAN_FROM_5TH = Period(utc(2026, 1, 5), utc(2026, 2, 5))  # 31 days
MARCH = Period(utc(2026, 3, 1), utc(2026, 4, 1))
FEB = Period(utc(2026, 2, 1), utc(2026, 3, 1))


@pytest.mark.parametrize(
    ("convention", "period", "start", "end", "expected"),
    [
        # Logto case 1: renewal on the 5th, SSO added on the 20th, removed on the 30th
        (DayCount.THIRTY_DAY_MONTH, JAN_FROM_5TH, utc(2026, 1, 20), JAN_FROM_5TH.end, Fraction(15, 30)),
        (DayCount.THIRTY_DAY_MONTH, JAN_FROM_5TH, utc(2026, 1, 20), utc(2026, 1, 30), Fraction(10, 30)),
        (DayCount.ACTUAL_DAYS, JAN_FROM_5TH, utc(2026, 1, 20), JAN_FROM_5TH.end, Fraction(16, 31)),
        (DayCount.EXACT_SECONDS, JAN_FROM_5TH, utc(2026, 1, 20), JAN_FROM_5TH.end, Fraction(16, 31)),
        (DayCount.ACTUAL_DAYS, APRIL_FROM_5TH, utc(2026, 4, 20), APRIL_FROM_5TH.end, Fraction(15, 30)),
        # whole days: the day of a change counts from its midnight
        (DayCount.ACTUAL_DAYS, MARCH, utc(2026, 3, 5, 9, 30), MARCH.end, Fraction(27, 31)),
        (DayCount.EXACT_SECONDS, MARCH, utc(2026, 3, 31, 12), MARCH.end, Fraction(1, 62)),
        # 30/360: February is 30 days too, the 31st counts as the 30th
        (DayCount.THIRTY_DAY_MONTH, FEB, utc(2026, 2, 15), FEB.end, Fraction(16, 30)),
        (DayCount.THIRTY_DAY_MONTH, MARCH, utc(2026, 3, 30), utc(2026, 3, 31), Fraction(0)),
        (DayCount.THIRTY_DAY_MONTH, MARCH, utc(2026, 3, 31), MARCH.end, Fraction(1, 30)),
        (DayCount.THIRTY_DAY_MONTH, MARCH, MARCH.start, MARCH.end, Fraction(1)),
    ],
)
def test_share(convention, period, start, end, expected):
    assert share(start, end, period, convention) == expected


def test_parts_outside_the_period_are_ignored():
    assert share(utc(2026, 2, 20), utc(2026, 3, 11), MARCH, DayCount.ACTUAL_DAYS) == Fraction(10, 31)
    assert share(utc(2026, 4, 2), utc(2026, 4, 3), MARCH, DayCount.EXACT_SECONDS) == 0


def test_last_second_of_a_period():
    last = MARCH.end - timedelta(seconds=1)
    assert remaining_share(last, MARCH, DayCount.EXACT_SECONDS) == Fraction(1, 31 * 86400)
    assert remaining_share(last, MARCH, DayCount.ACTUAL_DAYS) == Fraction(1, 31)


def prorated_minor(amount: Decimal, part: Fraction, decimals: int, rounding: Rounding = Rounding.HALF_UP) -> int:
    """The engine's one rounding of a prorated amount (pricing.billing.rating_segments)."""
    scaled = Fraction(amount) * part * 10**decimals
    return round_ratio(scaled.numerator, scaled.denominator, rounding)


def test_rounding_once_half_up_mirrors_credits():
    # 0.10 x 1/4 = 0.025: a tie, away from zero both ways; banker's rounding to even
    assert prorated_minor(Decimal("0.10"), Fraction(1, 4), 2) == 3
    assert prorated_minor(Decimal("-0.10"), Fraction(1, 4), 2) == -3
    assert prorated_minor(Decimal("0.10"), Fraction(1, 4), 2, Rounding.HALF_EVEN) == 2
    assert prorated_minor(Decimal("16.00"), Fraction(1, 3), 2) == 533
    assert prorated_minor(Decimal(30000), Fraction(1, 3), 0) == 10000  # JPY, no minor unit


def test_exact_decimal_rounds_like_to_minor():
    value = Fraction(123456789, 7 * 10**6)
    assert to_minor(exact_decimal(value), 2) == round(value * 100)


periods = st.builds(
    lambda interval, day, moment: Schedule(interval, day if interval is not Interval.WEEK else day % 7 + 1)
    .period_containing(moment),
    st.sampled_from(list(Interval)), st.integers(1, 31),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
)


@given(period=periods, convention=st.sampled_from(list(DayCount)), data=st.data(),
       price=st.decimals(min_value=0, max_value=10000, places=2))
def test_partition_pieces_add_up_to_the_full_price(period, convention, data, price):
    """Any partition: shares sum to exactly 1; rounded pieces within one minor unit per piece."""
    span = int((period.end - period.start).total_seconds())
    cuts = sorted(set(data.draw(st.lists(st.integers(1, span - 1), max_size=6))))
    points = [period.start] + [period.start + timedelta(seconds=c) for c in cuts] + [period.end]
    parts = [share(a, b, period, convention) for a, b in zip(points, points[1:])]
    assert sum(parts) == 1
    assert all(0 <= p <= 1 for p in parts)
    pieces = [prorated_minor(price, p, 2) for p in parts]
    full = to_minor(price, 2)
    assert abs(sum(pieces) - full) <= len(pieces)


@given(period=periods, convention=st.sampled_from(list(DayCount)),
       offset=st.floats(0, 1), price=st.decimals(min_value=0, max_value=10000, places=2))
def test_adding_then_removing_at_once_nets_zero(period, convention, offset, price):
    t = period.start + (period.end - period.start) * offset
    charge = prorated_minor(price, remaining_share(t, period, convention), 2)
    credit = prorated_minor(-price, remaining_share(t, period, convention), 2)
    assert charge + credit == 0
