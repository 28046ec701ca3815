"""Subscriptions billed over time: a timeline replayed and priced, for a period, a span or a month-end.

The public entry points (:func:`invoices_between`, :func:`bill_period`, :func:`state_at`,
:func:`plan_invoices`) replay a :class:`~pricing.billing.timeline.Timeline` with
:class:`~pricing.billing.replay.Replay` and price the drafts with
:func:`pricing.billing.rating_segments.price_drafts`, the same rating engine that prices a quote;
:func:`settle` and :func:`settled_renewals` are the month-end fast path for subscriptions that no
longer change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any


from pricing.engine.catalog import (
    BillingTiming, Catalog, Discount,
)
from pricing.errors import SubscriptionError
from pricing.engine.invoice import Invoice
from pricing.engine.periods import Period, Schedule, as_utc, midnight
from pricing.billing.segments import (
    Draft, Holding, Minimum, Placed, Recurring, UsageCharge,
)

from pricing.engine.formatting import iso_utc
from pricing.billing.timeline import Timeline
from pricing.billing.replay import (IssuedInvoice, Replay, SubscriptionState, UsageLookup, resolve_period,
                                    timeline_schedule)

# --- public entry points -----------------------------------------------------------


def _timeline_usage(timeline: Timeline, schedule: Schedule) -> dict[datetime, Mapping[str, Any]]:
    """The timeline's ``usage`` block keyed by the start of the period each entry belongs to."""
    return {resolve_period(schedule, key).start: value for key, value in timeline.usage.items()}


def plan_invoices(catalog: Catalog, timeline: Timeline, until: datetime, usage: UsageLookup,
                  since: datetime | None = None) -> list[Draft]:
    """The drafts of every invoice issued up to ``until`` (no money: see :mod:`pricing.billing.rating_segments`).

    With ``since``, drafts of periods that end before it are left out: what
    is issued from ``since`` on prices the same without them.
    """
    return Replay(catalog, timeline, usage, since).run(until)


def _priced(catalog: Catalog, drafts: list[Draft]) -> list[IssuedInvoice]:
    from pricing.billing.rating_segments import price_drafts  # rating imports pandas; only load when billing

    invoices = price_drafts(catalog, drafts)
    return [IssuedInvoice(d.issued_at, d.kind, d.period, d.closes, inv) for d, inv in zip(drafts, invoices)
            if inv is not None]


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
    issued = _priced(catalog,
                     plan_invoices(catalog, timeline, until, lambda period, closed_at: table.get(period.start)))
    low = as_utc(start) if start is not None else None
    return [inv for inv in issued if low is None or inv.issued_at >= low]


def _default_horizon(timeline: Timeline, schedule: Schedule) -> datetime:
    last = timeline.events[-1].at + timedelta(days=timeline.trial_days)
    period = schedule.period_containing(last)
    for _ in range(12 if schedule.interval.value in ("week", "month") else 2):
        period = schedule.period_after(period)
    return period.start


def _target(schedule: Schedule, at: date | datetime | str) -> tuple[datetime, Period]:
    """The instant ``at`` means (a date: the end of that day) and the period containing it."""
    if isinstance(at, str) and "T" not in at:
        at = as_utc(at).date()
    moment = as_utc(at) if not isinstance(at, date) or isinstance(at, datetime) else (
        midnight(at) + timedelta(days=1, microseconds=-1))
    return moment, schedule.period_containing(moment)


def issued_in_period_consolidated(catalog: Catalog, timelines: Sequence[Timeline],
                                  at: date | datetime | str) -> IssuedInvoice:
    """:func:`issued_in_period` for a customer holding several subscriptions, consolidated."""
    if len({t.customer_id for t in timelines}) > 1:
        names = ", ".join(sorted({t.customer_id for t in timelines}))
        raise SubscriptionError(f"subscriptions of different customers cannot share an invoice ({names})")
    moment, target = _target(timeline_schedule(catalog, timelines[0]), at)
    issued = consolidate([item for t in timelines
                          for item in invoices_between(catalog, t, end=target.end - timedelta(microseconds=1))])
    mine = [item for item in issued if item.issued_at in target]
    if not mine:
        raise SubscriptionError(f"{timelines[0].origin}: no invoice is issued in the period {target.label()}")
    before = [item for item in mine if item.issued_at <= moment]
    return before[-1] if before else mine[0]


def issued_in_period(catalog: Catalog, timeline: Timeline, at: date | datetime | str,
                     usage: Mapping[str, Any] | None = None) -> IssuedInvoice:
    """The invoice issued in the period containing ``at``: the latest issued at or before
    ``at`` (a date means the end of that day), else the period's first.

    ``usage`` is the metered usage that invoice bills (the period just
    ended, or the final period's); without it the timeline's ``usage`` block applies.
    """
    schedule = timeline_schedule(catalog, timeline)
    moment, target = _target(schedule, at)
    table = _timeline_usage(timeline, schedule)

    def lookup(period: Period, closed_at: datetime) -> Mapping[str, Any] | None:
        if usage is not None and (closed_at in target or closed_at == target.start):
            return usage
        return table.get(period.start)

    drafts = plan_invoices(catalog, timeline, target.end - timedelta(microseconds=1), lookup)
    mine = [i for i, d in enumerate(drafts) if d.issued_at in target]
    if not mine:
        raise SubscriptionError(
            f"{timeline.origin}: no invoice is issued in the period {target.label()}"
            f" (the subscription bills from {iso_utc(timeline.events[0].at + timedelta(days=timeline.trial_days))})")
    from pricing.billing.rating_segments import price_drafts

    priced = price_drafts(catalog, drafts[: mine[-1] + 1])
    issued = [i for i in mine if priced[i] is not None]
    before = [i for i in issued if drafts[i].issued_at <= moment]
    chosen = before[-1] if before else issued[0]
    d = drafts[chosen]
    invoice = priced[chosen]
    assert invoice is not None
    return IssuedInvoice(d.issued_at, d.kind, d.period, d.closes, invoice)


def consolidate(issued: Sequence[IssuedInvoice]) -> list[IssuedInvoice]:
    """A customer's subscriptions billed on one invoice where they share an issue instant and a
    currency (an account's invoice, as Kill Bill makes it): lines side by side, each subscription's
    own discounts and tax kept, the total the sum of every line. Others pass through, in time order."""
    groups: dict[tuple[Any, ...], list[IssuedInvoice]] = {}
    for item in issued:
        groups.setdefault((item.invoice.customer_id, item.invoice.currency, item.issued_at), []).append(item)
    out: list[IssuedInvoice] = []
    for members in groups.values():
        if len(members) == 1:
            out.append(members[0])
            continue
        first = members[0]
        invoices = [m.invoice for m in members]
        merged = replace(
            first.invoice, plan=" + ".join(dict.fromkeys(i.plan for i in invoices)),
            lines=tuple(line for i in invoices for line in i.lines),
            eligible=all(i.eligible for i in invoices),
            reason=next((i.reason for i in invoices if not i.eligible), None),
            period_start=min(i.period_start for i in invoices if i.period_start is not None),
            period_end=max(i.period_end for i in invoices if i.period_end is not None),
            notes=tuple(dict.fromkeys(n for i in invoices for n in i.notes)) + (
                f"{len(members)} subscriptions on one invoice",))
        windows = [m.closes for m in members if m.closes is not None]
        closes = (min(w[0] for w in windows), max(w[1] for w in windows)) if windows else None
        out.append(IssuedInvoice(first.issued_at, first.kind, first.period, closes, merged))
    return sorted(out, key=lambda item: item.issued_at)


def bill_period(catalog: Catalog, timeline: Timeline, at: date | datetime | str,
                usage: Mapping[str, Any] | None = None) -> Invoice:
    """The invoice issued for the period that contains ``at`` (see :func:`issued_in_period`)."""
    return issued_in_period(catalog, timeline, at, usage).invoice


def state_at(catalog: Catalog, timeline: Timeline, at: date | datetime) -> SubscriptionState:
    """What the customer holds at ``at``, after every event up to and including it."""
    moment = as_utc(at)
    cut = [e for e in timeline.events if e.at <= moment]
    if not cut:
        raise SubscriptionError(f"{timeline.origin}: the subscription starts after {iso_utc(moment)}")
    trimmed = timeline.model_copy(update={"events": tuple(cut)})
    replay = Replay(catalog, trimmed, lambda p, t: None)
    replay.run(moment)
    snap = replay.snapshot()
    cancel_at = None
    if replay.state is not None and replay.state.cancel is not None and snap.ended_at is None:
        cancel_at = replay.schedule.period_containing(max(moment, replay.billing_start)).end
    return replace(snap, trial=moment < replay.billing_start or snap.trial, cancel_at=cancel_at)


# --- settled subscriptions (the month-end fast path) -------------------------------


@dataclass(frozen=True)
class Settled:
    """A subscription from the period boundary after which its timeline changes nothing any more.

    From ``settled_from`` on, every invoice is a plain renewal at a boundary of
    ``schedule``: the same holding, the same discounts and tax, period after
    period. :func:`settle` reads this from the replay's final state; the
    replay stays the one definition of what happens.
    """

    settled_from: datetime
    holding: Holding
    schedule: Schedule
    discounts: tuple[Discount, ...]
    tax_percent: Decimal | None


@dataclass(frozen=True)
class Ended:
    """A subscription that ended: its final invoice is issued at ``ended_at`` and nothing after it."""

    ended_at: datetime


def settle(catalog: Catalog, timeline: Timeline) -> Settled | Ended | None:
    """The settled state of ``timeline``, :class:`Ended` once it ended, or None where renewals are
    not all alike.

    None when the subscription is cancelled for a later date, is suspended,
    has a contract minimum, usage-to-date checkpoints (progressive billing), a
    discount limited to N periods, or a timeline the replay refuses (the full
    replay reports the error where the invoices need it).
    """
    events = timeline.events
    billing_start = events[0].at + timedelta(days=timeline.trial_days)
    last = max([billing_start, *(e.at for e in events), *(e.until for e in events if e.until is not None)])
    never = datetime.max.replace(tzinfo=billing_start.tzinfo)  # every period quiet: no drafts, no usage read
    try:
        # first walk: to the last event, to learn the period it falls in (the schedule may have moved)
        probe = Replay(catalog, timeline, lambda period, closed_at: None, since=never)
        probe.run(last)
        if probe.state is None:
            return None
        if probe.state.ended_at is not None:
            return Ended(probe.state.ended_at)
        replay = probe
        pending = probe.state.scheduled is not None or probe.state.cancel is not None or probe.cut is not None
        if pending or probe.state.trial_until is not None:
            # NOTE: the replay's periods are always periods of its current schedule (a cut switches both)
            resolved = probe.schedule.period_containing(last).end  # what is scheduled happens here
            # second walk: through that boundary, where whatever was scheduled has happened
            replay = Replay(catalog, timeline, lambda period, closed_at: None, since=never)
            replay.run(resolved)
    except SubscriptionError:
        return None
    state = replay.state
    if state is not None and state.ended_at is not None:
        return Ended(state.ended_at)
    if timeline.minimum_spend is not None or timeline.usage_to_date or timeline.usage_events:
        # usage events are the timeline's own usage (and in-advance invoices): the replay reads them
        return None
    if (state is None or state.cancel is not None or state.suspended
            or state.scheduled is not None or state.trial_until is not None or replay.cut is not None):
        return None
    plan = catalog.plans[state.plan]
    if any(d.periods is not None for d in (*plan.discounts, *timeline.discounts)):
        return None
    changed = max(last, replay.plan_since)
    period = replay.schedule.period_containing(changed)
    return Settled(changed if period.start == changed else period.end, replay.held(state), replay.schedule,
                   timeline.discounts, timeline.tax_percent)


_WHOLE = Fraction(1)  # share() of a period from its start to its end, under every day count


@lru_cache(maxsize=4096)
def _renewal_periods(schedule: Schedule, start: datetime, end: datetime) -> tuple[Period, tuple[Period, ...]]:
    """The period holding ``start``, and the periods that begin at a boundary in ``(start, end]``
    (customers on one schedule share them)."""
    first = schedule.period_containing(start)
    following: list[Period] = []
    boundary = first.end
    while boundary <= end:
        following.append(Period(boundary, schedule.next_boundary(boundary)))
        boundary = following[-1].end
    return first, tuple(following)


def settled_renewals(catalog: Catalog, customer_id: str, settled: Settled, start: datetime, end: datetime,
                     usage: UsageLookup) -> list[Draft] | None:
    """The drafts of the renewals a settled subscription issues in ``(start, end]``, exactly as
    :class:`Replay` writes them; None if the window reaches back before ``settled_from``.

    A renewal at ``b`` closing ``[a, b)`` holds, in the replay's order: the
    in-arrears fee of ``[a, b)`` (plans billed in arrears), the usage of
    ``[a, b)`` if any, the plan's minimum spend for ``[a, b)``, then the
    in-advance fee of ``[b, c)``. Every share is a whole period. A minimum
    reads what ``[a, b)`` was invoiced, which includes the in-advance fee of
    the renewal at ``a``: that renewal's fee comes first, as a draft of its
    own, and is returned too (price it, do not issue it: it is issued at
    ``a``, at or before ``start``).
    """
    first, renewals = _renewal_periods(settled.schedule, start, end)
    if first.start < settled.settled_from:
        return None
    holding = settled.holding
    plan = catalog.plans[holding.plan]
    in_advance = plan.billing_timing is BillingTiming.IN_ADVANCE
    drafts: list[Draft] = []
    period = first
    for following in renewals:
        closed, boundary = period.start, period.end
        if plan.minimum_spend is not None and in_advance and not drafts:
            opened = Draft(customer_id, closed, "renewal", period, None, holding.plan)
            opened.pieces.append(Placed(Recurring(holding, _WHOLE, closed, boundary, period), closed))
            drafts.append(opened)
        # NOTE: period_index only counts for discounts limited to N periods, which a settled subscription has none of
        draft = Draft(customer_id, boundary, "renewal", following, (closed, boundary), holding.plan,
                      discounts=settled.discounts, tax_percent=settled.tax_percent,
                      notes=[f"renewal invoice issued {iso_utc(boundary)}"])
        if not in_advance:
            draft.pieces.append(Placed(Recurring(holding, _WHOLE, closed, boundary, period, arrears=True), closed))
        metered = usage(period, boundary)
        if metered:
            draft.pieces.append(Placed(UsageCharge(holding, metered, closed, boundary, _WHOLE), closed))
        if plan.minimum_spend is not None:
            draft.pieces.append(Placed(Minimum(holding.plan, _WHOLE, closed, boundary, period), closed))
        if in_advance:
            draft.pieces.append(Placed(Recurring(holding, _WHOLE, boundary, following.end, following), boundary))
        drafts.append(draft)
        period = following
    return drafts
