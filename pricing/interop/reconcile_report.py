"""A reconciliation as finance reads it: an HTML page and an Excel sheet of every difference.

:mod:`pricing.interop.reconcile` compares; this module only formats. The page
leads with the amount at risk per currency (the sum of the absolute differences
of every line not matched) and lists each difference with its likely cause; the
sheet holds the same rows with amounts as numbers in currency units, text a
spreadsheet would run as a formula kept as text (:mod:`pricing.reporting.excel`). Both
files are written atomically.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pricing.reporting.excel import table_workbook_bytes
from pricing.engine.formatting import format_money
from pricing.files import atomic_write_bytes, atomic_write_text
from pricing.reporting.html_pages import render_page
from pricing.reporting.report_tables import table_html
from pricing.interop.reconcile import DIFFERING, MATCHED, MISSING_AT_VENDOR, MISSING_IN_ENGINE, Reconciliation, amount

PAGE_FILE = "reconciliation.html"
XLSX_FILE = "reconciliation_differences.xlsx"



def totals_table(result: Reconciliation) -> pd.DataFrame:
    rows = [{"Currency": t.currency, "Matched": t.counts[MATCHED], "Differing": t.counts[DIFFERING],
             "Missing at the vendor": t.counts[MISSING_AT_VENDOR], "Missing in the engine": t.counts[MISSING_IN_ENGINE],
             "Vendor total": format_money(t.vendor_minor, t.currency, t.decimals),
             "Engine total": format_money(t.engine_minor, t.currency, t.decimals),
             "Net (vendor - engine)": format_money(t.vendor_minor - t.engine_minor, t.currency, t.decimals),
             "Amount at risk": format_money(t.at_risk_minor, t.currency, t.decimals)}
            for t in result.totals()]
    return pd.DataFrame(rows)


def differences_table(result: Reconciliation, *, money_as_text: bool) -> pd.DataFrame:
    """Every line not matched: on the page amounts are text with their currency, in the sheet exact numbers."""
    def shown(minor: int | None, currency: str, decimals: int) -> object:
        if minor is None:
            return None
        return format_money(minor, currency, decimals) if money_as_text else amount(minor, decimals)

    rows = [{"Customer": r.customer_id, "Currency": r.currency, "Status": r.status, "Category": r.category,
             "Metric": r.metric or "", "Vendor invoice": r.vendor_invoice or "", "Vendor line": r.vendor_text,
             "Vendor amount": shown(r.vendor_minor, r.currency, r.decimals), "Engine invoice": r.engine_invoice or "",
             "Engine line": r.engine_text, "Engine amount": shown(r.engine_minor, r.currency, r.decimals),
             "Difference": shown(r.difference_minor, r.currency, r.decimals), "Likely cause": r.cause}
            for r in result.differences()]
    columns = ["Customer", "Currency", "Status", "Category", "Metric", "Vendor invoice", "Vendor line", "Vendor amount",
               "Engine invoice", "Engine line", "Engine amount", "Difference", "Likely cause"]
    return pd.DataFrame(rows, columns=columns)


def page(result: Reconciliation) -> str:
    """The page (``templates/reconciliation.html.j2``), every text from the exports escaped."""
    return render_page(
        "reconciliation.html.j2", title=f"Reconciliation of {result.vendor.capitalize()} invoices, {result.month}",
        plotly_src=None, max_width="80rem", vendor=result.vendor.capitalize(), month=result.month,
        vendor_invoices=result.vendor_invoices, engine_invoices=result.engine_invoices,
        totals=table_html(totals_table(result)), difference_count=len(result.differences()),
        differences=table_html(differences_table(result, money_as_text=True)), notes=list(result.notes))


def write(result: Reconciliation, folder: Path) -> list[Path]:
    """``reconciliation.html`` and ``reconciliation_differences.xlsx`` in ``folder``."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        from pricing.errors import ReportError

        raise ReportError(f"--output {folder}: is a file, not a folder")
    page_path = atomic_write_text(folder / PAGE_FILE, page(result))
    currencies = sorted({r.currency for r in result.rows})
    # NOTE: one currency gets its number format; several share plain numbers beside a Currency column
    currency = currencies[0] if len(currencies) == 1 else "XXX"
    decimals = result.rows[0].decimals if len(currencies) == 1 and result.rows else 2
    money = ["Vendor amount", "Engine amount", "Difference"] if len(currencies) == 1 else []
    data = table_workbook_bytes(differences_table(result, money_as_text=False), "Differences", currency, decimals,
                                money=money, title=f"Reconciliation {result.vendor} {result.month}")
    return [page_path, atomic_write_bytes(folder / XLSX_FILE, data)]


__all__ = ["PAGE_FILE", "XLSX_FILE", "differences_table", "page", "totals_table", "write"]
