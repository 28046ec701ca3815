"""A sales quote: one plan's monthly lines for a prospect's expected usage, the term total and a
validity date, from a seller, as an HTML page (and a PDF when a browser is at hand).

The amounts come from :func:`pricing.engine.rating.rate` (one row, one plan); the
term total is the exact monthly total times the term, because a quote assumes
the usage given each month. Every text from outside (the prospect's name,
the seller file, catalog notes) is HTML-escaped by the page's template
(``templates/quote.html.j2``, :mod:`pricing.reporting.html_pages`).

What the prospect sees and what stays inside, as on invoices
(:mod:`pricing.reporting.invoice_document`):

* the seller block (name, address, tax id, contact) and the quote number from
  the seller file the invoices use (:func:`pricing.reporting.invoice_document.load_seller`;
  its ``quote_prefix``, default ``Q-``). Without a seller file the seller block
  names the catalog's vendor and amounts use ``en_US``;
* amounts formatted for the currency and the seller's locale by Babel, with the
  invoices' formatter (:class:`pricing.engine.formatting.LocaleFormat`); tax (``tax_percent``) as its own line;
* only the plans on the public price list: hidden plans are quoted or compared
  only with ``include_hidden``;
* the catalog's sources, its ``assumption:`` notes and the rating engine's
  explanations only in an internal appendix, with ``internal=True``.

PDF: printed by :func:`pricing.reporting.pdf.print_pdf` (Debian's chromium) when
``/usr/bin/chromium`` (or ``$PRICING_CHROMIUM``) exists; otherwise skipped
with a note, because no browser may be downloaded here.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pricing.engine.catalog import Catalog, Discount, load_catalog
from pricing.analysis.comparison import compare
from pricing.errors import ReportError
from pricing.engine.formatting import LocaleFormat
from pricing.engine.invoice import Invoice, Line, LineType
from pricing.files import atomic_write_text
from pricing.reporting.html_pages import render_page
from pricing.reporting.invoice_document import Seller, line_details
from pricing.reporting.pdf import find_chromium, print_pdf
from pricing.engine.rating import RateOptions

VALID_DAYS = 30
MAX_TERM_MONTHS = 60
DEFAULT_LOCALE = "en_US"
DEFAULT_QUOTE_PREFIX = "Q-"


@dataclass(frozen=True)
class Quote:
    prospect: str
    catalog: Catalog
    usage: dict[str, str]
    invoice: Invoice  # one month, discount and tax applied
    term_months: int
    discount_percent: Decimal | None
    issued: date
    valid_until: date
    alternatives: tuple[tuple[str, int, bool], ...]  # (plan, monthly total, eligible) of every plan shown
    seller: Seller | None = None  # None: the catalog's vendor, en_US
    number: str = ""
    tax_percent: Decimal | None = None
    include_hidden: bool = False

    @property
    def monthly_minor(self) -> int:
        return self.invoice.total_minor

    @property
    def term_total_minor(self) -> int:
        return self.invoice.total_minor * self.term_months

    @property
    def locale(self) -> str:
        return self.seller.locale if self.seller is not None else DEFAULT_LOCALE

    @property
    def format(self) -> LocaleFormat:
        """The invoice documents' formatter for this quote's currency and the seller's locale."""
        return LocaleFormat(self.locale, self.catalog.currency, self.catalog.decimals)

    def money(self, minor: int) -> str:
        """An amount for the prospect: currency and locale (``€1,250.00``; ``€ 1.250,00`` in nl_NL)."""
        return self.format.money(minor)

    def basis(self) -> list[str]:
        """What the numbers rest on, for the prospect: usage, term, tax, price list version."""
        catalog = self.catalog
        fmt = self.format
        usage = ", ".join(f"{catalog.metrics[m].name} {_quantity(fmt, v)}" for m, v in self.usage.items()) \
            or "none given"
        has_tax = any(line.line_type is LineType.TAX for line in self.invoice.lines)
        out = [
            f"Usage expected every month: {usage}.",
            f"Term of {self.term_months} month{'s' if self.term_months != 1 else ''}; the term total is "
            f"{self.term_months} x the monthly total at this usage. Usage beyond it is billed at the prices shown.",
            f"Prices from the {catalog.name} price list, version {catalog.version}, in {catalog.currency}.",
            f"Tax of {self.tax_percent}% is shown as its own line." if has_tax
            else "Amounts exclude tax.",
        ]
        if self.discount_percent:
            out.append(f"A negotiated discount of {self.discount_percent}% applies to every month of the term.")
        return out

    def internal_notes(self) -> list[str]:
        """For the seller only: the catalog's sources, the plan's ``assumption:`` notes, how each line was rated."""
        catalog = self.catalog
        out = [f"Source {key}: {note}" for key, note in catalog.sources.items()]
        plan = catalog.plans[self.invoice.plan]
        notes = []
        for charge in plan.charges:
            for source in (charge.source, charge.included.source if charge.included else None,
                           charge.commitment.source if charge.commitment else None):
                if source and source.startswith("assumption:") and source not in notes:
                    notes.append(source)
        for fee in (plan.recurring, plan.minimum_spend):
            if fee is not None and fee.source.startswith("assumption:") and fee.source not in notes:
                notes.append(fee.source)
        out += [f"Assumption: {n.removeprefix('assumption:').strip()}" for n in notes]
        out += [f"{line.item}: {line.explanation}" for line in self.invoice.lines if line.explanation]
        return out

    def shown_lines(self) -> list[Line]:
        """The lines the prospect sees: a usage line of a metric they gave no usage for, at zero, is left out."""
        return [line for line in self.invoice.lines
                if not (line.line_type is LineType.USAGE and line.amount_minor == 0 and line.metric is not None
                        and line.metric not in self.usage)]


def _quantity(fmt: LocaleFormat, text: str) -> str:
    try:
        return fmt.quantity(Decimal(text))
    except (InvalidOperation, ValueError):
        return text


def quote_number(prefix: str, issued: date, key: Mapping[str, Any]) -> str:
    """``<prefix><YYYYMMDD>-<6 hex>``: the same quote on the same day keeps its number."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:6]
    return f"{prefix}{issued:%Y%m%d}-{digest.upper()}"


def _parse_usage(catalog: Catalog, usage: Mapping[str, Any]) -> dict[str, str]:
    unknown = [k for k in usage if k not in catalog.metrics]
    if unknown:
        raise ReportError(f"usage names unknown metric {unknown[0]!r} for catalog {catalog.id!r}"
                          f" (metrics: {', '.join(catalog.metrics)})")
    return {k: str(v).strip() for k, v in usage.items()}


def build_quote(prospect: str, catalog: str | Catalog, usage: Mapping[str, Any], plan: str | None = None,
                term_months: int = 12, discount_percent: Decimal | str | None = None,
                issued: date | None = None, *, tax_percent: Decimal | str | None = None,
                include_hidden: bool = False, seller: Seller | None = None) -> Quote:
    """Rate the prospect's usage; ``plan`` None picks the cheapest eligible plan on the price list.

    Hidden plans are left out (of the choice and of the comparison) unless ``include_hidden``;
    naming a hidden plan without it is an error.
    """
    if not prospect or not str(prospect).strip():
        raise ReportError("prospect: give the prospect's name")
    if not isinstance(term_months, int) or not 1 <= term_months <= MAX_TERM_MONTHS:
        raise ReportError(f"term: must be a whole number of months from 1 to {MAX_TERM_MONTHS}, got {term_months!r}")
    if seller is not None and not isinstance(seller, Seller):
        raise ReportError("seller: expected a Seller (load_seller reads the seller file)")
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    discount = _discount(discount_percent)
    tax = _percent(tax_percent, "tax")
    parsed = _parse_usage(cat, usage)
    options = RateOptions(discounts=(Discount(percent=discount, name=f"Negotiated discount {discount}%"),)
                          if discount else (), tax_percent=tax)
    if plan:
        cat.plan(plan)  # one-line CatalogError for an unknown plan
        if cat.plans[plan].hidden and not include_hidden:
            raise ReportError(f"plan {plan!r} is hidden (not on the public price list); "
                              "quote it with --include-hidden")
    shown = [p for p, spec in cat.plans.items() if include_hidden or not spec.hidden]
    comparison = compare(cat, parsed, shown, options=options)
    if plan:
        invoice = next(inv for inv in comparison.invoices if inv.plan == plan)
        if not invoice.eligible:
            raise ReportError(f"plan {plan!r} cannot be quoted for this usage: {invoice.reason}")
    else:
        cheapest = comparison.cheapest
        if cheapest is None:
            raise ReportError(f"no plan of catalog {cat.id!r} is eligible for this usage")
        invoice = cheapest
    today = issued or date.today()
    alternatives = tuple((inv.plan, inv.total_minor, inv.eligible) for inv in comparison.invoices)
    prefix = seller.quote_prefix if seller is not None else DEFAULT_QUOTE_PREFIX
    number = quote_number(prefix, today, {
        "prospect": str(prospect).strip(), "catalog": cat.id, "version": cat.version, "usage": parsed,
        "plan": invoice.plan, "term": term_months, "discount": discount, "tax": tax,
        "seller": None if seller is None else seller.name})
    return Quote(str(prospect).strip(), cat, parsed, invoice, term_months, discount, today,
                 today + timedelta(days=VALID_DAYS), alternatives, seller, number, tax, include_hidden)


def _percent(raw: Decimal | str | None, what: str) -> Decimal | None:
    """A percentage from 0 to 100 given as text or a Decimal (never a float); None when absent."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, float):
        raise ReportError(f"{what}: give {raw!r} as text or a Decimal, not a float")
    try:
        value = Decimal(str(raw).strip().rstrip("%"))
    except InvalidOperation:
        raise ReportError(f"{what}: {raw!r} is not a percentage") from None
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(100):
        raise ReportError(f"{what}: must be between 0 and 100 percent, got {raw}")
    if value.as_tuple().exponent < -6:  # type: ignore[operator]  # a finite Decimal's exponent is an int (typeshed allows 'n', 'N', 'F')
        raise ReportError(f"{what}: {raw} has more than 6 decimal places")
    return value


def _discount(raw: Decimal | str | None) -> Decimal | None:
    return _percent(raw, "discount") or None


# --- HTML -------------------------------------------------------------------------------


def render_quote_html(quote: Quote, internal: bool = False) -> str:
    """The quote as one self-contained HTML page (no scripts, no external files), from ``quote.html.j2``.

    ``internal`` adds an appendix with the catalog's sources, its assumption notes and
    how each line was rated: for the seller's files, never for the prospect.
    """
    catalog, invoice, fmt = quote.catalog, quote.invoice, quote.format
    plan = catalog.plans[invoice.plan]
    seller = quote.seller
    if seller is not None:
        seller_name = seller.name
        seller_lines = [*seller.address, f"Tax ID: {seller.tax_id}" if seller.tax_id else "", seller.email or ""]
    else:
        seller_name, seller_lines = catalog.name, []
    facts = [("Quote number", "quote-number", quote.number), ("Issue date", "issue-date", fmt.day(quote.issued)),
             ("Valid until", "valid-until-date", fmt.day(quote.valid_until)),
             ("Plan", "plan", plan.name), ("Term", "term", f"{quote.term_months} months")]

    def describe(line: Line) -> str:
        parts = line_details(line, invoice, fmt)
        if line.metric is not None and line.metric in quote.usage and line.line_type is LineType.USAGE:
            parts.insert(0, f"{_quantity(fmt, quote.usage[line.metric])} expected a month")
        return ", ".join(parts)

    charges = [line for line in quote.shown_lines() if line.line_type not in (LineType.DISCOUNT, LineType.TAX)]
    totals = [("subtotal", "Subtotal", invoice.subtotal_minor)]
    totals += [("discount", line.item, line.amount_minor) for line in invoice.lines
               if line.line_type is LineType.DISCOUNT]
    taxes = [("tax", line.item, line.amount_minor) for line in invoice.lines if line.line_type is LineType.TAX]
    if taxes:
        totals.append(("net", "Net", invoice.net_minor))
        totals += taxes
    alternatives = []
    for plan_id, total, eligible in quote.alternatives:
        note = ("" if eligible else "not available at this usage") + (" (quoted)" if plan_id == invoice.plan else "")
        alternatives.append((catalog.plans[plan_id].name, fmt.money(total), note))
    return render_page(
        "quote.html.j2", lang=quote.locale.replace("_", "-"), number=quote.number, prospect=quote.prospect,
        seller_name=seller_name, seller_lines=seller_lines, facts=facts, valid_until=fmt.day(quote.valid_until),
        lines=[(line.item, describe(line), fmt.money(line.amount_minor)) for line in charges],
        totals=[(kind, label, fmt.money(minor)) for kind, label, minor in totals],
        tax_label="incl. tax" if taxes else "excl. tax", monthly_total=fmt.money(quote.monthly_minor),
        term_months=quote.term_months, term_total=fmt.money(quote.term_total_minor), alternatives=alternatives,
        basis=quote.basis(), contact_email=seller.email if seller is not None else None,
        internal_notes=quote.internal_notes() if internal else None)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "prospect"


def write_quote_report(prospect: str, catalog: str, usage: dict[str, str], plan: str | None, term_months: int,
                       discount_percent: Decimal | None, out_dir: Path, pdf: bool = True,
                       issued: date | None = None, *, tax_percent: Decimal | str | None = None,
                       include_hidden: bool = False, internal: bool = False,
                       seller: Seller | None = None) -> list[Path]:
    """Write ``quote-<prospect>-<number>.html`` (and ``.pdf`` when possible) into ``out_dir``; return the paths.

    ``internal`` writes ``quote-<prospect>-<number>-internal.html`` instead, with the internal appendix,
    so the prospect's copy is never overwritten by the seller's.
    """
    quote = build_quote(prospect, catalog, usage, plan, term_months, discount_percent, issued,
                        tax_percent=tax_percent, include_hidden=include_hidden, seller=seller)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"{out}: cannot create the output directory: {exc.strerror}") from None
    # NOTE: the number tells "Acme, Inc." from "ACME INC", whose slugs are the same
    stem = f"quote-{_slug(quote.prospect)}-{_slug(quote.number)}" + ("-internal" if internal else "")
    html_path = atomic_write_text(out / f"{stem}.html", render_quote_html(quote, internal))
    written = [html_path]
    if pdf:
        made = print_pdf(html_path, out / f"{stem}.pdf")
        if made is not None:
            written.append(made)
    return written


__all__ = ["Quote", "build_quote", "find_chromium", "print_pdf", "quote_number", "render_quote_html",
           "write_quote_report"]
