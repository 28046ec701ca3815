"""The day-by-day prepaid ledger of before the skip-ahead engine, kept as the reference the fast one must equal.

A frozen copy of ``pricing.billing.balances.simulate_ledger`` (its ``_Account`` verbatim) and
``pricing.billing.billing_run.prepaid_statement`` as they were when every ledger was
walked one day at a time from its start (commit 8078772): one ``_Account.day``
call per day, the runway projected day by day. Slow and plain on purpose: the
property tests in ``tests/test_ledger_runs.py`` compare every row, notice,
suspension, runway and statement of the fast engine with it, and
``benchmarks/bench_ledgers.py`` times it as the baseline. Do not optimise it.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

from pricing.billing.balances import Ledger, LedgerDay, Runway, Status
from pricing.engine.catalog import Catalog, DayCount
from pricing.errors import SubscriptionError
from pricing.engine.invoice import Invoice, Line, LineType
from pricing.engine.money import to_minor
from pricing.engine.formatting import format_minor
from pricing.engine.periods import Schedule, add_months, midnight, month_bounds
from pricing.billing.proration import share
from pricing.engine.rating import limit_problem
from pricing.billing.rating_segments import prorated_minor, recurring_amount
from pricing.billing.segments import Holding

_PROJECTION_DAYS = 3660


@dataclass(frozen=True)
class ReferenceResult:
    customer_id: str
    opening_balance: int
    rows: tuple[LedgerDay, ...]
    notices: tuple[date, ...]
    suspensions: tuple[date, ...]
    runway: Runway


class _Account:
    def __init__(self, catalog: Catalog, ledger: Ledger) -> None:
        if catalog.prepaid is None:
            raise SubscriptionError(f"{ledger.origin}: catalog {catalog.id!r} has no prepaid terms")
        if ledger.catalog != catalog.id:
            raise SubscriptionError(f"{ledger.origin}: the ledger is for catalog {ledger.catalog!r}, not {catalog.id!r}")
        self.catalog = catalog
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
        if plan_id not in self.catalog.plans:
            raise self.fail(index, f"unknown plan {plan_id!r} (plans: {', '.join(self.catalog.plans)})")
        problem = limit_problem(self.catalog, plan_id, self.objects)
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
            full = self._period_price[holding] = recurring_amount(self.catalog, holding)
        part = share(midnight(day), midnight(day + timedelta(days=1)), period, self.convention)
        price = self._day_price[key] = prorated_minor(self.catalog, full, part)
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
                         self.catalog.settings.rounding)
        if self.terms.credit_cap is not None:
            limit = min(limit, to_minor(self.terms.credit_cap, self.catalog.decimals, self.catalog.settings.rounding))
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


def simulate_day_by_day(catalog: Catalog, ledger: Ledger, until: date, runway: bool = True) -> ReferenceResult:
    account = _Account(catalog, ledger)
    if until < ledger.start:
        raise SubscriptionError(f"{ledger.origin}: --until {until.isoformat()} is before the start {ledger.start.isoformat()}")
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
    return ReferenceResult(ledger.customer_id, opening, tuple(rows), tuple(notices), tuple(suspensions), projected)


def _runway(account: _Account, until: date, past: list[date]) -> Runway:
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
            notice = notices[0] if notices else None
            return Runway(daily, offset, notice, suspensions[0])
        day += timedelta(days=1)
    return Runway(daily, None, notices[0] if notices else None, None)


def statement_day_by_day(catalog: Catalog, result: ReferenceResult, month: str) -> Invoice | None:
    """``billing_run.prepaid_statement`` as it was: every row of the month filtered and summed."""
    start, end = month_bounds(month)
    days = [r for r in result.rows if start.date() <= r.day < end.date()]
    if not days:
        return None
    lines: list[Line] = []
    for plan_id in dict.fromkeys(r.plan for r in days):
        mine = [r for r in days if r.plan == plan_id]
        debited = [r for r in mine if r.debit]
        amount = sum(r.debit for r in mine)
        if not debited and amount == 0:
            continue
        name = catalog.plans[plan_id].name if plan_id in catalog.plans else plan_id
        first, last = (debited[0].day, debited[-1].day) if debited else (mine[0].day, mine[-1].day)
        lines.append(Line(
            item=f"{name}: daily debits", line_type=LineType.RECURRING, quantity=Decimal(len(debited)),
            unit_price=None, amount_minor=amount, exact_amount=Decimal(amount).scaleb(-catalog.decimals),
            explanation=f"{len(debited)} day(s) debited from the prepaid balance, {first.isoformat()} to {last.isoformat()}",
            service_start=datetime.combine(first, datetime.min.time()),
            service_end=datetime.combine(last + timedelta(days=1), datetime.min.time()),
        ))
    closing = days[-1]
    notes = [
        f"prepaid statement: debited from the balance; balance on {closing.day.isoformat()}"
        f" {format_minor(closing.balance, catalog.decimals)} (credit limit {format_minor(closing.credit_limit, catalog.decimals)})",
    ]
    notes += [f"low-balance notice on {d.isoformat()}" for d in result.notices if start.date() <= d < end.date()]
    notes += [f"suspended on {d.isoformat()}" for d in result.suspensions if start.date() <= d < end.date()]
    return Invoice(
        catalog=catalog.id, plan=closing.plan, currency=catalog.currency, decimals=catalog.decimals,
        lines=tuple(lines), period_start=start, period_end=end, customer_id=result.customer_id,
        notes=tuple(notes), issued_at=end.replace(tzinfo=timezone.utc),
    )
