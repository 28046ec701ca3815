"""Shadow billing: a live system's invoices compared line by line with the engine's, for one month.

The engine's side is :func:`pricing.billing.billing_run.bill_month` with ``write=False``:
every invoice the store's subscriptions issue in ``(start of month, start of next
month]``, priced by the one rating engine. The vendor's side is every invoice
the vendor issued in the same window (Stripe: its ``period_end``; Lago: its
``issuing_date``), its customer mapped to the store's customer id.

Lines are paired within a customer and currency by what they bill: the plan's
fee, a charge's usage (by metric), prorations, minimum true-ups, discounts and
tax. A vendor line names its price (Stripe) or charge (Lago); the catalog the
customer is billed on names the same ids in its ``source`` fields, which is how
a vendor line finds its metric. Each pair is **matched** (same amount),
**differing** (with the difference and the likely cause the engine can name)
or a line is **missing** on one side. The causes are found by asking the
engine, never by arithmetic of its own: the engine's exact amount rounded the
other way (rounding rule); the engine's price at the vendor's quantity (usage
differs); the vendor's unit amount against the catalog's (price differs); the
proration share under the other day counts (day count), or different service
dates (proration convention).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from pricing.engine.catalog import Catalog, DayCount, Interval, load_catalog
from pricing.errors import PricingError, ReportError
from pricing.engine.invoice import Invoice, Line, LineType
from pricing.engine.money import from_minor
from pricing.engine.formatting import format_minor, plain_number
from pricing.engine.periods import Period, add_months, month_period
from pricing.billing.proration import share
from pricing.engine.rating import RateOptions, rate_one
from pricing.interop import lago, stripe
from pricing.interop.common import InteropError
from pricing.interop.vendor_invoice import VendorInvoice, VendorLine

if TYPE_CHECKING:
    from pricing.metering.store import Store

MATCHED, DIFFERING = "matched", "differing"
MISSING_AT_VENDOR, MISSING_IN_ENGINE = "missing at vendor", "missing in engine"
STATUSES = (MATCHED, DIFFERING, MISSING_AT_VENDOR, MISSING_IN_ENGINE)

# What a line bills, on either side: the key lines are paired by (with the metric)
_ENGINE_CATEGORY = {
    LineType.RECURRING: "fee", LineType.ADDON: "fee", LineType.FEATURE: "fee", LineType.COMMITMENT: "fee",
    LineType.USAGE: "usage", LineType.PRORATION: "proration", LineType.CREDIT: "proration",
    LineType.MINIMUM: "minimum", LineType.DISCOUNT: "discount", LineType.TAX: "tax",
}
_VENDOR_CATEGORY = {"fee": "fee", "usage": "usage", "proration": "proration", "true_up": "minimum",
                    "commitment": "minimum", "discount": "discount", "tax": "tax", "other": "other"}


@dataclass(frozen=True)
class Row:
    """One line of the comparison: a pair of lines, or a line with no counterpart."""

    customer_id: str
    currency: str
    decimals: int
    status: str
    category: str
    metric: str | None
    vendor_invoice: str | None = None
    vendor_line: str | None = None
    vendor_text: str = ""
    vendor_minor: int | None = None
    engine_invoice: str | None = None
    engine_text: str = ""
    engine_minor: int | None = None
    cause: str = ""

    @property
    def difference_minor(self) -> int:
        """Vendor minus engine: positive when the vendor charged more."""
        return (self.vendor_minor or 0) - (self.engine_minor or 0)

    def to_json(self) -> dict[str, Any]:
        def money(minor: int | None) -> str | None:
            return None if minor is None else format_minor(minor, self.decimals)

        return {"customer_id": self.customer_id, "currency": self.currency, "status": self.status,
                "category": self.category, "metric": self.metric, "vendor_invoice": self.vendor_invoice,
                "vendor_line": self.vendor_line, "vendor_item": self.vendor_text,
                "vendor_amount": money(self.vendor_minor),
                "engine_invoice": self.engine_invoice, "engine_item": self.engine_text,
                "engine_amount": money(self.engine_minor), "difference": money(self.difference_minor),
                "cause": self.cause}


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    decimals: int
    counts: dict[str, int]
    vendor_minor: int
    engine_minor: int
    at_risk_minor: int  # sum of |difference| over every line not matched

    def to_json(self) -> dict[str, Any]:
        return {"currency": self.currency, **{k.replace(" ", "_"): v for k, v in self.counts.items()},
                "vendor_total": format_minor(self.vendor_minor, self.decimals),
                "engine_total": format_minor(self.engine_minor, self.decimals),
                "net_difference": format_minor(self.vendor_minor - self.engine_minor, self.decimals),
                "amount_at_risk": format_minor(self.at_risk_minor, self.decimals)}


@dataclass(frozen=True)
class Reconciliation:
    vendor: str
    month: str
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()
    vendor_invoices: int = 0
    engine_invoices: int = 0

    def differences(self) -> list[Row]:
        return [r for r in self.rows if r.status != MATCHED]

    def totals(self) -> list[CurrencyTotals]:
        out = []
        for currency in sorted({r.currency for r in self.rows}):
            rows = [r for r in self.rows if r.currency == currency]
            counts = {s: sum(1 for r in rows if r.status == s) for s in STATUSES}
            out.append(CurrencyTotals(
                currency, rows[0].decimals, counts, sum(r.vendor_minor or 0 for r in rows),
                sum(r.engine_minor or 0 for r in rows),
                sum(abs(r.difference_minor) for r in rows if r.status != MATCHED)))
        return out

    def to_json(self) -> dict[str, Any]:
        return {"vendor": self.vendor, "month": self.month, "vendor_invoices": self.vendor_invoices,
                "engine_invoices": self.engine_invoices, "notes": list(self.notes),
                "totals": [t.to_json() for t in self.totals()],
                "differences": [r.to_json() for r in self.differences()],
                "matched": [r.to_json() for r in self.rows if r.status == MATCHED]}

    def lines(self) -> list[str]:
        out = [f"{self.vendor} {self.month}: {self.vendor_invoices} vendor invoice(s), {self.engine_invoices} engine"
               f" invoice(s), {len(self.rows)} line(s) compared"]
        for t in self.totals():
            out.append(f"  {t.currency}: {t.counts[MATCHED]} matched, {t.counts[DIFFERING]} differing, "
                       f"{t.counts[MISSING_AT_VENDOR]} missing at the vendor, {t.counts[MISSING_IN_ENGINE]} missing in"
                       f" the engine; vendor {format_minor(t.vendor_minor, t.decimals)}, engine"
                       f" {format_minor(t.engine_minor, t.decimals)};"
                       f" at risk {format_minor(t.at_risk_minor, t.decimals)}")
        out.extend(f"  note: {n}" for n in self.notes)
        return out


# --- reading the vendor's file ----------------------------------------------------------------------------


def read_vendor_invoices(vendor: str, data: Any, origin: str) -> tuple[list[VendorInvoice], list[str]]:
    module = stripe if vendor == "stripe" else lago
    return module.read_invoices(data, origin)


def detect_vendor(data: Any) -> str | None:
    """``stripe`` for Stripe list objects, ``lago`` for Lago's ``{"invoices": ...}``; None when neither."""
    first = data[0] if isinstance(data, list) and data else data
    if isinstance(first, dict) and (first.get("object") in ("list", "invoice")):
        return "stripe"
    if isinstance(first, dict) and ("invoices" in first or "invoice" in first):
        return "lago"
    return None


# --- customers ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerKey:
    """Which vendor field holds the store's customer id: ``id`` (Stripe's customer id, Lago's
    external_id), ``email`` (the store's billing_email) or ``metadata:KEY``."""

    kind: str
    key: str = ""

    @classmethod
    def parse(cls, text: str) -> CustomerKey:
        if text in ("id", "email"):
            return cls(text)
        name, sep, key = text.partition(":")
        if name == "metadata" and sep and key.strip():
            return cls("metadata", key.strip())
        raise InteropError(f"--customer-key {text!r}: expected id, email or metadata:KEY")

    def resolve(self, invoice: VendorInvoice, by_email: Mapping[str, str]) -> str | None:
        if self.kind == "id":
            return invoice.customer.id
        if self.kind == "email":
            email = (invoice.customer.email or "").strip().lower()
            return by_email.get(email)
        return invoice.customer.metadata.get(self.key)

    def describe(self) -> str:
        return f"metadata {self.key!r}" if self.kind == "metadata" else self.kind


# --- what a vendor line bills, from the catalog's sources ---------------------------------------------------


@dataclass(frozen=True)
class _Target:
    category: str
    metric: str | None


def _source_index(catalog: Catalog, vendor: str) -> dict[str, _Target]:
    """Vendor object id -> what it bills, read from the ``source`` of each fee and charge."""
    out: dict[str, _Target] = {}
    pattern = stripe.PRICE_SOURCE if vendor == "stripe" else lago.CHARGE_SOURCE
    for plan in catalog.plans.values():
        if plan.recurring is not None and vendor == "stripe":
            found = pattern.match(plan.recurring.source)
            if found:
                out[found.group(1)] = _Target("fee", None)
        for charge in plan.charges:
            found = pattern.match(charge.source)
            if found:
                out[found.group(1)] = _Target("usage" if charge.kind == "usage" else "fee", charge.metric)
    return out


def _vendor_target(line: VendorLine, catalog: Catalog | None, index: Mapping[str, _Target],
                   vendor: str) -> tuple[_Target, str]:
    """Category and metric of a vendor line, and why it could not be placed (empty when it was)."""
    category = _VENDOR_CATEGORY[line.role]
    if category in ("discount", "tax"):
        return _Target(category, None), ""
    if line.role in ("fee", "commitment") and vendor == "lago":
        return _Target(category, None), ""
    found = index.get(line.price_ref or "")
    if found is not None:
        return _Target(category if category in ("proration", "minimum") else found.category, found.metric), ""
    metric = None
    if catalog is not None and line.code:
        metric = lago.metric_for_code(catalog, line.code) if vendor == "lago" else \
            (line.code if line.code in catalog.metrics else None)
    if metric is not None:
        return _Target(category, metric), ""
    if not line.price_ref and not line.code:
        return _Target("other", None), "a one-off line with no price: the catalog bills nothing like it"
    what = (f"price {line.price_ref}" if vendor == "stripe" and line.price_ref
            else f"charge {line.price_ref or line.code}")
    return _Target("other", line.price_ref or line.code), f"{what} is not in the customer's catalog"


# --- pairing ---------------------------------------------------------------------------------------------


def _pair(vendor_lines: list[tuple[VendorLine, str, str]], engine_lines: list[tuple[Line, str, str]]
          ) -> tuple[list[tuple[Any, Any]], list[Any], list[Any]]:
    """Pairs of (vendor, engine) entries: equal amounts first, then in order of sign and service start."""
    vendor_left = list(vendor_lines)
    engine_left = list(engine_lines)
    pairs: list[tuple[Any, Any]] = []
    for v in list(vendor_left):
        for e in engine_left:
            if e[0].amount_minor == v[0].amount_minor:
                pairs.append((v, e))
                vendor_left.remove(v)
                engine_left.remove(e)
                break

    def order(entry: Any) -> tuple[int, str]:
        line = entry[0]
        start = line.service_start.isoformat() if line.service_start else ""
        return (0 if line.amount_minor >= 0 else 1, start)

    vendor_left.sort(key=order)
    engine_left.sort(key=order)
    for sign in (0, 1):
        vs = [v for v in vendor_left if order(v)[0] == sign]
        es = [e for e in engine_left if order(e)[0] == sign]
        for v, e in zip(vs, es):
            pairs.append((v, e))
            vendor_left.remove(v)
            engine_left.remove(e)
    return pairs, vendor_left, engine_left


# --- causes ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """What cause-finding asks the engine with: the customer's catalog, plan and metered usage."""

    catalog: Catalog | None
    plan: str | None
    usage: Mapping[str, Any]


def _money(minor: int, decimals: int) -> str:
    return format_minor(minor, decimals)


def _rounding_cause(vendor_minor: int, line: Line, decimals: int) -> str | None:
    scaled = line.exact_amount.scaleb(decimals)
    down, up = math.floor(scaled), math.ceil(scaled)
    if vendor_minor in (down, up) and down != up:
        return (f"rounding rule: the exact amount is {plain_number(line.exact_amount)}; the engine rounds half up"
                f" to {_money(line.amount_minor, decimals)}, the vendor {_money(vendor_minor, decimals)}")
    return None


def _usage_cause(v: VendorLine, e: Line, ctx: _Context, decimals: int) -> str:
    metric = e.metric
    metered = ctx.usage.get(metric) if metric else None
    if ctx.catalog is None or ctx.plan is None or metric is None or v.quantity is None:
        return "amount differs (the vendor states no quantity to compare)"
    try:
        at_vendor = rate_one(ctx.catalog, ctx.plan, {metric: v.quantity},
                             RateOptions(charge_kinds=frozenset({"usage"}), include_recurring=False,
                                         include_minimum=False, include_plan_discounts=False))
    except PricingError:
        return f"amount differs; the vendor's quantity {plain_number(v.quantity)} cannot be rated by the catalog"
    engine_at_vendor = next((line.amount_minor for line in at_vendor.lines
                             if line.metric == metric and line.line_type is LineType.USAGE), None)
    store_text = f"the store metered {plain_number(Decimal(metered))}" if metered is not None else \
        "the store metered none"
    if engine_at_vendor == v.amount_minor:
        direction = "extra usage" if metered is None or v.quantity > Decimal(metered) else "missing usage"
        return (f"{direction}: the vendor billed {plain_number(v.quantity)} {metric}, {store_text}; at the vendor's"
                f" quantity the engine also charges {_money(v.amount_minor, decimals)}")
    if metered is not None and v.quantity == Decimal(metered):
        return _price_cause(v, e, ctx, decimals) or (
            f"price differs from the catalog: same quantity {plain_number(v.quantity)}, the catalog's price gives"
            f" {_money(e.amount_minor, decimals)}")
    return (f"usage and price differ: the vendor billed {plain_number(v.quantity)} {metric} ({store_text}), and at"
            f" that quantity the catalog gives {_money(engine_at_vendor or 0, decimals)}, not"
            f" {_money(v.amount_minor, decimals)}")


def _price_cause(v: VendorLine, e: Line, ctx: _Context, decimals: int) -> str | None:
    if v.unit_amount is not None and e.unit_price is not None and v.unit_amount != e.unit_price:
        return (f"price differs from the catalog: the vendor's unit amount is {plain_number(v.unit_amount)},"
                f" the catalog's {plain_number(e.unit_price)}")
    return None


def _period_of(catalog: Catalog, plan: str, end: datetime) -> Period:
    interval, count = catalog.billing_interval(plan)
    if interval is Interval.WEEK:
        return Period(end - timedelta(weeks=count), end)
    months = {Interval.MONTH: 1, Interval.QUARTER: 3, Interval.YEAR: 12}[interval] * count
    start = datetime.combine(add_months(end.date(), -months), end.timetz())
    return Period(start, end)


def _proration_cause(v: VendorLine, e: Line, ctx: _Context, decimals: int) -> str:
    if v.service_start and e.service_start and (v.service_start, v.service_end) != (e.service_start, e.service_end):
        return (f"proration convention: the vendor prorates {v.service_start:%Y-%m-%d %H:%M} .."
                f" {v.service_end:%Y-%m-%d %H:%M}, the engine {e.service_start:%Y-%m-%d %H:%M} .."
                f" {e.service_end:%Y-%m-%d %H:%M}")
    if ctx.catalog is not None and ctx.plan is not None and e.unit_price is not None and e.service_start \
            and e.service_end:
        full = Fraction(e.unit_price) * Fraction(e.quantity) * (1 if e.amount_minor >= 0 else -1)
        try:
            period = _period_of(ctx.catalog, ctx.plan, e.service_end)
        except (ValueError, PricingError):
            period = None
        for convention in DayCount:
            if period is None or convention is ctx.catalog.settings.day_count:
                continue
            part = share(e.service_start, e.service_end, period, convention)
            exact = full * part * 10**decimals
            rounded = int(exact + Fraction(1, 2)) if exact >= 0 else -int(-exact + Fraction(1, 2))
            if rounded == v.amount_minor:
                return (f"day count: the vendor's amount is the {convention.value} share ({part}) of the period,"
                        f" the catalog prorates by {ctx.catalog.settings.day_count.value}")
    return "proration convention differs (the same service dates, another share or basis)"


def _cause(category: str, v: VendorLine, e: Line, ctx: _Context, decimals: int) -> str:
    rounding = _rounding_cause(v.amount_minor, e, decimals)
    if rounding:
        return rounding
    if category == "usage":
        return _usage_cause(v, e, ctx, decimals)
    if category == "proration":
        return _proration_cause(v, e, ctx, decimals)
    if category == "fee":
        price = _price_cause(v, e, ctx, decimals)
        if price:
            return price
        if v.quantity is not None and v.quantity != e.quantity:
            return (f"quantity differs: the vendor billed {plain_number(v.quantity)},"
                    f" the engine {plain_number(e.quantity)}")
        return "price differs from the catalog (same quantity, another amount)"
    if category == "minimum":
        return "minimum true-up differs: it tops up the charges above it, which differ or are prorated otherwise"
    if category == "tax":
        return "tax differs: the vendor's tax rates against the customer's tax_percent"
    if category == "discount":
        return "discount differs: the vendor's coupons against the timeline's discounts"
    return "amount differs"


_MISSING_AT_VENDOR = {
    "usage": "usage the vendor did not bill", "fee": "a fee the vendor did not bill",
    "proration": "a proration the vendor did not bill (another proration convention, or the change is not in the"
                 " vendor's subscription)",
    "minimum": "a minimum true-up the vendor did not bill", "tax": "tax the vendor did not charge",
    "discount": "a discount the vendor did not give",
}


# --- the comparison ---------------------------------------------------------------------------------------


def _engine_text(line: Line) -> str:
    return f"{line.item} ({line.line_type.value})"


def reconcile(store: Store, month: str, vendor: str, invoices: Sequence[VendorInvoice],
              customer_key: CustomerKey, notes: Iterable[str] = ()) -> Reconciliation:
    """Compare the vendor's invoices of ``month`` with the engine's for the store's customers."""
    from pricing.billing.billing_run import bill_month  # the billing run imports the whole engine

    window = month_period(month, ReportError, "--month")
    start, end = window.start, window.end
    notes = list(notes)
    in_month = [i for i in invoices if start < i.issued_at <= end]
    outside = len(invoices) - len(in_month)
    if outside:
        notes.append(f"left out {outside} invoice(s) issued outside {month} (the month's invoices are issued in"
                     f" ({start:%Y-%m-%d}, {end:%Y-%m-%d}])")
    if not in_month:
        raise ReportError(f"no {vendor} invoice in the file is issued in {month} (of {len(invoices)} read);"
                          " check --month")
    run = bill_month(store, month, write=False)
    book = store.customers()
    catalog_of = dict(zip(book["customer_id"].astype(str), book["catalog"].astype(str)))
    emails = book["billing_email"] if "billing_email" in book else [None] * len(book)
    by_email = {str(e).strip().lower(): str(c) for c, e in zip(book["customer_id"], emails) if isinstance(e, str)}
    catalogs: dict[str, Catalog] = {}

    def catalog_for(customer_id: str) -> Catalog | None:
        ref = catalog_of.get(customer_id)
        if ref is None:
            return None
        if ref not in catalogs:
            catalogs[ref] = load_catalog(ref)
        return catalogs[ref]

    usage = store.customer_usage(month)
    usage_of = {str(row["customer_id"]): {k: row[k] for k in usage.columns if k not in ("customer_id", "catalog")
                                          and row[k] == row[k]} for _, row in usage.iterrows()}
    rows: list[Row] = []
    mapped = 0
    vendor_by_customer: dict[tuple[str, str], list[tuple[VendorInvoice, VendorLine]]] = defaultdict(list)
    for invoice in in_month:
        customer_id = customer_key.resolve(invoice, by_email)
        if customer_id is None or customer_id not in catalog_of:
            shown = customer_id or invoice.customer.id
            for line in invoice.lines:
                rows.append(Row(shown, invoice.currency, _decimals(invoice.currency), MISSING_IN_ENGINE, "other", None,
                                invoice.invoice_id, line.line_id, line.description, line.amount_minor,
                                cause=f"customer {shown!r} ({customer_key.describe()}) is not in the store"))
            continue
        mapped += 1
        for line in invoice.lines:
            vendor_by_customer[(customer_id, invoice.currency)].append((invoice, line))
    if not mapped:
        example = in_month[0].customer.id
        raise ReportError(f"none of the {len(in_month)} {vendor} invoice(s) of {month} belongs to a customer of the"
                          f" store by {customer_key.describe()} (e.g. {example!r}); map them with --customer-key")
    engine_by_customer: dict[tuple[str, str], list[tuple[Invoice, Line]]] = defaultdict(list)
    for engine_invoice in run.invoices:
        for engine_line in engine_invoice.lines:
            engine_by_customer[(str(engine_invoice.customer_id), engine_invoice.currency)].append(
                (engine_invoice, engine_line))
    for key in sorted(set(vendor_by_customer) | set(engine_by_customer)):
        customer_id, currency = key
        catalog = catalog_for(customer_id)
        index = _source_index(catalog, vendor) if catalog is not None else {}
        engine_entries = engine_by_customer.get(key, [])
        plan = engine_entries[-1][0].plan if engine_entries else None
        ctx = _Context(catalog, plan if catalog is not None and plan in (catalog.plans if catalog else {}) else None,
                       usage_of.get(customer_id, {}))
        decimals = _decimals(currency)
        groups_v: dict[tuple[str, str | None], list[tuple[VendorLine, str, str]]] = defaultdict(list)
        unplaced: dict[str, str] = {}
        for invoice, line in vendor_by_customer.get(key, []):
            target, why = _vendor_target(line, catalog, index, vendor)
            if why:
                unplaced[line.line_id] = why
            groups_v[(target.category, target.metric)].append((line, invoice.invoice_id, line.description))
        groups_e: dict[tuple[str, str | None], list[tuple[Line, str, str]]] = defaultdict(list)
        for engine_invoice, engine_line in engine_entries:
            category = _ENGINE_CATEGORY[engine_line.line_type]
            label = (f"{engine_invoice.plan} {engine_invoice.issued_at:%Y-%m-%d}" if engine_invoice.issued_at
                     else engine_invoice.plan)
            groups_e[(category, engine_line.metric if category not in ("discount", "tax") else None)].append(
                (engine_line, label, _engine_text(engine_line)))
        for group in sorted(set(groups_v) | set(groups_e), key=lambda g: (g[0], g[1] or "")):
            category, metric = group
            pairs, vendor_only, engine_only = _pair(groups_v.get(group, []), groups_e.get(group, []))
            for (v, v_invoice, v_text), (e, e_invoice, e_text) in pairs:
                same = v.amount_minor == e.amount_minor
                rows.append(Row(customer_id, currency, decimals, MATCHED if same else DIFFERING, category, metric,
                                v_invoice, v.line_id, v_text, v.amount_minor, e_invoice, e_text, e.amount_minor,
                                "" if same else _cause(category, v, e, ctx, decimals)))
            for v, v_invoice, v_text in vendor_only:
                status = MATCHED if v.amount_minor == 0 else MISSING_IN_ENGINE
                cause = "" if status == MATCHED else unplaced.get(v.line_id) or \
                    f"the engine bills no {category} line{f' for {metric}' if metric else ''} this month"
                rows.append(Row(customer_id, currency, decimals, status, category, metric, v_invoice, v.line_id,
                                v_text, v.amount_minor, cause=cause))
            for e, e_invoice, e_text in engine_only:
                status = MATCHED if e.amount_minor == 0 else MISSING_AT_VENDOR
                cause = "" if status == MATCHED else (
                    "no invoice from the vendor for this customer in the month" if key not in vendor_by_customer
                    else _MISSING_AT_VENDOR.get(category, "a line the vendor did not bill"))
                rows.append(Row(customer_id, currency, decimals, status, category, metric,
                                engine_invoice=e_invoice, engine_text=e_text, engine_minor=e.amount_minor, cause=cause))
    return Reconciliation(vendor, month, tuple(rows), tuple(notes), len(in_month), len(run.invoices))


def _decimals(currency: str) -> int:
    from pricing.engine.money import minor_unit_of

    try:
        return minor_unit_of(currency)
    except PricingError:
        raise InteropError(f"currency {currency!r} has no minor unit known to the workbench") from None


def amount(minor: int, decimals: int) -> Decimal:
    """An exact amount in currency units, for spreadsheets."""
    return from_minor(minor, decimals)


__all__ = ["DIFFERING", "MATCHED", "MISSING_AT_VENDOR", "MISSING_IN_ENGINE", "CurrencyTotals", "CustomerKey",
           "Reconciliation", "Row", "amount", "detect_vendor", "read_vendor_invoices", "reconcile"]
