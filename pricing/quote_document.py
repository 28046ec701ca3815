"""A sales quote: one plan's monthly lines for a prospect's expected usage, the term total,
the assumptions behind it and a validity date, as an HTML page (and a PDF when a browser is at hand).

The amounts come from :func:`pricing.rating.rate` (one row, one plan); the
term total is the exact monthly total times the term, because a quote assumes
the usage given each month. Every text from outside (the prospect's name,
catalog notes) is HTML-escaped.

PDF: printed by :func:`pricing.pdf.print_pdf` (Debian's chromium) when
``/usr/bin/chromium`` (or ``$PRICING_CHROMIUM``) exists; otherwise skipped
with a note, because no browser may be downloaded here.
"""

from __future__ import annotations

import html
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .catalog import Catalog, Discount, load_catalog
from .comparison import compare
from .errors import ReportError
from .invoice import Invoice
from .money import format_money
from .pdf import find_chromium, print_pdf
from .rating import RateOptions

VALID_DAYS = 30
MAX_TERM_MONTHS = 60


@dataclass(frozen=True)
class Quote:
    prospect: str
    catalog: Catalog
    usage: dict[str, str]
    invoice: Invoice  # one month, discount applied
    term_months: int
    discount_percent: Decimal | None
    issued: date
    valid_until: date
    alternatives: tuple[tuple[str, int, bool], ...]  # (plan, monthly total, eligible) of every plan

    @property
    def monthly_minor(self) -> int:
        return self.invoice.total_minor

    @property
    def term_total_minor(self) -> int:
        return self.invoice.total_minor * self.term_months

    def money(self, minor: int) -> str:
        return format_money(minor, self.catalog.currency, self.catalog.decimals)

    def assumptions(self) -> list[str]:
        """What the numbers rest on, in words: usage, term, tax, catalog version and its sources."""
        catalog = self.catalog
        usage = ", ".join(f"{catalog.metrics[m].name} {v}" for m, v in self.usage.items()) or "none given"
        out = [
            f"Usage assumed every month: {usage}.",
            f"Term of {self.term_months} month{'s' if self.term_months != 1 else ''}; the term total is "
            f"{self.term_months} x the monthly total at this usage. Usage beyond it is billed as the lines show.",
            f"Prices from the {catalog.name} catalog, version {catalog.version}, in {catalog.currency}.",
            "Amounts exclude tax unless a tax line is shown." if not any(
                l.line_type.value == "tax" for l in self.invoice.lines) else "Tax is shown as its own line.",
        ]
        if self.discount_percent:
            out.append(f"A negotiated discount of {self.discount_percent}% applies to every month of the term.")
        for key, note in catalog.sources.items():
            out.append(f"Source {key}: {note}")
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
        return out


def _parse_usage(catalog: Catalog, usage: Mapping[str, Any]) -> dict[str, str]:
    unknown = [k for k in usage if k not in catalog.metrics]
    if unknown:
        raise ReportError(f"usage names unknown metric {unknown[0]!r} for catalog {catalog.id!r}"
                          f" (metrics: {', '.join(catalog.metrics)})")
    return {k: str(v).strip() for k, v in usage.items()}


def build_quote(prospect: str, catalog: str | Catalog, usage: Mapping[str, Any], plan: str | None = None,
                term_months: int = 12, discount_percent: Decimal | str | None = None,
                issued: date | None = None) -> Quote:
    """Rate the prospect's usage; ``plan`` None picks the cheapest eligible plan."""
    if not prospect or not str(prospect).strip():
        raise ReportError("prospect: give the prospect's name")
    if not isinstance(term_months, int) or not 1 <= term_months <= MAX_TERM_MONTHS:
        raise ReportError(f"term: must be a whole number of months from 1 to {MAX_TERM_MONTHS}, got {term_months!r}")
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    discount = _discount(discount_percent)
    parsed = _parse_usage(cat, usage)
    options = RateOptions(discounts=(Discount(percent=discount, name=f"Negotiated discount {discount}%"),)
                          if discount else ())
    comparison = compare(cat, parsed, options=options)
    if plan:
        cat.plan(plan)  # one-line CatalogError for an unknown plan
        invoice = next(inv for inv in comparison.invoices if inv.plan == plan)
        if not invoice.eligible:
            raise ReportError(f"plan {plan!r} cannot be quoted for this usage: {invoice.reason}")
    else:
        invoice = comparison.cheapest
        if invoice is None:
            raise ReportError(f"no plan of catalog {cat.id!r} is eligible for this usage")
    today = issued or date.today()
    alternatives = tuple((inv.plan, inv.total_minor, inv.eligible) for inv in comparison.invoices)
    return Quote(str(prospect).strip(), cat, parsed, invoice, term_months, discount, today,
                 today + timedelta(days=VALID_DAYS), alternatives)


def _discount(raw: Decimal | str | None) -> Decimal | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, float):
        raise ReportError(f"discount: give {raw!r} as text or a Decimal, not a float")
    try:
        value = Decimal(str(raw).strip().rstrip("%"))
    except InvalidOperation:
        raise ReportError(f"discount: {raw!r} is not a percentage") from None
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(100):
        raise ReportError(f"discount: must be between 0 and 100 percent, got {raw}")
    return value or None


# --- HTML -------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2.5em auto;max-width:52em;color:#222}
h1{font-size:1.6em;margin-bottom:.2em} .meta{color:#555} table{border-collapse:collapse;width:100%;margin:1em 0}
th,td{padding:.35em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
td.amount,th.amount{text-align:right;white-space:nowrap} tr.total td{font-weight:bold;border-top:2px solid #222}
.explain{color:#666;font-size:.85em} .valid{background:#fff6d5;padding:.5em .8em;border-radius:4px}
@media print{body{margin:1cm}}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def render_quote_html(quote: Quote) -> str:
    """The quote as one self-contained HTML page (no scripts, no external files)."""
    cat, inv = quote.catalog, quote.invoice
    plan = cat.plans[inv.plan]
    lines = "".join(
        f"<tr><td>{_e(l.item)}<div class='explain'>{_e(l.explanation)}</div></td>"
        f"<td class='amount'>{_e(quote.money(l.amount_minor))}</td></tr>" for l in inv.lines)
    others = "".join(
        f"<tr><td>{_e(cat.plans[p].name)}</td><td class='amount'>{_e(quote.money(total))}</td>"
        f"<td>{'' if ok else 'not eligible'}{' (quoted)' if p == inv.plan else ''}</td></tr>"
        for p, total, ok in quote.alternatives)
    assumptions = "".join(f"<li>{_e(a)}</li>" for a in quote.assumptions())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Quote for {_e(quote.prospect)}</title>
<style>{_CSS}</style></head><body>
<h1>Quote for {_e(quote.prospect)}</h1>
<p class="meta">{_e(cat.name)}: <b>{_e(plan.name)}</b> plan, {quote.term_months}-month term.
Issued {quote.issued.isoformat()}.</p>
<p class="valid">This quote is valid until <b class="valid-until">{quote.valid_until.isoformat()}</b>.</p>
<h2>Monthly charges</h2>
<table class="lines"><tr><th>Item</th><th class="amount">Amount</th></tr>{lines}
<tr class="total"><td>Monthly total</td><td class="amount monthly-total">{_e(quote.money(quote.monthly_minor))}</td></tr>
<tr class="total"><td>Term total ({quote.term_months} months)</td>
<td class="amount term-total">{_e(quote.money(quote.term_total_minor))}</td></tr></table>
<h2>Other plans at this usage</h2>
<table class="alternatives"><tr><th>Plan</th><th class="amount">Monthly</th><th></th></tr>{others}</table>
<h2>Assumptions</h2><ul class="assumptions">{assumptions}</ul>
</body></html>
"""


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "prospect"


def write_quote_report(prospect: str, catalog: str, usage: dict[str, str], plan: str | None, term_months: int,
                       discount_percent: Decimal | None, out_dir: Path, pdf: bool = True,
                       issued: date | None = None) -> list[Path]:
    """Write ``quote-<prospect>-<date>.html`` (and ``.pdf`` when possible) into ``out_dir``; return the paths."""
    quote = build_quote(prospect, catalog, usage, plan, term_months, discount_percent, issued)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"{out}: cannot create the output directory: {exc.strerror}") from None
    stem = f"quote-{_slug(quote.prospect)}-{quote.issued.isoformat()}"
    html_path = out / f"{stem}.html"
    partial = html_path.with_suffix(".html.partial")
    partial.write_text(render_quote_html(quote), encoding="utf-8")
    os.replace(partial, html_path)
    written = [html_path]
    if pdf:
        made = print_pdf(html_path, out / f"{stem}.pdf")
        if made is not None:
            written.append(made)
    return written


__all__ = ["Quote", "build_quote", "find_chromium", "print_pdf", "render_quote_html", "write_quote_report"]
