"""Subscription timelines: a customer's events, replayed into the invoices they produce.

A :class:`Timeline` (YAML or Python) lists events at UTC instants: start on a
plan, add or remove add-on units, upgrade now, downgrade at the end of the
period (withdrawable), cancel, suspend and reactivate, delete the account.
:func:`invoices_between` replays it period by period; :func:`bill_period`
gives the invoice issued in one period.

What an invoice holds (Stripe's "invoice at period start"):

1. the recurring fee for the coming period, billed in advance (a plan may
   bill ``in_arrears`` instead: then the fee for the period just ended,
   weighted by how long each state lasted);
2. the prorated lines of changes made since the last invoice, each with its
   service dates (a change is billed on the next invoice, not at once);
3. usage for the period just ended, rated by :func:`pricing.rating.rate_one`
   with the usage charges only (commitments are billed in advance, above);
4. a minimum-spend true-up for the period just ended, prorated for a partial
   period.

Conventions (documented in docs/subscriptions.md):

- A change prorates by the share of the period remaining (one function,
  :func:`pricing.proration.share`, with the catalog's day count); each
  prorated line is rounded once.
- Events at exactly a period boundary belong to the new period: they are
  applied before the renewal invoice, so they cost nothing in the old period.
- A trial of N days is free: the first billed instant is start + N days, the
  anchor ``start`` means that instant, and changes during the trial cost
  nothing.
- Usage of a period is rated on the plan held when the period closes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .catalog import BillingTiming, Catalog, CreditBasis, MetricKind, Money, Plan, Quantity
from .errors import SubscriptionError
from .invoice import Invoice, Line, LineType
from .money import format_minor, to_minor
from .periods import Period, Schedule, as_utc, midnight
from .proration import describe, prorated_minor, remaining_share, share
from .yaml_files import read_yaml

EventType = Literal[
    "start", "add", "remove", "upgrade", "downgrade", "withdraw_downgrade", "cancel",
    "withdraw_cancel", "suspend", "reactivate", "delete_account", "set_billing_details", "commit",
]

_NEEDS: dict[str, tuple[str, ...]] = {
    "start": ("plan",), "add": ("item", "quantity"), "remove": ("item", "quantity"),
    "upgrade": ("plan",), "downgrade": ("plan",), "set_billing_details": ("value",),
    "commit": ("commitments",),
}


# --- the declared timeline ---------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Event(_Strict):
    """One thing that happened to the subscription, at a UTC instant."""

    at: datetime
    type: EventType
    plan: str | None = None
    quantities: dict[str, Quantity] = Field(default_factory=dict)
    commitments: dict[str, Quantity] = Field(default_factory=dict)
    item: str | None = None
    quantity: Quantity | None = None
    value: bool | None = None
    effective: Literal["end_of_period", "now"] = Field(
        "end_of_period", description="cancel: at the end of the period (default) or now (add-ons refunded)"
    )
    note: str = ""

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return as_utc(value)

    def model_post_init(self, __context: Any) -> None:
        for name in _NEEDS.get(self.type, ()):
            if getattr(self, name) in (None, {}):
                raise ValueError(f"the event needs {name!r}")
        if self.quantity is not None and self.quantity <= 0:
            raise ValueError(f"quantity must be positive, got {self.quantity}")

    def describe(self) -> str:
        return f"{self.type} at {_iso(self.at)}"


class Timeline(_Strict):
    """A customer's subscription history on one catalog."""

    customer_id: str
    catalog: str
    billing_details: bool = True
    anchor: Literal["calendar", "start"] | Annotated[int, Field(ge=1, le=31)] = "calendar"
    trial_days: int = Field(0, ge=0)
    events: tuple[Event, ...] = Field(min_length=1)
    usage: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="metered usage per period: 'YYYY-MM' or 'YYYY-MM-DD' -> metric -> quantity"
    )
    minimum_spend: Money | None = Field(None, description="contract minimum over the whole subscription, checked at termination")
    origin: str = Field("<timeline>", exclude=True, description="file name used in error messages")

    @field_validator("anchor", mode="before")
    @classmethod
    def _anchor(cls, value: Any) -> Any:
        ok = value in ("calendar", "start") or (
            isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 31)
        if not ok:
            raise ValueError(f"must be 'calendar', 'start' or a day number 1-31, got {value!r}")
        return value

    @field_validator("usage")
    @classmethod
    def _usage_keys(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for key in value:
            if not _PERIOD_KEY.match(str(key)):
                raise ValueError(f"usage key {key!r} must be 'YYYY-MM' or 'YYYY-MM-DD'")
        return value


# --- recurring items ---------------------------------------------------------


@dataclass(frozen=True)
class RecurringItem:
    """Something charged per period whatever the usage: a plan fee, add-on units, a feature, a commitment."""

    key: str
    label: str
    line_type: LineType
    quantity: Decimal  # billable units: paid add-on units, packages, 1 for a fee
    unit_price: Decimal
    metric: str | None = None
    note: str = ""

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price


def recurring_items(catalog: Catalog, plan_id: str, quantities: Mapping[str, Decimal],
                    commitments: Mapping[str, Decimal] | None = None) -> dict[str, RecurringItem]:
    """The full-period recurring items of a plan for the objects held, keyed for proration.

    NOTE: the included quantity of an add-on is free and only units above it are
    charged (Logto: 3 API resources included; 7 held = 4 paid).
    """
    plan = catalog.plan(plan_id)
    items: dict[str, RecurringItem] = {}
    if plan.recurring is not None and plan.recurring.amount:
        items["plan"] = RecurringItem("plan", f"{plan.name} fee", LineType.RECURRING, Decimal(1),
                                      plan.recurring.amount)
    for charge in plan.charges:
        if charge.commitment is not None:
            c = charge.commitment
            qty = Decimal((commitments or {}).get(c.quantity_metric, c.default_quantity))
            if qty:
                items[f"commitment:{charge.metric}"] = RecurringItem(
                    f"commitment:{charge.metric}", f"{charge.label} (committed)", LineType.COMMITMENT,
                    qty, c.unit_price, charge.metric, "committed contingent, billed at the start of the period")
        if charge.kind == "usage":
            continue
        held = Decimal(quantities.get(charge.metric, 0))
        line_type = LineType.ADDON if charge.kind == "addon" else LineType.FEATURE
        included = _included_units(charge, quantities)
        paid = max(Decimal(0), held - included)
        if charge.model == "per_unit":
            qty, price, note = paid, charge.unit_price, f"{held} held, {included} included"
        elif charge.model == "package":
            rounding = charge.rounding or catalog.settings.package_rounding
            blocks = paid / charge.package_size
            qty = Decimal(math.ceil(blocks) if rounding.value == "up" else math.floor(blocks))
            price, note = charge.package_price, f"{held} held in packages of {charge.package_size}"
        elif charge.model == "flat":
            qty, price, note = Decimal(1 if held > 0 else 0), charge.fee, "switched on"
        else:
            raise SubscriptionError(
                f"catalog {catalog.id!r}: plan {plan_id!r}: a {charge.model} {charge.kind} charge cannot be"
                " prorated (use per_unit, package or flat)")
        if qty:
            items[charge.metric] = RecurringItem(charge.metric, charge.label, line_type, qty, price,
                                                 charge.metric, note)
    return items


def _included_units(charge: Any, quantities: Mapping[str, Decimal]) -> Decimal:
    inc = charge.included
    if inc is None:
        return Decimal(0)
    if inc.unlimited:
        return Decimal(10) ** 18
    base = inc.quantity
    if inc.per_unit_of is not None:
        base += inc.times * Decimal(quantities.get(inc.per_unit_of, 0))
    return max(base, inc.at_least)


def limit_problem(catalog: Catalog, plan_id: str, quantities: Mapping[str, Decimal]) -> str | None:
    """Why the objects held do not fit a plan's limits (seed 002), or None."""
    plan = catalog.plan(plan_id)
    for limit in plan.limits:
        held = quantities.get(limit.metric)
        if held is not None and Decimal(held) > limit.maximum:
            name = catalog.metrics[limit.metric].name
            return (f"{held} {name.lower()} exceed plan {plan_id!r}'s maximum of {limit.maximum};"
                    f" remove {Decimal(held) - limit.maximum} first")
    return None


# --- loading -------------------------------------------------------------------

_PERIOD_KEY = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


def parse_timeline(data: Any, origin: str = "<timeline>") -> Timeline:
    """Validate parsed YAML; errors name the file, the event (index, type, instant) and the problem."""
    if not isinstance(data, dict):
        raise SubscriptionError(f"{origin}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        timeline = Timeline.model_validate({**data, "origin": origin})
    except ValidationError as exc:
        raise SubscriptionError(_validation_message(origin, data, exc)) from None
    return timeline


def load_timeline(path: str | Path) -> Timeline:
    return parse_timeline(read_yaml(Path(path), SubscriptionError), str(path))


def _validation_message(origin: str, data: Mapping[str, Any], error: ValidationError) -> str:
    """One line: the file, the event if any, the field and pydantic's message."""
    first = error.errors()[0]
    loc = [part for part in first["loc"] if not (isinstance(part, str) and part.startswith(("function-", "literal[")))]
    message = first["msg"].removeprefix("Value error, ")
    where = ".".join(str(p) for p in loc) or "(top level)"
    events = data.get("events")
    if len(loc) >= 2 and loc[0] == "events" and isinstance(loc[1], int) and isinstance(events, list):
        raw = events[loc[1]] if loc[1] < len(events) else {}
        kind = raw.get("type", "?") if isinstance(raw, dict) else "?"
        at = raw.get("at", "?") if isinstance(raw, dict) else "?"
        at = _iso(at) if isinstance(at, datetime) else at
        rest = ".".join(str(p) for p in loc[2:])
        where = f"events[{loc[1]}] ({kind} at {at})" + (f": {rest}" if rest else "")
    return f"{origin}: {where}: {message}"


def _iso(moment: datetime) -> str:
    return as_utc(moment).isoformat().replace("+00:00", "Z")


# --- replay ----------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedInvoice:
    """An invoice and when and why it was issued.

    ``kind``: ``opening`` (first billed instant), ``renewal`` (a period
    boundary) or ``final`` (the subscription ended). ``period`` is the billing
    period the invoice was issued in; ``closes`` the service window whose
    usage it bills (None on the opening invoice).
    """

    issued_at: datetime
    kind: Literal["opening", "renewal", "final"]
    period: Period
    closes: tuple[datetime, datetime] | None
    invoice: Invoice

    def to_json(self) -> dict[str, Any]:
        data = self.invoice.to_json()
        data["issued_at"] = _iso(self.issued_at)
        data["kind"] = self.kind
        if self.closes is not None:
            data["usage_window"] = [_iso(self.closes[0]), _iso(self.closes[1])]
        return data


@dataclass(frozen=True)
class SubscriptionState:
    """What the customer holds at one instant (a snapshot for sales and product)."""

    plan: str
    quantities: Mapping[str, Decimal]
    commitments: Mapping[str, Decimal]
    billing_details: bool
    suspended: bool
    trial: bool
    downgrade_to: str | None
    cancel_at: datetime | None
    ended_at: datetime | None


UsageLookup = Callable[[Period, datetime], Mapping[str, Any] | None]


@dataclass
class _Lot:
    """Units charged this period: how many, the rounded amount, the share it paid for."""

    quantity: Decimal
    minor: int
    part: Fraction


@dataclass
class _State:
    plan: str
    quantities: dict[str, Decimal]
    commitments: dict[str, Decimal]
    billing_details: bool
    suspended: bool = False
    downgrade: tuple[str, int] | None = None  # target plan, event index
    cancel: int | None = None  # event index of a cancellation at period end
    ended_at: datetime | None = None


def timeline_schedule(catalog: Catalog, timeline: Timeline) -> Schedule:
    first = timeline.events[0].at + timedelta(days=timeline.trial_days)
    return Schedule.anchored(catalog.interval, timeline.anchor, first)


def resolve_period(schedule: Schedule, text: str) -> Period:
    """'YYYY-MM-DD': the period containing that day; 'YYYY-MM': the period that
    starts in that month (for anniversary anchors), else the one containing the 1st."""
    try:
        if len(text) == 7:
            first = date.fromisoformat(text + "-01")
        else:
            day = date.fromisoformat(text)
            return schedule.period_containing(day)
    except ValueError:
        raise SubscriptionError(f"period {text!r} is not YYYY-MM or YYYY-MM-DD") from None
    period = schedule.period_containing(first)
    if period.start.date() != first:
        later = schedule.period_after(period)
        if (later.start.year, later.start.month) == (first.year, first.month):
            return later
    return period


class _Replay:
    """Walks a timeline forward, issuing invoices. Internal; use the functions below."""

    def __init__(self, catalog: Catalog, timeline: Timeline, usage: UsageLookup) -> None:
        if timeline.catalog != catalog.id:
            raise SubscriptionError(
                f"{timeline.origin}: the timeline is for catalog {timeline.catalog!r}, not {catalog.id!r}")
        self.cat = catalog
        self.tl = timeline
        self.usage = usage
        self.dc = catalog.settings.day_count
        self.rounding = catalog.settings.rounding
        self.decimals = catalog.decimals
        self._check_order()
        self.billing_start = timeline.events[0].at + timedelta(days=timeline.trial_days)
        self.schedule = timeline_schedule(catalog, timeline)
        self.state: _State | None = None
        self.lots: dict[str, list[_Lot]] = {}
        self.pending: list[Line] = []  # prorations not yet invoiced
        self.segments: list[tuple[datetime, dict[str, RecurringItem]]] = []  # in-arrears accrual
        self.spend: int = 0  # minor units attributed to the open period
        self.plan_since: datetime = self.billing_start  # when the plan now held began, for its minimum
        self.issued: list[IssuedInvoice] = []
        self._usage_notes: list[str] = []
        self._eligible: tuple[bool, str | None] = (True, None)

    # -- errors -----------------------------------------------------------

    def fail(self, index: int, message: str) -> SubscriptionError:
        event = self.tl.events[index]
        return SubscriptionError(f"{self.tl.origin}: events[{index}] ({event.describe()}): {message}")

    def _check_order(self) -> None:
        events = self.tl.events
        if events[0].type != "start":
            raise self.fail(0, "the first event must be 'start'")
        for i in range(1, len(events)):
            if events[i].at < events[i - 1].at:
                raise self.fail(i, f"is earlier than events[{i - 1}] ({events[i - 1].describe()});"
                                   " events must be in time order")
            if events[i].type == "start":
                raise self.fail(i, "the subscription already started (events[0]); one start per timeline")

    # -- items --------------------------------------------------------------

    def _plan(self, plan_id: str) -> Plan:
        return self.cat.plans[plan_id]

    def items(self, state: _State) -> dict[str, RecurringItem]:
        if state.suspended or state.ended_at is not None:
            return {}
        return recurring_items(self.cat, state.plan, state.quantities, state.commitments)

    def advance(self, state: _State) -> dict[str, RecurringItem]:
        return self.items(state) if self._plan(state.plan).billing_timing is BillingTiming.IN_ADVANCE else {}

    def arrears(self, state: _State) -> dict[str, RecurringItem]:
        return self.items(state) if self._plan(state.plan).billing_timing is BillingTiming.IN_ARREARS else {}

    def _copy(self, state: _State) -> _State:
        return replace(state, quantities=dict(state.quantities), commitments=dict(state.commitments))

    # -- lines --------------------------------------------------------------

    def _line(self, item: RecurringItem, quantity: Decimal, part: Fraction, start: datetime, end: datetime,
              period: Period, line_type: LineType, sign: int = 1, what: str = "") -> Line:
        minor, exact = prorated_minor(sign * quantity * item.unit_price, part, self.decimals, self.rounding)
        span = "the full period" if part == 1 else describe(part, self.dc, period)
        explanation = f"{what}{quantity} x {item.unit_price} for {span}"
        if item.note and not what:
            explanation += f" ({item.note})"
        return Line(item.label, line_type, quantity, item.unit_price, minor, exact, explanation,
                    item.metric, start, end)

    def charge_period(self, items: Mapping[str, RecurringItem], start: datetime, period: Period) -> list[Line]:
        """In-advance items for ``[start, period.end)``, starting this period's lots."""
        part = remaining_share(start, period, self.dc)
        lines = []
        self.lots = {}
        for key, item in items.items():
            line = self._line(item, item.quantity, part, start, period.end, period, item.line_type)
            self.lots[key] = [_Lot(item.quantity, line.amount_minor, part)]
            lines.append(line)
        return lines

    def prorate(self, t: datetime, old: Mapping[str, RecurringItem], new: Mapping[str, RecurringItem],
                period: Period, why: str) -> list[Line]:
        """Lines for a change at ``t``: charge what is new, credit what is gone, for the share left."""
        part = remaining_share(t, period, self.dc)
        if part == 0:
            return []
        lines: list[Line] = []
        for key in list(dict.fromkeys([*old, *new])):
            o, n = old.get(key), new.get(key)
            if o and n and o.unit_price == n.unit_price and o.label == n.label:
                delta = n.quantity - o.quantity
                if delta > 0:
                    lines.append(self._charge(n, delta, part, t, period, why))
                elif delta < 0:
                    lines.append(self._credit(o, -delta, part, t, period, why))
                continue
            if o:
                lines.append(self._credit(o, o.quantity, part, t, period, why))
            if n:
                lines.append(self._charge(n, n.quantity, part, t, period, why))
        return lines

    def _charge(self, item: RecurringItem, quantity: Decimal, part: Fraction, t: datetime, period: Period,
                why: str) -> Line:
        line = self._line(item, quantity, part, t, period.end, period, LineType.PRORATION,
                          what=f"{why}: remaining time, ")
        self.lots.setdefault(item.key, []).append(_Lot(quantity, line.amount_minor, part))
        return line

    def _credit(self, item: RecurringItem, quantity: Decimal, part: Fraction, t: datetime, period: Period,
                why: str) -> Line:
        # Lots are consumed last-in first-out under both bases, so they stay true.
        paid = Fraction(0)
        left = quantity
        lots = self.lots.get(item.key, [])
        while left > 0 and lots:
            lot = lots[-1]
            take = min(left, lot.quantity)
            if lot.part:
                paid += Fraction(lot.minor) * Fraction(take) / Fraction(lot.quantity) * part / lot.part
            lot.quantity -= take
            left -= take
            if lot.quantity == 0:
                lots.pop()
        if self.cat.settings.credit_basis is CreditBasis.CURRENT_PRICE:
            return self._line(item, quantity, part, t, period.end, period, LineType.CREDIT, sign=-1,
                              what=f"{why}: unused time, ")
        # amount_paid: the unused share of what was invoiced for these units (0 if never billed)
        exact_paid = paid / 10**self.decimals
        minor, exact = prorated_minor(-exact_paid, Fraction(1), self.decimals, self.rounding)
        span = describe(part, self.dc, period)
        return Line(item.label, LineType.CREDIT, quantity, None, minor, exact,
                    f"{why}: unused time, {span} of what was paid for {quantity} unit(s)",
                    item.metric, t, period.end)

    # -- the walk -------------------------------------------------------------

    def run(self, until: datetime) -> list[IssuedInvoice]:
        events = self.tl.events
        first = events[0]
        self.state = self._start(first)
        i = 1
        # The trial and the first instant: events change the state at no cost.
        while i < len(events) and events[i].at <= self.billing_start:
            self.apply(i, None)
            i += 1
            if self.state.ended_at is not None:
                return self._ended_early(i)
        if self.state.cancel is not None and self.billing_start > first.at:
            self.state.ended_at = self.billing_start
            return self._ended_early(i)  # cancelled during the trial: ends with it, nothing billed
        period = self.schedule.period_containing(self.billing_start)
        window = self.billing_start
        if self.billing_start > until:
            return []
        lines = self.charge_period(self.advance(self.state), window, period)
        self.spend = sum(l.amount_minor for l in lines)
        self.segments = [(window, self.arrears(self.state))]
        self._issue(window, "opening", period, None, lines)
        while True:
            while i < len(events) and events[i].at < period.end:
                self.apply(i, period)
                i += 1
                if self.state.ended_at is not None:
                    end = self.state.ended_at
                    lines = self._close(window, end, period)
                    self._issue(end, "final", period, (window, end), lines + self._contract_minimum(lines))
                    self._no_events_after(i)
                    return self.issued
            boundary = period.end
            if boundary > until:
                return self.issued
            closing = self._close(window, boundary, period)
            next_period = self.schedule.period_after(period)
            if self.state.cancel is not None:
                self.state.ended_at = boundary
                self._issue(boundary, "final", next_period, (window, boundary),
                            closing + self._contract_minimum(closing))
                self._no_events_after(i)
                return self.issued
            if self.state.downgrade is not None:
                target, index = self.state.downgrade
                self._check_plan(index, target, "downgrade")
                self.state.plan, self.state.downgrade = target, None
                self.plan_since = boundary
            while i < len(events) and events[i].at == boundary:
                self.apply(i, None)
                i += 1
                if self.state.ended_at is not None:
                    self._issue(boundary, "final", next_period, (window, boundary),
                                closing + self._contract_minimum(closing))
                    self._no_events_after(i)
                    return self.issued
            closed = (window, boundary)
            period, window = next_period, boundary
            lines = self.charge_period(self.advance(self.state), window, period)
            self.spend = sum(l.amount_minor for l in lines)
            self.segments = [(window, self.arrears(self.state))]
            self._issue(window, "renewal", period, closed, closing + lines)

    def _ended_early(self, i: int) -> list[IssuedInvoice]:
        self._no_events_after(i)
        return []

    def _no_events_after(self, i: int) -> None:
        if i < len(self.tl.events):
            assert self.state is not None
            end = self.state.ended_at or self.billing_start
            raise self.fail(i, f"the subscription ended at {_iso(end)}; no event can follow")

    def _issue(self, at: datetime, kind: Literal["opening", "renewal", "final"], period: Period,
               window: tuple[datetime, datetime] | None, lines: Sequence[Line]) -> None:
        assert self.state is not None
        notes = [f"{kind} invoice issued {_iso(at)}"]
        if self._usage_notes:
            notes.extend(self._usage_notes)
            self._usage_notes = []
        invoice = Invoice(
            catalog=self.cat.id, plan=self.state.plan, currency=self.cat.currency, decimals=self.decimals,
            lines=tuple(lines), eligible=self._eligible[0], reason=self._eligible[1],
            period_start=period.start, period_end=period.end, customer_id=self.tl.customer_id,
            notes=tuple(notes))
        self._eligible = (True, None)
        self.issued.append(IssuedInvoice(at, kind, period, window, invoice))

    def _close(self, window: datetime, end: datetime, period: Period) -> list[Line]:
        """Everything owed for ``[window, end)`` once it is over."""
        assert self.state is not None
        lines = list(self.pending)
        self.pending = []
        # in-arrears recurring: each state's items for as long as it lasted
        bounds = [s for s, _ in self.segments] + [end]
        for (seg_start, items), seg_end in zip(self.segments, bounds[1:]):
            part = share(seg_start, seg_end, period, self.dc)
            if part == 0:
                continue
            for item in items.values():
                line = self._line(item, item.quantity, part, seg_start, seg_end, period, item.line_type,
                                  what="in arrears: ")
                lines.append(line)
                self.spend += line.amount_minor
        usage_lines = self._usage_lines(window, end, period)
        lines.extend(usage_lines)
        self.spend += sum(l.amount_minor for l in usage_lines)
        lines.extend(self._minimum(window, end, period))
        return lines

    def _usage_lines(self, window: datetime, end: datetime, period: Period) -> list[Line]:
        from .rating import RateOptions, rate_one  # noqa: PLC0415 (rating imports pandas; only load when billing)

        assert self.state is not None
        usage = self.usage(period, end)
        if not usage:
            return []
        row: dict[str, Any] = {k: v for k, v in self.state.quantities.items()}
        row.update(self.state.commitments)
        row.update(usage)
        options = RateOptions(charge_kinds=frozenset({"usage"}), include_recurring=False, include_minimum=False,
                              billing_details=self.state.billing_details)
        rated = rate_one(self.cat, self.state.plan, row, options)
        if not rated.eligible:
            self._eligible = (False, rated.reason)
        self._usage_notes = list(rated.notes)
        keep = {LineType.USAGE, LineType.ADDON, LineType.FEATURE}
        # Commitments were billed in advance as recurring items; only the overuse is owed now.
        return [replace(l, service_start=window, service_end=end) for l in rated.lines if l.line_type in keep]

    def _minimum(self, window: datetime, end: datetime, period: Period) -> list[Line]:
        assert self.state is not None
        plan = self._plan(self.state.plan)
        if plan.minimum_spend is None:
            return []
        # NOTE: prorated for the part of the period the plan was held; the whole period's spend counts
        since = max(window, self.plan_since)
        part = share(since, end, period, self.dc)
        minimum, _ = prorated_minor(plan.minimum_spend.amount, part, self.decimals, self.rounding)
        shortfall = minimum - self.spend
        if shortfall <= 0:
            return []
        span = "the full period" if part == 1 else describe(part, self.dc, period)
        return [Line("Minimum spend true-up", LineType.MINIMUM, Decimal(1), None, shortfall,
                     Decimal(shortfall).scaleb(-self.decimals),
                     f"minimum {plan.minimum_spend.amount} for {span} = {format_minor(minimum, self.decimals)};"
                     f" spent {format_minor(self.spend, self.decimals)}", None, since, end)]

    def _contract_minimum(self, final_lines: Sequence[Line]) -> list[Line]:
        """The timeline's contract minimum, checked once at termination."""
        if self.tl.minimum_spend is None:
            return []
        minimum = to_minor(self.tl.minimum_spend, self.decimals, self.rounding)
        spent = sum(inv.invoice.total_minor for inv in self.issued) + sum(l.amount_minor for l in final_lines)
        if spent >= minimum:
            return []
        start = self.billing_start
        end = self.state.ended_at if self.state else None
        return [Line("Contract minimum spend", LineType.MINIMUM, Decimal(1), None, minimum - spent,
                     Decimal(minimum - spent).scaleb(-self.decimals),
                     f"contract minimum {self.tl.minimum_spend}; invoiced {format_minor(spent, self.decimals)}"
                     " over the subscription", None, start, end)]

    # -- events ---------------------------------------------------------------

    def _start(self, event: Event) -> _State:
        assert event.plan is not None
        state = _State(event.plan, {}, {}, self.tl.billing_details)
        for name, qty in event.quantities.items():
            self._check_metric(0, name, (MetricKind.COUNT, MetricKind.FLAG))
            state.quantities[name] = Decimal(qty)
        for name, qty in event.commitments.items():
            self._check_metric(0, name, (MetricKind.COMMITMENT,))
            state.commitments[name] = Decimal(qty)
        self._check_plan(0, event.plan, "start", state)
        return state

    def _check_metric(self, index: int, name: str, kinds: tuple[MetricKind, ...]) -> None:
        metric = self.cat.metrics.get(name)
        wanted = " or ".join(k.value for k in kinds)
        if metric is None:
            known = [m for m, spec in self.cat.metrics.items() if spec.kind in kinds]
            raise self.fail(index, f"unknown item {name!r} (catalog {self.cat.id!r} has {wanted} items:"
                                   f" {', '.join(known) or 'none'})")
        if metric.kind not in kinds:
            raise self.fail(index, f"{name!r} is a {metric.kind.value} metric, not a {wanted} item")

    def _check_plan(self, index: int, plan_id: str, action: str, state: _State | None = None) -> None:
        state = state or self.state
        assert state is not None
        if plan_id not in self.cat.plans:
            raise self.fail(index, f"unknown plan {plan_id!r} (plans: {', '.join(self.cat.plans)})")
        plan = self.cat.plans[plan_id]
        if not state.billing_details:
            rules = self.cat.account_rules
            allowed = rules.plans_without_billing_details if rules else ()
            if plan.requires_billing_details or (allowed and plan_id not in allowed):
                raise self.fail(index, f"plan {plan_id!r} needs billing details; without them the account is"
                                       " held to the free tier (seed 000)")
        problem = limit_problem(self.cat, plan_id, state.quantities)
        if problem:
            raise self.fail(index, f"cannot {action} to {plan_id!r}: {problem} (seed 002)")

    def _fee(self, plan_id: str) -> Decimal:
        plan = self.cat.plans[plan_id]
        return plan.recurring.amount if plan.recurring else Decimal(0)

    def apply(self, index: int, period: Period | None) -> None:
        """Apply one event; with a period, prorate it (without one: trial or boundary, no cost)."""
        state = self.state
        assert state is not None
        event = self.tl.events[index]
        before = self._copy(state)
        t = event.at
        kind = event.type
        why = kind
        if state.ended_at is not None:
            raise self.fail(index, f"the subscription ended at {_iso(state.ended_at)}")
        if kind in ("add", "remove"):
            assert event.item is not None and event.quantity is not None
            self._check_metric(index, event.item, (MetricKind.COUNT, MetricKind.FLAG))
            held = state.quantities.get(event.item, Decimal(0))
            if kind == "remove" and event.quantity > held:
                raise self.fail(index, f"cannot remove {event.quantity} {event.item}: only {held} held")
            new = held + event.quantity if kind == "add" else held - event.quantity
            if self.cat.metrics[event.item].kind is MetricKind.FLAG and new > 1:
                raise self.fail(index, f"{event.item!r} is a feature switch and is already on")
            state.quantities[event.item] = new
            problem = limit_problem(self.cat, state.plan, state.quantities)
            if problem:
                raise self.fail(index, f"plan {state.plan!r} does not allow it: {problem}")
            why = f"{event.quantity} {event.item} {'added' if kind == 'add' else 'removed'}"
        elif kind == "upgrade":
            assert event.plan is not None
            self._check_plan(index, event.plan, "upgrade")
            if event.plan == state.plan:
                raise self.fail(index, f"already on plan {event.plan!r}")
            if self._fee(event.plan) < self._fee(state.plan):
                raise self.fail(index, f"plan {event.plan!r} costs less than {state.plan!r}: use 'downgrade',"
                                       " which takes effect at the end of the period")
            if state.downgrade is not None:
                state.downgrade = None  # an upgrade replaces a reserved downgrade
            state.plan = event.plan
            for name, qty in event.commitments.items():  # new contingents with the new plan, at once
                self._check_metric(index, name, (MetricKind.COMMITMENT,))
                state.commitments[name] = Decimal(qty)
            self.plan_since = t
            why = f"upgrade {before.plan} -> {event.plan}"
        elif kind == "downgrade":
            assert event.plan is not None
            if state.downgrade is not None:
                raise self.fail(index, f"a downgrade to {state.downgrade[0]!r} is already reserved"
                                       f" (events[{state.downgrade[1]}]); withdraw it first")
            if event.plan == state.plan:
                raise self.fail(index, f"already on plan {event.plan!r}")
            self._check_plan(index, event.plan, "downgrade")
            if self._fee(event.plan) > self._fee(state.plan):
                raise self.fail(index, f"plan {event.plan!r} costs more than {state.plan!r}: use 'upgrade'")
            state.downgrade = (event.plan, index)
        elif kind == "withdraw_downgrade":
            if state.downgrade is None:
                raise self.fail(index, "no downgrade is reserved")
            state.downgrade = None
        elif kind == "cancel":
            plan = self._plan(state.plan)
            if not plan.cancellable:
                raise self.fail(index, f"plan {state.plan!r} ({plan.name}) cannot be cancelled; it is the"
                                       " default fallback (seed 000)")
            if state.cancel is not None:
                raise self.fail(index, f"already cancelled (events[{state.cancel}])")
            if event.effective == "now":
                self._end_now(index, t, period, "cancelled")
                return
            state.cancel = index
        elif kind == "withdraw_cancel":
            if state.cancel is None:
                raise self.fail(index, "no cancellation is pending")
            state.cancel = None
        elif kind == "suspend":
            if state.suspended:
                raise self.fail(index, "already suspended")
            state.suspended = True
        elif kind == "reactivate":
            if not state.suspended:
                raise self.fail(index, "not suspended")
            state.suspended = False
        elif kind == "delete_account":
            self._end_now(index, t, period, "account deleted")
            return
        elif kind == "set_billing_details":
            state.billing_details = bool(event.value)
            if not state.billing_details:
                self._check_plan(index, state.plan, "stay on")
        elif kind == "commit":
            for name, qty in event.commitments.items():
                self._check_metric(index, name, (MetricKind.COMMITMENT,))
                state.commitments[name] = Decimal(qty)
        self._money(t, before, period, why)

    def _money(self, t: datetime, before: _State, period: Period | None, why: str) -> None:
        """Prorate the change from ``before`` to the current state, and start a new accrual segment."""
        if period is None:
            return
        assert self.state is not None
        lines = self.prorate(t, self.advance(before), self.advance(self.state), period, why)
        self.pending.extend(lines)
        self.spend += sum(l.amount_minor for l in lines)
        after = self.arrears(self.state)
        if after != self.segments[-1][1]:
            self.segments.append((t, after))

    def _end_now(self, index: int, t: datetime, period: Period | None, why: str) -> None:
        """Cancellation now or account deletion: the unused share of add-ons, features
        and the like is refunded on the final invoice; the plan fee and commitments are not (Logto)."""
        assert self.state is not None
        before = self._copy(self.state)
        kept = {k: v for k, v in self.advance(before).items() if k == "plan" or k.startswith("commitment:")}
        if period is not None:
            lines = self.prorate(t, self.advance(before), kept, period, why)
            self.pending.extend(lines)
            self.spend += sum(l.amount_minor for l in lines)
            self.segments.append((t, {}))
        self.state.ended_at = t

    def snapshot(self) -> SubscriptionState:
        assert self.state is not None
        s = self.state
        return SubscriptionState(s.plan, dict(s.quantities), dict(s.commitments), s.billing_details,
                                 s.suspended, False, s.downgrade[0] if s.downgrade else None, None,
                                 s.ended_at)


# --- public entry points -----------------------------------------------------------


def _timeline_usage(timeline: Timeline, schedule: Schedule) -> dict[datetime, Mapping[str, Any]]:
    """The timeline's ``usage`` block keyed by the start of the period each entry belongs to."""
    return {resolve_period(schedule, key).start: value for key, value in timeline.usage.items()}


def invoices_between(catalog: Catalog, timeline: Timeline, start: date | datetime | None = None,
                     end: date | datetime | None = None,
                     usage: Mapping[date | datetime | str, Mapping[str, Any]] | None = None) -> list[IssuedInvoice]:
    """Every invoice issued in ``[start, end]`` (default: from the start to the end of the
    subscription, or one year past its last event).

    ``usage`` maps a period (any date in it, or 'YYYY-MM') to its metered
    usage and overrides the timeline's ``usage`` block.
    """
    schedule = timeline_schedule(catalog, timeline)
    table = _timeline_usage(timeline, schedule)
    for key, value in (usage or {}).items():
        period = resolve_period(schedule, key) if isinstance(key, str) else schedule.period_containing(key)
        table[period.start] = value
    until = as_utc(end) if end is not None else _default_horizon(timeline, schedule)
    issued = _Replay(catalog, timeline, lambda period, closed_at: table.get(period.start)).run(until)
    low = as_utc(start) if start is not None else None
    return [inv for inv in issued if low is None or inv.issued_at >= low]


def _default_horizon(timeline: Timeline, schedule: Schedule) -> datetime:
    last = timeline.events[-1].at + timedelta(days=timeline.trial_days)
    period = schedule.period_containing(last)
    for _ in range(12 if schedule.interval.value in ("week", "month") else 2):
        period = schedule.period_after(period)
    return period.start


def issued_in_period(catalog: Catalog, timeline: Timeline, at: date | datetime | str,
                     usage: Mapping[str, Any] | None = None) -> IssuedInvoice:
    """The invoice issued in the period containing ``at``: the latest issued at or before
    ``at`` (a date means the end of that day), else the period's first.

    ``usage`` is the metered usage that invoice bills (the period just
    ended, or the final period's); without it the timeline's ``usage`` block applies.
    """
    schedule = timeline_schedule(catalog, timeline)
    if isinstance(at, str) and "T" not in at:
        at = as_utc(at).date()
    moment = as_utc(at) if not isinstance(at, date) or isinstance(at, datetime) else (
        midnight(at) + timedelta(days=1, microseconds=-1))
    target = schedule.period_containing(moment)
    table = _timeline_usage(timeline, schedule)

    def lookup(period: Period, closed_at: datetime) -> Mapping[str, Any] | None:
        if usage is not None and (closed_at in target or closed_at == target.start):
            return usage
        return table.get(period.start)

    issued = _Replay(catalog, timeline, lookup).run(target.end - timedelta(microseconds=1))
    mine = [inv for inv in issued if inv.issued_at in target]
    if not mine:
        raise SubscriptionError(
            f"{timeline.origin}: no invoice is issued in the period {target.label()}"
            f" (the subscription bills from {_iso(timeline.events[0].at + timedelta(days=timeline.trial_days))})")
    before = [inv for inv in mine if inv.issued_at <= moment]
    return before[-1] if before else mine[0]


def bill_period(catalog: Catalog, timeline: Timeline, at: date | datetime | str,
                usage: Mapping[str, Any] | None = None) -> Invoice:
    """The invoice issued for the period that contains ``at`` (see :func:`issued_in_period`)."""
    return issued_in_period(catalog, timeline, at, usage).invoice


def state_at(catalog: Catalog, timeline: Timeline, at: date | datetime) -> SubscriptionState:
    """What the customer holds at ``at``, after every event up to and including it."""
    moment = as_utc(at)
    cut = [e for e in timeline.events if e.at <= moment]
    if not cut:
        raise SubscriptionError(f"{timeline.origin}: the subscription starts after {_iso(moment)}")
    trimmed = timeline.model_copy(update={"events": tuple(cut)})
    replay = _Replay(catalog, trimmed, lambda p, t: None)
    replay.run(moment)
    snap = replay.snapshot()
    cancel_at = None
    if replay.state is not None and replay.state.cancel is not None and snap.ended_at is None:
        cancel_at = replay.schedule.period_containing(max(moment, replay.billing_start)).end
    return replace(snap, trial=moment < replay.billing_start, cancel_at=cancel_at)
