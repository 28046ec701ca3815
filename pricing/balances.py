"""Prepaid balances (seed 002): top-ups, a daily debit, system credit, notice and suspension.

:func:`simulate_ledger` walks a :class:`Ledger` day by day and returns every
day's row, the dates of low-balance notices and suspensions, and the runway
from the last day: when the notice and the suspension will come if nothing
is topped up.

Rules (seed 002 and the catalog's ``prepaid`` terms):

- An active plan is debited once a day: the plan's price for that day, the
  interval price times :func:`pricing.proration.share` of one day (the same
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
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .catalog import Catalog, DayCount, Money, Quantity
from .errors import SubscriptionError
from .money import format_minor, to_minor
from .periods import Schedule, add_months, midnight
from .proration import share
from .rating import limit_problem
from .rating_segments import prorated_minor, recurring_amount
from .segments import Holding
from .yaml_files import read_yaml

_PROJECTION_DAYS = 3660  # how far the runway looks ahead (ten years)
MAX_SIMULATED_DAYS = 36_525  # a hundred years of daily debits, at most


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
    rows: tuple[LedgerDay, ...]
    notices: tuple[date, ...]
    suspensions: tuple[date, ...]
    runway: Runway

    @property
    def top_ups(self) -> int:
        return sum(r.top_up for r in self.rows)

    @property
    def debits(self) -> int:
        return sum(r.debit for r in self.rows)

    @property
    def balance(self) -> int:
        return self.rows[-1].balance if self.rows else self.opening_balance

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
        first = exc.errors()[0]
        loc = list(first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        where = ".".join(str(p) for p in loc) or "(top level)"
        events = data.get("events")
        if len(loc) >= 2 and loc[0] == "events" and isinstance(loc[1], int) and isinstance(events, list):
            raw = events[loc[1]] if isinstance(events[loc[1]], dict) else {}
            rest = ".".join(str(p) for p in loc[2:])
            where = f"events[{loc[1]}] ({raw.get('type', '?')} on {raw.get('date', '?')})" + (f": {rest}" if rest else "")
        raise SubscriptionError(f"{origin}: {where}: {message}") from None


def load_ledger(path: str | Path) -> Ledger:
    return parse_ledger(read_yaml(Path(path), SubscriptionError), str(path))


# --- simulation ----------------------------------------------------------------------


class _Account:
    def __init__(self, catalog: Catalog, ledger: Ledger) -> None:
        if catalog.prepaid is None:
            raise SubscriptionError(f"{ledger.origin}: catalog {catalog.id!r} has no prepaid terms")
        if ledger.catalog != catalog.id:
            raise SubscriptionError(f"{ledger.origin}: the ledger is for catalog {ledger.catalog!r}, not {catalog.id!r}")
        self.cat = catalog
        self.terms = catalog.prepaid
        self.ledger = ledger
        self.schedule = Schedule(catalog.interval)  # daily prices use calendar periods
        self.convention = (DayCount.ACTUAL_DAYS if self.terms.daily_price == "interval_price_over_days_in_period"
                           else DayCount.THIRTY_DAY_MONTH)
        d = catalog.decimals
        self.balance = to_minor(ledger.opening_balance, d, catalog.settings.rounding)
        # services debited, by day, with running totals: the 12-month credit rule is two bisections
        self._bought_days: list[date] = []
        self._bought_totals: list[int] = [0]
        for day, amount in sorted(ledger.prior_purchases.items()):
            self._bought(day, to_minor(amount, d, catalog.settings.rounding))
        self.plan = ledger.plan
        self.objects = {k: Decimal(v) for k, v in ledger.objects.items()}
        self.status: Status = "active"
        self.noticed = False
        self._period_price: dict[Holding, Fraction] = {}
        self._day_price: dict[tuple[Holding, date], int] = {}
        self._limit_for: tuple[tuple[date, int] | None, int] = (None, 0)
        self._holding: Holding | None = None  # what is held now; dropped when the objects change
        self._check(ledger.plan, None)

    def _bought(self, day: date, minor: int) -> None:
        self._bought_days.append(day)
        self._bought_totals.append(self._bought_totals[-1] + minor)

    def fail(self, index: int | None, message: str) -> SubscriptionError:
        if index is None:
            return SubscriptionError(f"{self.ledger.origin}: plan: {message}")
        event = self.ledger.events[index]
        return SubscriptionError(f"{self.ledger.origin}: events[{index}] ({event.describe()}): {message}")

    def _check(self, plan_id: str, index: int | None) -> None:
        if plan_id not in self.cat.plans:
            raise self.fail(index, f"unknown plan {plan_id!r} (plans: {', '.join(self.cat.plans)})")
        problem = limit_problem(self.cat, plan_id, self.objects)
        if problem:
            raise self.fail(index, f"cannot move to {plan_id!r}: {problem} (seed 002)")

    def daily_price(self, day: date) -> int:
        """The active plan's price for one day: one share of the period, rounded once.

        The period's price is what rating charges the holding (plan fee and
        held objects past what is included), the same lines as its quote.
        """
        if self._holding is None or self._holding.plan != self.plan:
            self._holding = Holding.of(self.plan, self.objects)
        holding = self._holding
        key = (holding, day)
        cached = self._day_price.get(key)
        if cached is not None:
            return cached
        period = self.schedule.period_containing(day)
        full = self._period_price.get(holding)
        if full is None:
            full = self._period_price[holding] = recurring_amount(self.cat, holding)
        part = share(midnight(day), midnight(day + timedelta(days=1)), period, self.convention)
        price = self._day_price[key] = prorated_minor(self.cat, full, part)
        return price

    def credit_limit(self, day: date) -> int:
        if not self.ledger.credit_enabled or not self.terms.credit_percent_of_last_12_months:
            return 0
        key = (day, len(self._bought_days))  # the limit changes with the day and with each purchase
        if self._limit_for[0] == key:
            return self._limit_for[1]
        limit = self._credit_limit(day)
        self._limit_for = (key, limit)
        return limit

    def _credit_limit(self, day: date) -> int:
        since = add_months(day, -12)
        low = bisect_right(self._bought_days, since)
        high = bisect_right(self._bought_days, day)
        bought = self._bought_totals[high] - self._bought_totals[low]
        limit = to_minor(Decimal(bought) * self.terms.credit_percent_of_last_12_months / 100, 0,
                         self.cat.settings.rounding)
        if self.terms.credit_cap is not None:
            limit = min(limit, to_minor(self.terms.credit_cap, self.cat.decimals, self.cat.settings.rounding))
        return limit

    def debit(self, day: date, notes: list[str]) -> int:
        """Debit the day if balance plus credit covers it; otherwise suspend."""
        price = self.daily_price(day)
        if self.balance - price < -self.credit_limit(day):
            if self.status != "suspended":
                notes.append("suspended: balance plus credit cannot cover the day")
            self.status = "suspended"
            return 0
        self.balance -= price
        if price:
            self._bought(day, price)
        return price

    def day(self, day: date, events: list[int], suspensions: list[date], notices: list[date]) -> LedgerDay:
        notes: list[str] = []
        topped = 0
        debited = 0
        charged_today = False
        was_suspended = self.status == "suspended"
        for index in events:
            event = self.ledger.events[index]
            if event.type == "top_up":
                assert event.amount is not None
                amount = to_minor(event.amount, self.cat.decimals, self.cat.settings.rounding)
                self.balance += amount
                topped += amount
                notes.append(f"top-up {format_minor(amount, self.cat.decimals)}")
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
                problem = limit_problem(self.cat, self.plan, self.objects)
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
        return LedgerDay(day, self.plan, self.status, topped, debited, self.balance, self.credit_limit(day),
                         "; ".join(notes))

    def _notice(self, day: date, notices: list[date], notes: list[str]) -> None:
        threshold = self.terms.low_balance_days * self.daily_price(day + timedelta(days=1))
        if self.balance < threshold and threshold > 0:
            if not self.noticed:
                notices.append(day)
                notes.append(f"low balance: under {self.terms.low_balance_days} days left")
            self.noticed = True
        else:
            self.noticed = False


def simulate_ledger(catalog: Catalog, ledger: Ledger, until: date, runway: bool = True) -> LedgerResult:
    """Every day from the ledger's start through ``until``, and the runway after it
    (``runway=False``: not projected; a month's statement does not need it)."""
    account = _Account(catalog, ledger)
    if until < ledger.start:
        raise SubscriptionError(f"{ledger.origin}: --until {until.isoformat()} is before the start {ledger.start.isoformat()}")
    if (until - ledger.start).days > MAX_SIMULATED_DAYS:
        # NOTE: a ledger is simulated day by day; a horizon of centuries is a typo, not a question
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
    rows: list[LedgerDay] = []
    notices: list[date] = []
    suspensions: list[date] = []
    day = ledger.start
    while day <= until:
        rows.append(account.day(day, by_day.get(day, []), suspensions, notices))
        day += timedelta(days=1)
    projected = _runway(account, until, suspensions) if runway else Runway(account.daily_price(until), None, None, None)
    return LedgerResult(ledger.customer_id, catalog.id, catalog.currency, catalog.decimals, opening, tuple(rows),
                        tuple(notices), tuple(suspensions), projected)


def _runway(account: _Account, until: date, past: list[date]) -> Runway:
    """Carry on without events until the service is suspended (or ten years pass)."""
    daily = account.daily_price(until + timedelta(days=1))
    if account.status == "inactive" or daily == 0:
        return Runway(daily, None, None, None)
    if account.status == "suspended":
        return Runway(daily, 0, None, past[-1] if past else until)
    notices: list[date] = []
    suspensions: list[date] = []
    day = until + timedelta(days=1)
    for offset in range(_PROJECTION_DAYS):
        account.day(day, [], suspensions, notices)
        if suspensions:
            # None when the notice was already given on or before 'until'
            notice = notices[0] if notices else None
            return Runway(daily, offset, notice, suspensions[0])
        day += timedelta(days=1)
    return Runway(daily, None, notices[0] if notices else None, None)
