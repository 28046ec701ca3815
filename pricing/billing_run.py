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

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .balances import Ledger, LedgerResult, parse_ledger, daily_prices, simulate_ledger
from .catalog import Catalog, load_catalog
from .errors import PricingError, ReportError, SubscriptionError
from .invoice import Invoice, Line, LineType
from .metering import month_bounds, metered_metrics
from .money import format_minor
from .periods import Period, month_name, shift_month
from .rating_segments import price_drafts
from .segments import Draft, drafts_needed
from .subscriptions import Timeline, UsageLookup, parse_timeline, plan_invoices
from .yaml_files import parse_yaml

if TYPE_CHECKING:
    from .store import IssueResult, Store


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
    try:
        month_bounds(month)
    except PricingError as exc:
        raise ReportError(str(exc)) from None
    months = store.months()
    if month not in months:
        known = f"{months[0]} to {months[-1]}" if months else "none: ingest events first"
        raise ReportError(f"month {month!r} has no events in {store.path} (months with events: {known})")


def month_of(moment: datetime) -> str:
    return month_name(moment)


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
        out[month] = {
            str(row["customer_id"]): {m: int(row[m]) for m in metrics} for _, row in frame.iterrows()
        }
    return out


def _catalog_usage(catalog: Catalog, values: Mapping[str, int] | None) -> dict[str, int] | None:
    if values is None:
        return None
    return {m: int(values.get(m, 0)) for m in metered_metrics(catalog)}


def _usage_lookup(catalog: Catalog, customer_id: str,
                  usage: Mapping[str, Mapping[str, Mapping[str, int]]]) -> UsageLookup:
    """Each closed billing period bills the usage of the calendar month holding its middle."""
    def lookup(period: Period, closed_at: datetime) -> Mapping[str, Any] | None:
        values = usage.get(month_of(_midpoint(period.start, period.end)), {}).get(customer_id)
        return _catalog_usage(catalog, values)
    return lookup


def timeline_drafts(catalog: Catalog, timeline: Timeline, month: str,
                    usage: Mapping[str, Mapping[str, Mapping[str, int]]]) -> tuple[list[Draft], list[int]]:
    """The timeline's drafts up to the end of ``month``, and which of them are issued in
    ``(start of month, start of next month]``."""
    start, end = (moment.replace(tzinfo=timezone.utc) for moment in month_bounds(month))
    drafts = plan_invoices(catalog, timeline, end, _usage_lookup(catalog, timeline.customer_id, usage), since=start)
    return drafts, [i for i, d in enumerate(drafts) if start < d.issued_at <= end]


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
    start, end = month_bounds(month)
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
        f" {format_minor(closing.balance, catalog.decimals)} (credit limit {format_minor(closing.credit_limit, catalog.decimals)})",
    ]
    notes += [f"low-balance notice on {d.isoformat()}" for d in result.notices if start.date() <= d < end.date()]
    notes += [f"suspended on {d.isoformat()}" for d in result.suspensions if start.date() <= d < end.date()]
    return Invoice(
        catalog=catalog.id, plan=closing.plan, currency=catalog.currency, decimals=catalog.decimals,
        lines=tuple(lines), period_start=start, period_end=end, customer_id=result.customer_id,
        notes=tuple(notes), issued_at=end.replace(tzinfo=timezone.utc),
    )


def load_timelines(store: Store) -> dict[str, Timeline]:
    out: dict[str, Timeline] = {}
    for customer_id, text in store.timelines().items():
        origin = f"timeline of {customer_id}"
        out[customer_id] = parse_timeline(parse_yaml(text, origin, SubscriptionError), origin)
    return out


def ledger_results(store: Store, month: str, runway: bool = True) -> dict[str, LedgerResult]:
    """Every prepaid ledger simulated through the last day of ``month`` (ledgers starting later are left out)."""
    _, end = month_bounds(month)
    last_day = (end - timedelta(days=1)).date()
    ledgers: list[tuple[str, Ledger]] = []
    unreadable: SubscriptionError | None = None
    for customer_id, text in store.ledgers().items():
        origin = f"ledger of {customer_id}"
        try:
            ledger = parse_ledger(parse_yaml(text, origin, SubscriptionError), origin)
        except SubscriptionError as exc:
            unreadable = exc  # NOTE: raised after the ledgers before it, the order errors came in one by one
            break
        if ledger.start <= last_day:
            ledgers.append((customer_id, ledger))
    catalogs: dict[str, Catalog] = {}
    for catalog_id in dict.fromkeys(ledger.catalog for _, ledger in ledgers):
        try:
            catalogs[catalog_id] = load_catalog(catalog_id)
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


def previous_month(month: str) -> str:
    start, _ = month_bounds(month)
    return shift_month(start.date(), -1)


def check_book(store: Store, timelines: Mapping[str, Timeline]) -> None:
    """Every customer of the book is billed by a subscription or a prepaid ledger on their own
    catalog; otherwise one line naming them, before anything is billed or written."""
    book = store.customers()
    ledgers = set(store.ledgers())
    catalog_of = dict(zip(book["customer_id"], book["catalog"]))
    unbilled = sorted(c for c in catalog_of if c not in timelines and c not in ledgers)
    if unbilled:
        shown = ", ".join(unbilled[:5]) + (f" and {len(unbilled) - 5} more" if len(unbilled) > 5 else "")
        raise ReportError(f"{len(unbilled)} customer(s) without a subscription or prepaid ledger: {shown}"
                          " (import their subscriptions: pricing customers import)")
    for customer_id, timeline in timelines.items():
        booked = catalog_of.get(customer_id)
        if booked is None:
            raise ReportError(f"customer {customer_id}: a subscription but no row in the customer book")
        if booked != timeline.catalog:
            raise ReportError(f"customer {customer_id}: metered on catalog {booked!r} in the customer book,"
                              f" subscribed on catalog {timeline.catalog!r}")


def bill_month(store: Store, month: str, *, write: bool = True, prefix: str = "INV-") -> BillingRun:
    """Bill every customer of the store for ``month``, issue the invoices not issued before
    (numbered with ``prefix``; issued invoices are final) and return the month's invoices."""
    check_month(store, month)
    timelines = load_timelines(store)
    check_book(store, timelines)
    before = previous_month(month)
    usage = usage_by_month(store, [before, month])
    catalogs: dict[str, Catalog] = {}
    invoices: list[Invoice] = []
    batches: dict[str, list[tuple[list[Draft], list[int]]]] = {}
    for customer_id, timeline in timelines.items():
        catalog = catalogs.setdefault(timeline.catalog, load_catalog(timeline.catalog))
        try:
            batches.setdefault(catalog.id, []).append(timeline_drafts(catalog, timeline, month, usage))
        except PricingError as exc:
            raise ReportError(f"customer {customer_id}: {exc}") from None
    for catalog_id, batch in batches.items():
        invoices.extend(_price_many(catalogs[catalog_id], batch))
    for customer_id, result in ledger_results(store, month, runway=False).items():
        catalog = catalogs.setdefault(result.catalog, load_catalog(result.catalog))
        statement = prepaid_statement(catalog, result, month)
        if statement is not None:
            invoices.append(statement)
    invoices.sort(key=lambda i: (i.customer_id or "", str(i.issued_at or ""), str(i.period_start or "")))
    issued = store.issue_invoices(month, invoices, prefix) if write else None
    return BillingRun(month, tuple(invoices), issued)


__all__ = [
    "BillingRun", "bill_month", "check_book", "check_month", "ledger_results", "load_timelines", "prepaid_statement",
    "previous_month", "timeline_drafts", "timeline_invoices", "usage_by_month",
]
