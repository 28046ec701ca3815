"""Prepaid balances (seed 002): top-ups, a daily debit, system credit, notice and suspension.

:func:`simulate_ledger` runs a :class:`Ledger` from its start through a day
and returns its days as runs (:class:`LedgerRun`; :attr:`LedgerResult.rows`
lists every day), the dates of low-balance notices and suspensions, and the
runway from the last day: when the notice and the suspension will come if
nothing is topped up.

Rules (seed 002 and the catalog's ``prepaid`` terms):

- An active plan is debited once a day: the plan's price for that day, the
  interval price times :func:`pricing.billing.proration.share` of one day (the same
  share every proration uses), rounded once per day. ``daily_price:
  interval_price_over_days_in_period`` uses actual days (a March day is
  1/31 of the month), ``interval_price_over_30`` the 30/360 count.
- Deactivation debits the current day; nothing more until reactivation. A day
  is never debited twice.
- System credit: ``credit_percent_of_last_12_months`` of the services debited
  in the 12 months up to the day (seed 002: "the amount of services you
  purchased"), capped by ``credit_cap``; the balance may go that far below zero.
- Suspension: a day whose debit balance plus credit cannot cover is not
  debited and the service is suspended; a top-up that covers the day resumes it.
- Low-balance notice: when an active balance covers fewer than
  ``low_balance_days`` days, once until a top-up lifts it back.

How it runs: the rules of one day live in one place, ``_Account.day``. Days
with events go through it; between events the simulation skips ahead over
runs of days where nothing can happen (``_Account.quiet_run``): within one
run of equal daily prices, while the balance stays clear of the suspension
threshold and on one side of the notice threshold, n days are n equal debits.
Services debited are kept as runs too, so the 12-month credit window is
arithmetic over runs. A month costs a handful of steps, not thirty days.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pricing.engine.catalog import Catalog, DayCount, Money, Quantity
from pricing.errors import PricingError, SubscriptionError, validation_line
from pricing.engine.money import Rounding, to_minor
from pricing.engine.formatting import format_minor
from pricing.engine.periods import Period, Schedule, add_months, midnight
from pricing.billing.proration import share
from pricing.engine.rating import limit_problem
from pricing.billing.rating_segments import prorated_minor, recurring_amount, recurring_amounts
from pricing.billing.segments import Holding
from pricing.yaml_files import read_yaml

_PROJECTION_DAYS = 3660  # how far the runway looks ahead (ten years)
MAX_SIMULATED_DAYS = 36_525  # a hundred years of daily debits, at most
_ONE_DAY = timedelta(days=1)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LedgerEvent(_Strict):
    date: date
    type: Literal["top_up", "change_plan", "deactivate", "activate", "set_objects"]
    amount: Money | None = None
    plan: str | None = None
    objects: dict[str, Quantity] = Field(default_factory=dict)
    note: str = ""

    def model_post_init(self, __context: Any) -> None:
        need = {"top_up": "amount", "change_plan": "plan", "set_objects": "objects"}.get(self.type)
        if need and getattr(self, need) in (None, {}):
            raise ValueError(f"the event needs {need!r}")
        if self.amount is not None and self.amount <= 0:
            raise ValueError(f"amount must be positive, got {self.amount}")

    def describe(self) -> str:
        return f"{self.type} on {self.date.isoformat()}"


class Ledger(_Strict):
    """A prepaid account: its plan, the objects it holds and its events by date."""

    customer_id: str
    catalog: str
    start: date
    plan: str
    objects: dict[str, Quantity] = Field(default_factory=dict)
    opening_balance: Money = Decimal(0)
    credit_enabled: bool = Field(True, description="the customer may switch system credit off (seed 002)")
    prior_purchases: dict[date, Money] = Field(
        default_factory=dict, description="services debited before 'start', for the 12-month credit rule")
    events: tuple[LedgerEvent, ...] = ()
    origin: str = Field("<ledger>", exclude=True)

    def model_post_init(self, __context: Any) -> None:
        # NOTE: the 12-month window reads purchases in date order; one dated on or after the start
        # would be history that has not happened yet
        late = [day for day in self.prior_purchases if day >= self.start]
        if late:
            raise ValueError(f"prior_purchases: {min(late).isoformat()} is not before the start"
                             f" {self.start.isoformat()}")


Status = Literal["active", "inactive", "suspended"]


@dataclass(frozen=True)
class LedgerDay:
    day: date
    plan: str
    status: Status
    top_up: int
    debit: int
    balance: int
    credit_limit: int
    note: str = ""


@dataclass(frozen=True)
class LedgerRun:
    """Consecutive days with the same plan, status and debit, and nothing else happening.

    A day with an event (or a note) is a run of one day. ``balance`` is the
    balance after the run's last day; the day ``i`` days before the last had
    ``balance + i * debit``. Each day's credit limit is read from the result's
    purchase history (:meth:`LedgerResult.credit_limit_on`).
    """

    first: date
    days: int
    plan: str
    status: Status
    debit: int  # each day's
    balance: int  # after the last day
    top_up: int = 0
    note: str = ""

    @property
    def last(self) -> date:
        return self.first + timedelta(days=self.days - 1)

    @property
    def debits(self) -> int:
        return self.debit * self.days

    def balance_on(self, day: date) -> int:
        return self.balance + (self.last - day).days * self.debit

    def clipped(self, first: date, last: date) -> LedgerRun | None:
        """The days of the run within ``[first, last]`` (None if none)."""
        low, high = max(first, self.first), min(last, self.last)
        if low > high:
            return None
        if low == self.first and high == self.last:
            return self
        return replace(self, first=low, days=(high - low).days + 1, balance=self.balance_on(high))


@dataclass(frozen=True)
class CreditRule:
    """System credit: a percent of the services debited in the 12 months up to a day, capped."""

    percent: Decimal  # 0: no credit
    cap_minor: int | None
    rounding: Rounding

    def limit(self, bought: int) -> int:
        if not self.percent:
            return 0
        limit = to_minor(Decimal(bought) * self.percent / 100, 0, self.rounding)
        return limit if self.cap_minor is None else min(limit, self.cap_minor)


class Purchases:
    """Services debited, as runs of days debited the same amount, with running totals.

    NOTE: days are added in date order (prior purchases are before the start),
    so the 12-month window is two bisections and a partial run at each end.
    """

    def __init__(self) -> None:
        self.firsts: list[date] = []
        self.days: list[int] = []
        self.amounts: list[int] = []
        self.before: list[int] = []  # total of the runs before each run
        self.negative = False  # a negative amount was added: window sums no longer grow with the window

    def add(self, first: date, days: int, amount: int) -> None:
        self.negative = self.negative or amount < 0
        if self.firsts and self.amounts[-1] == amount and self.firsts[-1] + timedelta(days=self.days[-1]) == first:
            self.days[-1] += days
            return
        self.before.append(self.before[-1] + self.amounts[-1] * self.days[-1] if self.firsts else 0)
        self.firsts.append(first)
        self.days.append(days)
        self.amounts.append(amount)

    def through(self, day: date) -> int:
        """Services debited on days up to and including ``day``."""
        i = bisect_right(self.firsts, day) - 1
        if i < 0:
            return 0
        return self.before[i] + self.amounts[i] * min(self.days[i], (day - self.firsts[i]).days + 1)

    def in_window(self, day: date) -> int:
        """Services debited in the 12 months up to ``day``: after the same day 12 months before, through ``day``."""
        return self.through(day) - self.through(add_months(day, -12))

    def copy(self) -> Purchases:
        out = Purchases()
        out.firsts, out.days, out.amounts, out.before = (list(self.firsts), list(self.days), list(self.amounts),
                                                         list(self.before))
        out.negative = self.negative
        return out


@dataclass(frozen=True)
class Runway:
    """What happens after the last simulated day if nobody tops up."""

    daily_debit: int
    days: int | None  # days of service left before suspension; None: no debits are running
    notice_on: date | None
    suspended_on: date | None


@dataclass(frozen=True)
class LedgerResult:
    customer_id: str
    catalog: str
    currency: str
    decimals: int
    opening_balance: int
    runs: tuple[LedgerRun, ...]
    notices: tuple[date, ...]
    suspensions: tuple[date, ...]
    runway: Runway
    credit_rule: CreditRule | None = None  # None: credit switched off
    purchases: Purchases | None = None  # what was debited through the last day, for each day's credit limit

    def credit_limit_on(self, day: date) -> int:
        if self.credit_rule is None or self.purchases is None:
            return 0
        return self.credit_rule.limit(self.purchases.in_window(day))

    def row(self, run: LedgerRun, day: date) -> LedgerDay:
        """The row of one day of a run."""
        return LedgerDay(day, run.plan, run.status, run.top_up, run.debit, run.balance_on(day),
                         self.credit_limit_on(day), run.note)

    def days_of(self, runs: Iterable[LedgerRun]) -> Iterator[LedgerDay]:
        for run in runs:
            for offset in range(run.days):
                yield self.row(run, run.first + timedelta(days=offset))

    @cached_property
    def rows(self) -> tuple[LedgerDay, ...]:
        """Every day's row (built on first use: a month's statement reads the runs)."""
        return tuple(self.days_of(self.runs))

    @property
    def last_row(self) -> LedgerDay:
        last = self.runs[-1]
        return self.row(last, last.last)

    def runs_between(self, first: date, last: date) -> list[LedgerRun]:
        """The runs of the days ``first`` through ``last``, cut to them."""
        out = []
        for run in self.runs:
            if run.first > last:
                break
            cut = run.clipped(first, last)
            if cut is not None:
                out.append(cut)
        return out

    @property
    def top_ups(self) -> int:
        return sum(r.top_up for r in self.runs)

    @property
    def debits(self) -> int:
        return sum(r.debits for r in self.runs)

    @property
    def balance(self) -> int:
        return self.runs[-1].balance if self.runs else self.opening_balance

    def to_json(self) -> dict[str, Any]:
        f = lambda minor: format_minor(minor, self.decimals)  # noqa: E731
        run = self.runway
        return {
            "customer_id": self.customer_id, "catalog": self.catalog, "currency": self.currency,
            "opening_balance": f(self.opening_balance), "top_ups": f(self.top_ups), "debits": f(self.debits),
            "balance": f(self.balance),
            "notices": [d.isoformat() for d in self.notices],
            "suspensions": [d.isoformat() for d in self.suspensions],
            "runway": {"daily_debit": f(run.daily_debit), "days": run.days,
                       "notice_on": run.notice_on.isoformat() if run.notice_on else None,
                       "suspended_on": run.suspended_on.isoformat() if run.suspended_on else None},
            "rows": [{"date": r.day.isoformat(), "plan": r.plan, "status": r.status, "top_up": f(r.top_up),
                      "debit": f(r.debit), "balance": f(r.balance), "credit_limit": f(r.credit_limit),
                      "note": r.note} for r in self.rows],
        }


# --- loading ---------------------------------------------------------------------


def parse_ledger(data: Any, origin: str = "<ledger>") -> Ledger:
    if not isinstance(data, dict):
        raise SubscriptionError(f"{origin}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return Ledger.model_validate({**data, "origin": origin})
    except ValidationError as exc:
        raise SubscriptionError(validation_line(origin, exc, data, event_time="date", event_word="on")) from None


def load_ledger(path: str | Path) -> Ledger:
    return parse_ledger(read_yaml(Path(path), SubscriptionError), str(path))


# --- simulation ----------------------------------------------------------------------


class DailyPrices:
    """What a catalog's prepaid plans cost per day, shared by every ledger of the catalog.

    A holding's full-period price is what rating charges it (plan fee and held
    objects past what is included), the same lines as its quote;
    :func:`daily_prices` rates every holding a set of ledgers will hold in one
    pass, and a holding it did not foresee is rated on first use. A day's price
    is that times the day's share of its period (:func:`pricing.billing.proration.share`),
    rounded once; days of a period with the same share form one run.
    """

    def __init__(self, catalog: Catalog, known: dict[Holding, Fraction] | None = None) -> None:
        self.catalog = catalog
        self.known: dict[Holding, Fraction] = dict(known or {})
        self.schedule = Schedule(catalog.interval)  # daily prices use calendar periods
        terms = catalog.prepaid
        over_30 = terms is not None and terms.daily_price == "interval_price_over_30"
        self.convention = DayCount.THIRTY_DAY_MONTH if over_30 else DayCount.ACTUAL_DAYS
        # day -> the runs of equal shares of its period: (first day, last day, share)
        self._shares_on: dict[date, tuple[tuple[date, date, Fraction], ...]] = {}
        self._rounded: dict[tuple[int, int, int, int], int] = {}

    def full(self, holding: Holding) -> Fraction:
        price = self.known.get(holding)
        if price is None:
            price = self.known[holding] = recurring_amount(self.catalog, holding)
        return price

    def run_on(self, full: Fraction, day: date) -> tuple[int, date, date]:
        """The daily price on ``day`` of a holding whose period costs ``full``, and the first and
        last day of the run of days of its period with that price."""
        runs = self._shares_on.get(day)
        if runs is None:
            runs = self._period_runs(day)
        for first, last, part in runs:
            if first <= day <= last:
                # NOTE: keyed by integers: hashing a Fraction costs more than the lookup saves
                key = (full.numerator, full.denominator, part.numerator, part.denominator)
                price = self._rounded.get(key)
                if price is None:
                    price = self._rounded[key] = prorated_minor(self.catalog, full, part)
                return price, first, last
        raise AssertionError(f"{day} is not in its own period")  # pragma: no cover - period_containing holds the day

    def _period_runs(self, day: date) -> tuple[tuple[date, date, Fraction], ...]:
        period = self.schedule.period_containing(day)
        start = period.start.date()
        runs = tuple((start + timedelta(days=offset), start + timedelta(days=offset + days - 1), part)
                     for offset, days, part in _day_shares(period, self.convention))
        for offset in range(period.days):
            self._shares_on[start + timedelta(days=offset)] = runs
        return runs


def daily_prices(catalog: Catalog, ledgers: Iterable[Ledger]) -> DailyPrices:
    """The prices of every holding the ledgers start with or move to, rated together."""
    holdings: dict[tuple[str, ...], set[Holding]] = {}

    def want(plan: str, objects: dict[str, Decimal]) -> None:
        if plan in catalog.plans:
            # NOTE: rated in groups of the same metric names, so a metric a holding lacks is never
            # filled with another holding's zero (a single holding is rated without that column)
            holdings.setdefault(tuple(sorted(objects)), set()).add(Holding.of(plan, objects))

    for ledger in ledgers:
        plan, objects = ledger.plan, {k: Decimal(v) for k, v in ledger.objects.items()}
        want(plan, objects)
        for event in ledger.events:
            if event.type == "change_plan" and event.plan is not None:
                plan = event.plan
            elif event.type == "set_objects":
                objects = {**objects, **{k: Decimal(v) for k, v in event.objects.items()}}
            else:
                continue
            want(plan, objects)
    known: dict[Holding, Fraction] = {}
    for group in holdings.values():
        try:
            known.update(recurring_amounts(catalog, group))
        except PricingError:
            pass  # NOTE: rated one by one on first use instead, so the error names the ledger and event
    return DailyPrices(catalog, known)


@lru_cache(maxsize=4096)
def _day_shares(period: Period, convention: DayCount) -> tuple[tuple[int, int, Fraction], ...]:
    """The share of ``period`` each of its days covers, as runs of days with equal shares:
    (first day's offset from the period's start, days, share).

    Actual days give a calendar month one run (every day 1/31 of March); the
    30/360 count gives the 30th and 31st, or the end of February, runs of their own.
    """
    first = period.start.date()
    out: list[tuple[int, int, Fraction]] = []
    for offset in range(period.days):
        day = first + timedelta(days=offset)
        part = share(midnight(day), midnight(day + _ONE_DAY), period, convention)
        if out and out[-1][2] == part:
            out[-1] = (out[-1][0], out[-1][1] + 1, part)
        else:
            out.append((offset, 1, part))
    return tuple(out)


class _Account:
    def __init__(self, catalog: Catalog, ledger: Ledger, prices: DailyPrices | None = None) -> None:
        if catalog.prepaid is None:
            raise SubscriptionError(f"{ledger.origin}: catalog {catalog.id!r} has no prepaid terms")
        if ledger.catalog != catalog.id:
            raise SubscriptionError(f"{ledger.origin}: the ledger is for catalog {ledger.catalog!r},"
                                    f" not {catalog.id!r}")
        self.catalog = catalog
        self.terms = catalog.prepaid
        self.ledger = ledger
        self.prices = prices if prices is not None and prices.catalog is catalog else DailyPrices(catalog)
        d, rounding = catalog.decimals, catalog.settings.rounding
        self.balance = to_minor(ledger.opening_balance, d, rounding)
        percent = self.terms.credit_percent_of_last_12_months
        cap = None if self.terms.credit_cap is None else to_minor(self.terms.credit_cap, d, rounding)
        self.credit_rule = CreditRule(percent, cap, rounding) if ledger.credit_enabled and percent else None
        self.purchases = Purchases()
        for day, amount in sorted(ledger.prior_purchases.items()):
            self.purchases.add(day, 1, to_minor(amount, d, rounding))
        self.plan = ledger.plan
        self.objects = {k: Decimal(v) for k, v in ledger.objects.items()}
        self.status: Status = "active"
        self.noticed = False
        self._holding: Holding | None = None  # what is held now; dropped when the objects change
        self._full = Fraction(0)  # the period price of what is held
        # the last run of equal daily prices looked up: holding, first day, last day, price
        self._stretch: tuple[Holding, date, date, int] | None = None
        self._check(ledger.plan, None)

    def fail(self, index: int | None, message: str) -> SubscriptionError:
        if index is None:
            return SubscriptionError(f"{self.ledger.origin}: plan: {message}")
        event = self.ledger.events[index]
        return SubscriptionError(f"{self.ledger.origin}: events[{index}] ({event.describe()}): {message}")

    def _check(self, plan_id: str, index: int | None) -> None:
        if plan_id not in self.catalog.plans:
            raise self.fail(index, f"unknown plan {plan_id!r} (plans: {', '.join(self.catalog.plans)})")
        problem = limit_problem(self.catalog, plan_id, self.objects)
        if problem:
            raise self.fail(index, f"cannot move to {plan_id!r}: {problem} (seed 002)")

    def price_run(self, day: date) -> tuple[int, date]:
        """The active plan's price for ``day`` and the last day the same price runs to."""
        if self._holding is None or self._holding.plan != self.plan:
            self._holding = Holding.of(self.plan, self.objects)
            self._full = self.prices.full(self._holding)
        stretch = self._stretch
        if stretch is not None and stretch[0] is self._holding and stretch[1] <= day <= stretch[2]:
            return stretch[3], stretch[2]
        price, first, last = self.prices.run_on(self._full, day)
        self._stretch = (self._holding, first, last, price)
        return price, last

    def daily_price(self, day: date) -> int:
        return self.price_run(day)[0]

    def credit_limit(self, day: date) -> int:
        return 0 if self.credit_rule is None else self.credit_rule.limit(self.purchases.in_window(day))

    def debit(self, day: date, notes: list[str]) -> int:
        """Debit the day if balance plus credit covers it; otherwise suspend."""
        price = self.daily_price(day)
        left = self.balance - price
        if left < 0 and left < -self.credit_limit(day):  # a limit is never negative
            if self.status != "suspended":
                notes.append("suspended: balance plus credit cannot cover the day")
            self.status = "suspended"
            return 0
        self.balance -= price
        if price:
            self.purchases.add(day, 1, price)
        return price

    def day(self, day: date, events: list[int], suspensions: list[date], notices: list[date]) -> LedgerRun:
        """One day by the rules: its events in order, its debit, suspension and notice."""
        notes: list[str] = []
        topped = 0
        debited = 0
        charged_today = False
        was_suspended = self.status == "suspended"
        for index in events:
            event = self.ledger.events[index]
            if event.type == "top_up":
                assert event.amount is not None
                amount = to_minor(event.amount, self.catalog.decimals, self.catalog.settings.rounding)
                self.balance += amount
                topped += amount
                notes.append(f"top-up {format_minor(amount, self.catalog.decimals)}")
                if self.status == "suspended":
                    self.status = "active"  # tried again below; suspended again if still short
            elif event.type == "change_plan":
                assert event.plan is not None
                if event.plan == self.plan:
                    raise self.fail(index, f"already on plan {event.plan!r}")
                self._check(event.plan, index)
                notes.append(f"plan {self.plan} -> {event.plan}")
                self.plan = event.plan
            elif event.type == "set_objects":
                self.objects.update({k: Decimal(v) for k, v in event.objects.items()})
                self._holding = None
                problem = limit_problem(self.catalog, self.plan, self.objects)
                if problem:
                    raise self.fail(index, f"plan {self.plan!r} does not allow it: {problem}")
            elif event.type == "deactivate":
                if self.status == "inactive":
                    raise self.fail(index, "the plan is already deactivated")
                if self.status == "active" and not charged_today:
                    debited += self.debit(day, notes)  # seed 002: deactivation debits the current day
                    charged_today = True
                self.status = "inactive"
                notes.append("deactivated")
            elif event.type == "activate":
                if self.status != "inactive":
                    raise self.fail(index, "the plan is not deactivated")
                self.status = "active"
                notes.append("activated")
        if self.status == "active" and not charged_today:
            debited += self.debit(day, notes)
        if self.status == "suspended" and not was_suspended:
            suspensions.append(day)
        if self.status == "active":
            self._notice(day, notices, notes)
        return LedgerRun(day, 1, self.plan, self.status, debited, self.balance, topped, "; ".join(notes))

    def _notice(self, day: date, notices: list[date], notes: list[str]) -> None:
        threshold = self.terms.low_balance_days * self.daily_price(day + _ONE_DAY)
        if self.balance < threshold and threshold > 0:
            if not self.noticed:
                notices.append(day)
                notes.append(f"low balance: under {self.terms.low_balance_days} days left")
            self.noticed = True
        else:
            self.noticed = False

    def quiet_run(self, day: date, last: date) -> LedgerRun | None:
        """Days ``day`` through ``last`` have no events: as many of them as :meth:`day` would pass
        without a note (no suspension, no notice given or lifted) in one step, or None when
        ``day`` itself needs the day's rules.

        An inactive or suspended account is not debited and nothing changes until an
        event. An active one pays the same debit every day of a run of equal prices; the
        run stops where the balance would cross the notice threshold (the daily price of
        the next day times ``low_balance_days``) or come near the credit limit.
        """
        if self.status != "active":
            days = (last - day).days + 1
            return LedgerRun(day, days, self.plan, self.status, 0, self.balance)
        price, price_last = self.price_run(day)
        if price < 0:
            return None
        end = min(last, price_last)
        days = (end - day).days + 1
        # every day before the last of the price run looks at the same price for tomorrow
        plain = days - 1 if end == price_last else days
        balance = self.balance
        threshold = self.terms.low_balance_days * price
        clear = threshold <= 0 or balance - price >= threshold
        if clear:
            taken = plain if threshold <= 0 else min(plain, (balance - threshold) // price)
        elif self.noticed:
            taken = plain  # under the threshold from the first day: stays under while it falls
        else:
            return None  # the first day gives the notice
        if taken == plain < days:
            # the price run's last day: tomorrow's price (the next run's) sets the threshold
            after = self.terms.low_balance_days * self.daily_price(end + _ONE_DAY)
            left = balance - days * price
            if (after <= 0 or left >= after) if clear else (after > 0 and left < after):
                taken = days
        if taken > 0 and balance - taken * price < 0:  # a limit is never negative: above zero, no limit to check
            taken = min(taken, self._covered_days(day, taken, price))
        if taken <= 0:
            return None
        self.balance -= taken * price
        if price:
            self.purchases.add(day, taken, price)
        self.noticed = not clear
        return LedgerRun(day, taken, self.plan, "active", price, self.balance)

    def _covered_days(self, day: date, days: int, price: int) -> int:
        """How many of ``days`` debits of ``price`` from ``day`` on balance plus credit surely covers.

        NOTE: the credit counted is a floor of every day's limit: what was debited
        after 12 months before the run's last day and before its first. Debits
        inside the run only raise the limit and older ones only leave the window,
        as long as no debit was negative.
        """
        floor = 0
        if self.credit_rule is not None:
            if self.purchases.negative:
                return 0
            last = day + timedelta(days=days - 1)
            bought = self.purchases.through(day - _ONE_DAY) - self.purchases.through(add_months(last, -12))
            floor = self.credit_rule.limit(max(bought, 0))
        if price == 0:
            return days if self.balance >= -floor else 0
        return (self.balance + floor) // price


def simulate_ledger(catalog: Catalog, ledger: Ledger, until: date, runway: bool = True,
                    prices: DailyPrices | None = None) -> LedgerResult:
    """Every day from the ledger's start through ``until``, and the runway after it
    (``runway=False``: not projected; a month's statement does not need it).

    ``prices``: holdings already rated (:func:`daily_prices`), for many ledgers of one catalog.
    """
    account = _Account(catalog, ledger, prices)
    if until < ledger.start:
        raise SubscriptionError(f"{ledger.origin}: --until {until.isoformat()} is before the start"
                                f" {ledger.start.isoformat()}")
    if (until - ledger.start).days > MAX_SIMULATED_DAYS:
        # NOTE: a horizon of centuries is a typo, not a question
        raise SubscriptionError(
            f"{ledger.origin}: --until {until.isoformat()} is more than {MAX_SIMULATED_DAYS // 365} years after the"
            f" start {ledger.start.isoformat()}; simulate at most {MAX_SIMULATED_DAYS:,} days")
    by_day: dict[date, list[int]] = {}
    previous = ledger.start
    for index, event in enumerate(ledger.events):
        if event.date < previous:
            what = "the start" if index == 0 or event.date < ledger.start else f"events[{index - 1}]"
            raise account.fail(index, f"is earlier than {what}; events must be in date order from the start")
        previous = event.date
        by_day.setdefault(event.date, []).append(index)
    opening = account.balance
    runs: list[LedgerRun] = []
    notices: list[date] = []
    suspensions: list[date] = []
    _advance(account, ledger.start, until, by_day, runs, notices, suspensions)
    # the runway debits the account further; the result keeps what was debited through 'until'
    history = account.purchases.copy() if runway else account.purchases
    projected = _runway(account, until, suspensions) if runway else Runway(account.daily_price(until), None, None, None)
    return LedgerResult(ledger.customer_id, catalog.id, catalog.currency, catalog.decimals, opening, tuple(runs),
                        tuple(notices), tuple(suspensions), projected, account.credit_rule, history)


def _advance(account: _Account, first: date, last: date, by_day: dict[date, list[int]], runs: list[LedgerRun] | None,
             notices: list[date], suspensions: list[date], stop_at_suspension: bool = False) -> None:
    """Days ``first`` through ``last``: event days by the day's rules, the days between them in runs."""
    event_days = sorted(day for day in by_day if first <= day <= last)
    upcoming = 0
    day = first
    while day <= last:
        events = by_day.get(day)
        run: LedgerRun | None = None
        if events is None:
            while upcoming < len(event_days) and event_days[upcoming] < day:
                upcoming += 1
            quiet_last = event_days[upcoming] - _ONE_DAY if upcoming < len(event_days) else last
            run = account.quiet_run(day, quiet_last)
        if run is None:
            run = account.day(day, events or [], suspensions, notices)
            if stop_at_suspension and suspensions:
                return
        if runs is not None:
            runs.append(run)
        day = run.first + timedelta(days=run.days)


def _runway(account: _Account, until: date, past: list[date]) -> Runway:
    """Carry on without events until the service is suspended (or ten years pass)."""
    daily = account.daily_price(until + _ONE_DAY)
    if account.status == "inactive" or daily == 0:
        return Runway(daily, None, None, None)
    if account.status == "suspended":
        return Runway(daily, 0, None, past[-1] if past else until)
    notices: list[date] = []
    suspensions: list[date] = []
    first = until + _ONE_DAY
    _advance(account, first, until + timedelta(days=_PROJECTION_DAYS), {}, None, notices, suspensions,
             stop_at_suspension=True)
    if suspensions:
        # None when the notice was already given on or before 'until'
        return Runway(daily, (suspensions[0] - first).days, notices[0] if notices else None, suspensions[0])
    return Runway(daily, None, notices[0] if notices else None, None)
