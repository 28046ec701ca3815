"""The replay: a subscription timeline, event by event, into the drafts of the invoices it produces.

A :class:`Timeline` (YAML or Python) lists events at UTC instants: start on a
plan, add or remove add-on units, change plan now or at the end of the period
(withdrawable), cancel, suspend and reactivate, add a trial, delete the
account. The replay here is a state machine that never computes money: for
each invoice it writes a :class:`pricing.billing.segments.Draft` of what was held and
for which share of its billing period, and
:func:`pricing.billing.rating_segments.price_drafts` prices the drafts with the same
rating engine that prices a quote.

What an invoice holds (Stripe's "invoice at period start"):

1. the recurring lines for the coming period, billed in advance (a plan may
   bill ``in_arrears`` instead: then the lines of the period just ended,
   for as long as each state lasted);
2. the prorated lines of changes made since the last invoice, each with its
   service dates (or, with ``invoice: now`` or the catalog's
   ``change_invoice: immediately``, an invoice of their own at the change);
3. usage for the period just ended, rated on the holding in force when the
   period closed (commitments were billed in advance, above);
4. a minimum-spend true-up for the period just ended, prorated for a partial
   period; then discounts and tax on the invoice.

Conventions (documented in docs/subscriptions.md):

- A change prorates by the share of the period remaining (one function,
  :func:`pricing.billing.proration.share`, with the catalog's day count); each
  prorated line is rounded once.
- Events at exactly a period boundary belong to the new period: they are
  applied before the renewal invoice, so they cost nothing in the old period.
- A trial of N days is free: the first billed instant is start + N days, the
  anchor ``start`` means that instant, and changes during the trial cost
  nothing. A ``trial`` event on a running subscription credits the rest of
  the period and moves the anchor to the trial's end (Stripe's ``trial_end``).
- A plan change to a plan with another billing interval starts a new period
  at the change (its anchor moves there).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any


from pricing.engine.catalog import (
    BillingTiming, Catalog, ChangeInvoice, DayCount, Effective, MetricKind, PercentagePerTransactionCharge, Plan,
)
from pricing.errors import SubscriptionError
from pricing.engine.invoice import Invoice
from pricing.engine.periods import Period, Schedule, midnight
from pricing.billing.proration import remaining_share, share
from pricing.billing.segments import (
    Change, ContractMinimum, Draft, EventCharge, Holding, InvoiceKind, Minimum, Placed, Recurring, UsageCharge,
)

from pricing.engine.formatting import iso_utc
from pricing.billing.timeline import Event, Timeline, names_catalog

# --- replay ----------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedInvoice:
    """An invoice and when and why it was issued.

    ``kind``: ``opening`` (first billed instant), ``renewal`` (a period
    boundary), ``change`` (a change invoiced at once) or ``final`` (the
    subscription ended). ``period`` is the billing period the invoice was
    issued in; ``closes`` the service window whose usage it bills (None on
    the opening and change invoices).
    """

    issued_at: datetime
    kind: InvoiceKind
    period: Period
    closes: tuple[datetime, datetime] | None
    invoice: Invoice

    def to_json(self) -> dict[str, Any]:
        data = self.invoice.to_json()
        data["issued_at"] = iso_utc(self.issued_at)
        data["kind"] = self.kind
        if self.closes is not None:
            data["usage_window"] = [iso_utc(self.closes[0]), iso_utc(self.closes[1])]
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
class _State:
    plan: str
    quantities: dict[str, Decimal]
    commitments: dict[str, Decimal]
    billing_details: bool
    suspended: bool = False
    scheduled: tuple[str, int] | None = None  # plan change at the end of the period: target, event index
    cancel: int | None = None  # event index of a cancellation at period end
    ended_at: datetime | None = None
    trial_until: datetime | None = None  # a trial added to the running subscription


def timeline_schedule(catalog: Catalog, timeline: Timeline) -> Schedule:
    """The billing periods of a timeline's first plan."""
    first = timeline.events[0].at + timedelta(days=timeline.trial_days)
    plan = timeline.events[0].plan
    # an unknown plan is reported by the replay, naming the event
    interval, count = (catalog.billing_interval(plan) if plan in catalog.plans
                       else (catalog.interval, catalog.interval_count))
    return Schedule.anchored(interval, timeline.anchor, first, count)


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


_CHANGES = frozenset({"add", "remove", "upgrade", "downgrade", "change_plan", "commit"})


class Replay:
    """Walks a timeline forward, writing one draft per invoice. Internal; use the functions below."""

    def __init__(self, catalog: Catalog, timeline: Timeline, usage: UsageLookup,
                 since: datetime | None = None) -> None:
        if not names_catalog(timeline.catalog, catalog):
            raise SubscriptionError(
                f"{timeline.origin}: the timeline is for catalog {timeline.catalog!r}, not {catalog.id!r}")
        self.catalog = catalog
        self.timeline = timeline
        self.usage = usage
        self.day_count = catalog.settings.day_count
        self._check_order()
        self.billing_start = timeline.events[0].at + timedelta(days=timeline.trial_days)
        self.schedule = timeline_schedule(catalog, timeline)
        self.state: _State | None = None
        self.pending: list[Placed] = []  # changes not yet invoiced
        self.segments: list[tuple[datetime, Holding | None]] = []  # in-arrears accrual
        self.plan_since: datetime = self.billing_start  # when the plan now held began, for its minimum
        self.cut: tuple[datetime, Schedule] | None = None  # the period ends early and the anchor moves
        self.drafts: list[Draft] = []
        self.period_index = 0
        # NOTE: periods that end before ``since`` only move the state forward (no drafts): the invoices
        # wanted from ``since`` on need nothing priced from them, unless a contract minimum reads it all
        self.since = since if timeline.minimum_spend is None else None
        self.quiet = False
        self.checkpoints = sorted(timeline.usage_to_date.items())
        self.checkpoint = 0  # the next usage-to-date checkpoint
        self.usage_events = timeline.usage_events
        self.usage_event = 0  # the next usage event not yet invoiced in advance
        self.events_billed: dict[str, list[Decimal]] = {}  # this period's in-advance events so far, per metric

    # -- errors -----------------------------------------------------------

    def fail(self, index: int, message: str) -> SubscriptionError:
        event = self.timeline.events[index]
        return SubscriptionError(f"{self.timeline.origin}: events[{index}] ({event.describe()}): {message}")

    def _check_order(self) -> None:
        events = self.timeline.events
        if events[0].type != "start":
            raise self.fail(0, "the first event must be 'start'")
        for i in range(1, len(events)):
            if events[i].at < events[i - 1].at:
                raise self.fail(i, f"is earlier than events[{i - 1}] ({events[i - 1].describe()});"
                                   " events must be in time order")
            if events[i].type == "start":
                raise self.fail(i, "the subscription already started (events[0]); one start per timeline")

    # -- holdings -------------------------------------------------------------

    def _plan(self, plan_id: str) -> Plan:
        return self.catalog.plans[plan_id]

    def held(self, state: _State) -> Holding:
        return Holding.of(state.plan, {**state.quantities, **state.commitments}, state.billing_details)

    def holding(self, state: _State) -> Holding | None:
        if state.suspended or state.ended_at is not None or state.trial_until is not None:
            return None
        return self.held(state)

    def advance(self, state: _State) -> Holding | None:
        in_advance = self._plan(state.plan).billing_timing is BillingTiming.IN_ADVANCE
        return self.holding(state) if in_advance else None

    def arrears(self, state: _State) -> Holding | None:
        in_arrears = self._plan(state.plan).billing_timing is BillingTiming.IN_ARREARS
        return self.holding(state) if in_arrears else None

    def _copy(self, state: _State) -> _State:
        return replace(state, quantities=dict(state.quantities), commitments=dict(state.commitments))

    # -- drafts -------------------------------------------------------------------

    def _draft(self, at: datetime, kind: InvoiceKind, period: Period,
               closes: tuple[datetime, datetime] | None) -> Draft:
        assert self.state is not None
        if self.quiet:
            # a period before ``since``: nothing of it is priced, so nothing is written down
            return Draft(self.timeline.customer_id, at, kind, period, closes, self.state.plan)
        draft = Draft(self.timeline.customer_id, at, kind, period, closes, self.state.plan,
                      period_index=self.period_index, discounts=self.timeline.discounts,
                      tax_percent=self.timeline.tax_percent, notes=[f"{kind} invoice issued {iso_utc(at)}"])
        self.drafts.append(draft)
        return draft

    def _charge_period(self, draft: Draft, start: datetime, period: Period) -> None:
        """In-advance lines for ``[start, period.end)``; in-arrears accrual starts."""
        assert self.state is not None
        if self.quiet:
            self.segments = [(start, None)]
            return
        holding = self.advance(self.state)
        if holding is not None:
            part = remaining_share(start, period, self.day_count)
            draft.pieces.append(Placed(Recurring(holding, part, start, period.end, period), period.start))
        self.segments = [(start, self.arrears(self.state))]

    def _arrears_pieces(self, end: datetime, period: Period) -> list[Placed]:
        bounds = [s for s, _ in self.segments] + [end]
        out = []
        for (seg_start, holding), seg_end in zip(self.segments, bounds[1:]):
            part = share(seg_start, seg_end, period, self.day_count)
            if part and holding is not None:
                out.append(Placed(Recurring(holding, part, seg_start, seg_end, period, arrears=True), period.start))
        return out

    def _close(self, window: datetime, end: datetime, period: Period) -> list[Placed]:
        """Everything owed for ``[window, end)`` once it is over."""
        assert self.state is not None
        if self.quiet:
            self.pending = []
            return []
        pieces = self.pending + self._arrears_pieces(end, period)
        self.pending = []
        usage = self._with_events(self.usage(period, end), window, end)
        self.events_billed = {}
        if usage:
            self._check_usage(usage, window, end)
            part = share(window, end, period, self.day_count)
            pieces.append(Placed(UsageCharge(self.held(self.state), usage, window, end, part), period.start))
        if self._plan(self.state.plan).minimum_spend is not None:
            # NOTE: prorated for the part of the period the plan was held; the whole period's spend counts
            since = max(window, self.plan_since)
            part = share(since, end, period, self.day_count)
            pieces.append(Placed(Minimum(self.state.plan, part, since, end, period), period.start))
        return pieces

    def _with_events(self, usage: Mapping[str, Any] | None, start: datetime,
                     end: datetime) -> Mapping[str, Any] | None:
        """The window's usage with its usage events listed per metric (a list is the period's events)."""
        listed: dict[str, list[Decimal]] = {}
        for event in self.usage_events:
            if start <= event.at < end:
                listed.setdefault(event.metric, []).append(event.value)
        if not listed:
            return usage
        twice = sorted(set(listed) & set(usage or {}))
        if twice:
            raise SubscriptionError(
                f"{self.timeline.origin}: usage for {iso_utc(start)} .. {iso_utc(end)}: {twice[0]!r} is given both as"
                " usage_events and as a total; give it one way")
        return {**(usage or {}), **listed}

    def _in_advance(self, before: datetime, window: datetime, period: Period) -> None:
        """An invoice at every usage event before ``before`` of a charge paid in advance (Lago)."""
        assert self.state is not None
        while self.usage_event < len(self.usage_events) and self.usage_events[self.usage_event].at < before:
            event = self.usage_events[self.usage_event]
            self.usage_event += 1
            if event.at < window or self.quiet:
                continue
            self._check_usage({event.metric: event.value}, window, event.at)
            if not any(c.pay_in_advance and c.metric == event.metric for c in self._plan(self.state.plan).charges):
                continue
            earlier = self.events_billed.setdefault(event.metric, [])
            # NOTE: a per-transaction charge prices the period's transactions one by one, so its rows
            # list them; any other charge prices their total, so a running total keeps each event O(1)
            listed = any(isinstance(c, PercentagePerTransactionCharge) and c.metric == event.metric
                         for c in self._plan(self.state.plan).charges)
            draft = self._draft(event.at, "event", period, None)
            so_far = tuple(earlier) if listed else sum(earlier, Decimal(0))
            draft.pieces.append(Placed(EventCharge(self.held(self.state), event.metric, so_far, event.value,
                                                   event.at, first=not earlier), period.start))
            if listed:
                earlier.append(event.value)
            else:
                earlier[:] = [sum(earlier, Decimal(0)) + event.value]

    def _check_usage(self, usage: Mapping[str, Any], start: datetime, end: datetime) -> None:
        for name in usage:
            if name not in self.catalog.metrics:
                raise SubscriptionError(
                    f"{self.timeline.origin}: usage for {iso_utc(start)} .. {iso_utc(end)}: unknown metric {name!r}"
                    f" (catalog {self.catalog.id!r} has: {', '.join(self.catalog.metrics)})")

    def _contract_minimum(self) -> list[Placed]:
        if self.timeline.minimum_spend is None:
            return []
        end = self.state.ended_at if self.state else None
        return [Placed(ContractMinimum(self.timeline.minimum_spend, self.billing_start, end), None)]

    # -- the walk -------------------------------------------------------------

    def _end(self, period: Period) -> datetime:
        if self.cut is not None and self.cut[0] < period.end:
            return self.cut[0]
        return period.end

    def _next(self, period: Period, boundary: datetime) -> Period:
        if self.cut is not None and self.cut[0] == boundary:
            self.schedule = self.cut[1]
            self.cut = None
            return self.schedule.period_containing(boundary)
        return self.schedule.period_after(period)

    def run(self, until: datetime) -> list[Draft]:
        events = self.timeline.events
        self.state = self._start(events[0])
        i = 1
        # The trial and the first instant: events change the state at no cost.
        while i < len(events) and events[i].at <= self.billing_start:
            self.apply(i, None)
            i += 1
            if self.state.ended_at is not None:
                return self._ended_early(i)
        if self.state.cancel is not None and self.billing_start > events[0].at:
            self.state.ended_at = self.billing_start
            return self._ended_early(i)  # cancelled during the trial: ends with it, nothing billed
        period = self.schedule.period_containing(self.billing_start)
        window = self.billing_start
        if self.billing_start > until:
            return []
        self.quiet = self.since is not None and period.end < self.since
        self._charge_period(self._draft(window, "opening", period, None), window, period)
        while True:
            while i < len(events) and events[i].at < self._end(period):
                self._progressive(events[i].at, window, period)
                self._in_advance(events[i].at, window, period)
                self.apply(i, period)
                i += 1
                if self.state.ended_at is not None:
                    end = self.state.ended_at
                    final = self._draft(end, "final", period, (window, end))
                    final.pieces += self._close(window, end, period) + self._contract_minimum()
                    self._no_events_after(i)
                    return self.drafts
            boundary = self._end(period)
            self._progressive(min(boundary, until), window, period)
            self._in_advance(min(boundary, until), window, period)
            if boundary > until:
                return self.drafts
            closing = self._close(window, boundary, period)
            next_period = self._next(period, boundary)
            if self.state.cancel is not None:
                self.state.ended_at = boundary
                final = self._draft(boundary, "final", next_period, (window, boundary))
                final.pieces += closing + self._contract_minimum()
                self._no_events_after(i)
                return self.drafts
            if self.state.trial_until == boundary:
                self.state.trial_until = None
            if self.state.scheduled is not None:
                target, index = self.state.scheduled
                self._check_plan(index, target, "change")
                self.state.plan, self.state.scheduled = target, None
                self.plan_since = boundary
                next_period = self._reanchor_for(target, boundary) or next_period
            while i < len(events) and events[i].at == boundary:
                self.apply(i, None)
                i += 1
                if self.state.ended_at is not None:
                    final = self._draft(boundary, "final", next_period, (window, boundary))
                    final.pieces += closing + self._contract_minimum()
                    self._no_events_after(i)
                    return self.drafts
            closed = (window, boundary)
            period, window = next_period, boundary
            self.period_index += 1
            self.quiet = self.since is not None and period.end < self.since
            renewal = self._draft(window, "renewal", period, closed)
            renewal.pieces += closing
            self._charge_period(renewal, window, period)

    def _progressive(self, before: datetime, window: datetime, period: Period) -> None:
        """A conditional draft at every usage-to-date checkpoint before ``before`` (progressive billing)."""
        assert self.state is not None
        while self.checkpoint < len(self.checkpoints) and self.checkpoints[self.checkpoint][0] < before:
            moment, usage = self.checkpoints[self.checkpoint]
            self.checkpoint += 1
            if moment <= window or self.quiet or self._plan(self.state.plan).progressive_billing is None:
                continue
            self._check_usage(usage, window, moment)
            part = share(window, moment, period, self.day_count)
            draft = self._draft(moment, "threshold", period, (window, moment))
            draft.conditional = True
            draft.pieces.append(Placed(UsageCharge(self.held(self.state), usage, window, moment, part), period.start))

    def _reanchor_for(self, plan_id: str, at: datetime) -> Period | None:
        """A plan billed on another interval starts its own periods at ``at``."""
        interval, count = self.catalog.billing_interval(plan_id)
        if (interval, count) == (self.schedule.interval, self.schedule.count):
            return None
        self.schedule = Schedule.anchored(interval, at, at, count)
        return self.schedule.period_containing(at)

    def _ended_early(self, i: int) -> list[Draft]:
        self._no_events_after(i)
        return []

    def _no_events_after(self, i: int) -> None:
        if i < len(self.timeline.events):
            assert self.state is not None
            ended = self.state.ended_at or self.billing_start
            raise self.fail(i, f"the subscription ended at {iso_utc(ended)}; no event can follow")
        end = self.state.ended_at if self.state is not None else None
        if end is None:
            return
        late = [k for k, e in enumerate(self.usage_events) if e.at >= end]
        if late:
            raise SubscriptionError(f"{self.timeline.origin}: usage_events[{late[0]}]"
                                    f" at {iso_utc(self.usage_events[late[0]].at)}"
                                    f" is after the subscription ended ({iso_utc(end)})")

    # -- events ---------------------------------------------------------------

    def _start(self, event: Event) -> _State:
        assert event.plan is not None
        state = _State(event.plan, {}, {}, self.timeline.billing_details)
        for name, qty in event.quantities.items():
            self._check_metric(0, name, (MetricKind.COUNT, MetricKind.FLAG))
            state.quantities[name] = Decimal(qty)
        for name, qty in event.commitments.items():
            self._check_metric(0, name, (MetricKind.COMMITMENT,))
            state.commitments[name] = Decimal(qty)
        self._check_plan(0, event.plan, "start", state)
        return state

    def _check_metric(self, index: int, name: str, kinds: tuple[MetricKind, ...]) -> None:
        metric = self.catalog.metrics.get(name)
        wanted = " or ".join(k.value for k in kinds)
        if metric is None:
            known = [m for m, spec in self.catalog.metrics.items() if spec.kind in kinds]
            raise self.fail(index, f"unknown item {name!r} (catalog {self.catalog.id!r} has {wanted} items:"
                                   f" {', '.join(known) or 'none'})")
        if metric.kind not in kinds:
            raise self.fail(index, f"{name!r} is a {metric.kind.value} metric, not a {wanted} item")

    def _check_plan(self, index: int, plan_id: str, action: str, state: _State | None = None) -> None:
        from pricing.engine.rating import limit_problem  # rating imports pandas; only load when billing

        state = state or self.state
        assert state is not None
        if plan_id not in self.catalog.plans:
            raise self.fail(index, f"unknown plan {plan_id!r} (plans: {', '.join(self.catalog.plans)})")
        plan = self.catalog.plans[plan_id]
        if not state.billing_details:
            rules = self.catalog.account_rules
            allowed = rules.plans_without_billing_details if rules else ()
            if plan.requires_billing_details or (allowed and plan_id not in allowed):
                raise self.fail(index, f"plan {plan_id!r} needs billing details; without them the account is"
                                       " held to the free tier (seed 000)")
        problem = limit_problem(self.catalog, plan_id, state.quantities)
        if problem:
            raise self.fail(index, f"cannot {action} to {plan_id!r}: {problem} (seed 002)")

    def _fee(self, plan_id: str) -> Decimal:
        plan = self.catalog.plans[plan_id]
        return plan.recurring.amount if plan.recurring else Decimal(0)

    def apply(self, index: int, period: Period | None) -> None:
        """Apply one event; with a period, record what it changes (without one: trial or boundary, no cost)."""
        from pricing.engine.rating import limit_problem

        state = self.state
        assert state is not None
        event = self.timeline.events[index]
        before = self._copy(state)
        t = event.at
        kind = event.type
        why: str = kind
        if state.ended_at is not None:
            raise self.fail(index, f"the subscription ended at {iso_utc(state.ended_at)}")
        if kind in ("add", "remove"):
            assert event.item is not None and event.quantity is not None
            self._check_metric(index, event.item, (MetricKind.COUNT, MetricKind.FLAG))
            held = state.quantities.get(event.item, Decimal(0))
            if kind == "remove" and event.quantity > held:
                raise self.fail(index, f"cannot remove {event.quantity} {event.item}: only {held} held")
            new = held + event.quantity if kind == "add" else held - event.quantity
            if self.catalog.metrics[event.item].kind is MetricKind.FLAG and new > 1:
                raise self.fail(index, f"{event.item!r} is a feature switch and is already on")
            state.quantities[event.item] = new
            problem = limit_problem(self.catalog, state.plan, state.quantities)
            if problem:
                raise self.fail(index, f"plan {state.plan!r} does not allow it: {problem}")
            why = f"{event.quantity} {event.item} {'added' if kind == 'add' else 'removed'}"
        elif kind in ("upgrade", "downgrade", "change_plan"):
            why = self._change_plan(index, event, period)
        elif kind == "withdraw_downgrade":
            if state.scheduled is None:
                raise self.fail(index, "no plan change is scheduled")
            state.scheduled = None
        elif kind == "cancel":
            plan = self._plan(state.plan)
            if not plan.cancellable:
                raise self.fail(index, f"plan {state.plan!r} ({plan.name}) cannot be cancelled; it is the"
                                       " default fallback (seed 000)")
            if state.cancel is not None:
                raise self.fail(index, f"already cancelled (events[{state.cancel}])")
            if event.effective == "now":
                self._end_now(event, period, "cancelled")
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
            self._end_now(event, period, "account deleted")
            return
        elif kind == "set_billing_details":
            state.billing_details = bool(event.value)
            if not state.billing_details:
                self._check_plan(index, state.plan, "stay on")
        elif kind == "commit":
            for name, qty in event.commitments.items():
                self._check_metric(index, name, (MetricKind.COMMITMENT,))
                state.commitments[name] = Decimal(qty)
        elif kind == "trial":
            assert event.until is not None
            if period is None:
                raise self.fail(index, "a trial can be added once billing has started (use trial_days before)")
            if state.trial_until is not None:
                raise self.fail(index, f"already in a trial until {iso_utc(state.trial_until)}")
            state.trial_until = event.until
            interval, count = self.schedule.interval, self.schedule.count
            self.cut = (event.until, Schedule.anchored(interval, event.until, event.until, count))
            why = f"trial until {iso_utc(event.until)}"
        self._record(t, before, period, why, event)

    def _change_plan(self, index: int, event: Event, period: Period | None) -> str:
        state = self.state
        assert state is not None and event.plan is not None
        target = event.plan
        if target == state.plan:
            raise self.fail(index, f"already on plan {target!r}")
        self._check_plan(index, target, event.type if event.type != "change_plan" else "change")
        up = self._fee(target) >= self._fee(state.plan)
        if event.type == "upgrade" and not up:
            raise self.fail(index, f"plan {target!r} costs less than {state.plan!r}: use 'downgrade'"
                                   " (or 'change_plan')")
        if event.type == "downgrade" and up and self._fee(target) > self._fee(state.plan):
            raise self.fail(index, f"plan {target!r} costs more than {state.plan!r}: use 'upgrade'")
        settings = self.catalog.settings
        default = settings.upgrade_effective if up else settings.downgrade_effective
        effective = Effective(event.effective) if event.effective else default
        if effective is Effective.END_OF_PERIOD and period is not None:
            if state.scheduled is not None:
                raise self.fail(index, f"a change to {state.scheduled[0]!r} is already reserved"
                                       f" (events[{state.scheduled[1]}]); withdraw it first")
            state.scheduled = (target, index)
            return f"change to {target} at the end of the period"
        before = state.plan
        state.scheduled = None  # a change now replaces a scheduled one
        state.plan = target
        for name, qty in event.commitments.items():  # new contingents with the new plan, at once
            self._check_metric(index, name, (MetricKind.COMMITMENT,))
            state.commitments[name] = Decimal(qty)
        self.plan_since = event.at
        if period is not None:
            interval, count = self.catalog.billing_interval(target)
            if (interval, count) != (self.schedule.interval, self.schedule.count):
                # NOTE: a plan on another interval starts a new period now (Stripe resets the anchor)
                self.cut = (event.at, Schedule.anchored(interval, event.at, event.at, count))
        direction = "upgrade" if self._fee(target) > self._fee(before) else (
            "downgrade" if self._fee(target) < self._fee(before) else "plan change")
        return f"{direction} {before} -> {target}"

    def _record(self, t: datetime, before: _State, period: Period | None, why: str, event: Event) -> None:
        """A change from ``before`` to the current state: a change piece for the rest of the period."""
        if period is None:
            return
        assert self.state is not None
        if self.quiet:
            self.segments[-1:] = [(t, self.arrears(self.state))] if self.segments else []
            return
        old, new = self.advance(before), self.advance(self.state)
        cut_now = self.cut is not None and self.cut[0] == t
        if cut_now and new is not None:
            new = None  # the new plan's own period starts now, billed in full on the renewal
        if old != new:
            change = Change(old, new, remaining_share(t, period, self.day_count), t, period.end, period, why,
                            prorate=event.prorate)
            self.pending.append(Placed(change, period.start))
        after = self.arrears(self.state)
        if after != self.segments[-1][1]:
            self.segments.append((t, after))
        settings_now = self.catalog.settings.change_invoice is ChangeInvoice.IMMEDIATELY
        invoice_now = event.invoice == "now" or (event.invoice is None and settings_now)
        if event.type in _CHANGES and not cut_now and invoice_now:
            self._invoice_change(t, period)

    def _invoice_change(self, t: datetime, period: Period) -> None:
        """An invoice of its own for the change: its prorations and, in arrears, the time used so far."""
        assert self.state is not None
        pieces = self.pending + self._arrears_pieces(t, period)
        self.pending = []
        self.segments = [(t, self.arrears(self.state))]
        if pieces:
            self._draft(t, "change", period, None).pieces.extend(pieces)

    def _end_now(self, event: Event, period: Period | None, why: str) -> None:
        """Cancellation now or account deletion. What is credited for the unused time: add-ons and
        features (Logto, the default), everything (Lago's termination credit note) or nothing."""
        assert self.state is not None
        state = self.state
        t = event.at
        if period is not None:
            old = self.advance(state)
            if event.refund == "all":
                kept = None
            elif event.refund == "none":
                kept = old
            else:
                kept = None if old is None else Holding.of(state.plan, dict(state.commitments), state.billing_details)
            credit_from = t
            if self.catalog.settings.bill_termination_day and self.day_count is not DayCount.EXACT_SECONDS:
                credit_from = min(midnight(t.date() + timedelta(days=1)), period.end)
            if old != kept:
                self.pending.append(Placed(Change(old, kept, remaining_share(credit_from, period, self.day_count),
                                                  credit_from, period.end, period, why), period.start))
            self.segments.append((t, None))
        state.ended_at = t

    def snapshot(self) -> SubscriptionState:
        assert self.state is not None
        s = self.state
        return SubscriptionState(s.plan, dict(s.quantities), dict(s.commitments), s.billing_details,
                                 s.suspended, s.trial_until is not None, s.scheduled[0] if s.scheduled else None,
                                 None, s.ended_at)
