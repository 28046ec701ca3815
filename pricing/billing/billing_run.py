"""Bill every customer in the store for one month.

What "the invoices of month M" are (the register finance closes M from):
every invoice a subscription issues in ``(start of M, start of M+1]``. For a
calendar-anchored subscription that is the invoice dated the 1st of M+1, which
bills M's usage in arrears (and, for plans billed in advance, M+1's fee), plus
any final invoice of a subscription that ended during M. The windows of
consecutive months never overlap, so every invoice lands in exactly one month.

Usage comes from the store, metered per calendar month (UTC). An invoice
closes a billing period; it bills the metered usage of the calendar month
holding the middle of that period. For calendar anchors that is exactly the
period's usage; for a subscription anchored on another day it is the nearest
calendar month (documented in docs/reports.md).

Prepaid customers (ledgers) are debited daily, not invoiced: their entry in
the register is a statement of the month's debits, one line per plan held,
with the balance at the month's end in the notes.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, UTC
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import pandas as pd

from pricing.billing.balances import Ledger, LedgerResult, daily_prices, parse_ledger, simulate_ledger
from pricing.engine.catalog import Catalog, Discount, Interval, load_catalog
from pricing.errors import PricingError, ReportError, SubscriptionError
from pricing.engine.invoice import Invoice, Line, LineType
from pricing.metering.meters import metered_metrics
from pricing.engine.formatting import format_minor
from pricing.engine.periods import Period, Schedule, month_bounds, month_name, month_period, previous_month
from pricing.billing.rating_segments import price_drafts
from pricing.billing.segments import Draft, Holding, drafts_needed
from pricing.billing.subscriptions import Ended, Settled, plan_invoices, settle, settled_renewals
from pricing.billing.timeline import Timeline, parse_timeline
from pricing.billing.replay import UsageLookup
from pricing.yaml_files import parse_yaml

if TYPE_CHECKING:
    from pricing.metering.store import IssueResult, Store


@dataclass(frozen=True)
class BillingRun:
    """The invoices of one month, in customer order."""

    month: str
    invoices: tuple[Invoice, ...]
    issued: IssueResult | None = None  # what issuing did, when the run was written

    def totals(self) -> dict[str, int]:
        """Gross total per currency, in minor units."""
        out: dict[str, int] = {}
        for invoice in self.invoices:
            out[invoice.currency] = out.get(invoice.currency, 0) + invoice.total_minor
        return out

    def lines(self) -> list[str]:
        decimals = {i.currency: i.decimals for i in self.invoices}
        totals = ", ".join(f"{c} {format_minor(v, decimals[c])}" for c, v in sorted(self.totals().items()))
        customers = len({i.customer_id for i in self.invoices})
        return [f"{self.month}: {len(self.invoices)} invoices for {customers} customers; gross {totals or 'nothing'}"]


def check_month(store: Store, month: str) -> None:
    """A one-line ReportError unless the store holds events of ``month``."""
    month_bounds(month, ReportError)
    months = store.months()
    if month not in months:
        known = f"{months[0]} to {months[-1]}" if months else "none: ingest events first"
        raise ReportError(f"month {month!r} has no events in {store.path} (months with events: {known})")


def _midpoint(start: datetime, end: datetime) -> datetime:
    return start + (end - start) / 2


def usage_by_month(store: Store, months: list[str]) -> dict[str, dict[str, dict[str, int]]]:
    """month -> customer_id -> metric -> metered value, for months that have events."""
    known = set(store.months())
    out: dict[str, dict[str, dict[str, int]]] = {}
    for month in months:
        if month not in known:
            continue
        frame = store.customer_usage(month)
        metrics = [c for c in frame.columns if c not in {"customer_id", "catalog"}]
        # NOTE: column lists, not iterrows: a row Series per customer cost a tenth of a month's run
        columns = [frame[m].astype("int64").tolist() for m in metrics]
        out[month] = {
            str(customer): dict(zip(metrics, values))
            for customer, *values in zip(frame["customer_id"].tolist(), *columns)
        }
    return out


def _catalog_usage(metrics: list[str], values: Mapping[str, int] | None) -> dict[str, int] | None:
    if values is None:
        return None
    return {m: int(values.get(m, 0)) for m in metrics}


def _usage_lookup(catalog: Catalog, customer_id: str,
                  usage: Mapping[str, Mapping[str, Mapping[str, int]]],
                  metrics: list[str] | None = None) -> UsageLookup:
    """Each closed billing period bills the usage of the calendar month holding its middle
    (``metrics``: the catalog's metered metrics, when the caller has them already)."""
    metered = metered_metrics(catalog) if metrics is None else metrics

    def lookup(period: Period, closed_at: datetime) -> Mapping[str, Any] | None:
        values = usage.get(month_name(_midpoint(period.start, period.end)), {}).get(customer_id)
        return _catalog_usage(metered, values)
    return lookup


def timeline_drafts(catalog: Catalog, timeline: Timeline, month: str,
                    usage: Mapping[str, Mapping[str, Mapping[str, int]]]) -> tuple[list[Draft], list[int]]:
    """The timeline's drafts up to the end of ``month``, and which of them are issued in
    ``(start of month, start of next month]``."""
    window = month_period(month, ReportError)
    start, end = window.start, window.end
    drafts = plan_invoices(catalog, timeline, end, _usage_lookup(catalog, timeline.customer_id, usage), since=start)
    return drafts, [i for i, d in enumerate(drafts) if start < d.issued_at <= end]


def settled_drafts(catalog: Catalog, customer_id: str, settled: Settled | Ended, month: str,
                   usage: Mapping[str, Mapping[str, Mapping[str, int]]],
                   metrics: list[str] | None = None) -> tuple[list[Draft], list[int]] | None:
    """:func:`timeline_drafts` for a subscription settled (or ended) before ``month``, None if it is
    not: its renewals from the settled state, without the timeline (``metrics``: the catalog's
    metered metrics, when the caller has them)."""
    window = month_period(month, ReportError)
    start, end = window.start, window.end
    if isinstance(settled, Ended):
        return ([], []) if settled.ended_at <= start else None  # its final invoice was issued before
    drafts = settled_renewals(catalog, customer_id, settled, start, end,
                              _usage_lookup(catalog, customer_id, usage, metrics))
    if drafts is None:
        return None
    return drafts, [i for i, d in enumerate(drafts) if start < d.issued_at]


def settled_invoices(catalog: Catalog, customer_id: str, settled: Settled | Ended, month: str,
                     usage: Mapping[str, Mapping[str, Mapping[str, int]]]) -> list[Invoice] | None:
    """The invoices a settled subscription issues in ``month``: :func:`timeline_invoices`'s, without
    the timeline (None if the subscription is not settled before ``month``)."""
    batch = settled_drafts(catalog, customer_id, settled, month, usage)
    return None if batch is None else _price_many(catalog, [batch])


def timeline_invoices(catalog: Catalog, timeline: Timeline, month: str,
                      usage: Mapping[str, Mapping[str, Mapping[str, int]]]) -> list[Invoice]:
    """The invoices ``timeline`` issues in ``(start of month, start of next month]``.

    ``usage`` is month -> customer -> metric -> value; each closed period gets
    the usage of the calendar month holding its middle.
    """
    return _price_many(catalog, [timeline_drafts(catalog, timeline, month, usage)])


def _price_many(catalog: Catalog, batches: list[tuple[list[Draft], list[int]]]) -> list[Invoice]:
    """Price the wanted drafts of many timelines of one catalog in one rating pass."""
    flat: list[Draft] = []
    positions: list[int] = []
    for drafts, wanted in batches:
        needed = drafts_needed(drafts, wanted)
        keep = set(wanted)
        for i in needed:
            if i in keep:
                positions.append(len(flat))
            flat.append(drafts[i])
    invoices = price_drafts(catalog, flat)
    return [inv for inv in (invoices[i] for i in positions) if inv is not None]


def prepaid_statement(catalog: Catalog, result: LedgerResult, month: str) -> Invoice | None:
    """The month's debits of a prepaid ledger as one statement (None if nothing happened in it)."""
    start, end = month_bounds(month, ReportError)
    runs = result.runs_between(start.date(), end.date() - timedelta(days=1))
    if not runs:
        return None
    lines: list[Line] = []
    for plan_id in dict.fromkeys(r.plan for r in runs):
        mine = [r for r in runs if r.plan == plan_id]
        debited = [r for r in mine if r.debit]
        amount = sum(r.debits for r in mine)
        if not debited and amount == 0:
            continue
        days = sum(r.days for r in debited)
        name = catalog.plans[plan_id].name if plan_id in catalog.plans else plan_id
        first, last = (debited[0].first, debited[-1].last) if debited else (mine[0].first, mine[-1].last)
        lines.append(Line(
            item=f"{name}: daily debits", line_type=LineType.RECURRING, quantity=Decimal(days),
            unit_price=None, amount_minor=amount, exact_amount=Decimal(amount).scaleb(-catalog.decimals),
            explanation=f"{days} day(s) debited from the prepaid balance, {first.isoformat()} to {last.isoformat()}",
            service_start=datetime.combine(first, datetime.min.time()),
            service_end=datetime.combine(last + timedelta(days=1), datetime.min.time()),
        ))
    closing = result.row(runs[-1], runs[-1].last)
    notes = [
        f"prepaid statement: debited from the balance; balance on {closing.day.isoformat()}"
        f" {format_minor(closing.balance, catalog.decimals)}"
        f" (credit limit {format_minor(closing.credit_limit, catalog.decimals)})",
    ]
    notes += [f"low-balance notice on {d.isoformat()}" for d in result.notices if start.date() <= d < end.date()]
    notes += [f"suspended on {d.isoformat()}" for d in result.suspensions if start.date() <= d < end.date()]
    return Invoice(
        catalog=catalog.id, plan=closing.plan, currency=catalog.currency, decimals=catalog.decimals,
        lines=tuple(lines), period_start=start, period_end=end, customer_id=result.customer_id,
        notes=tuple(notes), issued_at=end.replace(tzinfo=UTC),
    )


def load_timelines(store: Store) -> dict[str, Timeline]:
    out: dict[str, Timeline] = {}
    for customer_id, text in store.timelines().items():
        origin = f"timeline of {customer_id}"
        out[customer_id] = parse_timeline(parse_yaml(text, origin, SubscriptionError), origin)
    return out


def ledger_results(store: Store, month: str, runway: bool = True, catalogs: Mapping[str, Catalog] | None = None,
                   parsed: ParsedInputs | None = None) -> dict[str, LedgerResult]:
    """Every prepaid ledger simulated through the last day of ``month`` (ledgers starting later are left out).

    ``catalogs`` (id -> catalog) replaces catalogs loaded by id, e.g. with other settings.
    """
    given = dict(catalogs or {})
    _, end = month_bounds(month, ReportError)
    last_day = (end - timedelta(days=1)).date()
    ledgers: list[tuple[str, Ledger]] = []
    unreadable: SubscriptionError | None = None
    for customer_id, text in store.ledgers().items():
        origin = f"ledger of {customer_id}"
        key = ("ledger", customer_id, text)
        try:
            ledger = parsed[key] if parsed is not None and key in parsed else \
                parse_ledger(parse_yaml(text, origin, SubscriptionError), origin)
        except SubscriptionError as exc:
            unreadable = exc  # NOTE: raised after the ledgers before it, the order errors came in one by one
            break
        if parsed is not None:
            parsed[key] = ledger
        if ledger.start <= last_day:
            ledgers.append((customer_id, ledger))
    catalogs = {}
    for catalog_id in dict.fromkeys(ledger.catalog for _, ledger in ledgers):
        try:
            catalogs[catalog_id] = given[catalog_id] if catalog_id in given else load_catalog(catalog_id)
        except PricingError:
            pass  # loaded again below, failing in its ledger's turn
    # every holding of every ledger of a catalog rated in one pass
    prices = {catalog_id: daily_prices(catalog, [led for _, led in ledgers if led.catalog == catalog_id])
              for catalog_id, catalog in catalogs.items() if catalog.prepaid is not None}
    out: dict[str, LedgerResult] = {}
    for customer_id, ledger in ledgers:
        catalog = catalogs.get(ledger.catalog) or load_catalog(ledger.catalog)
        out[customer_id] = simulate_ledger(catalog, ledger, last_day, runway, prices.get(ledger.catalog))
    if unreadable is not None:
        raise unreadable
    return out


def check_book(store: Store, timelines: Mapping[str, Timeline]) -> None:
    """Every customer of the book is billed by a subscription or a prepaid ledger on their own
    catalog; otherwise one line naming them, before anything is billed or written."""
    _check_subscribed(store, {customer_id: t.catalog for customer_id, t in timelines.items()})


def _check_subscribed(store: Store, catalog_of: Mapping[str, str]) -> None:
    """:func:`check_book` for subscriptions known by their catalog alone (``customer_id -> catalog``)."""
    booked_on = store.customer_catalogs()
    ledgers = store.ledger_ids()
    unbilled = sorted(c for c in booked_on if c not in catalog_of and c not in ledgers)
    if unbilled:
        shown = ", ".join(unbilled[:5]) + (f" and {len(unbilled) - 5} more" if len(unbilled) > 5 else "")
        raise ReportError(f"{len(unbilled)} customer(s) without a subscription or prepaid ledger: {shown}"
                          " (import their subscriptions: pricing customers import)")
    for customer_id, catalog_id in catalog_of.items():
        booked = booked_on.get(customer_id)
        if booked is None:
            raise ReportError(f"customer {customer_id}: a subscription but no row in the customer book")
        if booked != catalog_id:
            raise ReportError(f"customer {customer_id}: metered on catalog {booked!r} in the customer book,"
                              f" subscribed on catalog {catalog_id!r}")


# --- the settled-subscription cache ---------------------------------------------------

# Bump when what a cached settled state means changes (the replay's rules, the row's fields):
# every cached row then differs in its catalog fingerprint and is settled again.
SETTLED_FORMAT = 1


# Settings the replay reads only to price or to prorate, never to decide what is held when:
# a settled state stays valid under any of their values (pricing.analysis.policies varies them).
_PRICING_ONLY_SETTINGS = frozenset({"rounding", "rounding_scope", "tier_bounds", "package_rounding",
                                    "credit_basis", "day_count", "bill_termination_day"})


def catalog_fingerprint(catalog: Catalog) -> str:
    """A digest of the catalog's content but its pricing-only settings: a cached settled state is
    valid for this content only."""
    content = catalog.model_dump(mode="json")
    content["settings"] = {k: v for k, v in content["settings"].items() if k not in _PRICING_ONLY_SETTINGS}
    text = json.dumps(content, sort_keys=True)
    return hashlib.sha256(f"settled {SETTLED_FORMAT}\n{text}".encode()).hexdigest()


def _settled_row(customer_id: str, sha: str, catalog: Catalog, fingerprint: str,
                 settled: Settled | Ended | None) -> dict[str, Any]:
    row: dict[str, Any] = {"customer_id": customer_id, "timeline_sha": sha, "catalog": catalog.id,
                           "catalog_fingerprint": fingerprint}
    if settled is None:
        return row
    if isinstance(settled, Ended):
        return row | {"ended_at": settled.ended_at.replace(tzinfo=None)}
    schedule = settled.schedule
    return row | {
        "settled_from": settled.settled_from.replace(tzinfo=None), "plan": settled.holding.plan,
        "billing_details": settled.holding.billing_details,
        "quantities": json.dumps({name: str(value) for name, value in settled.holding.quantities}),
        "interval": schedule.interval.value, "anchor_day": schedule.day, "anchor_month": schedule.month,
        "interval_count": schedule.count, "anchor_time": schedule.at.isoformat(), "week_of": schedule.week_of,
        "discounts": json.dumps([d.model_dump(mode="json", exclude_none=True) for d in settled.discounts]),
        "tax_percent": None if settled.tax_percent is None else str(settled.tax_percent),
    }


def _settled_of(row: Any) -> Settled | Ended | None:
    """A cached row (an itertuples record) back as the state :func:`settle` returned."""
    if row.ended_at is not None:
        return Ended(row.ended_at.replace(tzinfo=UTC))
    if row.settled_from is None:
        return None
    week_of = row.week_of.date() if isinstance(row.week_of, datetime) else row.week_of
    tax = row.tax_percent
    return Settled(
        row.settled_from.replace(tzinfo=UTC),
        _holding(row.plan, row.quantities, bool(row.billing_details)),
        _schedule(row.interval, int(row.anchor_day), int(row.anchor_month), int(row.interval_count), row.anchor_time,
                  week_of),
        _discounts(row.discounts), None if tax is None else Decimal(tax),
    )


# NOTE: most customers share a schedule, discounts and often a holding: each is read once per run
@lru_cache(maxsize=65536)
def _holding(plan: str, quantities: str, billing_details: bool) -> Holding:
    return Holding.of(plan, {name: Decimal(value) for name, value in json.loads(quantities).items()}, billing_details)


@lru_cache(maxsize=1024)
def _schedule(interval: str, day: int, month: int, count: int, at: str, week_of: date) -> Schedule:
    return Schedule(Interval(interval), day, month, count, time.fromisoformat(at), week_of)


@lru_cache(maxsize=1024)
def _discounts(text: str) -> tuple[Discount, ...]:
    return tuple(Discount.model_validate(d) for d in json.loads(text))


@dataclass
class _Subscriptions:
    """What a month's run knows of each subscription: its catalog, its settled state if it has one,
    and the parsed timeline where it had to be read."""

    catalog_of: dict[str, str]
    settled: dict[str, Settled | Ended]
    parsed: dict[str, Timeline]


ParsedInputs = dict[tuple[str, str, str], Any]
"""Timelines and ledgers already parsed, by (kind, customer, text): several runs over one store
(:mod:`pricing.analysis.policies`) read each once."""


def _parse(customer_id: str, text: str, parsed: ParsedInputs | None = None) -> Timeline:
    key = ("timeline", customer_id, text)
    if parsed is not None and key in parsed:
        return parsed[key]
    origin = f"timeline of {customer_id}"
    timeline = parse_timeline(parse_yaml(text, origin, SubscriptionError), origin)
    if parsed is not None:
        parsed[key] = timeline
    return timeline


def _subscriptions(store: Store, catalog: Callable[[str], Catalog], remember: bool,
                   parsed: ParsedInputs | None = None) -> _Subscriptions:
    """Every stored subscription: settled states from the cache where its row is current, else the
    timeline parsed and settled (and, with ``remember``, the cache row written)."""
    shas = store.timeline_shas()
    fingerprints: dict[str, str] = {}

    def fingerprint(catalog_id: str) -> str:
        if catalog_id not in fingerprints:
            fingerprints[catalog_id] = catalog_fingerprint(catalog(catalog_id))
        return fingerprints[catalog_id]

    known = _Subscriptions({}, {}, {})
    cached = store.settled_subscriptions()
    for row in cached.itertuples(index=False):
        customer_id, catalog_id = str(row.customer_id), str(row.catalog)
        if shas.get(customer_id) != row.timeline_sha:
            continue
        try:
            if row.catalog_fingerprint != fingerprint(catalog_id):
                continue
        except PricingError:
            continue  # the catalog is gone: read the timeline again, the replay reports it
        known.catalog_of[customer_id] = catalog_id
        settled = _settled_of(row)
        if settled is not None:
            known.settled[customer_id] = settled
    stale = [c for c in shas if c not in known.catalog_of]
    rows = []
    for customer_id, text in store.timelines_of(stale).items():
        timeline = _parse(customer_id, text, parsed)
        known.parsed[customer_id] = timeline
        known.catalog_of[customer_id] = timeline.catalog
        try:
            its_catalog, digest = catalog(timeline.catalog), fingerprint(timeline.catalog)
        except PricingError:
            continue  # an unknown catalog: the book check or the replay names the customer
        settled = settle(its_catalog, timeline)
        if settled is not None:
            known.settled[customer_id] = settled
        rows.append(_settled_row(customer_id, shas[customer_id], its_catalog, digest, settled))
    if remember and rows and not store.read_only:
        store.save_settled(pd.DataFrame(rows))
    return known


class _Catalogs(dict[str, Catalog]):
    """The catalogs of one run, each loaded once (every customer used to load its own)."""

    def __missing__(self, catalog_id: str) -> Catalog:
        self[catalog_id] = load_catalog(catalog_id)
        return self[catalog_id]

    def __call__(self, catalog_id: str) -> Catalog:
        return self[catalog_id]


_Batches = dict[str, list[tuple[list[Draft], list[int]]]]


def _settled_batches(known: _Subscriptions, month: str, usage: Mapping[str, Mapping[str, Mapping[str, int]]],
                     catalogs: _Catalogs) -> tuple[_Batches, list[str]]:
    """The drafts of every subscription settled before ``month``, per catalog, and the customers
    that need the full replay."""
    batches: _Batches = {}
    metered: dict[str, list[str]] = {}
    replayed: list[str] = []
    for customer_id, catalog_id in known.catalog_of.items():
        settled = known.settled.get(customer_id)
        if settled is None:
            replayed.append(customer_id)
            continue
        if catalog_id not in metered:
            metered[catalog_id] = metered_metrics(catalogs[catalog_id])
        batch = settled_drafts(catalogs[catalog_id], customer_id, settled, month, usage, metered[catalog_id])
        if batch is None:
            replayed.append(customer_id)
        else:
            batches.setdefault(catalog_id, []).append(batch)
    return batches, replayed


def _replayed_batches(store: Store, known: _Subscriptions, replayed: list[str], month: str,
                      usage: Mapping[str, Mapping[str, Mapping[str, int]]], catalogs: _Catalogs,
                      batches: _Batches, parsed: ParsedInputs | None = None) -> None:
    """Add the drafts of the ``replayed`` customers, their timelines read and replayed."""
    unread = [c for c in replayed if c not in known.parsed]
    known.parsed.update((c, _parse(c, text, parsed)) for c, text in store.timelines_of(unread).items())
    for customer_id in replayed:
        timeline = known.parsed[customer_id]
        catalog = catalogs[timeline.catalog]
        try:
            batches.setdefault(catalog.id, []).append(timeline_drafts(catalog, timeline, month, usage))
        except PricingError as exc:
            raise ReportError(f"customer {customer_id}: {exc}") from None


def _statements(store: Store, month: str, catalogs: _Catalogs, parsed: ParsedInputs | None = None) -> list[Invoice]:
    statements = []
    for result in ledger_results(store, month, runway=False, catalogs=catalogs, parsed=parsed).values():
        statement = prepaid_statement(catalogs[result.catalog], result, month)
        if statement is not None:
            statements.append(statement)
    return statements


def _in_order(invoices: list[Invoice]) -> list[Invoice]:
    return sorted(invoices, key=lambda i: (i.customer_id or "", str(i.issued_at or ""), str(i.period_start or "")))


def bill_month(store: Store, month: str, *, write: bool = True, prefix: str = "INV-",
               catalogs: Mapping[str, Catalog] | None = None, parsed: ParsedInputs | None = None) -> BillingRun:
    """Bill every customer of the store for ``month``, issue the invoices not issued before
    (numbered with ``prefix``; issued invoices are final) and return the month's invoices.

    ``catalogs`` (id -> catalog) replaces catalogs loaded by id: the same month under other
    settings (:mod:`pricing.analysis.policies`; pass ``write=False`` then). ``parsed``, a dict the caller
    keeps between runs over the same store, holds the timelines and ledgers parsed so far.

    Subscriptions settled before the month (:func:`pricing.billing.subscriptions.settle`, cached in the
    store) are billed from their settled state without reading their timeline; the others are
    replayed. Both give the same drafts, priced by the same engine.
    """
    check_month(store, month)
    with _collector_paused():
        return _bill_month(store, month, write, prefix, catalogs or {}, parsed)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a run, then as it was.

    NOTE: a run makes hundreds of thousands of long-lived objects (lines, invoices) and no
    reference cycles; the collector rescanned them over and over (a fifth of a warm run's CPU).
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _bill_month(store: Store, month: str, write: bool, prefix: str, given: Mapping[str, Catalog],
                parsed: ParsedInputs | None) -> BillingRun:
    catalogs = _Catalogs(given)
    known = _subscriptions(store, catalogs, remember=write, parsed=parsed)
    _check_subscribed(store, known.catalog_of)
    usage = usage_by_month(store, [previous_month(month), month])
    batches, replayed = _settled_batches(known, month, usage, catalogs)
    _replayed_batches(store, known, replayed, month, usage, catalogs, batches, parsed)
    invoices = [invoice for catalog_id, batch in batches.items()
                for invoice in _price_many(catalogs[catalog_id], batch)]
    invoices = _in_order(invoices + _statements(store, month, catalogs, parsed))
    issued = store.issue_invoices(month, invoices, prefix) if write else None
    return BillingRun(month, tuple(invoices), issued)


__all__ = [
    "SETTLED_FORMAT", "BillingRun", "bill_month", "catalog_fingerprint", "check_book", "check_month",
    "ledger_results", "load_timelines", "prepaid_statement", "settled_drafts", "settled_invoices",
    "timeline_drafts", "timeline_invoices", "usage_by_month",
]
