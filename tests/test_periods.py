"""Billing periods: anchors, clamping through February and leap years, every interval."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pricing.engine.catalog import Interval
from pricing.errors import SubscriptionError
from pricing.engine.periods import Period, Schedule, add_months, clamped


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def starts(schedule: Schedule, first: datetime, n: int) -> list[date]:
    it = schedule.periods_from(first)
    return [next(it).start.date() for _ in range(n)]


def test_anchor_31_clamps_through_february_and_returns_to_31():
    s = Schedule(Interval.MONTH, day=31)
    assert starts(s, utc(2025, 1, 31), 5) == [
        date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30), date(2025, 5, 31)]


def test_anchor_31_in_a_leap_year_uses_february_29():
    s = Schedule(Interval.MONTH, day=31)
    assert starts(s, utc(2024, 1, 31), 3) == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)]
    assert s.period_containing(utc(2024, 2, 29, 12)).start == utc(2024, 2, 29)
    assert s.period_containing(utc(2024, 2, 28, 23, 59)).start == utc(2024, 1, 31)


@pytest.mark.parametrize(
    ("interval", "day", "month", "moment", "expected"),
    [
        (Interval.MONTH, 1, 1, utc(2026, 3, 15), (utc(2026, 3, 1), utc(2026, 4, 1))),
        (Interval.MONTH, 5, 1, utc(2026, 3, 4, 23), (utc(2026, 2, 5), utc(2026, 3, 5))),
        (Interval.QUARTER, 1, 1, utc(2026, 5, 20), (utc(2026, 4, 1), utc(2026, 7, 1))),
        (Interval.QUARTER, 15, 2, utc(2026, 1, 3), (utc(2025, 11, 15), utc(2026, 2, 15))),
        (Interval.YEAR, 1, 1, utc(2026, 12, 31, 23, 59), (utc(2026, 1, 1), utc(2027, 1, 1))),
        (Interval.YEAR, 29, 2, utc(2025, 3, 1), (utc(2025, 2, 28), utc(2026, 2, 28))),
        (Interval.YEAR, 29, 2, utc(2024, 3, 1), (utc(2024, 2, 29), utc(2025, 2, 28))),
        (Interval.WEEK, 1, 1, utc(2026, 1, 1), (utc(2025, 12, 29), utc(2026, 1, 5))),  # ISO Monday
        (Interval.WEEK, 3, 1, utc(2026, 1, 1), (utc(2025, 12, 31), utc(2026, 1, 7))),
    ],
)
def test_period_containing(interval, day, month, moment, expected):
    period = Schedule(interval, day, month).period_containing(moment)
    assert (period.start, period.end) == expected


def test_a_boundary_instant_belongs_to_the_new_period():
    s = Schedule(Interval.MONTH, 1)
    assert s.period_containing(utc(2026, 2, 1)).start == utc(2026, 2, 1)
    assert utc(2026, 2, 1) not in s.period_containing(utc(2026, 1, 31, 23, 59, 59))


@pytest.mark.parametrize(
    ("anchor", "first", "expected"),
    [
        ("calendar", utc(2026, 1, 20, 9, 30), Schedule(Interval.MONTH, 1, 1)),
        ("start", utc(2026, 1, 20, 9, 30), Schedule(Interval.MONTH, 20, 1)),
        (31, utc(2026, 1, 20), Schedule(Interval.MONTH, 31, 1)),
    ],
)
def test_anchored(anchor, first, expected):
    assert Schedule.anchored(Interval.MONTH, anchor, first) == expected


def test_bad_anchor_is_a_subscription_error():
    with pytest.raises(SubscriptionError, match="1-7"):
        Schedule.anchored(Interval.WEEK, 9, utc(2026, 1, 1))


def test_clamped_and_add_months_keep_the_anchor_day():
    assert clamped(2026, 2, 31) == date(2026, 2, 28)
    assert add_months(date(2026, 2, 28), 1, anchor_day=31) == date(2026, 3, 31)
    assert add_months(date(2026, 1, 31), -2) == date(2025, 11, 30)


@given(
    interval=st.sampled_from(list(Interval)),
    day=st.integers(1, 31),
    month=st.integers(1, 12),
    moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
)
def test_periods_tile_time(interval, day, month, moment):
    if interval is Interval.WEEK:
        day = day % 7 + 1
    s = Schedule(interval, day, month)
    period = s.period_containing(moment)
    assert moment in period
    following = s.period_after(period)
    assert following.start == period.end
    assert s.period_containing(period.end) == following


def test_period_rejects_an_empty_interval():
    with pytest.raises(ValueError):
        Period(utc(2026, 1, 1), utc(2026, 1, 1))


def test_months_are_named_parsed_and_stepped_in_one_place():
    from pricing.engine.periods import month_bounds, month_number, month_period, months_ending, parse_month, previous_month
    from pricing.errors import ReportError

    assert parse_month("2026-03") == date(2026, 3, 1)
    # January steps back across the year: 2026*12 + 0 - 1 -> December 2025
    assert previous_month("2026-01") == "2025-12"
    assert month_bounds("2024-02") == (datetime(2024, 2, 1), datetime(2024, 3, 1))
    assert month_period("2025-12").end == datetime(2026, 1, 1, tzinfo=UTC)
    assert month_number("2026-03") == 202603  # 2026 * 100 + 3
    assert months_ending("2026-02", 3) == ("2025-12", "2026-01", "2026-02")
    with pytest.raises(ReportError, match=r"^--month '2026-13': expected YYYY-MM, e.g. 2026-01$"):
        month_bounds("2026-13", ReportError, "--month")
    with pytest.raises(ReportError, match="expected YYYY-MM"):
        parse_month("2026-01\n", ReportError)  # a trailing newline is not a month ('$' alone would let it through)
