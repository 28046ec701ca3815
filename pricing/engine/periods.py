"""Billing periods: where one period ends and the next begins.

A period is the half-open interval ``[start, end)`` of two UTC instants.
Boundaries fall at 00:00 UTC on the anchor day, or at the anchor's time of
day when the anchor is an instant (Stripe's ``billing_cycle_anchor`` is a
timestamp: a subscription created at 14:05:09 renews at 14:05:09). A
subscription that starts at 09:30 on a midnight anchor pays from 09:30 (its
first period is partial and prorated).

Anchors (:class:`Schedule`):

- ``calendar``: months start on the 1st, quarters on 1 Jan/Apr/Jul/Oct, years
  on 1 January, weeks on Monday (ISO).
- ``start``: the anniversary of the first billed instant (the end of a trial,
  as Stripe moves the anchor to the trial end).
- a day number 1-31 (a weekday 1-7, Monday = 1, for weekly billing).
- an instant: its day (and month phase) and its time of day.

A schedule may step by several intervals (``count``: every 2 months, every
6 months, every 2 weeks); the phase is counted from the anchor's month (or,
for weeks, from the anchor's week).

NOTE: the anchor day is kept, not the previous boundary: an anchor on the 31st
gives Jan 31, Feb 28 (29 in a leap year), Mar 31, Apr 30. Carrying the clamped
day forward would drift to the 28th for good after the first February.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from pricing.engine.catalog import Interval
from pricing.errors import PricingError, SubscriptionError

AnchorSpec = Literal["calendar", "start"] | int | datetime

_MONTHS = {Interval.MONTH: 1, Interval.QUARTER: 3, Interval.YEAR: 12}


@dataclass(frozen=True, order=True)
class Period:
    """``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"a period must end after it starts: {self.start} .. {self.end}")

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.start <= moment < self.end

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def days(self) -> int:
        """Calendar days in the period (boundaries are midnights)."""
        return (self.end.date() - self.start.date()).days

    def label(self) -> str:
        last = (self.end - timedelta(microseconds=1)).date()
        return f"{self.start.date().isoformat()}..{last.isoformat()}"


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def as_utc(moment: date | datetime | str) -> datetime:
    """A date is its 00:00 UTC; a naive datetime is taken as UTC; strings are ISO 8601."""
    if isinstance(moment, str):
        text = moment.strip()
        try:
            moment = datetime.fromisoformat(text) if "T" in text or " " in text else date.fromisoformat(text)
        except ValueError:
            raise SubscriptionError(f"{text!r} is not an ISO date or instant") from None
    if isinstance(moment, datetime):
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return midnight(moment)


def clamped(year: int, month: int, day: int) -> date:
    """``day`` of the month, or the month's last day when it is shorter (31 -> Feb 28/29)."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def add_months(day: date, months: int, anchor_day: int | None = None) -> date:
    """``day`` moved by whole months, keeping ``anchor_day`` (default: its own day) clamped.

    The one month arithmetic of the workbench: periods, months of reports and
    histories, the 12-month credit window all step with it.
    """
    index = day.year * 12 + day.month - 1 + months
    return clamped(index // 12, index % 12 + 1, anchor_day or day.day)


def month_name(day: date) -> str:
    """'YYYY-MM' of a day."""
    return f"{day.year:04d}-{day.month:02d}"


def shift_month(month: date, months: int) -> str:
    """The 'YYYY-MM' name of the month ``months`` away from the month of ``month``."""
    return month_name(add_months(month.replace(day=1), months))


MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(month: str, error: type[PricingError] = PricingError, what: str = "month") -> date:
    """The first day of a 'YYYY-MM' month; anything else is one ``error`` line naming ``what``."""
    match = MONTH_PATTERN.fullmatch(month) if isinstance(month, str) else None
    if not match:
        raise error(f"{what} {month!r}: expected YYYY-MM, e.g. 2026-01")
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_bounds(month: str, error: type[PricingError] = PricingError,
                 what: str = "month") -> tuple[datetime, datetime]:
    """``[first instant, first instant of the next month)`` of a 'YYYY-MM' month, UTC (naive: the
    event store's timestamps are naive UTC; :func:`month_period` gives the zoned interval)."""
    first = parse_month(month, error, what)
    following = add_months(first, 1)
    return datetime.combine(first, time(0)), datetime.combine(following, time(0))


def month_period(month: str, error: type[PricingError] = PricingError, what: str = "month") -> Period:
    """The 'YYYY-MM' month as a :class:`Period` of zoned UTC instants."""
    start, end = month_bounds(month, error, what)
    return Period(start.replace(tzinfo=UTC), end.replace(tzinfo=UTC))


def month_number(month: str, error: type[PricingError] = PricingError, what: str = "month") -> int:
    """'2026-03' -> 202603: months that order as numbers."""
    first = parse_month(month, error, what)
    return first.year * 100 + first.month


def previous_month(month: str, error: type[PricingError] = PricingError) -> str:
    """The 'YYYY-MM' month before a 'YYYY-MM' month."""
    return shift_month(parse_month(month, error), -1)


def months_ending(last: str, count: int, error: type[PricingError] = PricingError) -> tuple[str, ...]:
    """``count`` consecutive 'YYYY-MM' months, oldest first, the last one ``last``."""
    end = parse_month(last, error)
    return tuple(shift_month(end, -back) for back in reversed(range(count)))


@dataclass(frozen=True)
class Schedule:
    """Where the period boundaries of one subscription fall.

    ``day``: day of month 1-31 (month-based intervals) or ISO weekday 1-7
    (weeks). ``month``: 1-12, the month a multi-month period starts in (any
    month of the same phase). ``count``: intervals per period. ``at``: the
    time of day of every boundary (UTC). ``week_of``: for periods of several
    weeks, a Monday of a week the periods start in.
    """

    interval: Interval
    day: int = 1
    month: int = 1
    count: int = 1
    at: time = time(0)
    week_of: date = date(2024, 1, 1)

    def __post_init__(self) -> None:
        top = 7 if self.interval is Interval.WEEK else 31
        if not 1 <= self.day <= top:
            raise ValueError(f"anchor day must be 1-{top} for {self.interval.value}ly billing, got {self.day}")
        if not 1 <= self.month <= 12:
            raise ValueError(f"anchor month must be 1-12, got {self.month}")
        if self.count < 1:
            raise ValueError(f"an interval count must be at least 1, got {self.count}")

    @property
    def months(self) -> int:
        """Months per period (0 for weekly schedules)."""
        return 0 if self.interval is Interval.WEEK else _MONTHS[self.interval] * self.count

    @classmethod
    def anchored(cls, interval: Interval, anchor: AnchorSpec, first_billed: datetime, count: int = 1) -> Schedule:
        """The schedule for an anchor spec and the first billed instant."""
        first = as_utc(first_billed).date()
        # only several-week periods need a phase week
        weekly = interval is Interval.WEEK and count > 1
        monday = first - timedelta(days=first.weekday()) if weekly else date(2024, 1, 1)
        if anchor == "calendar":
            # NOTE: several months per period keep the calendar phase (Jan, Jul for 6 months)
            return cls(interval, 1, 1, count)
        if anchor == "start":
            day = first.isoweekday() if interval is Interval.WEEK else first.day
            return cls(interval, day, first.month, count, week_of=monday)
        if isinstance(anchor, datetime):
            moment = as_utc(anchor)
            day = moment.isoweekday() if interval is Interval.WEEK else moment.day
            if interval is Interval.WEEK and count > 1:
                monday = moment.date() - timedelta(days=moment.weekday())
            return cls(interval, day, moment.month, count, moment.timetz().replace(tzinfo=None), monday)
        if isinstance(anchor, int) and not isinstance(anchor, bool):
            # NOTE: a day-number anchor keeps the first billed month as the quarter/year phase
            try:
                return cls(interval, anchor, first.month, count, week_of=monday)
            except ValueError as exc:
                raise SubscriptionError(str(exc)) from None
        raise SubscriptionError(f"anchor must be 'calendar', 'start', a day number or an instant, got {anchor!r}")

    def _at(self, day: date) -> datetime:
        return datetime.combine(day, self.at, tzinfo=UTC)

    def boundary_at_or_before(self, moment: datetime) -> datetime:
        moment = as_utc(moment)
        # a boundary is at ``self.at`` on its day: shift so the date arithmetic sees whole days
        shift = timedelta(hours=self.at.hour, minutes=self.at.minute, seconds=self.at.second,
                          microseconds=self.at.microsecond)
        today = (moment - shift).date()
        if self.interval is Interval.WEEK:
            back = (today.isoweekday() - self.day) % 7
            candidate = today - timedelta(days=back)
            weeks = ((candidate - self.week_of).days // 7) % self.count
            return self._at(candidate - timedelta(weeks=weeks))
        step = self.months
        index = today.year * 12 + today.month - 1
        index -= (index - (self.month - 1)) % step  # the latest month in phase
        candidate = clamped(index // 12, index % 12 + 1, self.day)
        if candidate > today:
            candidate = add_months(candidate, -step, self.day)
        return self._at(candidate)

    def next_boundary(self, boundary: datetime) -> datetime:
        """The boundary after ``boundary`` (which must itself be a boundary)."""
        if self.interval is Interval.WEEK:
            return boundary + timedelta(days=7 * self.count)
        return self._at(add_months(boundary.date(), self.months, self.day))

    def period_containing(self, moment: date | datetime) -> Period:
        start = self.boundary_at_or_before(as_utc(moment))
        return Period(start, self.next_boundary(start))

    def periods_from(self, moment: date | datetime) -> Iterator[Period]:
        """The period containing ``moment`` and every one after it."""
        period = self.period_containing(moment)
        while True:
            yield period
            period = Period(period.end, self.next_boundary(period.end))

    def period_after(self, period: Period) -> Period:
        return Period(period.end, self.next_boundary(period.end))
